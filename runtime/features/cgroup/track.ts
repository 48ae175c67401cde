// The tracking cgroup of a container without a PID namespace, made before its
// plan is sent (runtime/features/cgroup/when.ts says when), so that stage 1 can join it
// itself, first thing: the kernel's cost of moving a process between cgroups
// (an RCU grace period, several ms) is then paid by stage 1 while ctr goes on
// loading, not by ctr before stage 1 may start. Loaded by the CLI before the
// rest of ctr: it imports only detection and the seam's file operations.

import { realFiles } from "../../../native/files.ts";
import type { Sys } from "../../../native/seam.ts";
import { callerDir, machineCgroups, trackingHierarchy } from "./detect.ts";
import type { Hierarchy } from "./types.ts";

/** The cgroup's name for a container id: the id itself when it already reads "ctr-...". */
export function cgroupName(id: string): string {
  return id.startsWith("ctr-") ? id : `ctr-${id}`;
}

export interface Tracking {
  hierarchy: Hierarchy;
  dir: string;
}

/**
 * Make the container's tracking cgroup, or null where this caller may not (a
 * rootless ctr without a delegated cgroup: stage 1's subreaper sweep is then
 * all there is) or the machine has no cgroups.
 */
export function makeTracking(id: string, files: Pick<Sys, "mkdir"> = realFiles, sys = machineCgroups()): Tracking | null {
  const h = trackingHierarchy(sys);
  if (!h) return null;
  const dir = `${callerDir(h)}/${cgroupName(id)}`;
  try {
    files.mkdir(dir, 0o755);
  } catch {
    return null; // best effort, as isolation without `ns cgroup` is (runtime/features/cgroup/manager.ts)
  }
  return { hierarchy: h, dir };
}
