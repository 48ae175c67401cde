// Which process the OOM killer takes in a memory-limited container.
//
// When a memory cgroup is full and nothing can be reclaimed, the kernel kills
// the process of the cgroup with the highest "badness": its resident memory,
// *including pages of mapped files*, plus oom_score_adj (-1000..1000) times
// the limit / 1000. ctr's init stages (stage 1 and, during `run`, PID 1) are
// Bun processes with ~30 MB of their executable mapped: at a small limit they
// outscore the command that actually filled the cgroup, and the container's
// init would die instead of the allocator.
//
// So the host (runtime/execute.ts) sets the scores when the container has a
// memory limit, and PID 1 gives every command the score it was *started* with
// (oom_score_adj is inherited at fork, so PID 1 puts its start score on itself
// for the instant of the spawn, and before an execve):
//   - with CAP_SYS_RESOURCE (needed to lower a score below the process's
//     minimum): the init stages are set to -1000 (never chosen) once PID 1 is
//     up; commands keep the normal score;
//   - without it (root in some sandboxes): stage 1 is raised to +1000 before it
//     starts PID 1, so PID 1 starts (and its commands run) at +1000, and the
//     init stages are put back to the normal score once PID 1 is up.
// The score file is opened when this module loads, before pivot_root, so it
// keeps working in a container without /proc.

import { openSync, readSync, writeSync } from "node:fs";

let fd = -1;
let startScore: string | null = null;

function readScore(): string {
  const b = Buffer.alloc(16);
  return b.toString("utf8", 0, readSync(fd, b, 0, b.length, 0)).trim();
}

function writeScore(v: string): void {
  writeSync(fd, v, 0);
}

try {
  fd = openSync("/proc/self/oom_score_adj", "r+"); // close-on-exec: commands do not inherit it
  startScore = readScore();
} catch {
  fd = -1;
}

/** Run `spawn` with this process's start score, so the child inherits that; the current score is put back after. */
export function withStartOomScore<T>(spawn: () => T): T {
  if (fd < 0 || startScore === null) return spawn();
  let now: string;
  try {
    now = readScore();
  } catch {
    return spawn();
  }
  if (now === startScore) return spawn();
  try {
    writeScore(startScore);
  } catch {
    return spawn();
  }
  try {
    return spawn();
  } finally {
    try {
      writeScore(now);
    } catch {
      // lowering back needs CAP_SYS_RESOURCE when the host lowered it first: stay at the start score
    }
  }
}

/** Before an execve: the command that replaces this process gets the start score. */
export function takeStartOomScore(): void {
  if (fd < 0 || startScore === null) return;
  try {
    writeScore(startScore);
  } catch {
    // keep the current score
  }
}
