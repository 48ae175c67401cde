// `ctr explain` for `limit`, `device` and `show cgroup` (runtime/explain.ts derives the
// lines from the manager's calls on a recorder, runtime/explain-host.ts): the comments on
// them, and one limit's lines alone (explainLimit, for tests on a fake tree). Not on the
// planner's path: loaded with explain.

import type { Op } from "../../ops.ts";
import { deriveOp, type ExplainNotes } from "../../explain.ts";
import { EXPLAIN_ID } from "../../explain-host.ts";
import { realSys } from "../../../native/seam.ts";
import { ruleText } from "../devices/policy.ts";
import { allHierarchies, callerDir, describeSystem, hierarchyOf, machineCgroups } from "./detect.ts";
import { CgroupManager } from "./manager.ts";
import type { CgroupLimit, CgroupSystem } from "./types.ts";

/** The explain lines of one limit alone on `sys` (a fake tree in tests). */
export function explainLimit(limit: CgroupLimit, sys: CgroupSystem, id: string): string[] {
  const op = { kind: "cgroup-limit", limit, side: "host", span: { file: "", line: 1, column: 1, offset: 0, length: 0 }, source: "", explain: [] } as unknown as Op;
  return deriveOp(op, { root: null, entered: false, ops: [op], spec: { sys: realSys, pendingRoot: null, rootMode: null, entered: false, env: {}, cwd: "/" }, cgroups: { sys, id } });
}

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
