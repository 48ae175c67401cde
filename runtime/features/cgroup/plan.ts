// Planning `limit` and `show cgroup`: checked commands -> host ops, with
// `explain` lines that give the exact file writes for the cgroup version this
// machine has (detected now, read-only: planning touches nothing).
//
//   limit cpu 20%   on v1:  mkdir /sys/fs/cgroup/cpu/ctr-ID
//                           write cpu.cfs_period_us = 100000
//                           write cpu.cfs_quota_us = 20000
//                   on v2:  write cpu.max = "20000 100000"
// The container-wide steps (mkdir of each cgroup, stage 1 joining) are
// explained once, on the first limit that needs them.

import type { Command } from "../../../lang/spec.ts";
import { parseCpuList, parseDuration, parseInt10, parsePercent, parseSize } from "../../../lang/values.ts";
import { bound, type PlanContext, type PlanFn, type PlannedOp } from "../../plan.ts";
import { callerDir, describeSystem, hierarchyOf, machineCgroups } from "./detect.ts";
import { CgroupManager, controllersOf } from "./manager.ts";
import type { CgroupLimit, CgroupSystem } from "./types.ts";


/**
 * A `limit` command as numbers. The checker has validated the forms; a
 * command it did not (a bug) gets an Error naming the form, which the planner
 * reports as a diagnostic on the command.
 */
export function limitOf(cmd: Command): CgroupLimit {
  const b = bound(cmd);
  const what = b.form;
  const value = b.positional[0]?.text;
  const opt = (key: string): string | null => b.options[key]?.text ?? null;
  switch (what) {
    case "cpu": {
      const period = opt("period");
      const weight = opt("weight");
      const shares = opt("shares");
      return {
        controller: "cpu",
        percent: value !== undefined ? (parsePercent(value) ?? null) : null,
        periodUs: period !== null ? Math.round((parseDuration(period) ?? 100) * 1000) : null,
        weight: weight !== null ? (parseInt10(weight) ?? null) : null,
        shares: shares !== null ? (parseInt10(shares) ?? null) : null,
      };
    }
    case "memory": {
      const swap = opt("swap");
      return { controller: "memory", bytes: parseSize(value ?? "") ?? 0, swapBytes: swap !== null ? (parseSize(swap) ?? 0) : null };
    }
    case "pids":
      return { controller: "pids", max: parseInt10(value ?? "") ?? 0 };
    case "cpuset": {
      const cpus = (value ?? "").replace(/\s/g, "");
      const mems = opt("mems");
      return { controller: "cpuset", cpus: normaliseList(cpus), mems: mems !== null ? normaliseList(mems) : null };
    }
  }
  throw new Error(`unknown limit \`${what}\``);
}

/** "0,1" and "0-1" both as the kernel prints them back. */
function normaliseList(text: string): string {
  const items = parseCpuList(text);
  if (!items || items.length === 0) return text;
  const ranges: string[] = [];
  let start = items[0]!;
  let prev = start;
  for (const n of [...items.slice(1), -1]) {
    if (n === prev + 1) {
      prev = n;
      continue;
    }
    ranges.push(start === prev ? String(start) : `${start}-${prev}`);
    start = prev = n;
  }
  return ranges.join(",");
}

const explained = new WeakMap<PlanContext, Set<string>>();

function containerId(ctx: PlanContext): string {
  return ctx.stateDir.slice(ctx.stateDir.lastIndexOf("/") + 1) || "ID";
}

function quoteValue(v: string): string {
  return /\s/.test(v) ? JSON.stringify(v) : v;
}

/** The explain lines of one limit on `sys` (exported for tests). */
export function explainLimit(limit: CgroupLimit, sys: CgroupSystem, id: string, done: Set<string> = new Set()): string[] {
  const m = new CgroupManager(id, sys);
  const lines: string[] = [];
  try {
    m.check([limit]);
  } catch (e) {
    return [`# this machine cannot honour it: ${e instanceof Error ? e.message : String(e)}`, "# ctr will stop with status 125 before creating anything"];
  }
  for (const c of controllersOf(limit.controller)) {
    const h = hierarchyOf(sys, c);
    if (!h) continue;
    const dir = m.dirIn(h);
    if (done.has(dir)) continue;
    done.add(dir);
    if (h.version === "v2") {
      const chain = [h.mount, ...h.callerPath.split("/").filter(Boolean).map((_, i, a) => `${h.mount}/${a.slice(0, i + 1).join("/")}`)];
      for (const d of chain) lines.push(`write ${d}/cgroup.subtree_control = "+${c}"  # if not enabled yet: a child gets only what its parent enables`);
    }
    const why = c === "cpuacct" ? `CPU time accounting (cpuacct.usage), below ctr's own cpuacct cgroup` : `below ctr's own ${h.version === "v1" ? c : "v2"} cgroup (${callerDir(h)})`;
    lines.push(`mkdir ${dir}  # ${why}`);
  }
  for (const { write } of m.writesFor(limit)) lines.push(`write ${write.file} = ${quoteValue(write.value)}${write.note ? `  # ${write.note}` : ""}`);
  return lines;
}

export const planLimit: PlanFn = (cmd, ctx): PlannedOp[] => {
  const limit = limitOf(cmd);
  const sys = machineCgroups();
  let done = explained.get(ctx);
  const first = !done;
  if (!done) explained.set(ctx, (done = new Set()));
  const explain = sys.mode === "none" ? ["# this machine has no cgroup filesystem: ctr will stop with status 125"] : explainLimit(limit, sys, containerId(ctx), done);
  if (first && sys.mode !== "none") {
    explain.unshift(`# ${describeSystem(sys)}`);
    explain.push("write cgroup.procs = <stage 1 PID>  # in each cgroup, before stage 1 unshares: every process of the container starts inside");
  }
  return [{ kind: "cgroup-limit", limit, side: "host", explain }];
};

export const planShowCgroup: PlanFn = (_cmd, ctx): PlannedOp[] => {
  const sys = machineCgroups();
  const m = new CgroupManager(containerId(ctx), sys);
  const v1 = hierarchyOf(sys, "cpuacct")?.version !== "v2";
  const files = v1
    ? "cpuacct.usage, cpu.stat, memory.usage_in_bytes, memory.max_usage_in_bytes, memory.oom_control, pids.current"
    : "cpu.stat, memory.current, memory.peak, memory.events, pids.current";
  const where = [...new Set((["cpuacct", "memory", "pids"] as const).map((c) => hierarchyOf(sys, c)).filter((h) => h !== null).map((h) => m.dirIn(h)))];
  return [{ kind: "show-cgroup", side: "host", explain: [`read ${files}`, ...where.map((d) => `  in ${d}`), "# the cgroups exist for accounting even without a limit"] }];
};
