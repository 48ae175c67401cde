// Planning `limit` and `show cgroup`: checked commands -> host ops. Their
// `explain` lines are the manager's calls on a recorder holding this machine's
// cgroups (runtime/explain-host.ts: read-only, nothing is made), with the
// comments below (cgroupNotes):
//
//   limit cpu 20%   on v1:  mkdir /sys/fs/cgroup/cpu/ctr-ID
//                           write cpu.cfs_period_us = 100000
//                           write cpu.cfs_quota_us = 20000
//                   on v2:  write cpu.max = "20000 100000"
// The container-wide steps (mkdir of each cgroup, stage 1 joining) are in the
// lines of the first limit that needs them.

import type { Command } from "../../../lang/spec.ts";
import { parseCpuList, parseDuration, parseInt10, parsePercent, parseSize } from "../../../lang/values.ts";
import { bound, type PlanFn, type PlannedOp } from "../../plan.ts";
import { allHierarchies, callerDir, describeSystem, hierarchyOf, machineCgroups } from "./detect.ts";
import { traitsOf, type Op } from "../../ops.ts";
import { deriveOp, type ExplainNotes } from "../../explain.ts";
import { EXPLAIN_ID } from "../../explain-host.ts";
import { realSys } from "../../../native/seam.ts";
import { ruleText } from "../devices/policy.ts";
import { CgroupManager } from "./manager.ts";
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

/**
 * The explain lines of one limit alone on `sys`, derived from the manager's calls on a
 * recorder (runtime/explain.ts, runtime/explain-host.ts); for tests, on a fake tree.
 */
export function explainLimit(limit: CgroupLimit, sys: CgroupSystem, id: string): string[] {
  const op = { kind: "cgroup-limit", limit, side: "host", span: { file: "", line: 1, column: 1, offset: 0, length: 0 }, source: "", explain: [] } as unknown as Op;
  return deriveOp(op, { root: null, entered: false, ops: [op], spec: { sys: realSys, pendingRoot: null, rootMode: null, entered: false, env: {}, cwd: "/" }, cgroups: { sys, id } });
}

export const planLimit: PlanFn = (cmd): PlannedOp[] => [{ kind: "cgroup-limit", limit: limitOf(cmd), side: "host" }];

export const planShowCgroup: PlanFn = (): PlannedOp[] => [{ kind: "show-cgroup", side: "host" }];

function quoteValue(v: string): string {
  return v.trim() === "" || /\s/.test(v.trim()) ? JSON.stringify(v.trim()) : v.trim();
}

/**
 * `ctr explain`'s comments on `limit` (and `device`, whose policy travels as a limit) and
 * `show cgroup`: the machine's cgroups, why each cgroup is made where it is, what each
 * write means (the controllers' notes), when stage 1 joins.
 */
export function cgroupNotes(op: Op, ctx: { ops: readonly Op[]; cgroups?: { sys: CgroupSystem; id: string } }): ExplainNotes {
  const sys = ctx.cgroups?.sys ?? machineCgroups();
  const id = ctx.cgroups?.id ?? EXPLAIN_ID;
  const m = new CgroupManager(id, sys);
  if (op.kind === "show-cgroup") {
    const v1 = hierarchyOf(sys, "cpuacct")?.version !== "v2";
    const files = v1
      ? "cpuacct.usage, cpu.stat, memory.usage_in_bytes, memory.max_usage_in_bytes, memory.oom_control, pids.current"
      : "cpu.stat, memory.current, memory.peak, memory.events, pids.current";
    const where = [...new Set((["cpuacct", "memory", "pids"] as const).map((c) => hierarchyOf(sys, c)).filter((h) => h !== null).map((h) => m.dirIn(h)))];
    return { before: [`ctr reads ${files}`, ...where.map((d) => `  in ${d}`), "the cgroups exist for accounting even without a limit"] };
  }
  if (op.kind !== "cgroup-limit") return {};
  if (sys.mode === "none") return { before: ["this machine has no cgroup filesystem: ctr will stop with status 125"] };
  const first = ctx.ops.find((o) => o.kind === "cgroup-limit") === op;
  const lines: Record<string, string> = {};
  for (const h of allHierarchies(sys)) {
    const why = h.controllers.includes("cpuacct") && !h.controllers.includes("cpu") ? "CPU time accounting (cpuacct.usage), below ctr's own cpuacct cgroup" : `below ctr's own ${h.version === "v1" ? h.controllers.join(",") : "v2"} cgroup (${callerDir(h)})`;
    lines[`mkdir ${m.dirIn(h)}`] = why;
    lines[`write ${m.dirIn(h)}/cgroup.procs = STAGE1`] = lines["write cgroup.procs = STAGE1"] = "before stage 1 unshares: every process of the container starts inside";
  }
  const before: string[] = first ? [describeSystem(sys)] : [];
  try {
    m.check([op.limit]);
    for (const { dir, write } of m.writesFor(op.limit)) if (write.note) lines[`write ${write.file} = ${quoteValue(write.value)}`] = lines[`write ${dir}/${write.file} = ${quoteValue(write.value)}`] = write.note;
  } catch (e) {
    return { before: [...before, `this machine cannot honour it: ${e instanceof Error ? e.message : String(e)}`, "ctr will stop with status 125 before creating anything"] };
  }
  if (op.limit.controller === "devices") {
    before.push(`the policy after this line: ${op.limit.allowed.map(ruleText).join(", ") || "nothing"}`);
    return { before, lines, calls: { bpf: "one block per allowed entry, else 0 (EPERM)" } };
  }
  return { before, lines };
}

type LimitOp = Extract<Op, { kind: "cgroup-limit" }>;

/** Which limits are written when the cgroups are made: those before the first command (the others are live changes). */
export function limitsAtStart(ops: readonly Op[]): Set<LimitOp> {
  const out = new Set<LimitOp>();
  for (const op of ops) {
    if (traitsOf(op.kind).command) break;
    if (op.kind === "cgroup-limit") out.add(op);
  }
  return out;
}
