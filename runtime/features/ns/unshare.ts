// Stage 1's kernel steps before PID 1 (runtime/init.ts `stage1` drives them, in this order):
// join the container's cgroups, check it is single-threaded for a user namespace,
// unshare, make the new mount tree private, and, once the host has written the id
// maps, take mapped ids. Each call goes through the seam (Sys, native/seam.ts), so
// test/executors records them; the rules are in ns.ts's header and docs/ARCHITECTURE.md
// ("One thread for a user namespace", "Mount propagation made private by stage 1").
// Stage 1 is one pre-bundled file: this adds no module to load.

import { O_CLOEXEC, O_RDONLY, O_WRONLY } from "../../../native/constants.ts";
import { SysError } from "../../../native/error.ts";
import type { Sys } from "../../../native/seam.ts";
import type { NsName } from "../../../lang/spec.ts";
import { makeRootPrivate } from "../mount/mount.ts";
import { cloneFlags, NS_FLAG } from "./ns.ts";
import type { NsPath } from "../../channel/messages.ts";
import type { Op } from "../../ops.ts";
import type { ExplainNotes } from "../../explain.ts";

/** The calls stage 1 makes before it spawns PID 1. */
export type Stage1Calls = Pick<Sys, "open" | "write" | "close" | "readdir" | "unshare" | "mount" | "readFile" | "setgroups" | "setresgid" | "setresuid" | "setns">;

/** Put `pid` (stage 1) in each cgroup: every process of the container is created in them from then on. */
export function joinCgroups(sys: Stage1Calls, dirs: readonly string[], pid: number): void {
  for (const dir of dirs) {
    try {
      const fd = sys.open(`${dir}/cgroup.procs`, O_WRONLY);
      try {
        sys.write(fd, String(pid));
      } finally {
        sys.close(fd);
      }
    } catch (e) {
      throw new SysError({ code: (e as NodeJS.ErrnoException).code ?? "", syscall: "write", args: [`${dir}/cgroup.procs`], message: `cannot join the container's cgroup "${dir}": ${(e as Error).message}`, status: 125 });
    }
  }
}

/** This process has one thread (the kernel's condition for `flag`), or an error saying how many it has. */
function singleThreaded(sys: Stage1Calls, flag: string, message: (threads: number) => string, status?: number): void {
  const threads = sys.readdir("/proc/self/task").length;
  if (threads === 1) return;
  throw new SysError({
    errno: 22,
    code: "EINVAL",
    syscall: "unshare",
    args: [flag],
    message: message(threads),
    hint: "the Bun runtime started helper threads; check the pinned bun version and the init environment",
    ...(status !== undefined ? { status } : {}),
  });
}

/** unshare(2) of `namespaces` (a user namespace only single-threaded), then the mount tree made private. `beforeUnshare` starts the trace. */
export function unshareNamespaces(sys: Stage1Calls, namespaces: readonly NsName[], beforeUnshare?: () => void): void {
  if (namespaces.includes("user")) singleThreaded(sys, "CLONE_NEWUSER", (n) => `unshare(CLONE_NEWUSER) needs a single-threaded process, but stage 1 has ${n} threads`);
  beforeUnshare?.();
  if (namespaces.length > 0) sys.unshare(cloneFlags(namespaces));
  // Before anything else exists in the new mount namespace: runtime/features/mount/mount.ts.
  if (namespaces.includes("mnt")) makeRootPrivate(sys);
}

/**
 * PID 1 of a direct start (runtime/features/ns/direct.ts) makes its own mount
 * namespace, first thing: unshare(CLONE_NEWNS) moves only the calling thread,
 * so a helper thread started before it would stay in the host's mount
 * namespace, and see the host's tree from inside the container. Hence the
 * count first (the init environment of runtime/bundle.ts keeps a fresh stage at
 * one thread; test/userns/single-thread.test.ts holds it), then the unshare and
 * the tree made private, as stage 1 does.
 */
export function unshareMountAsPid1(sys: Stage1Calls): void {
  singleThreaded(sys, "CLONE_NEWNS", (n) => `PID 1 must make its mount namespace single-threaded, but it has ${n} threads`, 125);
  unshareNamespaces(sys, ["mnt"]);
}

/**
 * Join each namespace by the path of its file (an OCI config's namespace with
 * a `path`, such as podman's network namespace). setns checks the file is a
 * namespace of that type (EINVAL otherwise), so a wrong path is an error, not
 * a namespace of another kind.
 */
export function joinByPath(sys: Stage1Calls, paths: readonly NsPath[]): void {
  // A user namespace first: it owns the others (setns into them then asks for capabilities
  // in it), and setns(CLONE_NEWUSER) wants a single-threaded caller, as unshare does.
  // A mount namespace is PID 1's to join (runtime/init.ts, stage 2): stage 1 spawns the host's Bun from the host's tree.
  const ordered = [...paths.filter((p) => p.ns === "user"), ...paths.filter((p) => p.ns !== "user" && p.ns !== "mnt")];
  for (const { ns, path } of ordered) {
    if (ns === "user") singleThreaded(sys, "CLONE_NEWUSER", (n) => `setns(CLONE_NEWUSER) needs a single-threaded process, but stage 1 has ${n} threads`);
    const fd = sys.open(path, O_RDONLY | O_CLOEXEC);
    try {
      sys.setns(fd, NS_FLAG[ns]);
      // Root of the joined user namespace, as runc makes its init: our ids are whatever
      // the namespace maps them to (the overflow id when unmapped) until then.
      if (ns === "user") takeMappedIds(sys, 0, 0);
    } catch (e) {
      if (e instanceof SysError) e.message = `joining the ${ns} namespace at "${path}": ${e.message}${ns === "user" && e.syscall !== "setns" ? " (the container is root there: the namespace must map uid and gid 0)" : ""}`;
      throw e;
    } finally {
      sys.close(fd);
    }
  }
}

/**
 * Our ids were unmapped until the host wrote the maps: take mapped ones, or PID 1
 * would start as the overflow id with no capabilities. Groups first (setgroups is
 * allowed only until the map denies it), the uid last (it drops the right to change gids).
 */
export function takeMappedIds(sys: Stage1Calls, uid: number, gid: number): void {
  if (sys.readFile("/proc/self/setgroups").trim() === "allow") sys.setgroups([]);
  sys.setresgid(gid, gid, gid);
  sys.setresuid(uid, uid, uid);
}

/** `ctr explain`'s comments on stage 1's lines (runtime/explain.ts, derived from the calls above). */
export function unshareNotes(op: Op): ExplainNotes {
  if (op.kind !== "unshare") return {};
  return {
    before: op.namespaces.length === 0 ? ["no new namespaces: a plain child process"] : [],
    calls: {
      mount: "at once: no mount made inside can propagate to the host",
      setresgid: op.paths?.some((p) => p.ns === "user") ? "root of the user namespace just joined (its maps are its own): it owns the namespaces made after it" : "once the host has written the id maps (the `go` message): the mapped ids, root inside when 0 is mapped",
    },
    after: [
      ...(op.namespaces.includes("pid") ? ["spawn PID 1 (stage 2): CLONE_NEWPID applies to children only"] : []),
      ...(op.paths ?? []).filter((p) => p.ns === "mnt").map((p) => `PID 1 joins the mount namespace at ${p.path} first thing, still single-threaded (setns(CLONE_NEWNS) on a descriptor stage 1 opened), and makes its tree private`),
    ],
  };
}
