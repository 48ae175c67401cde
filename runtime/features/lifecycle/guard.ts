// The guard of a `ctr exec` that enters a container with a PID namespace
// itself (enter-here.ts): there, the command must be a child of `ctr exec`
// (setns(CLONE_NEWPID) moves only children), which is its waiter, so if `ctr
// exec` dies (even by SIGKILL) nothing would end the command, and a command
// that outlives its `ctr exec` is a leftover (issue 15, faults).
// PR_SET_PDEATHSIG cannot help: only the child can set it, between fork and
// execve, and posix_spawn(3) runs none of our code there. So this small
// process, started from the host before ctr joins anything, holds one end of
// a socket whose other end only that `ctr exec` holds (close-on-exec: the
// command does not get it). `ctr exec` writes it two lines:
//   `ns INODE` right before the spawn: the container's PID namespace;
//   `pid PID` right after it: the command.
// The guard opens a pidfd of PID and checks that it started no earlier than
// the guard (started first: a later process with a reused PID is never taken
// for the command). When the socket reaches its end while the command runs,
// `ctr exec` is gone: the guard kills the command through the pidfd.
// If it ends between the two lines (a SIGKILL in the microseconds between the
// spawn and the write, or longer if preempted there), the command is found
// instead: the orphans of `ctr exec` are re-parented together, to the nearest
// subreaper or init, so the command is the process that now has the guard's
// parent, is in that PID namespace and started no earlier than the guard (no
// other process of that namespace has a parent outside it, but PID 1 and
// processes entering it like this one, whose own parent would have to die at
// that moment too). That new parent reaps the command, as any orphan.
// A `ctr exec` that ends normally has reaped its command first, and kills the
// guard itself (its own child: the PID is not reused before it is reaped).
// The guard needs no namespace of the container, no thread count, no output:
// its standard descriptors are /dev/null, so that it never holds `ctr exec`'s
// pipes open.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { getppid, pidfdOpen, pidfdSendSignal, pollReadable, read, SIGKILL } from "../../../native/index.ts";
import { startTime } from "./procstat.ts";

/** The guard's end of the socket (its fd 3). */
export const GUARD_FD = 3;

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
      if (Number(fields[1]) !== parent || start < since || statSync(`/proc/${pid}/ns/pid`).ino !== ns) continue;
      out.push({ pid, start });
    } catch {
      // ended while we looked
    }
  }
  return out;
}

/**
 * The guard's whole life (runtime/enter-init.ts "guard CTR-PID"): exit status
 * 0, or 1 when it had to kill the command. `ctr exec`'s end is seen on a pidfd
 * of it, not on the socket: the pidfd reads as readable once its children have
 * been re-parented, the socket reaches its end before that.
 */
export function guardStage(ctr: number): never {
  const since = startTime(process.pid) ?? Infinity;
  let ctrFd = -1;
  try {
    ctrFd = pidfdOpen(ctr);
  } catch {
    // gone and reaped already
  }
  let text = "";
  let command = -1;
  const line = (key: string): number | null => {
    const m = new RegExp(`^${key} (\\d+)$`, "m").exec(text);
    return m ? Number(m[1]) : null;
  };
  const buf = new Uint8Array(64);
  // Lines until the end of the stream (ctr's end or death); the command's pidfd as soon as
  // its line is there (ctr's unreaped child then: no other process has that PID).
  for (let open = true; open; ) {
    let n = 0;
    try {
      n = read(GUARD_FD, buf);
    } catch {
      n = 0;
    }
    if (n === 0) open = false;
    else text += new TextDecoder().decode(buf.subarray(0, n));
    const pid = line("pid");
    if (pid !== null && command < 0) {
      try {
        command = pidfdOpen(pid);
      } catch {
        process.exit(0); // gone already, and reaped: ctr did it
      }
      if ((startTime(pid) ?? -1) < since) process.exit(0); // not the command: a later process with its PID
    }
  }
  // The stream ended: ctr is ending, normally (then it kills this process first) or not. Wait for its end itself.
  if (ctrFd >= 0 && getppid() === ctr) pollReadable([ctrFd]);
  const ns = line("ns");
  if (ns === null) process.exit(0); // `ctr exec` ended before it spawned a command
  if (command < 0) {
    // It ended between the spawn and the write: its orphans have our parent now.
    for (const o of orphansOf(getppid(), ns, since)) killIfSame(o.pid, o.start);
    process.exit(1);
  }
  if (pollReadable([command], 0).length > 0) process.exit(0); // the command ended first
  try {
    pidfdSendSignal(command, SIGKILL);
  } catch {
    // it ended meanwhile
  }
  process.exit(1);
}
