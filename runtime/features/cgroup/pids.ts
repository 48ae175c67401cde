// The pids controller: how many tasks (processes and threads) the container
// may have at once.
//
// Kernel concepts: every fork(2)/clone(2) of a task in the cgroup is counted in
// pids.current; when it would go past pids.max the call fails with EAGAIN
// ("Resource temporarily unavailable": the shell says "can't fork") and the
// refusal is counted in pids.events ("max N"). Nothing is killed: what runs
// keeps running. The files are named the same in v1 and v2. Threads count: the
// container's own init (a Bun process with a few threads) uses some of them,
// and stage 1, which waits for PID 1, one more.

import { SysError } from "../../../native/error.ts";
import { readKeyed, readNumber, type CgroupFs } from "./fs.ts";
import type { CgroupLimit, CgroupVersion, CgroupWrite } from "./types.ts";

export type PidsLimit = Extract<CgroupLimit, { controller: "pids" }>;

/** Stage 1 and PID 1 (a Bun process) need this many tasks before the command starts. */
export const MIN_PIDS = 4;

/** Why a pids limit is below the floor, or null: shared by the checker and the run. */
export function pidsFloorProblem(max: number): { message: string; hint: string } | null {
  if (max >= MIN_PIDS) return null;
  return {
    message: `limit pids ${max}: too few for the container's own init processes, which take ${MIN_PIDS - 1} tasks`,
    hint: `use at least ${MIN_PIDS}; the count includes threads`,
  };
}

export function checkPids(limit: PidsLimit): void {
  const problem = pidsFloorProblem(limit.max);
  if (problem) throw new SysError({ ...problem, status: 125 });
}

export function pidsWrites(limit: PidsLimit, _version: CgroupVersion): CgroupWrite[] {
  return [{ controller: "pids", file: "pids.max", value: String(limit.max), note: "fork/clone fails with EAGAIN beyond it" }];
}

export interface PidsUsage {
  max: number | null;
  current: number | null;
  /** fork/clone calls refused at the limit. */
  refused: number | null;
}

export function readPids(fs: CgroupFs, dir: string): PidsUsage {
  return {
    max: readNumber(fs, dir, "pids.max"),
    current: readNumber(fs, dir, "pids.current"),
    refused: readKeyed(fs, dir, "pids.events")?.max ?? null,
  };
}
