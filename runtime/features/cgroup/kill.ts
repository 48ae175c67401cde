// Killing everything in a set of cgroups, whatever those processes do meanwhile.
//
// A plain "read cgroup.procs, SIGKILL each" loop races with a process that
// forks faster than it is killed. The kernel offers two ways out:
//   - v2 (Linux 5.14+): writing "1" to cgroup.kill kills every process of the
//     cgroup and of its descendants at once, new forks included;
//   - v1 freezer: writing FROZEN to freezer.state stops every task (state
//     FREEZING until all are stopped); frozen tasks cannot fork, the signals
//     are queued, and on THAWED they die before running any code of theirs.
// Without either (a v1 tree without freezer), the loop repeats until the
// cgroups are empty or the time is up; what is left is reported, not ignored.

import type { CgroupFs } from "./fs.ts";

export interface KillOptions {
  ms: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  kill: (pid: number) => void;
  /** Each write made (for the manager's log). */
  log?: (path: string, value: string) => void;
}

function tryWrite(fs: CgroupFs, path: string, value: string, opts: KillOptions): boolean {
  try {
    fs.write(path, value);
    opts.log?.(path, value);
    return true;
  } catch {
    return false;
  }
}

/**
 * SIGKILL every process that `procs` lists (the processes of `dirs` and their
 * descendants) until none is left; returns those still there after `opts.ms`.
 */
export async function killCgroups(fs: CgroupFs, dirs: readonly string[], procs: () => number[], opts: KillOptions): Promise<number[]> {
  const deadline = opts.now() + opts.ms;
  const killFiles = dirs.map((d) => `${d}/cgroup.kill`).filter((f) => fs.exists(f));
  const freezers = dirs.filter((d) => fs.exists(`${d}/freezer.state`));
  for (;;) {
    const left = procs();
    if (left.length === 0) return [];
    if (opts.now() > deadline) return left;
    let killed = false;
    for (const f of killFiles) killed = tryWrite(fs, f, "1", opts) || killed;
    if (!killed) {
      const frozen = freezers.filter((d) => tryWrite(fs, `${d}/freezer.state`, "FROZEN", opts));
      if (frozen.length > 0) await waitFrozen(fs, frozen, opts, deadline);
      for (const pid of procs()) opts.kill(pid);
      for (const d of frozen) tryWrite(fs, `${d}/freezer.state`, "THAWED", opts);
    }
    await opts.sleep(10);
  }
}

/** Wait until each freezer reads FROZEN (FREEZING while tasks are still being stopped). */
async function waitFrozen(fs: CgroupFs, dirs: readonly string[], opts: KillOptions, deadline: number): Promise<void> {
  for (;;) {
    let pending = false;
    for (const d of dirs) {
      try {
        if (fs.read(`${d}/freezer.state`).trim() !== "FROZEN") pending = true;
      } catch {
        // gone: nothing to wait for
      }
    }
    if (!pending || opts.now() > deadline) return;
    await opts.sleep(1);
  }
}
