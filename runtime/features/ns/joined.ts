// The stages' parts of `join` (the rules are in join.ts's header; the host's
// part, finding the container, in join-host.ts): stage 1 opens and joins the
// container's namespaces before it unshares the rest; stage 2 enters a joined
// mount namespace first thing.

import { closeSync, constants, openSync, readSync, statSync } from "node:fs";
import { kill, O_CLOEXEC, O_DIRECTORY, O_RDONLY, pidfdOpen, pollReadable, setCloexec, SIGKILL, SysError, type Sys } from "../../../native/index.ts";
import type { NsName } from "../../../lang/spec.ts";
import type { JoinTarget } from "../../channel/messages.ts";
import { checkSame, idsIn } from "../lifecycle/enter.ts";
import { NS_FLAG, NS_PROC_NAME, orderNamespaces } from "./ns.ts";

/** A mount namespace and root for stage 2 to enter (descriptors it inherits). */
export interface MntHandOver {
  mnt: number;
  /** The root to enter in it; -1 for a mount namespace given by path (an OCI config's): setns gives its root, and the container's is prepared in it. */
  root: number;
}

/**
 * Stage 1's part: open every namespace of `t` (and, for mnt, its root), check
 * the process, join all but mnt, user first, and become root in a joined
 * user namespace (PID 1's ids where root is not mapped). Returns the descriptors stage 2 joins the mount namespace
 * with, inheritable, or null.
 */
export function joinRunning(sys: Sys, t: JoinTarget, look: JoinLook = HOST_LOOK): MntHandOver | null {
  const pidfd = look.pidfd(t.pid);
  try {
    look.same(t, pidfd);
    // A namespace the container shares with us (joined, or not made) is not joined: setns to one's own user namespace is EINVAL.
    const fds = orderNamespaces(t.namespaces)
      .filter((ns) => !look.shared(t.pid, ns))
      .map((ns) => ({ ns, fd: sys.open(`/proc/${t.pid}/ns/${NS_PROC_NAME[ns]}`, O_RDONLY | O_CLOEXEC) }));
    const mnt = fds.find((f) => f.ns === "mnt");
    const root = mnt ? sys.open(`/proc/${t.pid}/root`, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    look.same(t, pidfd);
    let ids: { uid: number; gid: number; groups: boolean } | null = null;
    for (const { ns, fd } of fds) {
      if (ns === "mnt") continue;
      sys.setns(fd, NS_FLAG[ns]);
      sys.close(fd);
      // Read inside: /proc shows ids as the reader's user namespace maps them.
      if (ns === "user") ids = { ...idsIn(sys.readFile(`/proc/${t.pid}/status`)), groups: sys.readFile(`/proc/${t.pid}/setgroups`).trim() === "allow" };
    }
    if (ids) {
      // Root inside, as a container made with `ns user` starts (its `user` statement picks another);
      // PID 1's ids where root is not mapped there (setresuid fails with EINVAL then).
      if (ids.groups) sys.setgroups([]);
      const become = (uid: number, gid: number) => {
        sys.setresgid(gid, gid, gid);
        sys.setresuid(uid, uid, uid);
      };
      try {
        become(0, 0);
      } catch {
        if (Number.isInteger(ids.uid) && Number.isInteger(ids.gid)) become(ids.uid, ids.gid);
      }
    }
    if (!mnt) return null;
    // Stage 2 inherits them: no longer close-on-exec.
    look.inherit(mnt.fd);
    look.inherit(root);
    return { mnt: mnt.fd, root };
  } finally {
    look.done(pidfd);
  }
}

/**
 * What joinRunning asks of the host besides its calls through the seam: the
 * pidfd that pins PID 1, its start time checked against the record (pid reuse),
 * whether a namespace is already ours (by inode), and making a descriptor
 * inheritable. `ctr explain` runs joinRunning with a stand-in (runtime/explain-host.ts).
 */
export interface JoinLook {
  pidfd(pid: number): number;
  same(t: JoinTarget, pidfd: number): void;
  shared(pid: number, ns: NsName): boolean;
  inherit(fd: number): void;
  done(pidfd: number): void;
}

const HOST_LOOK: JoinLook = {
  pidfd: (pid) => pidfdOpen(pid),
  same: (t, pidfd) => checkSame(t.pid, t.start, pidfd),
  shared: (pid, ns) => statSync(`/proc/${pid}/ns/${NS_PROC_NAME[ns]}`).ino === statSync(`/proc/self/ns/${NS_PROC_NAME[ns]}`).ino,
  inherit: (fd) => setCloexec(fd, false),
  done: (pidfd) => closeSync(pidfd),
};

/** Stage 2's part, before anything else: the joined mount namespace, then the container's root. */
export function enterJoinedMount(sys: Pick<Sys, "setns" | "fchdir" | "chroot" | "chdir" | "readdir" | "close">, h: MntHandOver): void {
  const threads = sys.readdir("/proc/self/task").length;
  if (threads !== 1) throw new SysError({ errno: 22, code: "EINVAL", syscall: "setns", args: ["CLONE_NEWNS"], message: `setns(CLONE_NEWNS) needs a single-threaded process, but PID 1 has ${threads} threads`, status: 125 });
  sys.setns(h.mnt, NS_FLAG.mnt);
  sys.close(h.mnt);
  if (h.root < 0) return; // by path: setns made the namespace's root ours
  sys.fchdir(h.root);
  sys.chroot(".");
  sys.chdir("/");
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
