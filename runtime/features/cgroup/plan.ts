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
import { traitsOf, type Op } from "../../ops.ts";
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
    case "io": {
      const dev = b.args["MAJOR:MINOR"]?.text;
      const [major, minor] = dev ? dev.split(":").map(Number) : [];
      const num = (key: string, size = false): number | null => (opt(key) === null ? null : ((size ? parseSize(opt(key)!) : parseInt10(opt(key)!)) ?? null));
      return { controller: "io", device: dev ? { major: major!, minor: minor! } : null, weight: num("weight"), rbps: num("rbps", true), wbps: num("wbps", true), riops: num("riops"), wiops: num("wiops") };
    }
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
 * recorder (features/cgroup/explain.ts); for tests, on a fake tree. Loaded when called:
 * the planner's path does not load explain's machinery (start-up).
 */
export function explainLimit(limit: CgroupLimit, sys: CgroupSystem, id: string): string[] {
  return (require("./explain.ts") as typeof import("./explain.ts")).explainLimit(limit, sys, id);
}

export const planLimit: PlanFn = (cmd): PlannedOp[] => [{ kind: "cgroup-limit", limit: limitOf(cmd), side: "host" }];

export const planShowCgroup: PlanFn = (): PlannedOp[] => [{ kind: "show-cgroup", side: "host" }];


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
