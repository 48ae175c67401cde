// The cgroup freezer: every task of a cgroup (and its descendants) stopped at
// once and let go again, as `pause` and `resume` of an OCI container ask
// (runtime/features/oci/pause.ts). Which interface is used is found at run time:
//   - v1 (a hierarchy with the freezer controller, also on a hybrid machine):
//     FROZEN written to freezer.state; the state reads FREEZING while tasks are
//     still being stopped and FROZEN once all are. A task that forked meanwhile
//     may leave the cgroup FREEZING: FROZEN is written again until it holds.
//     THAWED lets them go. A frozen task acts on nothing, SIGKILL included,
//     until it is thawed (Documentation/admin-guide/cgroup-v1/freezer-subsystem.rst).
//   - v2 (no v1 freezer): "1" written to cgroup.freeze; "frozen 1" appears in
//     cgroup.events once every task is stopped; "0" lets them go
//     (Documentation/admin-guide/cgroup-v2.rst, "Core Interface Files"). A
//     frozen task there still dies of SIGKILL.
// Whether a container is paused is always read from these files, never stored.

import { SysError } from "../../../native/error.ts";
import { allHierarchies } from "./detect.ts";
import { readCgroupFile, writeCgroupFile, type CgroupFs } from "./fs.ts";
import type { CgroupSystem, Hierarchy } from "./types.ts";

export interface Freezer {
  version: "v1" | "v2";
  /** The container's own cgroup in that hierarchy. */
  dir: string;
}

export interface FreezeOptions {
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** How long to wait for the state to settle; default 5 s. */
  ms?: number;
}

/** The hierarchy a container's freezer cgroup goes in: v1's freezer where mounted, else the v2 tree. */
export function freezerHierarchy(sys: CgroupSystem): Hierarchy | null {
  return allHierarchies(sys).find((h) => h.version === "v1" && h.controllers.includes("freezer")) ?? sys.v2;
}

/**
 * The freezer among a container's cgroups (`dirs`, as its manager made them),
 * or null when it has none of its own there. A v2 delegation leaf ("-host",
 * runtime/features/cgroup/manager.ts) holds ctr, not the container.
 */
export function freezerOf(fs: CgroupFs, sys: CgroupSystem, dirs: readonly string[]): Freezer | null {
  const h = freezerHierarchy(sys);
  if (!h) return null;
  const file = h.version === "v1" ? "freezer.state" : "cgroup.freeze";
  const dir = dirs.find((d) => d.startsWith(`${h.mount}/`) && !d.endsWith("-host") && fs.exists(`${d}/${file}`));
  return dir ? { version: h.version, dir } : null;
}

/** The freezer reads frozen (v1: FROZEN, not FREEZING; v2: "frozen 1" in cgroup.events). */
export function isFrozen(fs: CgroupFs, f: Freezer): boolean {
  if (f.version === "v1") return readCgroupFile(fs, f.dir, "freezer.state") === "FROZEN";
  return /^frozen 1$/m.test(readCgroupFile(fs, f.dir, "cgroup.events") ?? "");
}

/** Ask for `frozen` and wait until the freezer says so; on v1 the request is repeated while tasks fork (see the header). */
async function settle(fs: CgroupFs, f: Freezer, frozen: boolean, opts: FreezeOptions): Promise<boolean> {
  const sleep = opts.sleep ?? ((ms: number) => Bun.sleep(ms));
  const now = opts.now ?? (() => performance.now());
  const deadline = now() + (opts.ms ?? 5000);
  const ask = () =>
    f.version === "v1" ? writeCgroupFile(fs, f.dir, "freezer.state", frozen ? "FROZEN" : "THAWED") : writeCgroupFile(fs, f.dir, "cgroup.freeze", frozen ? "1" : "0");
  ask();
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    if (f.version === "v1") {
      const state = readCgroupFile(fs, f.dir, "freezer.state");
      if (state === (frozen ? "FROZEN" : "THAWED")) return true;
    } else if (isFrozen(fs, f) === frozen) return true;
    if (now() > deadline) return false;
    await sleep(delay);
    if (f.version === "v1" && frozen) ask();
  }
}

/** Freeze every task of the cgroup; if it will not settle in time, thawed again and an error. */
export async function freeze(fs: CgroupFs, f: Freezer, opts: FreezeOptions = {}): Promise<void> {
  if (await settle(fs, f, true, opts)) return;
  await settle(fs, f, false, opts);
  throw new SysError({ message: `the freezer of ${f.dir} did not reach the frozen state in time (tasks kept starting or stopping); the container was thawed again` });
}

/** Thaw every task of the cgroup and wait until the freezer says so. */
export async function thaw(fs: CgroupFs, f: Freezer, opts: FreezeOptions = {}): Promise<void> {
  if (await settle(fs, f, false, opts)) return;
  throw new SysError({ message: `the freezer of ${f.dir} did not thaw in time` });
}
