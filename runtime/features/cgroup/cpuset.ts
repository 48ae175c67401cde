// The cpuset controller: which CPUs (and NUMA memory nodes) the container's
// processes may run on. The scheduler never places them elsewhere, and
// sched_getaffinity / /proc/PID/status "Cpus_allowed_list" show the set.
//
// Kernel rules:
//   - A cgroup's CPUs must be a subset of its parent's (EINVAL otherwise);
//     the parent's usable set is cpuset.effective_cpus (v1) or
//     cpuset.cpus.effective (v2).
//   - v1: a new cpuset cgroup starts with *empty* cpuset.cpus and cpuset.mems
//     (unless the parent has cgroup.clone_children = 1), and a task cannot join
//     a cgroup with either empty: the write to cgroup.procs fails with ENOSPC.
//     So both are written before any process joins, mems copied from the
//     parent when the script does not name them.
//   - v2: empty means "the parent's", so only what the script names is written.

import { parseCpuList } from "../../../lang/values.ts";
import { SysError } from "../../../native/error.ts";
import { readCgroupFile, type CgroupFs } from "./fs.ts";
import type { CgroupLimit, CgroupVersion, CgroupWrite } from "./types.ts";

export type CpusetLimit = Extract<CgroupLimit, { controller: "cpuset" }>;

function effectiveFiles(version: CgroupVersion): { cpus: string[]; mems: string[] } {
  return version === "v1"
    ? { cpus: ["cpuset.effective_cpus", "cpuset.cpus"], mems: ["cpuset.effective_mems", "cpuset.mems"] }
    : { cpus: ["cpuset.cpus.effective", "cpuset.cpus"], mems: ["cpuset.mems.effective", "cpuset.mems"] };
}

function readFirst(fs: CgroupFs, dir: string, files: string[]): { file: string; value: string } | null {
  for (const f of files) {
    const v = readCgroupFile(fs, dir, f);
    if (v !== null) return { file: f, value: v };
  }
  return null;
}

/** What the parent cgroup (ctr's own) lets its children use. */
export interface CpusetParent {
  cpus: string | null;
  mems: string | null;
  cpusFile: string;
  memsFile: string;
}

export function readCpusetParent(fs: CgroupFs, version: CgroupVersion, parentDir: string): CpusetParent {
  const files = effectiveFiles(version);
  const cpus = readFirst(fs, parentDir, files.cpus);
  const mems = readFirst(fs, parentDir, files.mems);
  return { cpus: cpus?.value ?? null, mems: mems?.value ?? null, cpusFile: cpus?.file ?? files.cpus[0]!, memsFile: mems?.file ?? files.mems[0]! };
}

function missing(want: string, have: string | null): number[] {
  const w = parseCpuList(want) ?? [];
  if (have === null) return [];
  const h = new Set(parseCpuList(have) ?? []);
  return w.filter((c) => !h.has(c));
}

/** Refuse CPUs or nodes ctr's own cgroup does not have, naming the usable ones. */
export function checkCpuset(limit: CpusetLimit, parent: CpusetParent, parentDir: string): void {
  const badCpus = missing(limit.cpus, parent.cpus);
  if (badCpus.length > 0) {
    throw new SysError({
      message: `limit cpuset ${limit.cpus}: CPU ${badCpus.join(", ")} ${badCpus.length === 1 ? "is" : "are"} not available to ctr's cgroup (${parentDir}/${parent.cpusFile} = ${parent.cpus || "(empty)"})`,
      hint: `use CPUs from ${parent.cpus || "the set above"}`,
      status: 125,
    });
  }
  if (limit.mems !== null) {
    const badMems = missing(limit.mems, parent.mems);
    if (badMems.length > 0) {
      throw new SysError({
        message: `limit cpuset mems=${limit.mems}: memory node ${badMems.join(", ")} is not available to ctr's cgroup (${parentDir}/${parent.memsFile} = ${parent.mems || "(empty)"})`,
        hint: `use memory nodes from ${parent.mems || "the set above"} (most machines have only node 0)`,
        status: 125,
      });
    }
  }
}

/** The writes, cpus then mems; on v1 mems are the parent's unless given. */
export function cpusetWrites(limit: CpusetLimit, version: CgroupVersion, parentMems: string | null): CgroupWrite[] {
  const out: CgroupWrite[] = [{ controller: "cpuset", file: "cpuset.cpus", value: limit.cpus }];
  if (limit.mems !== null) out.push({ controller: "cpuset", file: "cpuset.mems", value: limit.mems });
  else if (version === "v1") {
    out.push({ controller: "cpuset", file: "cpuset.mems", value: parentMems ?? "0", note: "the parent's nodes: a v1 cpuset starts empty, and no task may join it while cpus or mems is empty" });
  }
  if (version === "v1") out[0]!.note = "before any task joins (ENOSPC while empty)";
  return out;
}

export interface CpusetUsage {
  cpus: string | null;
  mems: string | null;
}

export function readCpuset(fs: CgroupFs, version: CgroupVersion, dir: string): CpusetUsage {
  const files = effectiveFiles(version);
  return { cpus: readFirst(fs, dir, files.cpus)?.value ?? null, mems: readFirst(fs, dir, files.mems)?.value ?? null };
}
