// Telling a process from a later one with the same PID (issue 15, item 2).
//
// A PID is reused once its process is reaped, so a PID in a container's record
// proves nothing by itself. Field 22 of /proc/PID/stat, the start time in clock
// ticks since boot, does: two processes with the same PID never have the same
// start time. Every signal ctr sends to a recorded process goes through
// sameProcess() first, and through a pidfd opened before that check, so the
// process checked is the process signalled (pidfd_send_signal(2)).

import { readFileSync } from "node:fs";

/** The start time of process `pid` (ticks since boot), or null when it does not exist. */
export function startTime(pid: number): number | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may hold spaces or ")": split after the last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const start = Number(fields[19]); // field 22, counting from field 3
  return Number.isFinite(start) ? start : null;
}

/** A process recorded as `{pid, start}`: is it that very process, alive (not a zombie)? */
export function sameProcess(p: { pid: number; start: number } | null | undefined): boolean {
  if (!p) return false;
  if (startTime(p.pid) !== p.start) return false;
  try {
    const state = readFileSync(`/proc/${p.pid}/stat`, "utf8");
    return state.slice(state.lastIndexOf(")") + 2, state.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** `{pid, start}` of a live process, for a record. */
export function processRef(pid: number): { pid: number; start: number } | null {
  const start = startTime(pid);
  return start === null ? null : { pid, start };
}
