// The cpu controller: how much CPU time the container's processes get.
//
// Kernel concepts (CFS bandwidth control, Documentation/scheduler/sched-bwc.rst):
//   - a quota of CPU time per period: 20 ms in every 100 ms is 20% of one CPU,
//     200 ms in every 100 ms is two CPUs' worth. Once the cgroup has used its
//     quota, all its threads wait ("throttled") until the next period starts.
//       v1: cpu.cfs_period_us = 100000, cpu.cfs_quota_us = 20000 (-1: no quota)
//       v2: cpu.max = "20000 100000" ("max 100000": no quota)
//   - a relative weight, used only when CPUs are contended:
//       v1: cpu.shares (2..262144, default 1024)
//       v2: cpu.weight (1..10000, default 100)
//     One is converted to the other with the formula runc and crun use.
//   - CPU time used: v1 keeps it in the cpuacct controller (cpuacct.usage, ns),
//     a separate hierarchy unless comounted with cpu; v2 in every cgroup's
//     cpu.stat (usage_usec), with the throttling counts next to it.
// Rules: the quota must be at least 1 ms (1000 us) and the period between 1 ms
// and 1 s; on v1 the period is written before the quota (the kernel checks the
// pair on each write).

import { SysError } from "../../../native/error.ts";
import { readCgroupFile, readKeyed, readNumber, type CgroupFs } from "./fs.ts";
import type { CgroupLimit, CgroupVersion, CgroupWrite } from "./types.ts";

export type CpuLimit = Extract<CgroupLimit, { controller: "cpu" }>;

export const DEFAULT_PERIOD_US = 100_000;
export const MIN_QUOTA_US = 1000;

/** cgroup v1 shares -> v2 weight (runc's formula). */
export function sharesToWeight(shares: number): number {
  return Math.round(1 + ((shares - 2) * 9999) / 262142);
}

/** cgroup v2 weight -> v1 shares (the inverse). */
export function weightToShares(weight: number): number {
  return Math.round(2 + ((weight - 1) * 262142) / 9999);
}

export function quotaUs(limit: CpuLimit): number | null {
  if (limit.percent === null) return null;
  return Math.round((limit.percent / 100) * (limit.periodUs ?? DEFAULT_PERIOD_US));
}

/** Refuse what the kernel would refuse, with the fix; nothing has been created yet. */
export function checkCpu(limit: CpuLimit): void {
  const q = quotaUs(limit);
  const period = limit.periodUs ?? DEFAULT_PERIOD_US;
  if (q !== null && q < MIN_QUOTA_US) {
    const minPct = Math.ceil((MIN_QUOTA_US / period) * 100 * 100) / 100;
    throw new SysError({
      message: `limit cpu ${limit.percent}%: that is ${q} us of CPU per ${period} us period, below the kernel's minimum quota of ${MIN_QUOTA_US} us`,
      hint: `use at least ${minPct}%, or a longer period (e.g. period=1s)`,
      status: 125,
    });
  }
  if (limit.shares !== null && limit.shares > 262144) {
    throw new SysError({ message: `limit cpu shares=${limit.shares}: the kernel allows at most 262144`, hint: "the default is 1024; shares are relative to the other cgroups", status: 125 });
  }
}

function pct(limit: CpuLimit): string {
  const q = quotaUs(limit)!;
  const period = limit.periodUs ?? DEFAULT_PERIOD_US;
  return `${limit.percent}% of one CPU: ${q / 1000} ms in every ${period / 1000} ms`;
}

/** The file writes for a cpu limit, in the order the kernel needs them. */
export function cpuWrites(limit: CpuLimit, version: CgroupVersion): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  const q = quotaUs(limit);
  const period = limit.periodUs ?? DEFAULT_PERIOD_US;
  if (version === "v1") {
    if (limit.periodUs !== null || q !== null) out.push({ controller: "cpu", file: "cpu.cfs_period_us", value: String(period), note: "first: the quota is checked against it" });
    if (q !== null) out.push({ controller: "cpu", file: "cpu.cfs_quota_us", value: String(q), note: pct(limit) });
    if (limit.shares !== null) out.push({ controller: "cpu", file: "cpu.shares", value: String(limit.shares) });
    else if (limit.weight !== null) out.push({ controller: "cpu", file: "cpu.shares", value: String(weightToShares(limit.weight)), note: `weight ${limit.weight} in v1 terms` });
  } else {
    if (limit.periodUs !== null || q !== null) out.push({ controller: "cpu", file: "cpu.max", value: `${q ?? "max"} ${period}`, note: q !== null ? pct(limit) : "no quota" });
    if (limit.weight !== null) out.push({ controller: "cpu", file: "cpu.weight", value: String(limit.weight) });
    else if (limit.shares !== null) out.push({ controller: "cpu", file: "cpu.weight", value: String(sharesToWeight(limit.shares)), note: `shares ${limit.shares} in v2 terms` });
  }
  return out;
}

export interface CpuUsage {
  /** CPU time used by the cgroup, in nanoseconds. */
  usageNs: number | null;
  periods: number | null;
  throttledPeriods: number | null;
  throttledNs: number | null;
  /** The quota in force, as a percent of one CPU (null: none). */
  quotaPercent: number | null;
  quotaUs: number | null;
  periodUs: number | null;
  /** shares (v1) or weight (v2). */
  weight: string | null;
}

/** Read the cpu controller's limits (`cpuDir`) and the CPU time used (`acctDir`). */
export function readCpu(fs: CgroupFs, version: CgroupVersion, cpuDir: string | null, acctDir: string | null): CpuUsage {
  const u: CpuUsage = { usageNs: null, periods: null, throttledPeriods: null, throttledNs: null, quotaPercent: null, quotaUs: null, periodUs: null, weight: null };
  if (version === "v1") {
    if (acctDir) u.usageNs = readNumber(fs, acctDir, "cpuacct.usage");
    if (cpuDir) {
      const st = readKeyed(fs, cpuDir, "cpu.stat");
      u.periods = st?.nr_periods ?? null;
      u.throttledPeriods = st?.nr_throttled ?? null;
      u.throttledNs = st?.throttled_time ?? null;
      const q = readNumber(fs, cpuDir, "cpu.cfs_quota_us");
      u.periodUs = readNumber(fs, cpuDir, "cpu.cfs_period_us");
      u.quotaUs = q !== null && q >= 0 ? q : null;
      const shares = readCgroupFile(fs, cpuDir, "cpu.shares");
      u.weight = shares === null ? null : `shares ${shares}`;
    }
  } else {
    const dir = cpuDir ?? acctDir;
    if (dir) {
      const st = readKeyed(fs, dir, "cpu.stat");
      u.usageNs = st?.usage_usec !== undefined ? st.usage_usec * 1000 : null;
      u.periods = st?.nr_periods ?? null;
      u.throttledPeriods = st?.nr_throttled ?? null;
      u.throttledNs = st?.throttled_usec !== undefined ? st.throttled_usec * 1000 : null;
      const max = readCgroupFile(fs, dir, "cpu.max");
      if (max) {
        const [q, p] = max.split(/\s+/);
        u.periodUs = p ? Number(p) : null;
        u.quotaUs = q && q !== "max" ? Number(q) : null;
      }
      const w = readCgroupFile(fs, dir, "cpu.weight");
      u.weight = w === null ? null : `weight ${w}`;
    }
  }
  if (u.quotaUs !== null && u.periodUs) u.quotaPercent = Math.round((u.quotaUs / u.periodUs) * 1000) / 10;
  return u;
}
