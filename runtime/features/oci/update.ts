// `update [--resources FILE|-] [--memory N] [--memory-swap N] [--pids-limit N]
// [--cpu-quota N] [--cpu-period N] [--cpu-shares N] [--cpuset-cpus S]
// [--cpuset-mems S] ID`: a running container's resources changed, as runc's.
//
// The new resources are the runtime spec's `linux.resources` (the --resources
// file's JSON, or the flags put in its fields), translated by the same code
// as a config's (translate.ts: `limit` commands, checked by the language's
// checker) and written by the cgroup manager's live change
// (CgroupManager.apply: the order of memory writes that lowers a limit
// below the usage, v1 cpu period before quota). What ctr cannot change is an
// error naming the field or flag, before anything is written: the device
// policy (set at create), removing a limit (-1), and the fields the
// translation refuses for a config too (blockIO, hugepages, ...).
//
// The container's cgroups are its own in every hierarchy (made at create:
// runtime/session.ts, `everyHierarchy`), listed in its record; each change is
// written into the one of its controller's hierarchy. On cgroup v2 a
// controller not yet enabled for it is enabled in the cgroups above first
// (the manager's delegation rules: an error says when the kernel forbids it).

import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { Checker, newCheckerState } from "../../../lang/checker.ts";
import { formatLocation } from "../../../lang/diagnostics.ts";
import { parseSize } from "../../../lang/values.ts";
import { SysError } from "../../../native/error.ts";
import { hierarchyOf, machineCgroups } from "../cgroup/detect.ts";
import { controllersOf, CgroupManager } from "../cgroup/manager.ts";
import { limitOf } from "../cgroup/plan.ts";
import type { CgroupFs } from "../cgroup/fs.ts";
import type { CgroupLimit, CgroupSystem, KernelController } from "../cgroup/types.ts";
import { statements } from "../../registry.ts";
import { JsonError, parseLocated } from "./json.ts";
import type { OciRecord } from "./state.ts";
import { translateResources } from "./translate.ts";

/** runc's update flags ctr honours, with the field of `linux.resources` each sets. */
export const UPDATE_FIELDS: Record<string, readonly string[]> = {
  memory: ["memory", "limit"],
  "memory-swap": ["memory", "swap"],
  "pids-limit": ["pids", "limit"],
  "cpu-quota": ["cpu", "quota"],
  "cpu-period": ["cpu", "period"],
  "cpu-shares": ["cpu", "shares"],
  "cpuset-cpus": ["cpu", "cpus"],
  "cpuset-mems": ["cpu", "mems"],
};

/** runc's update flags ctr cannot honour, with why. */
export const UPDATE_NOT_YET: Record<string, string> = {
  "blkio-weight": "the blkio controller",
  "cpu-rt-period": "realtime CPU scheduling",
  "cpu-rt-runtime": "realtime CPU scheduling",
  "cpu-idle": "SCHED_IDLE for the cgroup",
  "kernel-memory": "kernel memory limits (gone from recent kernels)",
  "kernel-memory-tcp": "kernel memory limits (gone from recent kernels)",
  "memory-reservation": "a memory reservation (soft limit)",
  "l3-cache-schema": "Intel RDT",
  "mem-bw-schema": "Intel RDT",
};

const PREFIX = '{"linux": {"resources":\n';

export interface UpdateRequest {
  /** --resources: a file, or "-" for standard input. */
  resources?: string;
  /** The other flags, by their names in UPDATE_FIELDS. */
  flags: Map<string, string>;
}

function flagValue(flag: string, text: string): number | string {
  const field = UPDATE_FIELDS[flag]!;
  if (field[1] === "cpus" || field[1] === "mems") return text;
  if (text === "-1") return -1;
  // Sizes as runc takes them (512m); the rest whole numbers.
  const n = flag === "memory" || flag === "memory-swap" ? parseSize(text) : /^\d+$/.test(text) ? Number(text) : undefined;
  if (n === undefined) throw new SysError({ message: `update --${flag}: ${JSON.stringify(text)} is not ${flag.startsWith("memory") ? "a size (a number of bytes, or with k, m, g)" : "a whole number"}` });
  return n;
}

/** The resources document (`{"linux": {"resources": ...}}`), and where each field came from, for messages. */
function resourcesText(req: UpdateRequest): { text: string; file: string; lineShift: number } {
  if (req.resources !== undefined) {
    if (req.flags.size > 0) throw new SysError({ message: `update: --resources and --${[...req.flags.keys()][0]} together: give the resources in one or the other` });
    const file = req.resources === "-" ? "<stdin>" : req.resources;
    const body = readFileSync(req.resources === "-" ? 0 : req.resources, "utf8");
    return { text: `${PREFIX}${body}\n}}\n`, file, lineShift: 1 };
  }
  const r: Record<string, Record<string, unknown>> = {};
  for (const [flag, text] of req.flags) {
    const [group, key] = UPDATE_FIELDS[flag]!;
    (r[group!] ??= {})[key!] = flagValue(flag, text);
  }
  return { text: JSON.stringify({ linux: { resources: r } }, null, 2), file: "update's flags", lineShift: 0 };
}

/** The flag that sets a pointer's field, for a message about the flags. */
function flagOf(ptr: string): string | null {
  const f = Object.entries(UPDATE_FIELDS).find(([, [g, k]]) => ptr === `/linux/resources/${g}/${k}` || ptr === `/linux/resources/${g}`);
  return f ? `--${f[0]}` : null;
}

/** What update cannot do though a config may (the device policy; -1, which removes a limit): errors naming the field. */
function refusals(r: unknown, byFlags: boolean): string[] {
  const out: string[] = [];
  if (typeof r !== "object" || r === null) return out;
  const res = r as Record<string, Record<string, unknown> | undefined>;
  if (res.devices !== undefined) out.push("`linux.resources.devices` cannot be changed by update: the device policy is set at create");
  const unlimited: [string, string][] = [
    ["memory", "limit"],
    ["pids", "limit"],
    ["cpu", "quota"],
  ];
  for (const [g, k] of unlimited) {
    const v = res[g]?.[k];
    const flag = byFlags ? flagOf(`/linux/resources/${g}/${k}`) : null;
    if (v === -1 || (g === "pids" && v === 0)) out.push(`\`linux.resources.${g}.${k}\` ${v}${flag ? ` (${flag})` : ""}: removing a limit is not supported yet: give a new limit`);
  }
  return out;
}

/** The limits the request asks for, or an error listing every problem (nothing written). */
export function updateLimits(req: UpdateRequest): CgroupLimit[] {
  const { text, file, lineShift } = resourcesText(req);
  let doc;
  try {
    doc = parseLocated(text);
  } catch (e) {
    if (!(e instanceof JsonError)) throw e;
    const before = text.slice(0, e.offset);
    throw new SysError({ message: `${file}:${before.split("\n").length - lineShift}:${e.offset - before.lastIndexOf("\n")}: the resources are not valid JSON: ${e.message}` });
  }
  const resources = ((doc.value as { linux?: { resources?: unknown } }).linux ?? {}).resources;
  const problems = refusals(resources, lineShift === 0);
  const t = translateResources(doc, text, file);
  // Checked as a live container's statements are (the REPL's): the container exists already.
  const checker = new Checker(statements, { cpus: cpus().length, state: newCheckerState(["pid"]) });
  const diagnostics = [...t.diagnostics];
  for (const cmd of t.commands) diagnostics.push(...checker.check(cmd));
  for (const d of diagnostics.filter((d) => d.severity === "error")) {
    const ptr = d.span.file.slice(d.span.file.lastIndexOf(":") + 1);
    const where = lineShift === 0 ? (flagOf(ptr) ?? ptr) : formatLocation({ ...d.span, file: `${file}:${ptr.replace(/^\/linux\/resources/, "") || "/"}`, line: d.span.line - lineShift });
    problems.push(`${where}: ${d.message}${d.help ? ` (${d.help})` : ""}`);
  }
  if (problems.length > 0) throw new SysError({ message: `update: nothing changed:\n${[...new Set(problems)].join("\n")}` });
  return t.commands.map(limitOf);
}

/** Write `limits` into the container's cgroups, one manager per limit, placed at the container's own cgroup in that limit's hierarchy. */
/** `on`: the machine and its cgroup files (a fake v2 tree in test/oci/update.test.ts). */
export function applyLimits(rec: OciRecord, limits: readonly CgroupLimit[], on: { sys?: CgroupSystem; fs?: CgroupFs } = {}): void {
  const held = (rec.held?.cgroups ?? []).filter((d) => !d.endsWith("-host"));
  if (held.length === 0) throw new SysError({ message: `cannot update container ${rec.id}: it has no cgroups of its own`, hint: "a container `ctr run` supervises in the foreground cannot be updated: use create and start, or run --detach" });
  const sys = on.sys ?? machineCgroups();
  const dirOf = (c: KernelController): { mount: string; dir: string } | null => {
    const h = hierarchyOf(sys, c);
    const dir = h ? held.find((d) => d.startsWith(`${h.mount}/`)) : undefined;
    return h && dir ? { mount: h.mount, dir } : null;
  };
  // Every check first: a refusal leaves every cgroup as it was.
  const plans = limits.map((limit) => {
    const primary = controllersOf(limit.controller)[0]!;
    const at = dirOf(primary);
    if (!at) throw new SysError({ message: `cannot update container ${rec.id}: it has no ${primary} cgroup of its own (this machine: ${hierarchyOf(sys, primary) ? "the hierarchy is mounted, the container was made without it" : "no such controller"})` });
    const m = new CgroupManager(rec.cid, sys, { path: at.dir.slice(at.mount.length), ...(on.fs ? { fs: on.fs } : {}) });
    // v1: the container's directory in each hierarchy is there; v2: apply enables the controller above it first.
    for (const c of controllersOf(limit.controller)) {
      const d = dirOf(c);
      if (d && (hierarchyOf(sys, c)!.version === "v1" || c === "cpuacct")) m.dirs.set(c, d.dir); // (v2 accounts CPU time in every cgroup: nothing to enable)
      else if (!d && c !== "cpuacct") throw new SysError({ message: `cannot update container ${rec.id}: it has no ${c} cgroup of its own` });
    }
    m.check([limit]);
    return { m, limit };
  });
  for (const { m, limit } of plans) {
    m.apply(limit, []);
    // Nothing new may have been made: the record lists what `delete` removes.
    if (m.made.length > 0) throw new SysError({ message: `update made ${m.made.join(", ")}, which the container's record does not hold` });
  }
}
