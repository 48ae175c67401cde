// `delete` of an OCI container whose PID 1 was let go (supervise.ts): no ctr
// process of the container is left to tear it down, so `delete` does it from
// what the record holds (HeldResources, written when the container was
// created): whatever still runs in the container's cgroups is killed, the
// cgroups removed deepest first (the directories made above a cgroups path
// only if empty: another container may be below the same parent), and ctr's
// per-container directory removed. Mounts need nothing: they live in the
// container's mount namespace, which went with its last process.
//
// Safe to run twice and on a container its supervisor already tore down:
// every step takes "already gone" for done.

import { SysError } from "../../../native/error.ts";
import { killCgroups } from "../cgroup/kill.ts";
import { readProcs, realFs } from "../cgroup/fs.ts";
import { removeParents } from "../cgroup/manager.ts";
import type { HeldResources } from "../../session.ts";

/** Remove what a released container held; returns the problems (never thrown: `delete` says them). */
export async function removeHeld(held: HeldResources, ms = 5000): Promise<string[]> {
  const fs = realFs;
  const problems: string[] = [];
  const dirs = held.cgroups.filter((d) => fs.exists(d));
  const procs = (): number[] => {
    const out = new Set<number>();
    const walk = (dir: string): void => {
      for (const p of readProcs(fs, dir)) out.add(p);
      for (const child of fs.children(dir)) walk(`${dir}/${child}`);
    };
    for (const d of dirs) if (fs.exists(d)) walk(d);
    return [...out];
  };
  const now = () => performance.now();
  const left = await killCgroups(fs, dirs, procs, {
    ms,
    now,
    sleep: (t) => Bun.sleep(t),
    kill: (pid) => {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    },
  });
  if (left.length > 0) problems.push(`processes ${left.join(", ")} of the container would not die`);
  for (const dir of [...dirs].reverse()) {
    const err = await rmdirTree(dir, now() + ms);
    if (err) problems.push(err);
  }
  removeParents(fs, held.parents);
  if (held.stateDir) {
    const { removeStateDir } = await import("../../statedir.ts");
    try {
      removeStateDir(held.stateDir);
    } catch (e) {
      problems.push(`cannot remove ${held.stateDir}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return problems;
}

/** rmdir `dir` and the cgroups below it, deepest first, retrying while tasks that were just killed drain (EBUSY). */
async function rmdirTree(dir: string, deadline: number): Promise<string | null> {
  if (!realFs.exists(dir)) return null;
  for (const child of realFs.children(dir)) {
    const err = await rmdirTree(`${dir}/${child}`, deadline);
    if (err) return err;
  }
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    try {
      realFs.rmdir(dir);
      return null;
    } catch (e) {
      const code = e instanceof SysError ? e.code : "";
      if (code === "ENOENT") return null;
      if (code !== "EBUSY" || performance.now() > deadline) return `cannot remove ${dir}: ${e instanceof Error ? e.message : String(e)}`;
      await Bun.sleep(delay);
    }
  }
}
