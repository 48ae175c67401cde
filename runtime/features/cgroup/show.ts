// `show cgroup`: the container's cgroups, their limits and live usage, each
// figure with the file the kernel keeps it in (so the user can go and look).
//
//   cgroup v1 (hybrid: the v2 tree at /sys/fs/cgroup/unified has only hugetlb)
//   cpu     /sys/fs/cgroup/cpu/ctr-x1y2z3-4242
//   ...
//   CONTROLLER  ITEM       VALUE                                  FROM
//   cpu         limit      20% of one CPU (20 ms every 100 ms)     cpu.cfs_quota_us, cpu.cfs_period_us
//   cpu         usage      0.612 s, 19.8% of one CPU over 3.09 s  cpuacct.usage
//   cpu         throttled  28 of 31 periods, 2.41 s               cpu.stat

import { describeSystem, hierarchyOf } from "./detect.ts";
import type { CgroupManager } from "./manager.ts";
import { formatBytes, isUnlimited } from "./memory.ts";
import type { CgroupVersion } from "./types.ts";
import { table } from "../show/show.ts";

const seconds = (ns: number) => `${(ns / 1e9).toFixed(3)} s`;

export function showCgroup(m: CgroupManager): string {
  const u = m.usage();
  const v = (c: "cpu" | "cpuacct" | "memory" | "pids" | "cpuset"): CgroupVersion => hierarchyOf(m.sys, c)?.version ?? "v1";
  const lines: string[] = [`${describeSystem(m.sys)}; the container's cgroup: ${m.name}`];
  const seen = new Set<string>();
  for (const [c, dir] of m.dirs) {
    if (seen.has(dir)) continue;
    seen.add(dir);
    const sharing = [...m.dirs].filter(([, d]) => d === dir).map(([k]) => k);
    lines.push(`  ${sharing.join(",").padEnd(14)} ${dir}`);
    void c;
  }
  if (m.dirs.size === 0) lines.push("  (no cgroup: the container has no limits)");
  const rows = [["CONTROLLER", "ITEM", "VALUE", "FROM"]];
  if (u.cpu) {
    const c = u.cpu;
    const v1 = v(m.dirs.has("cpu") ? "cpu" : "cpuacct") === "v1";
    if (m.dirs.has("cpu")) {
      const quota = c.quotaPercent !== null ? `${c.quotaPercent}% of one CPU (${c.quotaUs! / 1000} ms every ${c.periodUs! / 1000} ms)` : "no quota";
      rows.push(["cpu", "limit", `${quota}, ${c.weight ?? "default weight"}`, v1 ? "cpu.cfs_quota_us, cpu.cfs_period_us, cpu.shares" : "cpu.max, cpu.weight"]);
    }
    if (c.usageNs !== null) {
      const share = u.ageMs > 0 ? `, ${((c.usageNs / 1e6 / u.ageMs) * 100).toFixed(1)}% of one CPU over ${(u.ageMs / 1000).toFixed(2)} s` : "";
      rows.push(["cpu", "usage", `${seconds(c.usageNs)}${share}`, v1 ? "cpuacct.usage" : "cpu.stat usage_usec"]);
    }
    if (c.periods !== null && m.dirs.has("cpu")) {
      rows.push(["cpu", "throttled", `${c.throttledPeriods ?? 0} of ${c.periods} periods, ${seconds(c.throttledNs ?? 0)}`, v1 ? "cpu.stat nr_throttled, throttled_time" : "cpu.stat nr_throttled, throttled_usec"]);
    }
  }
  if (u.memory) {
    const mm = u.memory;
    const v1 = v("memory") === "v1";
    const limit = isUnlimited(mm.limit) ? "none" : formatBytes(mm.limit!);
    let swap = "";
    if (mm.swapLimit !== null) {
      if (isUnlimited(mm.swapLimit)) swap = ", swap unlimited";
      else {
        const s = v1 ? mm.swapLimit - (mm.limit ?? 0) : mm.swapLimit;
        swap = s <= 0 ? ", no swap" : `, swap ${formatBytes(s)}`;
      }
    }
    rows.push(["memory", "limit", limit + swap, v1 ? "memory.limit_in_bytes, memory.memsw.limit_in_bytes" : "memory.max, memory.swap.max"]);
    const peak = mm.peak !== null ? `, peak ${formatBytes(mm.peak)}` : "";
    rows.push(["memory", "usage", `${mm.current !== null ? formatBytes(mm.current) : "?"} now${peak}`, v1 ? "memory.usage_in_bytes, memory.max_usage_in_bytes" : "memory.current, memory.peak"]);
    // (some kernels keep no failcnt when memory+swap is limited too: shown only when counted)
    const hits = mm.limitHits ? `, limit reached ${mm.limitHits} times` : "";
    rows.push(["memory", "oom kills", `${mm.oomKills ?? "?"}${hits}`, v1 ? "memory.oom_control oom_kill, memory[.memsw].failcnt" : "memory.events oom_kill, max"]);
  }
  if (u.pids) {
    const p = u.pids;
    rows.push(["pids", "limit", p.max === null || !Number.isFinite(p.max) ? "none" : String(p.max), "pids.max"]);
    rows.push(["pids", "usage", `${p.current ?? "?"} tasks now, ${p.refused ?? 0} forks refused`, "pids.current, pids.events max"]);
  }
  if (u.cpuset) {
    const s = u.cpuset;
    rows.push(["cpuset", "cpus", `${s.cpus || "?"} (memory nodes ${s.mems || "?"})`, v("cpuset") === "v1" ? "cpuset.effective_cpus, cpuset.effective_mems" : "cpuset.cpus.effective, cpuset.mems.effective"]);
  }
  return lines.join("\n") + "\n" + (rows.length > 1 ? table(rows) : "");
}
