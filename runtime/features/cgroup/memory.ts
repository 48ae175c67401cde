// The memory controller: how much memory the container's processes may use.
//
// Kernel concepts:
//   - Every page a process faults in (its heap, stack, the page cache it reads)
//     is charged to its memory cgroup. Past the limit the kernel first reclaims
//     (drops clean page cache, swaps if allowed); when nothing can be reclaimed
//     the OOM killer kills a process *in the cgroup* (the one with the most
//     memory) and counts it:
//       v1: memory.limit_in_bytes; the count in memory.oom_control ("oom_kill N"),
//           how often the limit was hit in memory.failcnt, the peak in
//           memory.max_usage_in_bytes
//       v2: memory.max; the counts in memory.events ("max", "oom", "oom_kill"),
//           the peak in memory.peak (Linux 5.19+)
//   - Swap: v1 limits memory+swap together (memory.memsw.limit_in_bytes, present
//     only when the kernel accounts swap); v2 limits swap alone (memory.swap.max).
//     ctr gives no swap unless `swap=` says so: `limit memory 32m` kills at 32 MiB
//     on every machine, with or without swap.
//   - Charges do not move with a process (chapter 08's "no effect": a process that
//     already had its memory kept it charged to its old cgroup). ctr puts the
//     container's first process in the cgroup before it runs anything.
// Order (v1): memory.limit_in_bytes must stay <= memory.memsw.limit_in_bytes at
// every write: when raising, memsw first; when lowering, the limit first.

import { SysError } from "../../../native/error.ts";
import { readKeyed, readNumber, type CgroupFs } from "./fs.ts";
import type { CgroupLimit, CgroupVersion, CgroupWrite } from "./types.ts";

export type MemoryLimit = Extract<CgroupLimit, { controller: "memory" }>;

/**
 * The smallest limit ctr accepts. The kernel takes any value for an empty
 * cgroup, but the container's PID 1 (ctr's init stage, a Bun process) lives in
 * it: measured here it charges about 5 MiB; below this floor it would be
 * killed before the command ever runs.
 */
export const MIN_MEMORY = 8 * 1024 * 1024;

export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return "unlimited";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : 1).replace(/\.0+$/, "")} ${units[i]}`;
}

/** Why a memory limit is below the floor, or null: shared by the checker and the run. */
export function memoryFloorProblem(bytes: number): { message: string; hint: string } | null {
  if (bytes >= MIN_MEMORY) return null;
  return {
    message: `limit memory ${formatBytes(bytes)}: too small for the container's own init process, which needs about 5 MiB`,
    hint: `use at least ${formatBytes(MIN_MEMORY)} (the kernel would accept less, and then kill PID 1 before the command starts)`,
  };
}

export function checkMemory(limit: MemoryLimit): void {
  const problem = memoryFloorProblem(limit.bytes);
  if (problem) throw new SysError({ ...problem, status: 125 });
}

export interface MemoryEnv {
  /** v1: whether memory.memsw.* exist (the kernel accounts swap). */
  hasMemsw: boolean;
  /** v2: whether memory.swap.max exists. */
  hasSwapMax: boolean;
}

/** The file writes for a memory limit, for a cgroup whose limits are still the defaults. */
export function memoryWrites(limit: MemoryLimit, version: CgroupVersion, env: MemoryEnv): CgroupWrite[] {
  const swap = limit.swapBytes ?? 0;
  const swapNote = swap === 0 ? "no swap: killed at the limit" : `plus ${formatBytes(swap)} of swap`;
  if (version === "v1") {
    const out: CgroupWrite[] = [{ controller: "memory", file: "memory.limit_in_bytes", value: String(limit.bytes), note: formatBytes(limit.bytes) }];
    if (env.hasMemsw) out.push({ controller: "memory", file: "memory.memsw.limit_in_bytes", value: String(limit.bytes + swap), note: `memory + swap, ${swapNote} (after memory.limit_in_bytes: never below it)` });
    return out;
  }
  const out: CgroupWrite[] = [{ controller: "memory", file: "memory.max", value: String(limit.bytes), note: formatBytes(limit.bytes) }];
  if (env.hasSwapMax) out.push({ controller: "memory", file: "memory.swap.max", value: String(swap), note: swapNote });
  return out;
}

/**
 * The same writes for a cgroup that already has limits (a live change): on v1
 * the memsw write goes first when the new limit is above the current memsw one.
 */
export function orderLiveWrites(writes: CgroupWrite[], fs: CgroupFs, dir: string): CgroupWrite[] {
  const memsw = writes.find((w) => w.file === "memory.memsw.limit_in_bytes");
  const limit = writes.find((w) => w.file === "memory.limit_in_bytes");
  if (!memsw || !limit) return writes;
  const current = readNumber(fs, dir, "memory.memsw.limit_in_bytes");
  if (current !== null && Number(limit.value) > current) return [memsw, limit];
  return writes;
}

export interface MemoryUsage {
  limit: number | null;
  /** Memory plus swap (v1) or swap alone (v2), as set. */
  swapLimit: number | null;
  current: number | null;
  peak: number | null;
  /** Processes killed by the OOM killer in this cgroup. */
  oomKills: number | null;
  /** v1 memory.failcnt / v2 memory.events "max": how often usage hit the limit. */
  limitHits: number | null;
}

/** Where each version keeps the figures `readMemory` reads (see the top of the file). */
const USAGE_FILES = {
  v1: { events: "memory.oom_control", limit: "memory.limit_in_bytes", swapLimit: "memory.memsw.limit_in_bytes", current: "memory.usage_in_bytes", peak: "memory.max_usage_in_bytes" },
  v2: { events: "memory.events", limit: "memory.max", swapLimit: "memory.swap.max", current: "memory.current", peak: "memory.peak" },
} as const;

export function readMemory(fs: CgroupFs, version: CgroupVersion, dir: string): MemoryUsage {
  const files = USAGE_FILES[version];
  const ev = readKeyed(fs, dir, files.events);
  return {
    limit: readNumber(fs, dir, files.limit),
    swapLimit: readNumber(fs, dir, files.swapLimit),
    current: readNumber(fs, dir, files.current),
    peak: readNumber(fs, dir, files.peak),
    oomKills: ev?.oom_kill ?? null,
    limitHits:
      version === "v1"
        ? // With memory+swap limited too, the kernel charges (and fails) that counter first.
          Math.max(readNumber(fs, dir, "memory.failcnt") ?? 0, readNumber(fs, dir, "memory.memsw.failcnt") ?? 0)
        : (ev?.max ?? null),
  };
}

/** The kernel's "unlimited" for v1 (PAGE_COUNTER_MAX pages) reads as a huge number. */
export function isUnlimited(n: number | null): boolean {
  return n === null || !Number.isFinite(n) || n >= 2 ** 62;
}
