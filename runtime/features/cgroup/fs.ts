// File access for cgroups: every write ctr makes to a cgroup filesystem goes
// through `writeCgroupFile`, so a refusal always names the file and the value.
//
// Kernel rules that shape this file:
//   - A cgroup file takes one value per write(2): the value is written in a
//     single call, never in pieces, and never with O_CREAT or O_TRUNC (the
//     files exist as soon as the directory does; creating one is an error).
//   - mkdir(2) in a cgroup filesystem creates a cgroup, with its files;
//     rmdir(2) removes it, and fails with EBUSY while a process is in it or a
//     child cgroup exists. There is nothing to delete inside first.
//   - The kernel reports a bad value as EINVAL (or ERANGE, EBUSY, ENOSPC) from
//     write(2): the error is all we learn, so it carries a hint.
//
// The accessor is an interface so the v2 logic can run against a fake tree in
// a temporary directory (test/cgroup), with the kernel's behaviour emulated.
// The real one makes its calls through the seam's file operations (Sys in
// native/seam.ts: readFile, writeFile, mkdir, rmdir, exists, readdir), so a
// RecordingSys shows every cgroupfs call the host makes (test/executors).

import { errnoNumber, strerror, SysError } from "../../../native/error.ts";
import { realFiles } from "../../../native/files.ts";
import type { Sys } from "../../../native/seam.ts";

export interface CgroupFs {
  read(path: string): string;
  /** One write(2) of `value` to an existing file. */
  write(path: string, value: string): void;
  mkdir(path: string): void;
  rmdir(path: string): void;
  exists(path: string): boolean;
  /** Names of the sub-directories (child cgroups). */
  children(path: string): string[];
}

/** The seam's calls a cgroup filesystem is reached through. */
export type CgroupFiles = Pick<Sys, "readFile" | "writeFile" | "mkdir" | "rmdir" | "exists" | "readdir">;

function sysErrorFrom(e: unknown, syscall: string, args: unknown[]): SysError {
  if (e instanceof SysError) return e;
  const code = (e as NodeJS.ErrnoException).code ?? "";
  return new SysError({ errno: errnoNumber(code) ?? 0, code, syscall, args, cause: e });
}

/** Cgroup filesystems through `files`: plain read, one write, mkdir (0755), rmdir. */
export function cgroupFs(files: CgroupFiles): CgroupFs {
  return {
    read(path) {
      try {
        return files.readFile(path);
      } catch (e) {
        throw sysErrorFrom(e, "read", [path]);
      }
    },
    write(path, value) {
      try {
        files.writeFile(path, value);
      } catch (e) {
        throw sysErrorFrom(e, "write", [path, value]);
      }
    },
    mkdir(path) {
      try {
        files.mkdir(path, 0o755);
      } catch (e) {
        throw sysErrorFrom(e, "mkdir", [path]);
      }
    },
    rmdir(path) {
      try {
        files.rmdir(path);
      } catch (e) {
        throw sysErrorFrom(e, "rmdir", [path]);
      }
    },
    exists: (path) => files.exists(path),
    children(path) {
      try {
        return files.readdir(path)
          .filter((d) => d.isDirectory())
          .map((d) => d.name);
      } catch {
        return [];
      }
    },
  };
}

/** The real cgroup filesystems. */
export const realFs: CgroupFs = cgroupFs(realFiles);

const WRITE_HINTS: Record<string, string> = {
  EINVAL: "the kernel refused this value for this file",
  ERANGE: "the value is out of the range this file accepts",
  EBUSY: "the cgroup is in a state that forbids this change (processes inside, or usage above the new limit)",
  ENOSPC: "the cgroup has no CPUs or memory nodes to run on (cpuset.cpus / cpuset.mems empty)",
  ENOENT: "the file does not exist: the controller is not enabled for this cgroup",
  EACCES: "permission denied: ctr needs root, or a cgroup delegated to its user",
  EPERM: "operation not permitted: ctr needs root, or a cgroup delegated to its user",
  EROFS: "the cgroup filesystem is mounted read-only",
};

/**
 * The one write helper: `value` into `dir/file`. A refusal is a SysError
 * (status 125) naming the file and the value; `hint` replaces the generic one.
 */
export function writeCgroupFile(fs: CgroupFs, dir: string, file: string, value: string, hint?: string): void {
  const path = `${dir}/${file}`;
  try {
    fs.write(path, value);
  } catch (e) {
    const err = sysErrorFrom(e, "write", [path, value]);
    const reason = err.errno ? `${err.code} (${strerror(err.errno)})` : err.code || err.message;
    throw new SysError({
      errno: err.errno,
      code: err.code,
      syscall: "write",
      args: [path, value],
      message: `cannot write ${JSON.stringify(value)} to ${path}: ${reason}`,
      hint: hint ?? WRITE_HINTS[err.code] ?? err.hint,
      status: 125,
      cause: e,
    });
  }
}

/** The text of `dir/file`, trimmed; null when it cannot be read. */
export function readCgroupFile(fs: CgroupFs, dir: string, file: string): string | null {
  try {
    return fs.read(`${dir}/${file}`).trim();
  } catch {
    return null;
  }
}

/** "key value" lines (cpu.stat, memory.events, memory.oom_control) as numbers. */
export function readKeyed(fs: CgroupFs, dir: string, file: string): Record<string, number> | null {
  const text = readCgroupFile(fs, dir, file);
  if (text === null) return null;
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^-?\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

/** A single number file (cpuacct.usage, pids.current); "max" reads as Infinity. */
export function readNumber(fs: CgroupFs, dir: string, file: string): number | null {
  const text = readCgroupFile(fs, dir, file);
  if (text === null) return null;
  if (text === "max") return Infinity;
  return /^-?\d+$/.test(text) ? Number(text) : null;
}

/** PIDs listed in a cgroup's cgroup.procs. */
export function readProcs(fs: CgroupFs, dir: string): number[] {
  const text = readCgroupFile(fs, dir, "cgroup.procs");
  if (!text) return [];
  return text
    .split("\n")
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
}
