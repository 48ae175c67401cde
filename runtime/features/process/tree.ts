// The processes a `run` started: its command and everything below it.
//
// A `run` child shares ctr's process group (so that the terminal's Ctrl-C
// reaches it as any foreground program), so "its group" cannot be signalled
// alone; its tree can. The tree is read from /proc/PID/task/PID/children,
// in a procfs of PID 1's own PID namespace: the container's /proc may be the
// host's (numbered in another namespace), or gone after pivot_root. That procfs
// is made once, detached (fsopen("proc") + fsmount: mounted nowhere, seen by
// no one else), and kept as a close-on-exec descriptor. Where it cannot be made
// (no mount privilege), the host's /proc serves when there is no PID namespace.

import { readFileSync, readSync } from "node:fs";
import { close, FSCONFIG_CMD_CREATE, FSMOUNT_CLOEXEC, FSOPEN_CLOEXEC, fsconfig, fsmount, fsopen, O_CLOEXEC, O_RDONLY, openat2, RESOLVE_IN_ROOT } from "../../../native/index.ts";

let procfs: number | null | undefined;

function ownProcfs(): number | null {
  if (procfs !== undefined) return procfs;
  try {
    const ctx = fsopen("proc", FSOPEN_CLOEXEC);
    try {
      fsconfig(ctx, FSCONFIG_CMD_CREATE, null, null);
      procfs = fsmount(ctx, FSMOUNT_CLOEXEC, 0);
    } finally {
      close(ctx);
    }
  } catch {
    procfs = null;
  }
  return procfs;
}

function childrenOf(pid: number): number[] {
  const rel = `${pid}/task/${pid}/children`;
  let text = "";
  try {
    const root = ownProcfs();
    if (root !== null) {
      const fd = openat2(root, rel, O_RDONLY | O_CLOEXEC, RESOLVE_IN_ROOT);
      try {
        const buf = Buffer.alloc(65536);
        const n = readSync(fd, buf, 0, buf.length, null);
        text = buf.subarray(0, n).toString();
      } finally {
        close(fd);
      }
    } else {
      text = readFileSync(`/proc/${rel}`, "utf8");
    }
  } catch {
    return [];
  }
  return text.trim().split(/\s+/).filter(Boolean).map(Number);
}

/**
 * `pid` and all its descendants, parents first. `pidNamespace`: PID 1 is in
 * a PID namespace of its own (its pids are not the host's /proc's).
 */
export function processTree(pid: number, pidNamespace: boolean): number[] {
  if (pidNamespace && ownProcfs() === null) return [pid];
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0 && out.length < 100_000) {
    const p = queue.shift()!;
    if (out.includes(p)) continue;
    out.push(p);
    queue.push(...childrenOf(p));
  }
  return out;
}
