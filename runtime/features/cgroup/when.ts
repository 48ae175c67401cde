// Whether a container gets cgroups before stage 1 unshares: a decision the CLI
// makes before it loads the rest of ctr (start-up), so this file imports nothing.
//
// Joining a cgroup costs the kernel an RCU grace period (a few ms on a small
// machine), so a container gets one only where it is needed:
//   - a `limit` or `show cgroup`: the limits, the accounting;
//   - `ns cgroup`: the namespace must be rooted at the container's own cgroup in
//     every hierarchy (runtime/features/cgroup/manager.ts);
//   - `mount cgroup`: what it shows is the container's own cgroup of every
//     hierarchy, never ctr's (runtime/features/mount/cgroupfs.ts);
//   - no `ns pid`: nothing else ends the container's background processes if
//     stage 1 itself is killed, so its processes are kept in a cgroup that ctr
//     kills at the end. With `ns pid` the kernel does it: when PID 1 dies (and it
//     dies with stage 1, PR_SET_PDEATHSIG), every process of the namespace does.

export interface CgroupNeeds {
  namespaces: readonly string[];
  ops: readonly { kind: string }[];
}

/** True when the container's cgroups must exist before it is created. */
export function cgroupsFirst(plan: CgroupNeeds): boolean {
  return cgroupsNeeded(plan.namespaces, plan.ops.some((o) => o.kind === "cgroup-limit" || o.kind === "show-cgroup" || o.kind === "mount-cgroup"));
}

/** The same rule, from the namespaces and whether there are limits or `show cgroup`. */
export function cgroupsNeeded(namespaces: readonly string[], limitsOrShow: boolean): boolean {
  return !namespaces.includes("pid") || namespaces.includes("cgroup") || limitsOrShow;
}

/**
 * True when the only cgroup the container needs is the tracking one (no `ns
 * pid`, nothing else): made by the CLI, joined by stage 1 itself
 * (runtime/features/cgroup/track.ts), so the plan need not wait for the rest of ctr.
 */
export function trackingOnly(plan: CgroupNeeds): boolean {
  return !plan.namespaces.includes("pid") && !plan.namespaces.includes("cgroup") && !plan.namespaces.includes("user") && !plan.ops.some((o) => o.kind === "cgroup-limit" || o.kind === "show-cgroup" || o.kind === "mount-cgroup");
}
