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
// The score file is opened when an init stage starts (runtime/init.ts and
// runtime/enter-init.ts call openStartOomScore first thing), before pivot_root,
// so it keeps working in a container without /proc; not when this module loads,
// which the CLI's bundle does too and which would load koffi there for nothing.

// The score file's calls go through the seam (Sys, native/seam.ts): test/executors records them.

import { O_RDWR } from "../../../native/constants.ts";
import { realFiles } from "../../../native/files.ts";
import type { Sys } from "../../../native/seam.ts";

/** The calls a process's start score takes. */
export type ScoreCalls = Pick<Sys, "open" | "pread" | "pwrite">;

/** This process's OOM score as it started, kept to hand on to the commands it starts. */
export class StartOomScore {
  private fd = -1;
  private start: string | null = null;

  constructor(private readonly sys: ScoreCalls) {
    try {
      this.fd = sys.open("/proc/self/oom_score_adj", O_RDWR); // close-on-exec: commands do not inherit it
      this.start = this.read();
    } catch {
      this.fd = -1;
    }
  }

  private read(): string {
    const b = new Uint8Array(16);
    return new TextDecoder().decode(b.subarray(0, this.sys.pread(this.fd, b, 0))).trim();
  }

  private write(v: string): void {
    this.sys.pwrite(this.fd, v, 0);
  }

  /** Run `spawn` with the start score, so the child inherits that; the current score is put back after. */
  around<T>(spawn: () => T): T {
    if (this.fd < 0 || this.start === null) return spawn();
    let now: string;
    try {
      now = this.read();
    } catch {
      return spawn();
    }
    if (now === this.start) return spawn();
    try {
      this.write(this.start);
    } catch {
      return spawn();
    }
    try {
      return spawn();
    } finally {
      try {
        this.write(now);
      } catch {
        // lowering back needs CAP_SYS_RESOURCE when the host lowered it first: stay at the start score
      }
    }
  }

  /** Before an execve: the command that replaces this process gets the start score. */
  take(): void {
    if (this.fd < 0 || this.start === null) return;
    try {
      this.write(this.start);
    } catch {
      // keep the current score
    }
  }
}

let own: StartOomScore | null = null;

/** Opens this process's score file and records its start score (an init stage, as it starts); again, nothing. */
export function openStartOomScore(): StartOomScore {
  return (own ??= new StartOomScore(realFiles));
}

/** Run `spawn` with this process's start score, so the child inherits that; the current score is put back after. */
export function withStartOomScore<T>(spawn: () => T): T {
  return openStartOomScore().around(spawn);
}

/** Before an execve: the command that replaces this process gets the start score. */
export function takeStartOomScore(): void {
  openStartOomScore().take();
}
