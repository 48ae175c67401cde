// The host side: the ctr process that starts, drives and tears down a container.
//
// Lifecycle (see runtime/init.ts for the other end):
//   1. start stage 1 early (it blocks reading the plan), so Bun's start-up of the
//      stage overlaps the parsing and checking of the script;
//   2. send the namespaces; stage 1 unshares and says so; the host does its own
//      part for the new namespaces (id maps, cgroups: later issues plug in at
//      `hostSetup`), then says "go"; stage 1 spawns PID 1 (stage 2);
//   3. send each pid1 operation and wait for its reply; front and host
//      operations run here, in script order;
//   4. after `exec`, wait for the command; otherwise tell PID 1 to exit;
//   5. always: remove the per-container directory and make sure no stage
//      process is left. Mounts need no unmounting: they live in the container's
//      mount namespace, which dies with its last process.
// Signals to ctr (every one in HANDLED_SIGNALS) are forwarded: to the `run` in
// progress (a second one during the same run kills the container), else to the
// command once it is PID 1; between commands they stop the container. The
// script ends there, with the command's status or 128+N.

import { readFileSync } from "node:fs";
import { HANDLED_SIGNALS, signalName, signalStatus } from "./status.ts";
import { blockSignals, getpgid, SIGTTOU, SysError, tcgetpgrp, tcsetpgrp, unblockSignals } from "../native/index.ts";
import { formatCall } from "../native/format.ts";
import { AsyncChannel } from "./channel/stream.ts";
import { wireToError } from "./channel/codec.ts";
import { PROTOCOL, type JoinTarget, type NsPath, type ShowResult, type StageMessage, type TraceEvent } from "./channel/messages.ts";
import { ensureInitBundle, SINGLE_THREAD_ENV } from "./bundle.ts";
import type { Op, Plan, RunResult } from "./ops.ts";
import { showHost } from "./features/show/show.ts";
import { judge } from "./features/process/capture.ts";
import { isTerminal } from "./fdio.ts";
import type { Become } from "./features/userns/userns.ts";
import type { CgroupManager } from "./features/cgroup/manager.ts";
import { showCgroup } from "./features/cgroup/show.ts";
import { writeHostnameFiles } from "./statedir.ts";

export interface HostEvents {
  /** Text for the user's standard output (echo, show). */
  output(text: string): void;
  /** A syscall made by a stage, when tracing. */
  trace?(stage: 1 | 2, event: TraceEvent): void;
}

/**
 * One syscall a stage made, as `--trace` prints it (scripts and the REPL); "host": one ctr
 * made on the host. An "rtnetlink" event is one request with the kernel's answer, already
 * written out (runtime/features/net/describe.ts).
 */
export function traceLine(stage: 1 | 2 | "host", e: TraceEvent): string {
  if (e.syscall === "rtnetlink") return `[${stage === "host" ? "host" : `stage ${stage}`}] rtnetlink ${String(e.args[0])} = ${e.result} (${e.ms.toFixed(2)} ms)\n`;
  const res = e.errno ? `-1 ${e.errno}` : String(e.result);
  return `[stage ${stage}] ${formatCall(e.syscall, e.args)} = ${res} (${e.ms.toFixed(2)} ms)\n`;
}

export interface CreateOptions {
  /** Report the stages' syscalls (--trace). */
  trace?: boolean;
  /** Host-side work between stage 1's unshare and its "go" (id maps). */
  setup?: (stage1Pid: number) => Promise<Become | void> | Become | void;
  /**
   * Forward SIGINT, SIGTERM and SIGHUP sent to ctr to PID 1: right for a
   * script; the REPL handles them itself (Ctrl-C stops a `run`, not the container).
   */
  forwardSignals?: boolean;
  /** A REPL on a terminal: PID 1 survives the terminal's SIGINT and SIGQUIT (they are for `run`). */
  interactive?: boolean;
  /** `join`: the running container whose namespaces stage 1 joins before it unshares. */
  enter?: JoinTarget;
  /** An OCI container: PID 1 outlives stage 1, and `release()` hands it to the caller (runtime/features/oci/supervise.ts). */
  release?: boolean | "adopt";
  /** Namespaces of the plan that stage 1 joins by path instead of making them (an OCI config's). */
  paths?: readonly NsPath[];
}

/** How many operations of a batch may await their replies at once (runtime/channel/stream.ts, flow control). */
const BATCH_WINDOW = 32;

/** A started stage 1, waiting for its plan. */
export class Launch {
  private constructor(
    /** Stage 1; for a direct start (runtime/features/ns/direct.ts), PID 1 itself, whose status it would relay. */
    readonly stage1: ReturnType<typeof Bun.spawn>,
    readonly channel: AsyncChannel<StageMessage>,
    /** PID 1 was started by ctr's thread, in its namespaces already: no stage 1, no plan to send. */
    readonly direct = false,
  ) {}

  /**
   * Start stage 1. The channel is the extra "pipe" of Bun.spawn, a socketpair
   * whose child end is stage 1's fd 3: nothing else needs loading first, so
   * runtime/main.ts can start stage 1 before ctr loads anything else.
   */
  static spawn(bundle: string, consoleFd?: number, detachable = false): Launch {
    const launch = Launch.adopt(
      Bun.spawn({
        cmd: [process.execPath, bundle, "stage1"],
        // fd 4: an OCI console socket, for PID 1 (runtime/features/process/console.ts);
        // or a REPL's socket for `:detach` (runtime/features/lifecycle/repl-detach.ts).
        stdio: ["inherit", "inherit", "inherit", "pipe", ...(consoleFd !== undefined ? [consoleFd] : detachable ? ["pipe" as const] : [])],
        env: { ...process.env, ...SINGLE_THREAD_ENV },
      }),
    );
    if (detachable && consoleFd === undefined) launch.detachFd = (launch.stage1.stdio as unknown[])[4] as number;
    return launch;
  }

  /** Take over a stage 1 spawned as above (runtime/main.ts does it before loading ctr). */
  static adopt(stage1: ReturnType<typeof Bun.spawn>, direct = false): Launch {
    const fd = (stage1.stdio as unknown[])[3];
    if (typeof fd !== "number") throw new SysError({ message: "cannot make the control channel of the init stage", status: 125 });
    // Our end stays open until ctr exits: Bun owns it and may close it itself.
    return new Launch(stage1, new AsyncChannel<StageMessage>(fd), direct);
  }

  /** A Launch of the current init bundle, building it first if needed. */
  static async start(consoleFd?: number, detachable = false): Promise<Launch> {
    const launch = Launch.spawn(await ensureInitBundle(), consoleFd, detachable);
    launch.console = consoleFd !== undefined;
    return launch;
  }

  /** Stage 1 has an OCI console socket as its fd 4 (`start(consoleFd)`). */
  console = false;
  /** A REPL's stage 1: our end of its `:detach` socket (its fd 4), else -1. */
  detachFd = -1;

  private planSent = false;

  /**
   * Send stage 1 its namespaces; it unshares at once. Called early when
   * nothing has to happen on the host first (cgroups are joined before it).
   */
  sendPlan(plan: Plan, trace: boolean, wait = false, interactive = false, cgroups: readonly string[] = [], join: readonly string[] = [], enter?: JoinTarget, release: boolean | "adopt" = false, paths: readonly NsPath[] = []): void {
    if (this.planSent) return;
    this.planSent = true;
    if (this.direct) return; // PID 1 is in its namespaces already
    this.waitsForGo = wait;
    this.channel.send({ t: "plan", v: PROTOCOL, namespaces: plan.namespaces, trace, wait, interactive, ...(cgroups.length ? { cgroups: [...cgroups] } : {}), ...(join.length ? { join: [...join] } : {}), ...(enter ? { enter } : {}), ...(release ? { release: true } : {}), ...(release === "adopt" ? { adopted: true } : {}), ...(paths.length ? { paths: [...paths] } : {}), ...(this.console ? { console: true } : {}), ...(this.detachFd >= 0 ? { detachable: true } : {}) });
  }

  /** Stage 1 was told to wait for "go" after unsharing. */
  waitsForGo = false;

  /** Abandon a launch whose script did not check. */
  async cancel(): Promise<void> {
    this.stage1.kill("SIGKILL");
    await this.stage1.exited;
    this.channel.cancel();
  }

  close(): void {
    this.channel.cancel();
  }
}

/** A running container, driven from the host. */
export class Container {
  pid1 = 0;
  stage1Pid = 0;
  /** The container's cgroups (runtime/cgroup), when the script limits or shows them. */
  cgroups: CgroupManager | null = null;
  /** `join`: the running container whose namespaces this one shares (`show ns` says so). */
  joined: JoinTarget | null = null;
  /** `show net`'s host half, printed after PID 1's (runtime/session.ts). */
  netShow: (() => string[]) | null = null;
  /** The signal ctr received and forwarded, if any: the script stops with 128+N (or the command's status). */
  interrupted: NodeJS.Signals | null = null;
  private lastRun: RunResult | null = null;
  /** A `run` is in progress inside: a signal goes to its processes, not to PID 1. */
  private running = false;
  private execed = false;
  private nextId = 1;
  private nextBatch = 1;
  private readySeen = false;
  /** Stage 1 is gone (release()): PID 1 is the child of the caller's subreaper now, not of ctr's stages. */
  private released = false;
  /**
   * After release(), the command is PID 1: the container is the caller's
   * (conmon reaps PID 1, `ctr delete` removes what is left, from the record).
   * destroy() then leaves it all in place.
   */
  handedOver = false;

  /**
   * Wait until PID 1 is up and has said so. create() does not wait for it (the
   * first operations are queued meanwhile); call this only before any operation
   * is sent, when something must not happen before PID 1 runs its own code
   * (runtime/features/cgroup/oomscore.ts: PID 1 records the OOM score it started with).
   */
  async waitReady(): Promise<void> {
    while (!this.readySeen) {
      const msg = await this.launch.channel.next();
      if (msg?.t === "ready") this.sawReady();
      else if (msg?.t === "trace") this.events.trace?.(msg.stage, msg.event);
      else throw await this.notReady(msg);
    }
  }

  /** What PID 1 said instead of "ready" (its error, or nothing: it ended), as an error. */
  private async notReady(msg: StageMessage | null): Promise<SysError> {
    if (msg?.t === "error") return wireToError(msg.error);
    return new SysError({ message: `container init stopped before PID 1 was ready (exit ${await this.stageStatus()})`, status: 125 });
  }

  private sawReady(): void {
    this.readySeen = true;
    const held = this.held;
    this.held = null;
    if (held) this.deliver(held.sig, held.again);
  }

  /** A signal to ctr before a directly started PID 1 said "ready" (forward). */
  private held: { sig: NodeJS.Signals; again: boolean } | null = null;

  private readonly forward = (sig: NodeJS.Signals) => {
    const again = this.interrupted !== null;
    this.interrupted = sig;
    if (this.launch.direct && !this.readySeen) {
      // A direct start's operations go out before PID 1 is up (createDirect), so it may
      // not have installed its handlers yet, and the init of a PID namespace drops a
      // signal it has no handler for: the signal waits for its "ready". A second one
      // does not: nothing of the script has run, so PID 1 is ended outright.
      if (again && this.held) this.signal("SIGKILL");
      else this.held = { sig, again };
      return;
    }
    this.deliver(sig, again);
  };

  private deliver(sig: NodeJS.Signals, again: boolean): void {
    if (this.execed) this.signal(sig); // the command is PID 1: it decides
    else if (this.running && again) this.signal("SIGKILL"); // a run that ignored the first one
    else if (this.running) this.interrupt(sig); // e.g. a shell's `trap ... TERM` runs
    // Between commands PID 1 is ctr's agent: it ends on INT, TERM and HUP, and
    // is told to on the others, which it would ignore as PID 1 of a namespace.
    else this.signal(sig === "SIGINT" || sig === "SIGHUP" ? sig : "SIGTERM");
  }

  constructor(
    readonly id: string,
    private readonly launch: Launch,
    readonly stateDir: string | null,
    private readonly events: HostEvents,
  ) {}

  private async recv(): Promise<StageMessage | null> {
    for (;;) {
      const msg = await this.launch.channel.next();
      if (msg && msg.t === "trace") {
        this.events.trace?.(msg.stage, msg.event);
        continue;
      }
      if (msg && msg.t === "ready") {
        this.sawReady();
        continue;
      }
      return msg;
    }
  }

  private async expect<T extends StageMessage["t"]>(t: T, what: string): Promise<Extract<StageMessage, { t: T }>> {
    const msg = await this.recv();
    if (msg && msg.t === t) return msg as Extract<StageMessage, { t: T }>;
    if (msg && msg.t === "error") throw wireToError(msg.error);
    throw new SysError({ errno: 0, syscall: "init", args: [], message: `container init stopped before ${what} (exit ${await this.stageStatus()})` });
  }

  private async stageStatus(): Promise<number> {
    await this.launch.stage1.exited;
    return this.launch.stage1.exitCode ?? signalStatus(this.launch.stage1.signalCode ?? "");
  }

  /**
   * Create the namespaces and PID 1. Between stage 1's unshare and its "go",
   * `setup` runs on the host with stage 1's PID: id maps must be written before
   * the new user namespace is used, and cgroups joined before any process of
   * the container exists (PID 1 inherits stage 1's cgroups), so nothing in the
   * container ever runs unlimited.
   */
  async create(plan: Plan, opts: CreateOptions = {}): Promise<void> {
    const { trace = false, setup, forwardSignals = true, interactive = false } = opts;
    if (this.launch.direct) return this.createDirect(opts);
    this.launch.sendPlan(plan, trace, setup !== undefined, interactive, this.cgroups?.made ?? [], [], opts.enter, opts.release, opts.paths);
    this.joined = opts.enter ?? null;
    const { pid } = await this.expect("unshared", "creating the namespaces");
    this.stage1Pid = pid;
    if (this.launch.waitsForGo) {
      const become = await setup?.(pid);
      this.launch.channel.send({ t: "go", ...(become ?? {}) });
    } else if (setup) {
      throw new SysError({ message: "internal: host setup for a stage 1 that was not told to wait", status: 125 });
    }
    // Operations may be sent from here on: stage 1 never reads the channel
    // again, and PID 1 reads what is queued once it is up (its "ready" is
    // skipped by recv). So PID 1's start-up overlaps the sending.
    this.pid1 = (await this.expect("spawned", "starting PID 1")).pid;
    if (forwardSignals) for (const sig of HANDLED_SIGNALS) process.on(sig, this.forward);
  }

  /**
   * A direct start (runtime/features/ns/direct.ts): PID 1 is ctr's child and
   * unshares its own mount namespace first; its "ready" (or its error) says it
   * has. That is not waited for: the first operations are sent at once and
   * queue in the channel until PID 1 reads them, which saves a round trip on
   * the way to `exec` (about 1.5 ms: the host's wake-up on "ready", then PID 1's
   * on the batch). reply() tells PID 1's failure to start from an answer, and
   * forward() holds a signal until "ready". The CLI takes this path only for
   * what needs no stage 1: anything else here is a bug, refused.
   */
  private async createDirect(opts: CreateOptions): Promise<void> {
    if (opts.setup || opts.trace || opts.interactive || opts.enter || opts.release || opts.paths?.length || this.cgroups) {
      throw new SysError({ message: "internal: a direct start for a container that needs stage 1", status: 125 });
    }
    this.pid1 = this.launch.stage1.pid;
    if (opts.forwardSignals ?? true) for (const sig of HANDLED_SIGNALS) process.on(sig, this.forward);
  }

  /**
   * Let go of PID 1 (an OCI container, created with `release`): stage 1 is
   * killed, so PID 1 is re-parented to the nearest subreaper above ctr (conmon,
   * containerd's shim; else the host's init), which reaps it when the command
   * ends, as it would a PID 1 of runc's. SIGKILL, so that stage 1 takes none of
   * its steps for a host that died (killing PID 1, removing the cgroups). PID 1
   * still holds the channel: the host's end closing is what ends it before `exec`.
   */
  async release(): Promise<void> {
    const stage1 = this.launch.stage1;
    stage1.kill("SIGKILL");
    await stage1.exited;
    this.released = true;
  }

  /** The REPL's `:detach`: PID 1 takes the log stage 1 passed it, and outlives the channel (runtime/features/lifecycle/repl-detach.ts). */
  async detach(): Promise<void> {
    this.launch.channel.send({ t: "detach" });
    const msg = await this.recv();
    if (msg?.t === "done") return;
    if (msg?.t === "error") throw wireToError(msg.error);
    throw new SysError({ message: msg ? `unexpected reply \`${msg.t}\` from PID 1 to \`:detach\`` : `PID 1 (host pid ${this.pid1}) ended during \`:detach\``, status: 125 });
  }

  /** Signal the `run` in progress inside, leaving PID 1 and the container up (REPL Ctrl-C). */
  interrupt(sig: NodeJS.Signals = "SIGINT"): void {
    this.launch.channel.send({ t: "interrupt", signal: sig });
  }

  signal(sig: NodeJS.Signals): void {
    if (this.pid1 > 0) {
      try {
        process.kill(this.pid1, sig);
      } catch {
        // already gone
      }
    }
  }

  /** Perform one operation, on whichever side it belongs to. */
  async apply(op: Op): Promise<RunResult | ShowResult | undefined> {
    switch (op.side) {
      case "pid1":
        return this.applyInside(op);
      case "front":
      case "host":
        return this.applyHere(op);
      case "creator":
        throw new SysError({ errno: 0, syscall: op.kind, args: [], message: `\`${op.kind}\` must run when the container is created`, span: op.span });
    }
  }

  /**
   * Apply several PID 1 operations without a round trip each: up to
   * BATCH_WINDOW of them are in flight, and each reply lets the next one go.
   * Replies are read in order; the first failure is thrown, PID 1 skips the
   * rest of what was sent and the remainder is never sent. For the steps of a
   * script up to its next `run`, where nothing happens in between. The window
   * keeps what waits in the socket and in PID 1 bounded whatever the length of
   * the batch, and lets PID 1 return to its event loop between operations.
   */
  async applyBatch(ops: readonly Op[]): Promise<void> {
    const batch = this.nextBatch++;
    let sent = 0;
    for (let done = 0; done < ops.length; done++) {
      for (; sent < ops.length && sent - done < BATCH_WINDOW; sent++) {
        const op = ops[sent]!;
        this.sendOp(op, this.nextId++, batch);
        if (op.kind === "exec") this.execed = true;
      }
      await this.reply(ops[done]!);
    }
  }

  private sendOp(op: Op, id: number, batch?: number): void {
    try {
      this.launch.channel.send({ t: "op", id, op, ...(batch === undefined ? {} : { batch }) });
    } catch (e) {
      if (e instanceof SysError && !e.span) e.span = op.span;
      throw e;
    }
  }

  private async applyInside(op: Op): Promise<RunResult | undefined> {
    const id = this.nextId++;
    this.sendOp(op, id);
    if (op.kind === "exec") this.execed = true;
    this.running = op.kind === "run";
    try {
      return await this.reply(op);
    } finally {
      this.running = false;
    }
  }

  private async reply(op: Op): Promise<RunResult | undefined> {
    const msg = await this.recv();
    // A direct start's first operations are sent before PID 1 is up: anything else than
    // "ready" first is its failure to start (createDirect), not an answer to `op`.
    if (this.launch.direct && !this.readySeen) throw await this.notReady(msg);
    if (msg === null) {
      if (op.kind === "exec") {
        // The channel closed on a successful execve.
        if (this.released) this.handedOver = true;
        return undefined;
      }
      if (this.released) throw new SysError({ errno: 0, syscall: op.kind, args: [], message: `PID 1 (host pid ${this.pid1}) ended during \`${op.source}\``, span: op.span, status: 125 });
      // Stage 1 relays PID 1's end: 128+N when a signal killed it (SIGKILL from
      // the host, the OOM killer), which is then the script's status too.
      const status = await this.stageStatus();
      const how = status > 128 ? `was killed by ${signalName(status - 128)}` : `exited (status ${status})`;
      throw new SysError({ errno: 0, syscall: op.kind, args: [], message: `PID 1 (host pid ${this.pid1}) ${how} during \`${op.source}\``, span: op.span, status: status > 128 ? status : 125 });
    }
    if (msg.t === "error") {
      this.execed = false;
      throw wireToError(msg.error, op);
    }
    if (msg.t !== "done") throw new SysError({ errno: 0, syscall: op.kind, args: [], message: `unexpected reply \`${msg.t}\` from PID 1`, span: op.span });
    if (op.kind === "run") this.lastRun = msg.result as RunResult;
    if (op.kind === "show-security") this.events.output((msg.result as Extract<ShowResult, { what: "security" }>).lines.join("\n") + "\n");
    if (op.kind === "show-net") this.events.output([...(msg.result as Extract<ShowResult, { what: "net" }>).lines, ...(this.netShow?.() ?? [])].join("\n") + "\n");
    if (op.kind === "hostname" && this.stateDir) {
      // /etc/hostname follows the kernel's name from here on, as it would on a host.
      try {
        writeHostnameFiles(this.stateDir, op.name);
      } catch {
        // no per-container files (no rootfs yet): nothing to follow
      }
    }
    return msg.result as RunResult | undefined;
  }

  private async applyHere(op: Op): Promise<ShowResult | undefined> {
    switch (op.kind) {
      case "echo":
        this.events.output(op.text + "\n");
        return;
      case "sleep":
        await Bun.sleep(op.ms);
        return;
      case "show":
        this.events.output(showHost(op.what, this.pid1, this.joined));
        return;
      case "expect":
        this.checkExpect(op);
        return;
      case "cgroup-limit":
        if (!this.cgroups) throw new SysError({ message: "the container has no cgroups", span: op.span, status: 125 });
        this.cgroups.apply(op.limit);
        return;
      case "show-cgroup":
        if (!this.cgroups) throw new SysError({ message: "the container has no cgroups", span: op.span, status: 125 });
        this.events.output(showCgroup(this.cgroups));
        return;
      default:
        throw new SysError({ errno: 0, syscall: op.kind, args: [], message: `\`${op.kind}\` is not supported on the host side yet`, span: op.span });
    }
  }

  private checkExpect(op: Extract<Op, { kind: "expect" }>): void {
    const r = this.lastRun;
    if (!r) throw new SysError({ errno: 0, syscall: "expect", args: [], message: "nothing has run yet", span: op.span, status: 1 });
    let ok: boolean;
    let shown: string;
    if (op.subject === "exit") {
      const status = String(r.signal ? signalStatus(r.signal) : r.exitCode);
      ok = judge(op.test, op.value, status);
      shown = JSON.stringify(status);
    } else {
      // PID 1 decided the tests it was given as the output streamed
      // (runtime/features/process/capture.ts); a run that kept nothing had no output to test.
      const out = r.output;
      const text = out?.head ?? "";
      const check = out?.checks.find((c) => c.test === op.test && c.value === op.value);
      ok = check ? check.ok : judge(op.test, op.value, text);
      const long = out !== undefined && (out.tail !== undefined || text.length > 200);
      shown = long ? `${JSON.stringify(text.slice(0, 200) + "...")} (${out.bytes} bytes)` : JSON.stringify(text);
    }
    if (!ok) {
      throw new SysError({ errno: 0, syscall: "expect", args: [], message: `expectation failed: ${op.subject} ${op.test} ${JSON.stringify(op.value)}, but ${op.subject} was ${shown}`, span: op.span, status: 1 });
    }
  }

  /** The result of the last `run`, for exit status decisions. */
  get lastRunResult(): RunResult | null {
    return this.lastRun;
  }

  /** Wait for the container to end and return its exit status. */
  async finish(): Promise<number> {
    if (this.handedOver) return 0; // the command's status is its parent's to read (the caller's subreaper)
    if (!this.execed) this.launch.channel.send({ t: "exit" });
    // Drain trace messages until the channel closes.
    while ((await this.recv()) !== null) {
      // nothing else is expected after exit or a successful execve
    }
    return this.stageStatus();
  }

  /** End the container's processes (the session then removes what it made on the host). Safe to call twice. */
  async destroy(): Promise<void> {
    reclaimTerminal();
    for (const sig of HANDLED_SIGNALS) process.off(sig, this.forward);
    const stage1 = this.launch.stage1;
    if (this.released && !this.handedOver) {
      // Released but never started: PID 1 is ctr's agent still, no child of ours to wait for.
      this.signal("SIGKILL");
      await goneOrZombie(this.pid1, 2000);
    } else if (stage1.exitCode === null && stage1.signalCode === null) {
      // PID 1 first: its death takes every process of the PID namespace with
      // it, and stage 1 then kills the orphans it adopted (without `ns pid`).
      // Stage 1 itself only if it does not end by itself.
      this.signal("SIGKILL");
      const timer = setTimeout(() => stage1.kill("SIGKILL"), this.pid1 > 0 ? 2000 : 0);
      await stage1.exited;
      clearTimeout(timer);
    }
    this.launch.close();
    // The state directory outlives everything it names: the session removes it last (runtime/session.ts, teardown).
  }
}

/** Wait until `pid` has ended (a zombie counts: its parent, not ctr, reaps it), up to `ms`. */
export async function goneOrZombie(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    let state = "";
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    } catch {
      return true;
    }
    if (state === "Z" || state === "X") return true;
    if (Date.now() > deadline) return false;
    await Bun.sleep(5);
  }
}

/**
 * Take the terminal's foreground back for ctr's own process group. An
 * interactive command was made the foreground group (runtime/features/process/process.ts); once
 * it is gone, the group that ran ctr must get the terminal again, or the
 * caller's next read from it fails. From a background group tcsetpgrp raises
 * SIGTTOU, hence blocked around the call.
 */
function reclaimTerminal(): void {
  if (!isTerminal(0)) return;
  try {
    const mine = getpgid(0);
    if (tcgetpgrp(0) === mine) return;
    blockSignals([SIGTTOU]);
    try {
      tcsetpgrp(0, mine);
    } finally {
      unblockSignals([SIGTTOU]);
    }
  } catch {
    // not our terminal (another session): nothing to give back
  }
}

// The per-container directory: made, swept and removed without following
// anything another user could have planted (runtime/statedir.ts).
export { makeStateDir, sweepStaleStateDirs } from "./statedir.ts";
