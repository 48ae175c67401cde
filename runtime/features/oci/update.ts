// `update ID` (runc's): a running container's cgroup limits changed, from
// runc's flags and/or a JSON object in the runtime spec's linux.resources
// form (`--resources FILE`, `-` for standard input; the flags win over it).
// The limits are written through the cgroup controllers' own code (cpu.ts,
// memory.ts, pids.ts, cpuset.ts), v1 or v2 as the machine has them, to the
// container's own cgroup in each hierarchy, found from PID 1's
// /proc/PID/cgroup. A limit whose hierarchy holds no cgroup of the
// container's own is refused (ctr never writes the host's cgroups); so is
// every field ctr cannot change, by name.

import { readFileSync } from "node:fs";
import { SysError } from "../../../native/error.ts";
import { checkCpu, cpuWrites } from "../cgroup/cpu.ts";
import { checkCpuset, cpusetWrites, readCpusetParent } from "../cgroup/cpuset.ts";
import { hierarchyOf, machineCgroups } from "../cgroup/detect.ts";
import { cgroupOfProc } from "../cgroup/freezer.ts";
import { realFs, writeCgroupFile } from "../cgroup/fs.ts";
import { memoryWrites, orderLiveWrites } from "../cgroup/memory.ts";
import { pidsWrites } from "../cgroup/pids.ts";
import type { CgroupLimit, CgroupWrite, KernelController } from "../cgroup/types.ts";
import { liveStatus, ownCgroup, type OciRecord } from "./state.ts";

/** runc's flags for update, by the linux.resources field each sets. */
export const UPDATE_FLAGS = {
  resources: "resources",
  r: "resources",
  memory: "memory",
  "memory-swap": "memory-swap",
  "cpu-quota": "cpu-quota",
  "cpu-period": "cpu-period",
  "cpu-share": "cpu-shares",
  "cpu-shares": "cpu-shares",
  "cpuset-cpus": "cpuset-cpus",
  "cpuset-mems": "cpuset-mems",
  "pids-limit": "pids-limit",
  // runc's, refused below by name:
  "blkio-weight": "blkio-weight",
  "kernel-memory": "kernel-memory",
  "kernel-memory-tcp": "kernel-memory-tcp",
  "memory-reservation": "memory-reservation",
  "cpu-rt-period": "cpu-rt-period",
  "cpu-rt-runtime": "cpu-rt-runtime",
  "l3-cache-schema": "l3-cache-schema",
  "mem-bw-schema": "mem-bw-schema",
  "cpu-idle": "cpu-idle",
};

const REFUSED_FLAGS = ["blkio-weight", "kernel-memory", "kernel-memory-tcp", "memory-reservation", "cpu-rt-period", "cpu-rt-runtime", "l3-cache-schema", "mem-bw-schema", "cpu-idle"];

interface Wanted {
  memory?: number;
  swap?: number;
  quota?: number;
  period?: number;
  shares?: number;
  cpus?: string;
  mems?: string;
  pids?: number;
}

function int(v: unknown, what: string): number {
  const n = typeof v === "string" && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isSafeInteger(n)) throw new SysError({ message: `update: ${what} must be an integer, not ${JSON.stringify(v)}` });
  return n;
}

function keys(o: unknown, at: string, known: readonly string[]): Record<string, unknown> {
  if (o === null || typeof o !== "object" || Array.isArray(o)) throw new SysError({ message: `update: ${at} must be an object` });
  for (const k of Object.keys(o)) if (!known.includes(k)) throw new SysError({ message: `update: ${at}.${k} is not supported yet: ctr changes ${known.map((x) => `${at}.${x}`).join(", ")}` });
  return o as Record<string, unknown>;
}

/** A size as runc's --memory takes one: bytes, or with a k, m, g, t suffix (powers of 1024, "b" optional); -1. */
function bytes(v: string | true | undefined): number | undefined {
  if (typeof v !== "string") return undefined;
  const m = /^(-1|\d+)\s*([kmgt]?)i?b?$/i.exec(v.trim());
  if (!m) throw new SysError({ message: `update: invalid size ${JSON.stringify(v)}`, hint: "bytes, or a number with k, m, g or t (e.g. 512m)" });
  const unit = m[2] ? 1024 ** ("kmgt".indexOf(m[2].toLowerCase()) + 1) : 1;
  return Number(m[1]) * unit;
}

/** The linux.resources object's fields ctr changes (others refused by name). */
export function fromResources(json: unknown): Wanted {
  const r = keys(json, "resources", ["memory", "cpu", "pids"]);
  const w: Wanted = {};
  if (r.memory !== undefined) {
    const m = keys(r.memory, "resources.memory", ["limit", "swap"]);
    if (m.limit !== undefined) w.memory = int(m.limit, "memory.limit");
    if (m.swap !== undefined) w.swap = int(m.swap, "memory.swap");
  }
  if (r.cpu !== undefined) {
    const c = keys(r.cpu, "resources.cpu", ["quota", "period", "shares", "cpus", "mems"]);
    if (c.quota !== undefined) w.quota = int(c.quota, "cpu.quota");
    if (c.period !== undefined) w.period = int(c.period, "cpu.period");
    if (c.shares !== undefined) w.shares = int(c.shares, "cpu.shares");
    if (typeof c.cpus === "string" && c.cpus !== "") w.cpus = c.cpus;
    if (typeof c.mems === "string" && c.mems !== "") w.mems = c.mems;
  }
  if (r.pids !== undefined) {
    const p = keys(r.pids, "resources.pids", ["limit"]);
    if (p.limit !== undefined) w.pids = int(p.limit, "pids.limit");
  }
  return w;
}

/** runc's flags over the resources object. */
export function wanted(flags: ReadonlyMap<string, string | true>, readInput: () => string): Wanted {
  for (const f of REFUSED_FLAGS) if (flags.has(f)) throw new SysError({ message: `update --${f} is not supported yet` });
  const file = flags.get("resources");
  let w: Wanted = {};
  if (typeof file === "string") {
    const text = file === "-" ? readInput() : readFileSync(file, "utf8");
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new SysError({ message: `update: the resources in ${file === "-" ? "standard input" : file} are not JSON: ${e instanceof Error ? e.message : String(e)}` });
    }
    w = fromResources(json);
  }
  const num = (f: string) => (typeof flags.get(f) === "string" ? int(flags.get(f), `--${f}`) : undefined);
  const set = <K extends keyof Wanted>(k: K, v: Wanted[K] | undefined) => {
    if (v !== undefined) w[k] = v;
  };
  set("memory", bytes(flags.get("memory")));
  set("swap", bytes(flags.get("memory-swap")));
  set("quota", num("cpu-quota"));
  set("period", num("cpu-period"));
  set("shares", num("cpu-shares"));
  set("pids", num("pids-limit"));
  if (typeof flags.get("cpuset-cpus") === "string") w.cpus = flags.get("cpuset-cpus") as string;
  if (typeof flags.get("cpuset-mems") === "string") w.mems = flags.get("cpuset-mems") as string;
  return w;
}

/** The limits of `w`, checked; what ctr cannot set is refused by name. */
export function limitsOf(w: Wanted): CgroupLimit[] {
  const out: CgroupLimit[] = [];
  if (w.memory !== undefined) {
    if (w.memory === -1) throw new SysError({ message: "update: memory.limit -1 (no limit) is not supported yet" });
    // The spec's (and runc's --memory-swap) swap is memory and swap together; ctr's limit holds the swap alone.
    if (w.swap === -1) throw new SysError({ message: "update: memory.swap -1 (unlimited swap) is not supported yet" });
    if (w.swap !== undefined && w.swap < w.memory) throw new SysError({ message: `update: memory.swap (${w.swap}) is below memory.limit (${w.memory}): it is memory and swap together` });
    out.push({ controller: "memory", bytes: w.memory, swapBytes: w.swap === undefined ? null : w.swap - w.memory });
  } else if (w.swap !== undefined) throw new SysError({ message: "update: memory.swap without memory.limit is not supported yet" });
  if (w.quota !== undefined || w.period !== undefined || w.shares !== undefined) {
    if (w.quota === -1) throw new SysError({ message: "update: cpu.quota -1 (no quota) is not supported yet" });
    if (w.period !== undefined && w.quota === undefined) throw new SysError({ message: "update: cpu.period without cpu.quota is not supported yet" });
    const period = w.period ?? 100000;
    if (period <= 0) throw new SysError({ message: `update: cpu.period must be positive, not ${period}` });
    out.push({ controller: "cpu", percent: w.quota === undefined ? null : (w.quota / period) * 100, periodUs: w.quota === undefined ? null : period, weight: null, shares: w.shares ?? null });
  }
  if (w.cpus !== undefined) out.push({ controller: "cpuset", cpus: w.cpus, mems: w.mems ?? null });
  else if (w.mems !== undefined) throw new SysError({ message: "update: cpuset.mems without cpuset.cpus is not supported yet" });
  if (w.pids !== undefined) {
    if (w.pids <= 0) throw new SysError({ message: `update: pids.limit ${w.pids} (no limit) is not supported yet` });
    out.push({ controller: "pids", max: w.pids });
  }
  // The floors `limit memory` and `limit pids` keep for ctr's own init processes do not apply: a started container's PID 1 is its command.
  for (const l of out) if (l.controller === "cpu") checkCpu(l);
  return out;
}

const CONTROLLER: Record<string, KernelController> = { memory: "memory", cpu: "cpu", cpuset: "cpuset", pids: "pids" };

/** Write `limits` to the container's own cgroups; every directory is found (and refused) before the first write. */
export function applyLimits(rec: OciRecord, limits: readonly CgroupLimit[]): CgroupWrite[] {
  const status = liveStatus(rec);
  if (status !== "running" && status !== "created" && status !== "paused") throw new SysError({ message: "container not running" });
  const sys = machineCgroups();
  const procText = readFileSync(`/proc/${rec.pid1!.pid}/cgroup`, "utf8");
  const fs = realFs;
  const plan: { dir: string; writes: CgroupWrite[] }[] = [];
  for (const limit of limits) {
    const c = CONTROLLER[limit.controller]!;
    const h = hierarchyOf(sys, c);
    const dir = h ? cgroupOfProc(h, procText) : null;
    if (!h || !dir || !ownCgroup(rec, dir)) throw new SysError({ message: `update: ${limit.controller} is not supported yet for this container: it has no ${c} cgroup of its own (give linux.resources.${limit.controller === "cpuset" ? "cpu.cpus" : limit.controller} or linux.cgroupsPath at create)` });
    let writes: CgroupWrite[];
    switch (limit.controller) {
      case "memory":
        writes = orderLiveWrites(memoryWrites(limit, h.version, { hasMemsw: fs.exists(`${dir}/memory.memsw.limit_in_bytes`), hasSwapMax: fs.exists(`${dir}/memory.swap.max`) }), fs, dir);
        break;
      case "cpu":
        writes = cpuWrites(limit, h.version);
        break;
      case "cpuset": {
        const parent = dir.slice(0, dir.lastIndexOf("/"));
        const p = readCpusetParent(fs, h.version, parent);
        checkCpuset(limit, p, parent);
        writes = cpusetWrites(limit, h.version, p.mems);
        break;
      }
      case "pids":
        writes = pidsWrites(limit, h.version);
        break;
      default:
        throw new SysError({ message: `update: ${limit.controller} is not supported yet` });
    }
    plan.push({ dir, writes });
  }
  const done: CgroupWrite[] = [];
  for (const { dir, writes } of plan)
    for (const w of writes) {
      writeCgroupFile(fs, dir, w.file, w.value);
      done.push({ ...w, file: `${dir}/${w.file}` });
    }
  return done;
}
