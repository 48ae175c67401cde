// What the REPL's detached container's supervisor (its stage 1,
// repl-detach.ts) does on the host when PID 1 has ended, by the descriptors
// the REPL opened on the host's tree: stage 1 shares PID 1's mount namespace,
// which may have left the host's tree, and no path of the host is looked up
// from it. No event loop either (no threads after unshare(CLONE_NEWPID)): every
// call is synchronous, pauses are Atomics.wait.
//   - the record's state.json, read and replaced atomically as store.ts does;
//   - the container's cgroups: stage 1 leaves them, what is left in them is
//     killed, and they are removed deepest first (removeHeld of
//     runtime/features/oci/teardown.ts, by descriptors).

import { closeSync, constants, fsyncSync, readSync, writeSync } from "node:fs";
import { AT_REMOVEDIR, close, kill, O_CLOEXEC, O_DIRECTORY, O_NOFOLLOW, O_RDONLY, openat, readDirFd, renameat2, SIGKILL, SysError, unlinkat } from "../../../native/index.ts";
import type { ContainerState } from "./store.ts";

/** The record's state.json, read through its directory's descriptor `dir`; null if unreadable. */
export function readRecordAt(dir: number): ContainerState | null {
  let fd: number;
  try {
    fd = openat(dir, "state.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  } catch {
    return null;
  }
  try {
    const chunks: Buffer[] = [];
    const buf = Buffer.alloc(65536);
    for (let n; (n = readSync(fd, buf)) > 0; ) chunks.push(Buffer.from(buf.subarray(0, n)));
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as ContainerState;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Replace state.json atomically (write a temporary, fsync, rename), as store.ts does by path. */
export function writeRecordAt(dir: number, s: ContainerState): boolean {
  const tmp = `.state.json.${process.pid}`;
  try {
    const fd = openat(dir, tmp, O_CLOEXEC | O_NOFOLLOW | constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600);
    try {
      let data = Buffer.from(JSON.stringify(s, null, 2) + "\n");
      while (data.length > 0) data = data.subarray(writeSync(fd, data));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameat2(dir, tmp, dir, "state.json", 0);
    return true;
  } catch {
    try {
      unlinkat(dir, tmp);
    } catch {
      // not made
    }
    return false; // the record was removed meanwhile (`ctr rm -f`, or /run lost)
  }
}

/** A pause without an event loop. */
function nap(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const DIR = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

/** The PIDs in `dir`/cgroup.procs (empty when unreadable). */
function procsAt(dir: number): number[] {
  let fd: number;
  try {
    fd = openat(dir, "cgroup.procs", O_RDONLY | O_CLOEXEC);
  } catch {
    return [];
  }
  try {
    const buf = Buffer.alloc(65536);
    let text = "";
    for (let n; (n = readSync(fd, buf)) > 0; ) text += buf.toString("latin1", 0, n);
    return text.split("\n").map(Number).filter((p) => Number.isInteger(p) && p > 0);
  } catch {
    return [];
  } finally {
    closeSync(fd);
  }
}

/** `fn` on the directory `name` below `dir` and on each directory below it, deepest last; skipped when gone. */
function eachCgroup(dir: number, name: string, fn: (fd: number) => void): void {
  let fd: number;
  try {
    fd = openat(dir, name, DIR);
  } catch {
    return;
  }
  try {
    fn(fd);
    for (const e of readDirFd(fd)) if (e.type === 4) eachCgroup(fd, e.name, fn);
  } finally {
    close(fd);
  }
}

/**
 * removeHeld (runtime/features/oci/teardown.ts) without an event loop and by
 * descriptors. Stage 1 joined the container's cgroups before it unshared: it
 * moves itself to each one's parent first (ctr's own cgroup, where the REPL
 * was), or the cgroup could not be removed, and the kill below must not take it.
 */
export function removeCgroupsAt(cgroups: readonly { parent: number; name: string }[], ms = 5000): string[] {
  const problems: string[] = [];
  for (const c of cgroups) {
    eachCgroup(c.parent, c.name, (fd) => {
      if (!procsAt(fd).includes(process.pid)) return;
      try {
        const procs = openat(c.parent, "cgroup.procs", constants.O_WRONLY | O_CLOEXEC);
        try {
          writeSync(procs, String(process.pid));
        } finally {
          closeSync(procs);
        }
      } catch (e) {
        problems.push(`cannot leave the container's cgroup ${c.name}: ${e instanceof Error ? e.message : String(e)}`);
      }
    });
  }
  const left = (): number[] => {
    const out = new Set<number>();
    for (const c of cgroups) eachCgroup(c.parent, c.name, (fd) => procsAt(fd).forEach((p) => p !== process.pid && out.add(p)));
    return [...out];
  };
  const deadline = Date.now() + ms;
  for (let pids = left(); pids.length > 0; pids = left()) {
    if (Date.now() > deadline) {
      problems.push(`processes ${pids.join(", ")} of the container would not die`);
      break;
    }
    for (const pid of pids) {
      try {
        kill(pid, SIGKILL);
      } catch {
        // gone
      }
    }
    nap(10);
  }
  for (const c of [...cgroups].reverse()) {
    const err = rmdirTree(c.parent, c.name, deadline);
    if (err) problems.push(err);
  }
  for (const c of cgroups) close(c.parent);
  return problems;
}

/** rmdir `name` below `dir` and the cgroups below it, deepest first, retrying while killed tasks drain (EBUSY). */
function rmdirTree(dir: number, name: string, deadline: number): string | null {
  let fd: number;
  try {
    fd = openat(dir, name, DIR);
  } catch {
    return null; // gone
  }
  try {
    for (const e of readDirFd(fd)) {
      if (e.type !== 4) continue;
      const err = rmdirTree(fd, e.name, deadline);
      if (err) return err;
    }
  } finally {
    close(fd);
  }
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    try {
      unlinkat(dir, name, AT_REMOVEDIR);
      return null;
    } catch (e) {
      const code = e instanceof SysError ? e.code : "";
      if (code === "ENOENT") return null;
      if (code !== "EBUSY" || Date.now() > deadline) return `cannot remove the container's cgroup ${name}: ${e instanceof Error ? e.message : String(e)}`;
      nap(delay);
    }
  }
}
