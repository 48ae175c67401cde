// The stages' parts of `join` (the rules are in join.ts's header; the host's
// part, finding the container, in join-host.ts): stage 1 opens and joins the
// container's namespaces before it unshares the rest; stage 2 enters a joined
// mount namespace first thing.

import { closeSync, constants, openSync, readFileSync, readSync } from "node:fs";
import { kill, pidfdOpen, pollReadable, setCloexec, SIGKILL, setgroups, setresgid, setresuid, SysError, type Sys } from "../../../native/index.ts";
import type { JoinTarget } from "../../channel/messages.ts";
import { checkSame, idsOf, openNs } from "../lifecycle/enter.ts";
import { NS_FLAG } from "./ns.ts";

/** A mount namespace and root for stage 2 to enter (descriptors it inherits). */
export interface MntHandOver {
  mnt: number;
  root: number;
}

/**
 * Stage 1's part: open every namespace of `t` (and, for mnt, its root), check
 * the process, join all but mnt, user first, and become root in a joined
 * user namespace (PID 1's ids where root is not mapped). Returns the descriptors stage 2 joins the mount namespace
 * with, inheritable, or null.
 */
export function joinRunning(sys: Pick<Sys, "setns">, t: JoinTarget): MntHandOver | null {
  const pidfd = pidfdOpen(t.pid);
  try {
    checkSame(t.pid, t.start, pidfd);
    const fds = openNs(t.pid, t.namespaces);
    const mnt = fds.find((f) => f.ns === "mnt");
    const root = mnt ? openSync(`/proc/${t.pid}/root`, constants.O_RDONLY | constants.O_DIRECTORY) : -1;
    checkSame(t.pid, t.start, pidfd);
    let ids: { uid: number; gid: number; groups: boolean } | null = null;
    for (const { ns, fd } of fds) {
      if (ns === "mnt") continue;
      sys.setns(fd, NS_FLAG[ns]);
      closeSync(fd);
      // Read inside: /proc shows ids as the reader's user namespace maps them.
      if (ns === "user") ids = { ...idsOf(t.pid), groups: readFileSync(`/proc/${t.pid}/setgroups`, "utf8").trim() === "allow" };
    }
    if (ids) {
      // Root inside, as a container made with `ns user` starts (its `user` statement picks another);
      // PID 1's ids where root is not mapped there (setresuid fails with EINVAL then).
      if (ids.groups) setgroups([]);
      const become = (uid: number, gid: number) => {
        setresgid(gid, gid, gid);
        setresuid(uid, uid, uid);
      };
      try {
        become(0, 0);
      } catch {
        if (Number.isInteger(ids.uid) && Number.isInteger(ids.gid)) become(ids.uid, ids.gid);
      }
    }
    if (!mnt) return null;
    setCloexec(mnt.fd, false);
    setCloexec(root, false);
    return { mnt: mnt.fd, root };
  } finally {
    closeSync(pidfd);
  }
}

/** Stage 2's part, before anything else: the joined mount namespace, then the container's root. */
export function enterJoinedMount(sys: Pick<Sys, "setns" | "fchdir" | "chroot" | "chdir" | "readdir" | "close">, h: MntHandOver): void {
  const threads = sys.readdir("/proc/self/task").length;
  if (threads !== 1) throw new SysError({ errno: 22, code: "EINVAL", syscall: "setns", args: ["CLONE_NEWNS"], message: `setns(CLONE_NEWNS) needs a single-threaded process, but PID 1 has ${threads} threads`, status: 125 });
  sys.setns(h.mnt, NS_FLAG.mnt);
  sys.fchdir(h.root);
  sys.chroot(".");
  sys.chdir("/");
  sys.close(h.mnt);
  sys.close(h.root);
}

/**
 * Stage 1, with a joined PID namespace: the container's orphans go to that
 * namespace's init, not to stage 1 (join.ts), so if ctr dies they are found
 * through the container's cgroups and killed. Their cgroup.procs files are
 * opened now, while the host's cgroup tree is in view (as features/cgroup/leave.ts
 * does), best effort.
 */
export function openMembers(dirs: readonly string[]): number[] {
  const fds: number[] = [];
  for (const dir of dirs) {
    try {
      fds.push(openSync(`${dir}/cgroup.procs`, constants.O_RDONLY));
    } catch {
      // a hierarchy this process may not read: the others list the same processes
    }
  }
  return fds;
}

/** SIGKILL every process listed in the cgroups of `fds` but this one, round after round until none is left (or 100 rounds). */
export function killMembers(fds: readonly number[]): void {
  const buf = Buffer.alloc(65536);
  for (let round = 0; round < 100; round++) {
    const pids = new Set<number>();
    for (const fd of fds) {
      let text = "";
      for (let pos = 0, n = 0; (n = readSync(fd, buf, 0, buf.length, pos)) > 0; pos += n) text += buf.toString("latin1", 0, n);
      for (const p of text.split("\n")) if (p && Number(p) !== process.pid) pids.add(Number(p));
    }
    if (pids.size === 0) return;
    for (const pid of pids) {
      try {
        kill(pid, SIGKILL);
      } catch {
        // gone meanwhile
      }
    }
    pollReadable([], 10); // let them die before the next look
  }
}
