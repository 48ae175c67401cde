// `mount cgroup [DST]`: the container's own cgroups at DST (/sys/fs/cgroup by
// default), as runc mounts an OCI config's mount of type "cgroup" without a
// cgroup namespace:
//   - cgroup v1 (and hybrid machines, whose controllers are in v1): a tmpfs at
//     DST, and in it, for each hierarchy the host mounts below /sys/fs/cgroup,
//     a directory of the same name with the container's cgroup of that
//     hierarchy bound on it, so that the container sees its own cgroup as the
//     root of each; the host's links between names (cpu -> cpu,cpuacct) are
//     made again. A hybrid machine's v2 tree (only process tracking there) is
//     left out, as runc does;
//   - cgroup v2 alone: the container's cgroup bound on DST.
// With `ns cgroup` nothing is bound: each hierarchy is mounted anew (fsopen
// "cgroup" with its controllers, or "cgroup2"), and the kernel roots a cgroup
// filesystem mounted in a cgroup namespace at the namespace's root, which is
// the container's cgroup. Without it, the container's cgroup in a hierarchy
// is PID 1's own, read from /proc/self/cgroup: stage 1 joined the container's cgroups before it unshared
// (runtime/features/cgroup/manager.ts), and PID 1 inherited them. A hierarchy
// where the container has no cgroup of its own shows ctr's, as it would under
// runc; an OCI config with `linux.cgroupsPath` gets one in every hierarchy.
//
// Order: the host's mount table and PID 1's cgroups are read through the host's
// /proc, so this must run before the container's root is entered. The bind
// sources are looked up in PID 1's copy of the host's tree (hostmount.ts), the
// target inside the root (target.ts), as for `mount bind`; with `ro` each bind is
// made read-only before it is attached, and the tmpfs after it is filled.

import { AT_EMPTY_PATH, MOUNT_ATTR_RDONLY, MS_RDONLY, O_CLOEXEC, O_DIRECTORY, O_PATH, RESOLVE_NO_SYMLINKS, SysError } from "../../../native/index.ts";
import type { AgentState } from "../../ops.ts";
import { mountAttrs } from "./flags.ts";
import { attachBind, openBindSource } from "./hostmount.ts";
import { newFilesystem } from "./mount.ts";
import { atTarget, attachOnto } from "./target.ts";

/** Where the host mounts its cgroup hierarchies. */
export const CGROUP_ROOT = "/sys/fs/cgroup";

const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export interface CgroupBind {
  /** The name below DST ("" for a v2 tree bound on DST itself). */
  name: string;
  /** The host path bound there: the hierarchy's mount point and the container's cgroup in it. */
  source: string;
}

/**
 * What to bind, from /proc/self/mountinfo and /proc/self/cgroup's texts: the
 * hierarchies mounted directly below CGROUP_ROOT (or on it, for v2 alone).
 */
export function cgroupBinds(mountinfo: string, cgroup: string): CgroupBind[] {
  const own = new Map<string, string>();
  for (const line of cgroup.split("\n").filter(Boolean)) {
    const [, ctls = "", path = "/"] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    own.set(ctls.split(",").sort().join(","), path);
  }
  const v1: CgroupBind[] = [];
  let v2: CgroupBind | null = null;
  for (const line of mountinfo.split("\n").filter(Boolean)) {
    const f = line.split(" ");
    const dash = f.indexOf("-");
    if (dash < 0) continue;
    const [fstype, , superOpts = ""] = f.slice(dash + 1);
    const root = unescape(f[3]!);
    const point = unescape(f[4]!);
    const name = point === CGROUP_ROOT ? "" : point.startsWith(`${CGROUP_ROOT}/`) ? point.slice(CGROUP_ROOT.length + 1) : null;
    if (name === null || name.includes("/")) continue;
    const key = fstype === "cgroup2" ? "" : fstype === "cgroup" ? superOpts.split(",").filter((o) => !["rw", "ro"].includes(o) && (o.startsWith("name=") || !o.includes("="))).filter((o) => !["xattr", "noprefix", "clone_children", "cpuset_v2_mode", "nsdelegate", "memory_recursiveprot"].includes(o)).sort().join(",") : null;
    if (key === null) continue;
    const path = own.get(key);
    if (path === undefined) continue;
    // A path outside the mount's root (a cgroup namespace's view) cannot be reached through this mount.
    if (root !== "/" && path !== root && !path.startsWith(`${root}/`)) continue;
    const rel = root === "/" ? path : path.slice(root.length);
    const source = `${point}${rel === "/" ? "" : rel}`;
    if (fstype === "cgroup2") v2 = { name, source };
    else v1.push({ name, source });
  }
  if (v1.length > 0) return v1;
  return v2 && v2.name === "" ? [v2] : [];
}

/** A hierarchy the host mounts below CGROUP_ROOT, to mount anew in a cgroup namespace: its name there, its type, its options (controllers, name=). */
export interface CgroupHierarchy {
  name: string;
  fstype: "cgroup" | "cgroup2";
  options: string[];
}

/** The hierarchies of /proc/self/mountinfo's text mounted directly below CGROUP_ROOT (v1 first, as for the binds), or v2 alone on it. */
export function cgroupHierarchies(mountinfo: string): CgroupHierarchy[] {
  const v1: CgroupHierarchy[] = [];
  let v2: CgroupHierarchy | null = null;
  for (const line of mountinfo.split("\n").filter(Boolean)) {
    const f = line.split(" ");
    const dash = f.indexOf("-");
    if (dash < 0) continue;
    const [fstype, , superOpts = ""] = f.slice(dash + 1);
    const point = unescape(f[4]!);
    const name = point === CGROUP_ROOT ? "" : point.startsWith(`${CGROUP_ROOT}/`) ? point.slice(CGROUP_ROOT.length + 1) : null;
    if (name === null || name.includes("/")) continue;
    if (fstype === "cgroup2") v2 = { name, fstype, options: [] };
    else if (fstype === "cgroup") v1.push({ name, fstype, options: superOpts.split(",").filter((o) => o !== "rw" && o !== "ro") });
  }
  if (v1.length > 0) return v1;
  return v2 && v2.name === "" ? [v2] : [];
}

export function mountCgroup(st: AgentState, target: string, ro: boolean, flags: number, cgroupns = false): void {
  const sys = st.sys;
  if (st.entered) {
    throw new SysError({ message: "mount cgroup: the container's root is entered already, and the host's cgroup mounts are out of its sight", hint: "put `mount cgroup` before the first `run` (with the other mounts)" });
  }
  if (cgroupns) {
    mountFresh(st, target, ro, flags);
    return;
  }
  const binds = cgroupBinds(sys.readFile("/proc/self/mountinfo"), sys.readFile("/proc/self/cgroup"));
  if (binds.length === 0) throw new SysError({ message: `mount cgroup: no cgroup hierarchy mounted at ${CGROUP_ROOT} holds PID 1's cgroup` });
  const attrs = mountAttrs(flags) | (ro ? MOUNT_ATTR_RDONLY : 0);
  const bindOn = (fd: number, b: CgroupBind) => {
    const src = openBindSource(st, b.source);
    try {
      attachBind(st, src.fd, fd, b.source, attrs);
    } finally {
      sys.close(src.fd);
    }
  };
  placeHierarchies(st, target, binds, bindOn, ro, flags);
}

/**
 * With `ns cgroup`: new cgroup filesystems, which the kernel roots at the
 * namespace's root, the container's own cgroup (stage 1 joined it before it
 * unshared the namespace: runtime/features/cgroup/manager.ts). Nothing of the
 * host's tree is bound, so nothing above the container's cgroup is in sight.
 */
function mountFresh(st: AgentState, target: string, ro: boolean, flags: number): void {
  const sys = st.sys;
  const hierarchies = cgroupHierarchies(sys.readFile("/proc/self/mountinfo"));
  if (hierarchies.length === 0) throw new SysError({ message: `mount cgroup: the host mounts no cgroup hierarchy at ${CGROUP_ROOT}` });
  const bits = flags | (ro ? MS_RDONLY : 0);
  const attachNew = (fd: number, h: CgroupHierarchy) => {
    const mnt = newFilesystem(sys, h.fstype, h.fstype, h.options.join(",") || null, bits);
    try {
      attachOnto(sys, mnt, fd);
    } finally {
      sys.close(mnt);
    }
  };
  placeHierarchies(st, target, hierarchies, attachNew, ro, flags);
}

/**
 * Puts one cgroup filesystem per hierarchy at `target`, by `attach` on an
 * O_PATH descriptor of where it goes. A single unnamed one (cgroup2 alone) goes
 * on the target itself; several go on directories of a new tmpfs there, named
 * as on the host, with the host's links between hierarchy names (cpu ->
 * cpu,cpuacct on many machines) kept as they are. With `ro` the tmpfs is made
 * read-only last, once everything is in it.
 */
function placeHierarchies<T extends { name: string }>(st: AgentState, target: string, items: readonly T[], attach: (fd: number, item: T) => void, ro: boolean, flags: number): void {
  const sys = st.sys;
  if (items.length === 1 && items[0]!.name === "") {
    atTarget(st, target, "dir", (fd) => attach(fd, items[0]!));
    return;
  }
  const links: [string, string][] = [];
  for (const e of sys.readdir(CGROUP_ROOT)) if (e.isSymbolicLink()) links.push([e.name, sys.readlink(`${CGROUP_ROOT}/${e.name}`)]);
  atTarget(st, target, "dir", (fd) => {
    const tmp = newFilesystem(sys, "tmpfs", "tmpfs", "mode=755", flags);
    try {
      attachOnto(sys, tmp, fd);
      for (const item of items) {
        sys.mkdirat(tmp, item.name, 0o755);
        const dir = sys.openat2(tmp, item.name, O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_NO_SYMLINKS);
        try {
          attach(dir, item);
        } finally {
          sys.close(dir);
        }
      }
      for (const [name, to] of links) if (!to.includes("/")) sys.symlinkat(to, tmp, name);
      if (ro) sys.mountSetattr(tmp, "", AT_EMPTY_PATH, MOUNT_ATTR_RDONLY);
    } finally {
      sys.close(tmp);
    }
  });
}
