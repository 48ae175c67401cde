// The guard of a `ctr exec` that enters a container with a PID namespace
// itself (enter-here.ts): there, the command must be a child of `ctr exec`
// (setns(CLONE_NEWPID) moves only children), which is its waiter, so if `ctr
// exec` dies (even by SIGKILL) nothing would end the command, and a command
// that outlives its `ctr exec` is a leftover (issue 15, faults).
// PR_SET_PDEATHSIG cannot help: only the child can set it, between fork and
// execve, and posix_spawn(3) runs none of our code there.
//
// So `ctr exec` starts a guard from the host before it joins anything: a
// /bin/sh (GUARD_SCRIPT, a millisecond to start, no Bun until it is needed)
// reading a pipe whose write end only that `ctr exec` holds (close-on-exec:
// the command does not get it). `ctr exec` writes it lines:
//   `ns INODE` right before the spawn: the container's PID namespace;
//   `pid PID` right after it: the command;
//   `done` once it has reaped the command (or spawned none): the shell ends.
// At the end of the pipe without `done`, `ctr exec` is gone: the shell
// becomes `enter-init.js guard` (guardStage), which kills the command:
//   - PID, if that process is still in that PID namespace and started no
//     earlier than the guard (the guard was started first: a later process
//     with a reused PID is never taken for the command), through a pidfd;
//   - no PID line (a SIGKILL in the microseconds between the spawn and the
//     write, or longer if preempted there): the orphans of `ctr exec` are
//     re-parented together, to the nearest subreaper or init, so the command
//     is the process that now has the guard's parent, is in that PID
//     namespace and started no earlier than the guard (no other process of
//     that namespace has a parent outside it, but PID 1 and processes
//     entering it like this one, whose own parent would have to die at that
//     moment too).
// The new parent reaps the command, as any orphan. The guard needs no
// namespace of the container, no thread count, no output: its standard
// descriptors are /dev/null, so that it never holds `ctr exec`'s pipes open.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { getppid, pidfdOpen, pidfdSendSignal, pollReadable, SIGKILL } from "../../../native/index.ts";
import { startTime } from "./procstat.ts";

/** The guard's end of the pipe (its fd 3). */
export const GUARD_FD = 3;

/** The shell of the guard: $0 Bun, $1 enter-init.js, $2 the PID of `ctr exec`. */
const GUARD_SCRIPT = 'ns= pid=; while read -r k v; do case $k in ns) ns=$v ;; pid) pid=$v ;; done) exit 0 ;; esac; done <&3; exec "$0" "$1" guard "$2" "$ns" "$pid" 3<&-';

/** The guard's argv for posix_spawn of /bin/sh, its fd 3 the pipe's read end. */
export function guardArgv(bun: string, bundle: string, ctr: number): string[] {
  return ["sh", "-c", GUARD_SCRIPT, bun, bundle, String(ctr)];
}

const nsOf = (pid: number): number | null => {
  try {
    return statSync(`/proc/${pid}/ns/pid`).ino;
  } catch {
    return null;
  }
};

/** Kill process `pid` through a pidfd, if it still is the one that started at `start`. */
function killIfSame(pid: number, start: number): void {
  let fd: number;
  try {
    fd = pidfdOpen(pid);
  } catch {
    return; // gone, and reaped
  }
  if (startTime(pid) !== start) return;
  try {
    pidfdSendSignal(fd, SIGKILL);
  } catch {
    // it ended meanwhile
  }
}

/** The orphaned command (see the header): parent `parent`, PID namespace `ns`, started at or after `since`. */
function orphansOf(parent: number, ns: number, since: number): { pid: number; start: number }[] {
  const out: { pid: number; start: number }[] = [];
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const start = Number(fields[19]);
      if (Number(fields[1]) !== parent || start < since || nsOf(pid) !== ns) continue;
      out.push({ pid, start });
    } catch {
      // ended while we looked
    }
  }
  return out;
}

/**
 * The guard once `ctr exec` (PID `ctr`) is gone (runtime/enter-init.ts
 * "guard CTR NS PID", NS and PID empty when their line never came): exit
 * status 0, or 1 when it found the command to kill.
 */
export function guardStage(ctr: number, ns: number | null, pid: number | null): never {
  const since = startTime(process.pid) ?? Infinity; // the shell's start: exec keeps it
  // Its end of the pipe is closed: it is exiting. Its children are re-parented once that is complete.
  if (getppid() === ctr) {
    try {
      pollReadable([pidfdOpen(ctr)]);
    } catch {
      // reaped already
    }
  }
  if (ns === null) process.exit(0); // it ended before it spawned a command
  const found = pid === null ? orphansOf(getppid(), ns, since) : [{ pid, start: startTime(pid) ?? -1 }].filter((c) => c.start >= since && nsOf(c.pid) === ns);
  for (const c of found) killIfSame(c.pid, c.start);
  process.exit(found.length > 0 ? 1 : 0);
}
