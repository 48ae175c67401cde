// Which cgroup hierarchies this machine has, and where ctr itself sits in them.
//
// Nothing is assumed about paths: the kernel says it all.
//   /proc/self/mountinfo  every mount; a cgroup v1 hierarchy is fstype "cgroup"
//                         with its controllers in the super options ("rw,cpu,cpuacct"),
//                         the v2 hierarchy is fstype "cgroup2". Field 4 is the
//                         root of the mount inside the hierarchy (not "/" when a
//                         cgroup namespace or a bind mount shows only a subtree).
//   /proc/self/cgroup     one line per hierarchy: "ID:CONTROLLERS:PATH" for v1
//                         ("4:memory:/user/1000"), "0::PATH" for v2. PATH is
//                         relative to the cgroup namespace's root.
// ctr's own cgroup in a hierarchy is then MOUNTPOINT + (PATH minus the mount's root).
// The container's cgroups are created below it, never at a fixed place: the caller
// may itself sit in a nested cgroup (a systemd slice, a CI job, a container).

import { readFileSync } from "node:fs";
import { KERNEL_CONTROLLERS, type CgroupSystem, type Hierarchy, type KernelController } from "./types.ts";

/** Every controller name the kernel knows in v1 super options (others, e.g. "rw" or "name=systemd", are options). */
const V1_CONTROLLERS = new Set(["cpu", "cpuacct", "cpuset", "memory", "pids", "blkio", "io", "devices", "freezer", "net_cls", "net_prio", "perf_event", "hugetlb", "rdma", "misc"]);

interface MountLine {
  root: string;
  mountPoint: string;
  fstype: string;
  superOptions: string[];
}

/** Undo mountinfo's octal escapes (\040 is a space). */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMountinfo(text: string): MountLine[] {
  const out: MountLine[] = [];
  for (const line of text.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(" ");
    const right = line.slice(sep + 3).split(" ");
    if (left.length < 5 || right.length < 3) continue;
    out.push({ root: unescape(left[3]!), mountPoint: unescape(left[4]!), fstype: right[0]!, superOptions: right[2]!.split(",") });
  }
  return out;
}

export interface ProcCgroupLine {
  id: number;
  controllers: string[];
  path: string;
}

export function parseProcCgroup(text: string): ProcCgroupLine[] {
  const out: ProcCgroupLine[] = [];
  for (const line of text.split("\n")) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    out.push({ id: Number(m[1]), controllers: m[2] ? m[2].split(",") : [], path: m[3]! });
  }
  return out;
}

/** PATH (from /proc/self/cgroup) as seen under a mount whose root is `root`; null if the mount does not show it. */
function underRoot(path: string, root: string): string | null {
  if (root === "/") return path;
  if (path === root) return "/";
  if (path.startsWith(root + "/")) return path.slice(root.length);
  return null;
}

export interface DetectInput {
  mountinfo: string;
  procCgroup: string;
  /** Reads a file (the v2 top's cgroup.controllers); null when unreadable. */
  readFile(path: string): string | null;
}

function realInput(): DetectInput {
  const readFile = (p: string): string | null => {
    try {
      return readFileSync(p, "utf8");
    } catch {
      return null;
    }
  };
  // Without /proc (a chroot, a bare container) there is nothing to find: mode "none".
  return { mountinfo: readFile("/proc/self/mountinfo") ?? "", procCgroup: readFile("/proc/self/cgroup") ?? "", readFile };
}

/** Find the hierarchies and ctr's place in each. Pure given its input. */
export function detectCgroups(input: DetectInput = realInput()): CgroupSystem {
  const mounts = parseMountinfo(input.mountinfo);
  const lines = parseProcCgroup(input.procCgroup);
  const v1: CgroupSystem["v1"] = {};
  let v2: Hierarchy | null = null;
  const all: Hierarchy[] = [];
  const seen = new Set<number>(); // hierarchy ids of /proc/self/cgroup: one mount of each

  for (const m of mounts) {
    if (m.fstype === "cgroup") {
      const controllers = m.superOptions.filter((o) => V1_CONTROLLERS.has(o));
      // A named hierarchy (name=systemd) has no controllers: it only groups processes.
      const named = m.superOptions.find((o) => o.startsWith("name="));
      const keys = controllers.length > 0 ? controllers : named ? [named] : [];
      const line = lines.find((l) => l.id !== 0 && l.controllers.some((c) => keys.includes(c)));
      if (!line || seen.has(line.id)) continue;
      const callerPath = underRoot(line.path, m.root);
      if (callerPath === null) continue; // this mount does not show ctr's cgroup; another may
      const h: Hierarchy = { version: "v1", mount: m.mountPoint, controllers, callerPath };
      seen.add(line.id);
      all.push(h);
      for (const name of controllers) {
        const c = name === "blkio" ? "io" : name; // v1's blkio is the io controller of v2
        if ((KERNEL_CONTROLLERS as readonly string[]).includes(c) && !v1[c as KernelController]) v1[c as KernelController] = h;
      }
    } else if (m.fstype === "cgroup2" && !v2) {
      const line = lines.find((l) => l.id === 0);
      if (!line) continue;
      const callerPath = underRoot(line.path, m.root);
      if (callerPath === null) continue;
      const controllers = (input.readFile(`${m.mountPoint}/cgroup.controllers`) ?? "").trim().split(/\s+/).filter(Boolean);
      v2 = { version: "v2", mount: m.mountPoint, controllers, callerPath };
      all.push(v2);
    }
  }
  const hasV1 = Object.keys(v1).length > 0;
  const mode = hasV1 && v2 ? "hybrid" : hasV1 ? "v1" : v2 ? "v2" : "none";
  return { mode, v1, v2, all };
}

/** Every hierarchy of `sys` (see CgroupSystem.all). */
export function allHierarchies(sys: CgroupSystem): Hierarchy[] {
  if (sys.all) return sys.all;
  const out = new Set<Hierarchy>(Object.values(sys.v1));
  if (sys.v2) out.add(sys.v2);
  return [...out];
}

/**
 * The hierarchy in which ctr keeps every container's processes together, to
 * kill them all at the end whatever they did (double forks, setsid, a /proc of
 * their own): v2 when mounted (cgroup.kill, also on a hybrid machine's
 * controller-less tree), else v1's freezer (frozen, then killed: nothing forks
 * meanwhile), else any v1 hierarchy.
 */
export function trackingHierarchy(sys: CgroupSystem): Hierarchy | null {
  const all = allHierarchies(sys);
  return sys.v2 ?? all.find((h) => h.controllers.includes("freezer")) ?? sys.v1.pids ?? all[0] ?? null;
}

let cached: CgroupSystem | null = null;

/** The machine's cgroups, detected once per process. */
export function machineCgroups(): CgroupSystem {
  cached ??= detectCgroups();
  return cached;
}

/** The hierarchy that holds `controller`: its v1 hierarchy, else v2 if the v2 tree offers it. */
export function hierarchyOf(sys: CgroupSystem, controller: KernelController): Hierarchy | null {
  const h = sys.v1[controller];
  if (h) return h;
  // cpuacct: v2 accounts CPU time everywhere; devices: a BPF program on any v2 cgroup (runtime/features/devices/bpf.ts).
  if (sys.v2 && (sys.v2.controllers.includes(controller) || controller === "cpuacct" || controller === "devices")) {
    // v2 has no cpuacct: CPU time is in every cgroup's cpu.stat (usage_usec).
    return sys.v2;
  }
  return null;
}

/** ctr's own cgroup directory in a hierarchy. */
export function callerDir(h: Hierarchy): string {
  return h.callerPath === "/" ? h.mount : `${h.mount}${h.callerPath}`;
}

/** A one-line description for messages: "cgroup v1 (hybrid: v2 at /sys/fs/cgroup/unified has no controllers)". */
export function describeSystem(sys: CgroupSystem): string {
  switch (sys.mode) {
    case "v1":
      return "cgroup v1";
    case "v2":
      return `cgroup v2 at ${sys.v2!.mount}`;
    case "hybrid":
      return `cgroup v1 (hybrid: the v2 tree at ${sys.v2!.mount} has ${sys.v2!.controllers.length ? `only ${sys.v2!.controllers.join(", ")}` : "no controllers"})`;
    case "none":
      return "no cgroup filesystem";
  }
}
