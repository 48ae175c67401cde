// The container's cgroups: created below ctr's own cgroup in each hierarchy a
// limit needs, limits written, the first process joined, usage read, and
// everything removed at the end.
//
// Order of a container's life (runtime/execute.ts drives it):
//   1. check every limit against the machine (controller present and
//      delegated, CPUs that exist, sizes the kernel and ctr's init can live
//      with): a refusal here leaves nothing behind;
//   2. mkdir DIR/NAME in each hierarchy (v1: one per controller, comounted ones
//      share; v2: one) and write the limits;
//   3. write stage 1's PID into cgroup.procs of each: stage 1 is still waiting
//      for its plan, so it joins *before* it unshares or starts anything, and
//      every process of the container inherits the cgroups (nothing ever runs
//      unlimited; a cgroup namespace, if asked for, is rooted here);
//   4. at the end, once the container's processes are gone (any left over,
//      e.g. background jobs without `ns pid`, are killed), rmdir each
//      directory, retrying briefly while exiting tasks drain.
//
// A container may get cgroups of its own without limits ("isolation"; when:
// runtime/features/cgroup/when.ts): without `ns pid` in the tracking hierarchy
// (runtime/features/cgroup/detect.ts), so that whatever it started can be found and
// killed at the end (runtime/features/cgroup/kill.ts), and with `ns cgroup` in every
// hierarchy, so that the cgroup namespace is rooted at the container's own
// cgroups and root inside cannot write the host's tree.
//
// cgroup v2 rules (Documentation/admin-guide/cgroup-v2.rst):
//   - A controller's files appear in a cgroup only if its parent lists the
//     controller in cgroup.subtree_control, and a parent can enable only what
//     its own cgroup.controllers offers. So "+cpu" etc. are written into
//     cgroup.subtree_control of every cgroup from the top down to ctr's own.
//   - No internal processes: a cgroup other than the top one may not enable
//     controllers for its children while it has processes itself (EBUSY).
//     ctr's own cgroup has at least ctr in it, so when its controllers are not
//     enabled yet and ctr and its stage 1 are the only processes there (a
//     delegated cgroup of its own, e.g. `systemd-run --scope -p Delegate=yes`),
//     ctr moves stage 1 into the container's cgroup and itself into a leaf
//     NAME-host first (the protocol systemd documents for delegation), and
//     moves back and removes the leaf at the end. With other processes there,
//     it stops with an error that says how to give ctr a cgroup of its own.
//   - "cgroup.kill" (Linux 5.14+) kills every process of a cgroup at once.

import { SysError } from "../../../native/error.ts";
import { allHierarchies, callerDir, describeSystem, hierarchyOf, trackingHierarchy } from "./detect.ts";
import { killCgroups } from "./kill.ts";
import { cgroupName, type Tracking } from "./track.ts";
import { checkCpu, cpuWrites, readCpu, type CpuUsage } from "./cpu.ts";
import { checkCpuset, cpusetWrites, readCpuset, readCpusetParent, type CpusetUsage } from "./cpuset.ts";
import { readCgroupFile, readProcs, realFs, writeCgroupFile, type CgroupFs } from "./fs.ts";
import { checkMemory, memoryWrites, orderLiveWrites, readMemory, type MemoryUsage } from "./memory.ts";
import { checkPids, pidsWrites, readPids, type PidsUsage } from "./pids.ts";
import { checkIo, ioWrites, weightFile } from "./io.ts";
import { attachDeviceProgram, devicesWrites } from "../devices/cgroup.ts";
import { realSys, type Sys } from "../../../native/seam.ts";
import { isRunning, supervisedElsewhere } from "../../statedir.ts";
import type { CgroupLimit, CgroupSystem, CgroupWrite, Hierarchy, KernelController, LimitController } from "./types.ts";

export { cgroupName } from "./track.ts";

/** Kernel controllers a limit needs: cpu time is accounted by cpuacct on v1. */
export function controllersOf(limit: LimitController): KernelController[] {
  return limit === "cpu" ? ["cpu", "cpuacct"] : [limit];
}

/** What `show cgroup` reports on even without limits. */
export const ACCOUNTING: readonly KernelController[] = ["cpuacct", "memory", "pids"];

export interface ManagerOptions {
  fs?: CgroupFs;
  /** ctr's own PID (for the v2 delegation protocol); default process.pid. */
  selfPid?: number;
  /** Milliseconds, for the CPU share over the cgroup's life; default performance.now. */
  now?: () => number;
  /** Pause between rmdir attempts; default Bun.sleep. */
  sleep?: (ms: number) => Promise<void>;
  /** Send SIGKILL; default process.kill. */
  kill?: (pid: number) => void;
  /** The calls that are not file writes (bpf for a v2 device policy); default realSys. */
  kernel?: Sys;
  /**
   * Where the container's cgroups go instead of NAME below ctr's own cgroup: an
   * OCI config's `linux.cgroupsPath` (runtime/features/oci/translate.ts). An
   * absolute path is from each hierarchy's root, a relative one from ctr's own
   * cgroup in it; the directories above it that are missing are made too
   * (`parentsMade`), and removed at the end only if they are empty by then.
   */
  path?: string;
}

export interface CreateOptions {
  /** Also make the cgroups `show cgroup` reads (cpuacct, memory, pids) where they exist. */
  accounting?: boolean;
  /** Limits applied later (checked now, their hierarchies made now). */
  later?: readonly CgroupLimit[];
  /** Hierarchies the container gets a cgroup in without a limit (see the header). */
  isolate?: { hierarchies: readonly Hierarchy[]; required: boolean };
}

/**
 * Where a container gets cgroups of its own without a limit: with `ns cgroup`
 * every hierarchy, required as root (the cgroup namespace's root must be the
 * container's, not the host's); without `ns pid` the tracking hierarchy, for
 * finding its processes at the end, where this caller may write it; else none.
 */
export function isolation(sys: CgroupSystem, plan: { namespaces: readonly string[] }): { hierarchies: Hierarchy[]; required: boolean } {
  if (plan.namespaces.includes("cgroup")) return { hierarchies: allHierarchies(sys), required: (process.geteuid?.() ?? 0) === 0 };
  if (plan.namespaces.includes("pid")) return { hierarchies: [], required: false }; // the kernel ends them: runtime/features/cgroup/when.ts
  const h = trackingHierarchy(sys);
  return { hierarchies: h ? [h] : [], required: false };
}

export interface CgroupUsage {
  cpu: CpuUsage | null;
  memory: MemoryUsage | null;
  pids: PidsUsage | null;
  cpuset: CpusetUsage | null;
  /** Milliseconds since the cgroups were created. */
  ageMs: number;
}

function setupError(message: string, hint: string): SysError {
  return new SysError({ message, hint, status: 125 });
}

function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/")) || "/";
}

export class CgroupManager {
  readonly name: string;
  readonly fs: CgroupFs;
  /** The container's cgroup per kernel controller (comounted controllers share a directory). */
  readonly dirs = new Map<KernelController, string>();
  /** The container's cgroup in each hierarchy it has one in (its processes join all of them). */
  readonly homes = new Map<Hierarchy, string>();
  /** Directories this manager made, in creation order. */
  private readonly created: string[] = [];
  /** Directories above a `path` placement that this manager made (never killed in, nor removed with what they hold). */
  readonly parentsMade: string[] = [];
  private readonly path: string | null;

  /** The directories made so far, in creation order. */
  get made(): readonly string[] {
    return this.created;
  }
  /** v2: the leaf ctr moved itself into, and the cgroup it came from. */
  private hostLeaf: { dir: string; from: string; enabled: string[] } | null = null;
  private readonly selfPid: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly killPid: (pid: number) => void;
  private readonly kernel: Sys;
  private createdAt = 0;
  private oomSeen = 0;
  /** Every write made, in order (for tests and `--trace`). */
  readonly log: { path: string; value: string }[] = [];

  constructor(
    id: string,
    readonly sys: CgroupSystem,
    opts: ManagerOptions = {},
  ) {
    this.name = cgroupName(id);
    this.path = opts.path === undefined ? null : opts.path.replace(/\/+$/, "");
    this.fs = opts.fs ?? realFs;
    this.selfPid = opts.selfPid ?? process.pid;
    this.kernel = opts.kernel ?? realSys;
    this.now = opts.now ?? (() => performance.now());
    this.sleep = opts.sleep ?? ((ms) => Bun.sleep(ms));
    this.killPid =
      opts.kill ??
      ((pid) => {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      });
  }

  /** Take over a tracking cgroup made before the plan was sent (runtime/features/cgroup/track.ts); stage 1 joins it itself. */
  adopt(t: Tracking): void {
    this.created.push(t.dir);
    this.homes.set(t.hierarchy, t.dir);
    this.createdAt = this.now();
  }

  private write(dir: string, file: string, value: string, hint?: string): void {
    writeCgroupFile(this.fs, dir, file, value, hint);
    this.log.push({ path: `${dir}/${file}`, value });
  }

  /** The hierarchy holding `c`, or a clear error naming the controller and the fix. */
  hierarchy(c: KernelController, why: string): Hierarchy {
    const h = hierarchyOf(this.sys, c);
    if (h) return h;
    const ctl = c === "io" && this.sys.mode !== "v2" ? "blkio" : c;
    throw setupError(
      `${why}: the ${ctl} controller is not available on this machine (${describeSystem(this.sys)})`,
      this.sys.mode === "v2" || (this.sys.mode === "hybrid" && !this.sys.v1[c])
        ? `enable it in the cgroup v2 tree (the top cgroup.subtree_control must offer "${ctl}"; check that no v1 hierarchy holds it), or remove the \`limit\``
        : `mount its hierarchy (mount -t cgroup -o ${ctl} ${ctl} /sys/fs/cgroup/${ctl}), or remove the \`limit\``,
    );
  }

  /** The container's directory for `h`. */
  dirIn(h: Hierarchy): string {
    if (this.path === null) return `${callerDir(h)}/${this.name}`;
    if (this.path.startsWith("/")) return `${h.mount}${this.path}`;
    return `${callerDir(h)}/${this.path}`;
  }

  /** The cgroup the container's one is made in (its limits are read against it). */
  parentIn(h: Hierarchy): string {
    return parentOf(this.dirIn(h));
  }

  /**
   * A `path` placement: make the missing directories above the container's
   * cgroup in `h`, top down. A v1 cpuset starts with no cpus and no mems and
   * takes no child that has some, so each new one gets its parent's.
   */
  private makeParents(h: Hierarchy): void {
    if (this.path === null) return;
    const base = this.path.startsWith("/") ? h.mount : callerDir(h);
    const parts = this.dirIn(h).slice(base.length).split("/").filter(Boolean).slice(0, -1);
    let dir = base;
    for (const part of parts) {
      const above = dir;
      dir = `${dir}/${part}`;
      if (this.fs.exists(dir)) continue;
      this.fs.mkdir(dir);
      this.parentsMade.push(dir);
      if (h.version === "v1" && h.controllers.includes("cpuset")) {
        const p = readCpusetParent(this.fs, "v1", above);
        this.write(dir, "cpuset.cpus", p.cpus ?? "");
        this.write(dir, "cpuset.mems", p.mems ?? "");
      }
    }
  }

  /** Refuse, before anything is created, what the machine cannot honour. */
  check(limits: readonly CgroupLimit[]): void {
    for (const limit of limits) {
      const why = `limit ${limit.controller}`;
      for (const c of controllersOf(limit.controller)) if (c !== "cpuacct") this.hierarchy(c, why);
      switch (limit.controller) {
        case "cpu":
          checkCpu(limit);
          break;
        case "memory":
          checkMemory(limit);
          break;
        case "pids":
          checkPids(limit);
          break;
        case "devices":
          break;
        case "io": {
          checkIo(limit);
          // The weight file is the scheduler's: where it can be told now (v1, or v2 with io enabled for ctr's cgroup), refused now.
          const h = this.hierarchy("io", why);
          const own = callerDir(h);
          if (limit.weight !== null && (h.version === "v1" || this.fs.exists(`${own}/io.max`))) weightFile(this.fs, h.version, own, limit.device !== null);
          break;
        }
        case "cpuset": {
          const h = this.hierarchy("cpuset", why);
          const parent = this.fs.exists(this.parentIn(h)) ? this.parentIn(h) : callerDir(h);
          checkCpuset(limit, readCpusetParent(this.fs, h.version, parent), parent);
          break;
        }
      }
    }
  }

  /** The writes for one limit, with the directory each goes to. */
  writesFor(limit: CgroupLimit): { dir: string; write: CgroupWrite }[] {
    const h = this.hierarchy(controllersOf(limit.controller)[0]!, `limit ${limit.controller}`);
    const dir = this.dirIn(h);
    let writes: CgroupWrite[];
    switch (limit.controller) {
      case "cpu":
        writes = cpuWrites(limit, h.version);
        break;
      case "memory": {
        // Swap accounting may be compiled out: look in the container's cgroup once it
        // exists, else in ctr's own (v2's top cgroup has no memory files: assume yes).
        const probe = this.fs.exists(dir) ? dir : this.fs.exists(this.parentIn(h)) ? this.parentIn(h) : callerDir(h);
        const v2Top = h.version === "v2" && probe === h.mount;
        writes = memoryWrites(limit, h.version, {
          hasMemsw: this.fs.exists(`${probe}/memory.memsw.limit_in_bytes`),
          // (and where the memory controller is not enabled yet, nothing can be told: assume yes)
          hasSwapMax: v2Top || this.fs.exists(`${probe}/memory.swap.max`) || !this.fs.exists(`${probe}/memory.max`),
        });
        break;
      }
      case "pids":
        writes = pidsWrites(limit, h.version);
        break;
      case "devices":
        writes = devicesWrites(limit, h.version);
        break;
      case "cpuset":
        writes = cpusetWrites(limit, h.version, readCpusetParent(this.fs, h.version, this.parentIn(h)).mems);
        break;
      case "io": {
        // The container's cgroup once made; before (explain), ctr's own tells for v1 and is not known for v2.
        const probe = this.fs.exists(dir) ? dir : h.version === "v1" ? callerDir(h) : null;
        writes = ioWrites(limit, h.version, limit.weight === null ? null : weightFile(this.fs, h.version, probe, limit.device !== null));
        break;
      }
    }
    return writes.map((write) => ({ dir, write }));
  }

  /**
   * Create the container's cgroups for `limits` (plus the accounting ones when
   * `accounting`, and those `later` limits will need), write `limits` and put
   * `members` (stage 1) in them. `later` limits are checked now and applied by
   * `apply` when their time comes. On failure, whatever was made is removed
   * before the error is thrown.
   */
  async create(limits: readonly CgroupLimit[], opts: CreateOptions, members: readonly number[]): Promise<void> {
    const firstCall = this.created.length === 0;
    try {
      this.createNow(limits, opts, members);
    } catch (e) {
      // A first call undoes everything; a later one (the REPL adding limits to a
      // live container) must not take the container's own cgroups with it.
      if (firstCall) await this.remove();
      throw e instanceof SysError ? e : new SysError({ message: String(e), status: 125, cause: e });
    }
  }

  /** create's calls, made at once: the first refusal is thrown, what was made is left (create removes it). */
  createNow(limits: readonly CgroupLimit[], opts: CreateOptions, members: readonly number[]): void {
    const later = opts.later ?? [];
    this.check([...limits, ...later]);
    const wanted = new Set<KernelController>();
    for (const l of [...limits, ...later]) for (const c of controllersOf(l.controller)) wanted.add(c);
    if (opts.accounting) for (const c of ACCOUNTING) wanted.add(c);
    // Accounting is a bonus: a hierarchy that is missing is simply not used.
    for (const c of wanted) if (!hierarchyOf(this.sys, c)) wanted.delete(c);
    const v2Controllers = [...wanted].filter((c) => c !== "cpuacct" && c !== "devices" && hierarchyOf(this.sys, c)?.version === "v2");
    const hierarchies = new Set([...wanted].map((c) => hierarchyOf(this.sys, c)!));
    for (const h of hierarchies) {
      const dir = this.dirIn(h);
      if (h.version === "v2") this.enableV2(h, v2Controllers, members);
      if (!this.created.includes(dir)) {
        this.makeParents(h);
        this.fs.mkdir(dir);
        this.created.push(dir);
      }
      this.homes.set(h, dir);
      for (const c of wanted) if (hierarchyOf(this.sys, c) === h) this.dirs.set(c, dir);
      // Accounting that lives in a directory made anyway comes free (v2: cpu.stat everywhere).
      for (const c of ACCOUNTING) if (!this.dirs.has(c) && hierarchyOf(this.sys, c) === h && (c === "cpuacct" || h.version === "v1")) this.dirs.set(c, dir);
    }
    for (const h of opts.isolate?.hierarchies ?? []) this.isolateIn(h, opts.isolate!.required);
    this.createdAt = this.now();
    const cpusetH = hierarchyOf(this.sys, "cpuset");
    const cpusetDir = this.dirs.get("cpuset") ?? (cpusetH ? this.homes.get(cpusetH) : undefined);
    if (cpusetDir && cpusetH?.version === "v1" && !limits.some((l) => l.controller === "cpuset")) {
      // A v1 cpuset starts empty and takes no task so: the parent's set until a later limit.
      const parent = readCpusetParent(this.fs, "v1", this.parentIn(cpusetH));
      this.write(cpusetDir, "cpuset.cpus", parent.cpus ?? "");
      this.write(cpusetDir, "cpuset.mems", parent.mems ?? "");
    }
    for (const l of limits) this.writeLimit(l);
    for (const pid of members) this.join(pid);
  }

  /**
   * A cgroup of the container's own in `h`, for isolation only. Unless
   * `required`, a hierarchy this caller may not write (rootless without a
   * delegated cgroup) is left out: the caller's own cgroup is then no more
   * writable from inside than from outside.
   */
  private isolateIn(h: Hierarchy, required: boolean): void {
    if (this.homes.has(h)) return;
    const dir = this.dirIn(h);
    try {
      this.makeParents(h);
      this.fs.mkdir(dir);
    } catch (e) {
      const code = e instanceof SysError ? e.code : "";
      if (!required && (code === "EACCES" || code === "EPERM" || code === "EROFS")) return;
      throw e instanceof SysError ? Object.assign(e, { hint: e.hint ?? `the container needs a cgroup of its own in ${callerDir(h)}` }) : e;
    }
    this.created.push(dir);
    this.homes.set(h, dir);
  }

  /**
   * v2: make `controllers` available in the container's cgroup: "+ctrl" in
   * cgroup.subtree_control of every cgroup from the top down to ctr's own.
   */
  private enableV2(h: Hierarchy, controllers: KernelController[], members: readonly number[]): void {
    if (controllers.length === 0) return;
    const chain = [h.mount];
    let path = h.mount;
    // Down to the cgroup the container's is made in: ctr's own, or the parent of a `path` placement (made first if missing).
    const above = this.path === null ? h.callerPath : this.parentIn(h).slice(h.mount.length);
    if (this.path !== null) this.makeParents(h);
    for (const part of above.split("/").filter(Boolean)) chain.push((path = `${path}/${part}`));
    // First every check, then every write: a refusal leaves the tree as it was.
    const steps: { dir: string; missing: KernelController[]; delegate: boolean }[] = [];
    let enabledAbove: KernelController[] = [];
    for (const [i, dir] of chain.entries()) {
      const enabled = (readCgroupFile(this.fs, dir, "cgroup.subtree_control") ?? "").split(/\s+/);
      const missing = controllers.filter((c) => !enabled.includes(c));
      const offered = [...(readCgroupFile(this.fs, dir, "cgroup.controllers") ?? "").split(/\s+/), ...enabledAbove];
      enabledAbove = missing;
      if (missing.length === 0) continue;
      const absent = missing.filter((c) => !offered.includes(c));
      if (absent.length > 0) {
        throw setupError(
          `limit ${absent[0]}: the ${absent.join(", ")} controller${absent.length > 1 ? "s are" : " is"} not delegated to ${dir} (cgroup.controllers: ${offered.filter(Boolean).join(" ") || "none"})`,
          `enable ${absent.map((c) => "+" + c).join(" ")} in ${parentOf(dir)}/cgroup.subtree_control, or run ctr in a cgroup that has them (e.g. systemd-run --scope -p Delegate=yes ctr ...)`,
        );
      }
      let delegate = false;
      const isOwn = this.path === null && i === chain.length - 1; // a `path` placement's parent is not ctr's own: no delegation there
      if (i > 0) {
        const procs = readProcs(this.fs, dir);
        const ours = new Set([this.selfPid, ...members]);
        const others = procs.filter((p) => !ours.has(p));
        if (procs.length > 0 && (!isOwn || others.length > 0)) {
          const shown = isOwn ? others : procs;
          throw setupError(
            `limit ${missing[0]}: cgroup v2 cannot enable ${missing.join(", ")} for the children of ${dir}: it holds processes (${shown.slice(0, 5).join(", ")}${shown.length > 5 ? ", ..." : ""}), and the kernel's no-internal-processes rule forbids controllers below a cgroup that has processes of its own`,
            "give ctr a cgroup of its own, e.g. systemd-run --scope -p Delegate=yes ctr ..., or run it from the top cgroup",
          );
        }
        delegate = procs.length > 0;
      }
      steps.push({ dir, missing, delegate });
    }
    for (const { dir, missing, delegate } of steps) {
      if (delegate) {
        // Delegation protocol: the container's cgroup takes stage 1, a leaf takes ctr, so
        // that ctr's own cgroup is empty and may enable controllers for its children.
        const target = `${dir}/${this.name}`;
        const leaf = `${dir}/${this.name}-host`;
        for (const d of [target, leaf]) {
          this.fs.mkdir(d);
          this.created.push(d);
        }
        for (const pid of members) this.write(target, "cgroup.procs", String(pid));
        this.write(leaf, "cgroup.procs", String(this.selfPid));
        this.hostLeaf = { dir: leaf, from: dir, enabled: missing };
      }
      this.write(dir, "cgroup.subtree_control", missing.map((c) => "+" + c).join(" "), dir === h.mount ? undefined : `the no-internal-processes rule: ${dir} must have no processes of its own`);
    }
  }

  /** One limit's writes; on v2 a device policy is a program attached instead (runtime/features/devices/bpf.ts). */
  private writeLimit(limit: CgroupLimit): void {
    for (const { dir, write } of this.writesFor(limit)) this.write(dir, write.file, write.value);
    if (limit.controller === "devices") this.attachDevices(limit);
  }

  private attachDevices(limit: Extract<CgroupLimit, { controller: "devices" }>): void {
    const h = this.hierarchy("devices", "device");
    if (h.version === "v2") attachDeviceProgram(this.kernel, this.dirIn(h), limit.allowed);
  }

  /** Put a process (and, on v1, its threads) in every cgroup of the container. */
  join(pid: number): void {
    for (const dir of new Set([...this.dirs.values(), ...this.homes.values()])) {
      this.write(dir, "cgroup.procs", String(pid), "the process may have ended, or a v1 cpuset has no cpus or mems yet");
    }
  }

  /**
   * Take a process out of the container's memory cgroup, back to ctr's own
   * (v2: to the leaf ctr sits in, the no-internal-processes rule permitting).
   * For stage 1 once PID 1 is up: it only waits from then on, and its mapped
   * executable would make it the OOM killer's choice at a small limit.
   */
  releaseFromMemory(pid: number): void {
    const h = hierarchyOf(this.sys, "memory");
    if (!h || !this.dirs.has("memory")) return;
    const target = h.version === "v2" ? (this.hostLeaf?.dir ?? callerDir(h)) : callerDir(h);
    try {
      this.write(target, "cgroup.procs", String(pid));
    } catch {
      // v2 with controllers enabled in ctr's cgroup: stage 1 stays (scores still protect)
    }
  }

  /**
   * Apply a limit now (a live change, like `docker update`). When the
   * container has no cgroup in that hierarchy yet, one is made and the
   * container's processes (`members`, else those of its other cgroups) moved in.
   */
  apply(limit: CgroupLimit, members?: readonly number[]): void {
    this.check([limit]);
    const missing = controllersOf(limit.controller).filter((c) => !this.dirs.has(c));
    const newDirs: string[] = [];
    for (const c of missing) {
      const h = this.hierarchy(c, `limit ${limit.controller}`);
      const dir = this.dirIn(h);
      if (h.version === "v2" && c !== "devices") this.enableV2(h, [c], []);
      if (!this.fs.exists(dir)) {
        this.makeParents(h);
        this.fs.mkdir(dir);
        this.created.push(dir);
        newDirs.push(dir);
      }
      this.dirs.set(c, dir);
    }
    let writes = this.writesFor(limit);
    if (limit.controller === "memory" && writes[0]) writes = orderLiveWrites(writes.map((w) => w.write), this.fs, writes[0].dir).map((write) => ({ dir: writes[0]!.dir, write }));
    for (const { dir, write } of writes) this.write(dir, write.file, write.value);
    if (limit.controller === "devices") this.attachDevices(limit);
    if (newDirs.length > 0) {
      const pids = members ?? this.procs();
      for (const dir of newDirs) for (const pid of pids) this.write(dir, "cgroup.procs", String(pid));
    }
  }

  /** The processes in the container's cgroups (and their children). */
  procs(): number[] {
    const out = new Set<number>();
    const walk = (dir: string): void => {
      for (const p of readProcs(this.fs, dir)) out.add(p);
      for (const child of this.fs.children(dir)) walk(`${dir}/${child}`);
    };
    for (const dir of new Set([...this.dirs.values(), ...this.homes.values()])) walk(dir);
    for (const dir of this.created) if (dir !== this.hostLeaf?.dir) walk(dir);
    return [...out];
  }

  /** OOM kills counted by the container's memory cgroup so far. */
  oomKills(): number {
    const dir = this.dirs.get("memory");
    if (!dir) return 0;
    const h = hierarchyOf(this.sys, "memory")!;
    return readMemory(this.fs, h.version, dir).oomKills ?? 0;
  }

  /** OOM kills since the last call (0 on the first call after none). */
  newOomKills(): number {
    const n = this.oomKills();
    const fresh = n - this.oomSeen;
    this.oomSeen = n;
    return fresh;
  }

  usage(): CgroupUsage {
    const versionOf = (c: KernelController) => hierarchyOf(this.sys, c)?.version ?? "v1";
    const cpuDir = this.dirs.get("cpu") ?? null;
    const acctDir = this.dirs.get("cpuacct") ?? null;
    const mem = this.dirs.get("memory");
    const pids = this.dirs.get("pids");
    const cpuset = this.dirs.get("cpuset");
    return {
      cpu: cpuDir || acctDir ? readCpu(this.fs, versionOf(cpuDir ? "cpu" : "cpuacct"), cpuDir, acctDir) : null,
      memory: mem ? readMemory(this.fs, versionOf("memory"), mem) : null,
      pids: pids ? readPids(this.fs, pids) : null,
      cpuset: cpuset ? readCpuset(this.fs, versionOf("cpuset"), cpuset) : null,
      ageMs: this.now() - this.createdAt,
    };
  }

  /** SIGKILL whatever is left in the container's cgroups, until they are empty (or `ms` pass). */
  async killAll(ms = 2000): Promise<number[]> {
    const dirs = this.created.filter((d) => d !== this.hostLeaf?.dir);
    return killCgroups(this.fs, dirs, () => this.procs().filter((p) => p !== this.selfPid), { ms, now: this.now, sleep: this.sleep, kill: this.killPid, log: (path, value) => this.log.push({ path, value }) });
  }

  /**
   * Remove every directory made, deepest first, once its processes are gone.
   * Returns the directories that could not be removed (with why).
   */
  async remove(ms = 2000): Promise<string[]> {
    const leftover = await this.killAll(ms);
    const problems: string[] = leftover.length ? [`processes ${leftover.join(", ")} would not die`] : [];
    for (const dir of [...this.created].reverse()) {
      if (dir === this.hostLeaf?.dir) continue;
      const err = await this.rmdirTree(dir, ms);
      if (err) problems.push(err);
    }
    if (this.hostLeaf) this.leaveHostLeaf(problems);
    removeParents(this.fs, this.parentsMade.splice(0));
    this.created.length = 0;
    this.dirs.clear();
    this.homes.clear();
    return problems;
  }

  /** v2: ctr moves back to its own cgroup and drops its leaf, when no other container still needs the controllers there. */
  private leaveHostLeaf(problems: string[]): void {
    const leaf = this.hostLeaf!;
    const others = this.fs.children(leaf.from).filter((c) => `${leaf.from}/${c}` !== leaf.dir);
    if (others.length > 0) return; // another container still uses them; the stale sweep takes the leaf later
    try {
      // The controllers go first: a cgroup that enables them may not take a process.
      if (leaf.enabled.length > 0) this.write(leaf.from, "cgroup.subtree_control", leaf.enabled.map((c) => "-" + c).join(" "));
      this.write(leaf.from, "cgroup.procs", String(this.selfPid));
      this.fs.rmdir(leaf.dir);
      this.created.splice(this.created.indexOf(leaf.dir), 1);
      this.hostLeaf = null;
    } catch (e) {
      problems.push(`${leaf.dir}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private async rmdirTree(dir: string, ms: number): Promise<string | null> {
    if (!this.fs.exists(dir)) return null;
    for (const child of this.fs.children(dir)) {
      const err = await this.rmdirTree(`${dir}/${child}`, ms);
      if (err) return err;
    }
    const deadline = this.now() + ms;
    for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
      try {
        this.fs.rmdir(dir);
        return null;
      } catch (e) {
        const code = e instanceof SysError ? e.code : "";
        if (code === "ENOENT") return null;
        if (code !== "EBUSY" || this.now() > deadline) return `cannot remove ${dir}: ${e instanceof Error ? e.message : String(e)}`;
        // Tasks that were just killed are still exiting: wait for them to drain.
        await this.sleep(delay);
      }
    }
  }
}

/**
 * The directories a `path` placement made above the container's cgroups,
 * deepest first, each only if it is empty now: another container placed below
 * the same parent (podman's /libpod_parent) keeps it.
 */
export function removeParents(fs: CgroupFs, parents: readonly string[]): void {
  for (const dir of [...parents].reverse()) {
    try {
      if (fs.children(dir).length === 0) fs.rmdir(dir);
    } catch {
      // busy: someone else's cgroups are there now
    }
  }
}

/**
 * Remove cgroups left by a ctr that was killed outright (SIGKILL gives it no
 * chance to clean up), in every hierarchy: names end in the owner's PID, and
 * only those whose owner is gone are touched. Processes still in one (a
 * container whose stage 1 was killed too) are killed; a cgroup that is still
 * busy with dying tasks is left for the next run's sweep.
 */
export function sweepStaleCgroups(sys: CgroupSystem, fs: CgroupFs = realFs): string[] {
  const removed: string[] = [];
  const parents = new Set<string>();
  for (const h of allHierarchies(sys)) parents.add(callerDir(h));
  for (const parent of parents) {
    for (const name of fs.children(parent)) {
      const m = /^ctr-.*-(\d+)(-host)?$/.exec(name);
      if (!m) continue;
      const pid = Number(m[1]);
      if (pid === process.pid) continue;
      if (isRunning(pid)) continue; // the owner lives (a zombie does not)
      if (supervisedElsewhere(name.replace(/-host$/, ""))) continue; // a REPL's container after `:detach`: its stage 1 lives
      const dir = `${parent}/${name}`;
      if (removeStale(fs, dir)) removed.push(dir);
    }
  }
  return removed;
}

/**
 * The cgroups of container `id` (its own and its `-host` one, below the
 * caller's cgroup in each hierarchy), killed and removed whoever owns the PID
 * in its name: for the shared monitor (runtime/features/lifecycle/monitor.ts),
 * whose PID names its containers' cgroups, when a supervisor died before it
 * handed its container over. Returns those still there (busy with exiting tasks).
 */
export function removeCgroupsOf(sys: CgroupSystem, id: string, fs: CgroupFs = realFs): string[] {
  const left: string[] = [];
  const names = new Set([cgroupName(id), `${cgroupName(id)}-host`]);
  for (const parent of new Set(allHierarchies(sys).map(callerDir))) {
    for (const name of fs.children(parent)) if (names.has(name) && !removeStale(fs, `${parent}/${name}`)) left.push(`${parent}/${name}`);
  }
  return left;
}

/** Kill what is in `dir` and below, then rmdir deepest first; true when it is gone. */
function removeStale(fs: CgroupFs, dir: string): boolean {
  if (fs.exists(`${dir}/cgroup.kill`)) {
    try {
      fs.write(`${dir}/cgroup.kill`, "1");
    } catch {
      // fall back to signals below
    }
  }
  for (const pid of readProcs(fs, dir)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  for (const child of fs.children(dir)) if (!removeStale(fs, `${dir}/${child}`)) return false;
  try {
    fs.rmdir(dir);
    return true;
  } catch {
    return false; // still busy with exiting tasks: the next sweep
  }
}
