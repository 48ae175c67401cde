// The container's cgroups, removed by stage 1 when ctr itself was killed.
//
// The host removes the container's cgroups when it tears the container down.
// A SIGKILLed ctr cannot, but stage 1 sees it die (runtime/init.ts) and kills
// the container; it then removes the cgroups too, so nothing is left behind
// for the next run's sweep. By then stage 1 lives in the container's mount
// namespace, where the host's cgroup filesystems may be gone (pivot_root), so
// everything it needs is opened before it unshares:
//   - each cgroup's parent directory, to rmdir the cgroup relative to it
//     (fchdir, then rmdir of the bare name);
//   - each parent's cgroup.procs, to move stage 1 itself out first: a cgroup
//     with a process in it cannot be removed (EBUSY).
// Opened close-on-exec (libuv's default), so PID 1 never inherits them. Every call
// goes through the seam (Sys, native/seam.ts), so test/executors records them.
// Cgroups made after the start (the REPL's first `limit`) are not known here:
// the next run's sweep takes those.

import { O_RDONLY, O_WRONLY } from "../../../native/constants.ts";
import { realSys, type Sys } from "../../../native/seam.ts";

/** The calls leaving takes. */
export type LeaveCalls = Pick<Sys, "open" | "write" | "fchdir" | "rmdir" | "close">;

export interface LeavePlan {
  steps: { name: string; parent: number; procs: number }[];
  sys: LeaveCalls;
}

/** Open what leave() needs, for cgroup directories in creation order. Best effort: what fails to open is skipped. */
export function prepareLeave(dirs: readonly string[], sys: LeaveCalls = realSys): LeavePlan {
  const steps: LeavePlan["steps"] = [];
  for (const dir of [...dirs].reverse()) {
    const cut = dir.lastIndexOf("/");
    if (cut <= 0) continue;
    const parentDir = dir.slice(0, cut);
    try {
      const parent = sys.open(parentDir, O_RDONLY);
      let procs = -1;
      try {
        procs = sys.open(`${parentDir}/cgroup.procs`, O_WRONLY); // never O_CREAT on a cgroup file
      } catch {
        // a parent that takes no process: only the rmdir is tried
      }
      steps.push({ name: dir.slice(cut + 1), parent, procs });
    } catch {
      // gone or not ours: the sweep will look
    }
  }
  return { steps, sys };
}

/** Close the descriptors of a plan that is not needed (ctr is alive and cleans up itself). */
export function dropLeave(plan: LeavePlan): void {
  for (const s of plan.steps) for (const fd of [s.parent, s.procs]) if (fd >= 0) plan.sys.close(fd);
  plan.steps.length = 0;
}

/**
 * Move this process out of the cgroups and remove them, deepest first,
 * retrying for up to `ms` while killed tasks finish exiting (EBUSY).
 * Returns how many could not be removed.
 */
export function leave(plan: LeavePlan, ms = 1000): number {
  const deadline = Date.now() + ms;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (const s of plan.steps) {
    if (s.procs >= 0) {
      try {
        plan.sys.write(s.procs, String(process.pid));
      } catch {
        // not allowed there (v2 no-internal-processes): the rmdir may still work
      }
    }
  }
  let left = 0;
  for (const s of plan.steps) {
    for (;;) {
      try {
        plan.sys.fchdir(s.parent);
        plan.sys.rmdir(s.name);
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOENT") break;
        if (code !== "EBUSY" || Date.now() > deadline) {
          left++;
          break;
        }
        Atomics.wait(nap, 0, 0, 5); // no event loop in stage 1: a plain pause
      }
    }
  }
  dropLeave(plan);
  return left;
}
