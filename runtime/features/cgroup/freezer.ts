// The cgroup freezer, for `pause` and `resume` of an OCI container
// (runtime/features/oci/commands.ts): every task of a cgroup stopped where it
// is, and let go again, without a signal the tasks could see.
//   v1: the freezer hierarchy's freezer.state: FROZEN asks, the file reads
//       FREEZING until every task is stopped, then FROZEN; THAWED lets go.
//   v2: cgroup.freeze (1 or 0), in every cgroup but the top; the cgroup is
//       frozen once cgroup.events says "frozen 1".
// On a hybrid machine a v1 freezer hierarchy is the one used, as runc does;
// the controller-less v2 tree is used only when there is no v1 freezer.
//
// A task frozen by v1 gets even SIGKILL only once thawed: whoever kills a
// paused container thaws it after the signal (v2 lets SIGKILL through).

import type { CgroupFs } from "./fs.ts";
import type { CgroupSystem, Hierarchy } from "./types.ts";
import { allHierarchies } from "./detect.ts";

/** The hierarchy whose cgroup pauses a container: v1's freezer, else v2. */
export function freezerHierarchy(sys: CgroupSystem): Hierarchy | null {
  return allHierarchies(sys).find((h) => h.version === "v1" && h.controllers.includes("freezer")) ?? sys.v2 ?? null;
}

/**
 * The cgroup (a directory) of hierarchy `h` that a process is in, from its
 * /proc/PID/cgroup text `procCgroup`: the v1 line naming one of `h`'s
 * controllers, or v2's "0::" line.
 */
export function cgroupOfProc(h: Hierarchy, procCgroup: string): string | null {
  for (const line of procCgroup.split("\n")) {
    const first = line.indexOf(":");
    const last = line.lastIndexOf(":");
    if (first < 0 || last === first) continue;
    const [num, ctls, rel] = [line.slice(0, first), line.slice(first + 1, last), line.slice(last + 1)];
    const match = h.version === "v1" ? ctls.split(",").some((c) => h.controllers.includes(c)) : num === "0" && ctls === "";
    if (match) return rel === "/" ? h.mount : `${h.mount}${rel}`;
  }
  return null;
}

/** The freezer cgroup a process is in (cgroupOfProc of the freezer hierarchy). */
export function freezerOfProc(sys: CgroupSystem, procCgroup: string): string | null {
  const h = freezerHierarchy(sys);
  return h ? cgroupOfProc(h, procCgroup) : null;
}

export type FreezerState = "frozen" | "freezing" | "thawed";

export function freezerState(fs: CgroupFs, dir: string): FreezerState {
  if (fs.exists(`${dir}/freezer.state`)) {
    const s = fs.read(`${dir}/freezer.state`).trim();
    return s === "FROZEN" ? "frozen" : s === "FREEZING" ? "freezing" : "thawed";
  }
  const asked = fs.read(`${dir}/cgroup.freeze`).trim() === "1";
  const frozen = /^frozen 1$/m.test(fs.read(`${dir}/cgroup.events`));
  return frozen ? "frozen" : asked ? "freezing" : "thawed";
}

export interface FreezeOptions {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** How long to wait for every task to stop; default 10 s. */
  ms?: number;
}

/**
 * Freeze `dir` and wait until it is frozen. A task in the middle of a
 * system call that cannot stop keeps a v1 freezer at FREEZING: as runc does,
 * FROZEN is written again while waiting (the kernel retries the tasks left);
 * past the deadline the cgroup is thawed and false returned.
 */
export async function freeze(fs: CgroupFs, dir: string, opts: FreezeOptions): Promise<boolean> {
  const v1 = fs.exists(`${dir}/freezer.state`);
  const ask = () => (v1 ? fs.write(`${dir}/freezer.state`, "FROZEN") : fs.write(`${dir}/cgroup.freeze`, "1"));
  ask();
  const deadline = opts.now() + (opts.ms ?? 10_000);
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    if (freezerState(fs, dir) === "frozen") return true;
    if (opts.now() > deadline) {
      thaw(fs, dir);
      return false;
    }
    await opts.sleep(delay);
    if (v1) ask();
  }
}

export function thaw(fs: CgroupFs, dir: string): void {
  if (fs.exists(`${dir}/freezer.state`)) fs.write(`${dir}/freezer.state`, "THAWED");
  else fs.write(`${dir}/cgroup.freeze`, "0");
}
