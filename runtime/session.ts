// One container's life on the host, the same for a script (runtime/execute.ts)
// and the REPL (runtime/repl-engine.ts): what is made before the namespaces
// exist, what happens between stage 1's unshare and PID 1, after PID 1 is up,
// and what is undone at the end, whatever the path.
//
// Features take part through hooks by phase, in this order:
//   beforeUnshare  stage 1 is waiting for its plan: the container's cgroups are
//                  made and joined (runtime/features/cgroup/manager.ts), the default
//                  rootfs built, the per-container directory made
//                  (runtime/statedir.ts). Nothing of the container runs yet.
//   afterUnshare   stage 1 has unshared and waits for "go": the id maps of a new
//                  user namespace are written (runtime/features/userns/userns.ts). Stage 1 waits
//                  for the host only when some hook has work here.
//   afterPid1      PID 1 is up, before any operation reaches it: the OOM scores
//                  of ctr's own processes (runtime/features/cgroup/oom.ts).
//   teardown       the container's processes are gone (Container.destroy): each
//                  hook's part is undone (the host's links, the cgroups), the
//                  per-container directory last, and every problem is said,
//                  never hidden.
// Later features (volumes and image layers before unshare, a veth moved into
// the network namespace after it) add hooks here.

import type { NsName, Span } from "../lang/spec.ts";
import { SysError } from "../native/error.ts";
import type { NsPath, TraceEvent } from "./channel/messages.ts";
import { Container, Launch } from "./host.ts";
import { makeStateDir, removeStateDir, sweepStaleStateDirs } from "./statedir.ts";
import type { Op, RunResult } from "./ops.ts";
import { defaultRootfs } from "./features/rootfs/cache.ts";
import { userNamespaceSetup, type Become } from "./features/userns/userns.ts";
import { allHierarchies, hierarchyOf, machineCgroups } from "./features/cgroup/detect.ts";
import { freezerHierarchy } from "./features/cgroup/freezer.ts";
import { CgroupManager, isolation, sweepStaleCgroups } from "./features/cgroup/manager.ts";
import { findOomVictims, oomMessage, oomScorePlan, readKernelLog, setCommandScore, setInitScore, type OomScorePlan } from "./features/cgroup/oom.ts";
import type { Tracking } from "./features/cgroup/track.ts";
import type { CgroupLimit } from "./features/cgroup/types.ts";
import { cgroupsNeeded } from "./features/cgroup/when.ts";
import { NetHost, sweepStaleNet } from "./features/net/host.ts";
import { resolveJoin } from "./features/ns/join-host.ts";

export interface SessionEvents {
  /** Text for the user's standard output (echo, show, run's tee is PID 1's). */
  output(text: string): void;
  /** A syscall made by a stage, when tracing. */
  trace?(stage: 1 | 2 | "host", e: TraceEvent): void;
  /** A plain message from ctr about the container (an OOM kill, a cgroup it could not remove). */
  notice(text: string): void;
}

/** What the container is made with (the parts of a plan the host acts on before it exists). */
export interface SessionSpec {
  namespaces: NsName[];
  /** Limits written before anything of the container runs, and limits applied later (checked now). */
  limits?: CgroupLimit[];
  later?: CgroupLimit[];
  /** `show cgroup`: the accounting cgroups too. */
  accounting?: boolean;
  /** Where a cgroup error is reported (the first `limit`, else `ns`). */
  cgroupSpan?: Span;
  /**
   * The per-container directory (a `rootfs`), with the hostname its files start
   * with; or, where the caller makes it later (the REPL's first `rootfs`), its
   * path, so that the container's end removes it and `hostname` keeps it current.
   */
  stateDir?: { hostname: string | null; mountPoints?: boolean } | { later: string } | null;
  /** `rootfs default`: build it first if needed. */
  defaultRootfs?: boolean;
  /** The user namespace's `map` (and default map) operations. */
  idmaps?: readonly Op[];
  /** Operations among which `net veth`/`net bridge`'s host parts ("net-host") are taken. */
  net?: readonly Op[];
  /** `join NAME NS...`: the running container whose namespaces stage 1 joins first (runtime/features/ns/join-host.ts). */
  join?: { name: string; namespaces: NsName[]; span?: Span } | null;
  /** An OCI config's `linux.cgroupsPath`: where the container's cgroups are made, in every hierarchy (CgroupManager). */
  cgroupsPath?: string;
  /** `mount cgroup`: the container gets a cgroup of its own in every hierarchy, which is what it shows (runtime/features/mount/cgroupfs.ts). */
  mountsCgroup?: boolean;
  /** An OCI container: a freezer cgroup of its own, for `pause` (runtime/features/cgroup/freezer.ts). */
  freezer?: boolean;
}

export interface SessionOptions {
  trace?: boolean;
  /** Forward the signals a user may send to ctr (scripts); the REPL handles them itself. */
  forwardSignals?: boolean;
  /** A REPL on a terminal: PID 1 survives the terminal's SIGINT and SIGQUIT. */
  interactive?: boolean;
  /** Progress of a long step (building the default rootfs). */
  onProgress?: (message: string) => void;
  /** An OCI container: PID 1 may be released to the caller (Container.release); "adopt": to ctr's own supervisor (runtime/features/lifecycle/adopt.ts). */
  release?: boolean | "adopt";
  /** Namespaces joined by path instead of made (an OCI config's: Container.create). */
  paths?: readonly NsPath[];
}

/** What a released container keeps on the host once its command runs, for `ctr delete` to remove (runtime/features/oci/teardown.ts). */
export interface HeldResources {
  /** The container's cgroups, in creation order; `parents`: the directories above them made for a cgroups path. */
  cgroups: string[];
  parents: string[];
  /** The per-container directory (runtime/statedir.ts), if any. */
  stateDir: string | null;
}

/** A feature's part in a container's life (see the header). */
interface Hook {
  beforeUnshare?(): void | Promise<void>;
  afterUnshare?(stage1Pid: number): Become | void | Promise<Become | void>;
  afterPid1?(c: Container): void | Promise<void>;
  teardown?(): string[] | Promise<string[]>;
}

export class ContainerSession {
  container: Container | null = null;
  cgroups: CgroupManager | null = null;
  /** The cgroups have their accounting and limit hierarchies (a REPL's first `limit` or `show cgroup`). */
  private cgroupsFull = false;
  private scores: OomScorePlan | null = null;
  private stateDir: string | null = null;
  private net: NetHost | null = null;
  private hooks: Hook[] = [];
  private execed = false;
  private tornDown = false;

  constructor(
    readonly id: string,
    private readonly launch: Launch,
    private readonly events: SessionEvents,
  ) {}

  /** A tracking cgroup the CLI already made (runtime/features/cgroup/track.ts): adopted first, so that every path removes it. */
  adopt(tracking: Tracking | null): void {
    if (!tracking) return;
    this.cgroups = new CgroupManager(this.id, machineCgroups());
    this.cgroups.adopt(tracking);
  }

  /** Create the container: every hook's part, phase by phase, then PID 1 (call started() next). */
  async create(spec: SessionSpec, opts: SessionOptions = {}): Promise<Container> {
    // The container to join is found first: a missing or stopped one is refused before anything is made.
    const enter = spec.join ? resolveJoin(spec.join.name, spec.join.namespaces, spec.join.span) : undefined;
    this.hooks = [this.cgroupHook(spec), this.oomHook(), this.rootfsHook(spec, opts), this.usernsHook(spec), this.netHook(spec, opts), this.joinHook(spec)];
    const trace = this.events.trace;
    for (const problem of sweepStaleNet(undefined, opts.trace && trace ? (e) => trace("host", e) : null)) this.events.notice(problem); // before the state directories naming them go
    sweepStaleStateDirs();
    for (const h of this.hooks) await h.beforeUnshare?.();
    const c = new Container(this.id, this.launch, this.stateDir, { output: this.events.output, trace: this.events.trace });
    c.cgroups = this.cgroups;
    c.netShow = this.netShow(spec);
    this.container = c;
    // Stage 1 waits for "go" only when a hook has work between its unshare and PID 1.
    const after = this.hooks.filter((h) => h.afterUnshare);
    const setup =
      after.length === 0
        ? undefined
        : async (pid: number) => {
            let become: Become | void = undefined;
            for (const h of after) become = (await h.afterUnshare!(pid)) ?? become;
            return become;
          };
    await c.create({ namespaces: spec.namespaces, ops: [], needsDefaultRootfs: false }, { trace: opts.trace, setup, forwardSignals: opts.forwardSignals, interactive: opts.interactive, enter, release: opts.release, paths: opts.paths });
    return c;
  }

  /** Let go of PID 1 (Container.release); returns what stays on the host while the container lives. */
  async release(): Promise<HeldResources> {
    await this.container!.release();
    return { cgroups: [...(this.cgroups?.made ?? [])], parents: [...(this.cgroups?.parentsMade ?? [])], stateDir: this.stateDir };
  }

  /** PID 1 is up: the afterPid1 hooks, before any operation is sent to it. */
  async started(): Promise<void> {
    const c = this.container!;
    for (const h of this.hooks) await h.afterPid1?.(c);
  }

  // ---- the hooks ---------------------------------------------------------------------

  private cgroupHook(spec: SessionSpec): Hook {
    return {
      beforeUnshare: async () => {
        if (this.cgroups) {
          sweepStaleCgroups(this.cgroups.sys); // the tracking cgroup is made and stage 1 in it
          return;
        }
        const limits = spec.limits ?? [];
        const placed = spec.cgroupsPath !== undefined;
        const everywhere = placed || spec.mountsCgroup === true;
        if (!everywhere && spec.freezer !== true && !cgroupsNeeded(spec.namespaces, limits.length > 0 || (spec.later ?? []).length > 0 || spec.accounting === true)) return;
        const sys = machineCgroups();
        if (sys.mode === "none") {
          if (placed) throw new SysError({ message: "linux.cgroupsPath: this machine has no cgroup hierarchy mounted", status: 125, ...(spec.cgroupSpan ? { span: spec.cgroupSpan } : {}) });
          return;
        }
        sweepStaleCgroups(sys);
        const m = new CgroupManager(this.id, sys, placed ? { path: spec.cgroupsPath } : {});
        this.cgroups = m;
        try {
          // Stage 1 is waiting for its plan: it joins before it unshares or starts anything.
          // A cgroups path is the container's in every hierarchy, as runc places it.
          const isolate = everywhere ? { hierarchies: allHierarchies(sys), required: true } : isolation(sys, spec);
          const fz = spec.freezer === true && !everywhere ? freezerHierarchy(sys) : null;
          if (fz && !isolate.hierarchies.includes(fz)) isolate.hierarchies = [...isolate.hierarchies, fz];
          await m.create(limits, { accounting: spec.accounting, later: spec.later, isolate }, [this.launch.stage1.pid]);
        } catch (e) {
          if (e instanceof SysError && !e.span && spec.cgroupSpan) e.span = spec.cgroupSpan;
          throw e;
        }
      },
      teardown: () => this.removeCgroups(),
    };
  }

  private async removeCgroups(): Promise<string[]> {
    const m = this.cgroups;
    this.cgroups = null;
    this.cgroupsFull = false;
    return m ? (await m.remove()).map((p) => `cgroup cleanup: ${p}`) : [];
  }

  /** The default rootfs built if needed, and the per-container directory its mounts use (removed last, by teardown). */
  private rootfsHook(spec: SessionSpec, opts: SessionOptions): Hook {
    return {
      beforeUnshare: () => {
        if (spec.defaultRootfs) defaultRootfs(undefined, opts.onProgress ? { onProgress: opts.onProgress } : undefined);
        if (spec.stateDir && "later" in spec.stateDir) this.stateDir = spec.stateDir.later;
        else if (spec.stateDir) this.stateDir = makeStateDir(this.id, spec.stateDir.hostname, spec.stateDir.mountPoints ?? true);
      },
    };
  }

  private usernsHook(spec: SessionSpec): Hook {
    if (!spec.namespaces.includes("user")) return {};
    const setup = userNamespaceSetup(spec.idmaps ?? []);
    return { afterUnshare: (pid) => setup(pid) };
  }

  /** The host's side of `net veth`/`net bridge` (runtime/features/net/host.ts): checked, recorded, then made after unshare. */
  private netHook(spec: SessionSpec, opts: SessionOptions): Hook {
    const ops = (spec.net ?? []).filter((o) => o.kind === "net-host");
    if (ops.length === 0) return {};
    const trace = this.events.trace;
    const net = new NetHost(this.id, ops, undefined, opts.trace && trace ? (e) => trace("host", e) : null);
    this.net = net;
    net.check(); // before any hook has made anything (the state directory is made next)
    let made = false;
    return {
      beforeUnshare: () => {
        if (!this.stateDir) throw new SysError({ message: "internal: `net` without the container's state directory", status: 125 });
        net.record(this.stateDir);
      },
      afterUnshare: (pid) => {
        made = true;
        net.setUp(pid);
      },
      teardown: () => (made ? net.teardown() : []),
    };
  }

  /**
   * `join` (runtime/features/ns/join.ts). With a joined PID namespace, the
   * container's orphans are that namespace's init's: only a cgroup of its own
   * (made by the cgroup hook before this one) finds them to end them. A joined
   * mount namespace is entered by PID 1 itself once it is up: nothing observes
   * the container before.
   */
  private joinHook(spec: SessionSpec): Hook {
    const join = spec.join;
    if (!join) return {};
    return {
      beforeUnshare: () => {
        if (!join.namespaces.includes("pid") || (this.cgroups?.made.length ?? 0) > 0) return;
        throw new SysError({
          message: `join: joining container ${join.name}'s PID namespace needs a cgroup of this container's own, to end its background processes (they become that namespace's init's), and none could be made`,
          hint: "run ctr as root, or in a delegated cgroup (systemd-run --user --scope -p Delegate=yes ctr ...); or leave `pid` out of the join",
          span: join.span,
          status: 125,
        });
      },
      ...(join.namespaces.includes("mnt") ? { afterPid1: (c: Container) => c.waitReady() } : {}),
    };
  }

  /** `show net`'s host half (runtime/features/net/show.ts), after PID 1's. */
  private netShow(spec: SessionSpec): () => string[] {
    return () => {
      if (this.net) return this.net.show();
      if (!spec.namespaces.includes("net")) return ["host: PID 1 is in ctr's network namespace (no `ns net`): the links above are the host's"];
      return ["host: no link of this container's on the host (no `net veth` or `net bridge`): its namespace reaches nothing outside"];
    };
  }

  /** The OOM killer must take the command that filled the cgroup, not ctr's init (runtime/features/cgroup/oomscore.ts). */
  private oomHook(): Hook {
    return {
      beforeUnshare: () => {
        if (!this.cgroups?.dirs.has("memory")) return;
        this.scores = oomScorePlan();
        setCommandScore(this.scores, this.launch.stage1.pid);
      },
      afterPid1: async (c) => {
        if (!this.scores) return;
        await c.waitReady(); // PID 1 has taken note of its start score
        setInitScore(this.scores, [c.stage1Pid, c.pid1]);
        this.cgroups!.releaseFromMemory(c.stage1Pid);
      },
    };
  }

  // ---- a live container --------------------------------------------------------------

  /** Perform one operation. After a `run`, an OOM kill in the container's memory cgroup is said. */
  async apply(op: Op): Promise<RunResult | undefined> {
    const c = this.live(op);
    if (op.kind === "exec") this.execed = true;
    const result = (await c.apply(op)) as RunResult | undefined;
    if (op.kind === "run") this.oomCheck(op.argv.join(" "));
    return result;
  }

  /** Several PID 1 setup steps at once (Container.applyBatch). */
  async applyBatch(ops: readonly Op[]): Promise<void> {
    const c = this.live(ops[0]!);
    if (ops.some((o) => o.kind === "exec")) this.execed = true;
    await c.applyBatch(ops);
  }

  private live(op: Op): Container {
    if (!this.container) throw new SysError({ message: "there is no container yet", hint: "create it first: ns uts, pid, mnt", span: op.span, status: 125 });
    return this.container;
  }

  /**
   * The REPL's first `limit` or `show cgroup`: the container's cgroups get
   * their accounting and limit hierarchies, and its live processes move in.
   * Returns the directories made.
   */
  get cgroupsComplete(): boolean {
    return this.cgroupsFull;
  }

  async addCgroups(limit: CgroupLimit | null, members: readonly number[]): Promise<string[]> {
    if (this.cgroupsFull) return [];
    let m = this.cgroups;
    if (!m) {
      sweepStaleCgroups(machineCgroups());
      m = new CgroupManager(this.id, machineCgroups());
      this.cgroups = m;
      if (this.container) this.container.cgroups = m;
    }
    const before = new Set(m.homes.values());
    // `later`: checked before anything is made, written by Container.apply just after.
    await m.create([], { accounting: true, later: limit ? [limit] : [] }, members);
    this.cgroupsFull = true;
    const c = this.container;
    if (c && m.dirs.has("memory")) {
      // Keep the init stages out of the OOM killer's way (runtime/features/cgroup/oomscore.ts). The
      // commands keep the score PID 1 started with; only a score that can be lowered helps here.
      const scores = oomScorePlan();
      if (scores.init < scores.commands) setInitScore(scores, [c.stage1Pid, c.pid1]);
      m.releaseFromMemory(c.stage1Pid);
    }
    m.newOomKills();
    return [...new Set(m.dirs.values())].filter((d) => !before.has(d)).map((d) => `mkdir ${d}`);
  }

  /** Says so when the kernel's OOM killer struck in the container's memory cgroup; true if it did. */
  oomCheck(command: string | null): boolean {
    const m = this.cgroups;
    if (!m) return false;
    const kills = m.newOomKills();
    if (kills <= 0) return false;
    const h = hierarchyOf(m.sys, "memory");
    const c = this.container;
    // ctr's own processes in the container (after `exec`, PID 1 is the command).
    const initPids = [c?.stage1Pid ?? 0, this.execed ? 0 : (c?.pid1 ?? 0)].filter((p) => p > 0);
    this.events.notice(oomMessage({ kills, victims: findOomVictims(m.name, readKernelLog()), usage: m.usage().memory, version: h?.version ?? "v1", command, initPids }));
    return true;
  }

  /** Remove everything the container made on the host: processes first, then each hook's part. Safe to call twice. */
  async teardown(): Promise<void> {
    if (this.tornDown) return;
    this.tornDown = true;
    const c = this.container;
    this.container = null;
    if (c) await c.destroy();
    else await this.launch.cancel().catch(() => {});
    // Released and started: the container's cgroups, links and directory are the caller's now (HeldResources).
    if (c?.handedOver) return;
    for (const h of [...this.hooks].reverse()) for (const problem of (await h.teardown?.()) ?? []) this.events.notice(problem);
    for (const problem of await this.removeCgroups()) this.events.notice(problem); // adopted, or made before create failed
    // Last: until everything it names is gone, the directory is what the next ctr's sweep
    // finds if this one is killed now (the `net` file: runtime/features/net/host.ts).
    const dir = this.stateDir;
    this.stateDir = null;
    if (!dir) return;
    try {
      removeStateDir(dir); // and the state root, if no other container uses it
    } catch (e) {
      this.events.notice(`state cleanup: ${dir}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
