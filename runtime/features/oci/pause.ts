// `pause ID` and `resume ID`: the container's tasks frozen and thawed by the
// cgroup freezer (runtime/features/cgroup/freezer.ts), as runc's. The freezer
// cgroup is the container's own, made with its others at create (in every
// hierarchy, as runc makes them: runtime/session.ts, `everyHierarchy`) and listed in the record's `held`; a
// container without one (`ctr run` in the foreground, or a machine without a
// freezer) is refused with why. "paused" is never stored: `state` reads it
// from the freezer (state.ts).

import { SysError } from "../../../native/error.ts";
import { machineCgroups } from "../cgroup/detect.ts";
import { freeze, freezerOf, isFrozen, thaw, type Freezer } from "../cgroup/freezer.ts";
import { realFs } from "../cgroup/fs.ts";
import type { OciRecord } from "./state.ts";

/** The container's freezer, or null when it has no freezer cgroup of its own. */
export function recordFreezer(rec: OciRecord): Freezer | null {
  const dirs = rec.held?.cgroups ?? [];
  if (dirs.length === 0) return null;
  return freezerOf(realFs, machineCgroups(), dirs);
}

/** True when the container's freezer reads frozen. */
export function frozen(rec: OciRecord): boolean {
  const f = recordFreezer(rec);
  try {
    return f !== null && isFrozen(realFs, f);
  } catch {
    return false; // its cgroup is gone: not paused
  }
}

/** `pause`: refused unless created or running (runc's "container not running"), or without a freezer cgroup of its own. */
export async function pauseContainer(rec: OciRecord, status: string): Promise<void> {
  if (status !== "running" && status !== "created") throw new SysError({ message: "container not running" });
  const f = recordFreezer(rec);
  if (!f) {
    throw new SysError({
      message: `cannot pause container ${rec.id}: it has no freezer cgroup of its own`,
      hint: rec.held ? "this machine mounts no cgroup freezer (v1 freezer hierarchy or cgroup v2)" : "a container `ctr run` supervises in the foreground cannot be paused: use create and start, or run --detach",
    });
  }
  await freeze(realFs, f);
}

/** `resume`: refused unless paused (runc's "container not paused"). */
export async function resumeContainer(rec: OciRecord, status: string): Promise<void> {
  const f = recordFreezer(rec);
  if (status !== "paused" || !f) throw new SysError({ message: "container not paused" });
  await thaw(realFs, f);
}

/** Thaw a paused container so that a SIGKILL just sent takes effect (v1 freezes signals too); nothing if not frozen. */
export async function thawIfFrozen(rec: OciRecord): Promise<void> {
  const f = recordFreezer(rec);
  if (f && frozen(rec)) await thaw(realFs, f);
}
