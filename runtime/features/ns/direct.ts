// The direct start: ctr's own thread creates the namespaces and spawns PID 1,
// with no stage 1 in between (docs/ARCHITECTURE.md, "The direct start").
//
// The kernel's rules that make it possible, and its limits:
//   - unshare(2) of UTS, IPC, network and PID namespaces in a multi-threaded
//     process moves only the calling thread (a PID namespace: only its later
//     children); a user namespace needs a single-threaded caller, so `ns user`
//     keeps stage 1;
//   - the first child the thread spawns after unshare(CLONE_NEWPID) is PID 1 of
//     the new PID namespace, born in the other three too;
//   - pivot_root moves every task of a mount namespace whose root is the old
//     root, so the mount namespace must be PID 1's alone: PID 1 unshares it
//     itself, still single-threaded, and makes its tree private before any
//     mount (runtime/init.ts, stage 2 "direct");
//   - the thread must return to its own namespaces (setns on descriptors
//     opened before the unshare) before it spawns or opens anything else: a
//     thread started while it is inside would stay there.
//
// What stage 1 does besides, and why the direct start needs none of it for the
// containers it takes (`directEligible`): no cgroups (`ns pid`, no `limit`,
// `show cgroup`, `ns cgroup` or `mount cgroup`: runtime/features/cgroup/when.ts,
// and with `ns pid` the kernel kills the whole namespace when PID 1 dies); no
// id maps (no `ns user`); no `join`, no namespace by path, no veth; no subreaper
// (with `ns pid`, PID 1 is the init of its orphans). What is left, the
// container dying with ctr, PID 1 does itself: PR_SET_PDEATHSIG(SIGKILL) first
// (its parent is this thread, which lives as long as ctr), then a look at its
// channel: a host end already hung up means ctr died before the prctl.
//
// runtime/main.ts takes this path for a script whose compiled plan the plan
// cache holds (so the namespaces are known before anything else loads), and
// runtime/direct-run.ts drives the container with that same plan; the CLI never
// sees a direct start.

import { AT_FDCWD, O_CLOEXEC, O_DIRECTORY } from "../../../native/constants.ts";
import { openat, readDirFd, readlinkat } from "../../../native/at.ts";
import { close } from "../../../native/fd.ts";
import type { NsName } from "../../../lang/spec.ts";
import { cloneFlags, NS_FLAG } from "./ns.ts";
import { cgroupsFirst, type CgroupNeeds } from "../cgroup/when.ts";

/** The namespaces the direct start can make; any other keeps stage 1. */
const DIRECT: readonly NsName[] = ["pid", "uts", "ipc", "net", "mnt"];

/** True when this plan's container may be started without stage 1 (the header's rules). */
export function directEligible(plan: CgroupNeeds & { namespaces: readonly string[] }): boolean {
  return plan.namespaces.includes("pid") && plan.namespaces.every((n) => (DIRECT as readonly string[]).includes(n)) && !cgroupsFirst(plan) && !plan.ops.some((o) => o.kind === "net-host" || o.kind === "join");
}

/** PID 1 started directly, and the namespaces it was started in. */
export interface DirectStart {
  pid1: ReturnType<typeof Bun.spawn>;
  namespaces: readonly NsName[];
}

/** What a thread's namespaces are called under /proc/thread-self/ns. */
const NS_FILE: Partial<Record<NsName, string>> = { uts: "uts", ipc: "ipc", net: "net", pid: "pid_for_children" };

/** The system calls the direct start makes, from native/ (runtime/main.ts loads it only on this path). */
export interface DirectCalls {
  unshare(flags: number): void;
  setns(fd: number, nstype: number): void;
}

/** The thread could not go back to its own namespaces: nothing more may run in this process. */
export class StrandedError extends Error {}

/**
 * Unshare `namespaces` but the mount namespace on this thread, spawn PID 1 in
 * them (`cmd`; it unshares the mount namespace itself), and setns back. Throws
 * (before any spawn) when the unshare fails, with the thread where it was; a
 * StrandedError when the way back fails, PID 1 killed first.
 */
export function spawnDirect(sys: DirectCalls, namespaces: readonly NsName[], cmd: string[], env: Record<string, string>): DirectStart {
  const here = namespaces.filter((n) => n !== "mnt");
  // Our own namespaces first, while we are in them: the way back.
  // libc's calls, not node:fs's: the host loads no node: module before PID 1 starts (runtime/lazy-builtins.ts).
  const want = Object.fromEntries(here.map((n) => [n, readlinkat(AT_FDCWD, `/proc/thread-self/ns/${NS_FILE[n]}`)]));
  const back: { fd: number; flag: number }[] = [];
  try {
    for (const n of here) back.push({ fd: openat(AT_FDCWD, `/proc/thread-self/ns/${NS_FILE[n]}`, O_CLOEXEC), flag: NS_FLAG[n] });
  } catch (e) {
    for (const b of back) close(b.fd);
    throw e;
  }
  let pid1: ReturnType<typeof Bun.spawn> | null = null;
  try {
    sys.unshare(cloneFlags(here));
    try {
      // As Launch.spawn (runtime/host.ts): the channel is fd 3, a socketpair.
      pid1 = Bun.spawn({ cmd, stdio: ["inherit", "inherit", "inherit", "pipe"], env });
    } finally {
      try {
        for (const b of back) sys.setns(b.fd, b.flag);
        // And no thread was born in the window (a thread inherits its creator's namespaces):
        // every thread of ctr is where this one was.
        const astray = threadsElsewhere(here, want);
        if (astray) throw new Error(astray);
      } catch (e) {
        pid1?.kill("SIGKILL");
        throw new StrandedError(`cannot return to ctr's own namespaces after starting PID 1: ${(e as Error).message}`);
      }
    }
  } finally {
    for (const b of back) close(b.fd);
  }
  return { pid1: pid1 as ReturnType<typeof Bun.spawn>, namespaces }; // the spawn returned: it did not throw
}

/** A thread of this process not in the namespaces `want` says, described; or null. */
function threadsElsewhere(namespaces: readonly NsName[], want: Record<string, string>): string | null {
  const dir = openat(AT_FDCWD, "/proc/self/task", O_DIRECTORY | O_CLOEXEC);
  let tasks: string[];
  try {
    tasks = readDirFd(dir).map((e) => e.name);
  } finally {
    close(dir);
  }
  for (const task of tasks) {
    for (const n of namespaces) {
      let link: string;
      try {
        link = readlinkat(AT_FDCWD, `/proc/self/task/${task}/ns/${NS_FILE[n]}`);
      } catch {
        continue; // the thread has ended
      }
      if (link !== want[n]) return `thread ${task} is in ${link}, not ${want[n]}`;
    }
  }
  return null;
}
