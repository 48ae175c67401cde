// Running a whole plan: create the container, apply every operation in order,
// relay the exit status, and always clean up. The container's life on the host
// (cgroups, state directory, id maps, OOM scores, teardown) is the session's
// (runtime/session.ts), shared with the REPL; this file holds the script's own
// rules:
//   - a `run` that fails stops the script with its status (like a failing RUN
//     in a Dockerfile), saying why, unless the next statement is an `expect
//     exit` that checks it;
//   - limits that come before the first `run`/`exec` are written before
//     anything of the container runs; later ones are live changes at their
//     place in the script;
//   - consecutive setup steps of PID 1 go out as one batch;
//   - a signal to ctr ends the script after the command it reached.

import type { NsName, Span } from "../lang/spec.ts";
import type { NsPath, TraceEvent } from "./channel/messages.ts";
import type { Launch } from "./host.ts";
import { checkCgroupPrivileges, checkNamespacePrivileges } from "./privileges.ts";
import { overlaid, type Op, type Plan, type RunResult } from "./ops.ts";
import { SysError } from "../native/error.ts";
import { HANDLED_SIGNALS, signalStatus } from "./status.ts";
import { ContainerSession, type HeldResources } from "./session.ts";
import type { Tracking } from "./features/cgroup/track.ts";
import { limitsAtStart } from "./features/cgroup/plan.ts";
import { checkNetPrivileges } from "./features/net/host.ts";

export interface ExecuteIO {
  trace: boolean;
  output(text: string): void;
  traceLine(stage: 1 | 2 | "host", e: TraceEvent): void;
  error(e: unknown): void;
  /** A plain message from ctr about the run (an OOM kill, a cgroup it could not remove). */
  notice?(text: string): void;
  /** PID 1 is up and set up: before the first `run`, once `exec` made the command PID 1, or at the end (a named container's record: runtime/features/lifecycle/supervise.ts). */
  started?(pid1: number): void;
  /**
   * Called with PID 1's pid once every op before `exec` is done, and awaited
   * before `exec` is sent: the OCI runtime's create/start split
   * (runtime/features/oci/supervise.ts), PID 1 waiting with the command not
   * executed until `start`. `held`: with `release`, what stays on the host
   * once PID 1 is let go (stage 1 is gone by then).
   */
  beforeExec?(pid1: number, held: HeldResources | null): Promise<void>;
  /**
   * Called once PID 1 has made everything before it enters the root (the
   * `enter-root` op: pivot_root or chroot), or before `beforeExec` when it
   * enters none: an OCI bundle's createRuntime and createContainer hooks
   * (features/oci/hooks.ts). PID 1 waits meanwhile. `cgroups`: the
   * container's, made so far.
   */
  beforeRoot?(pid1: number, cgroups: string[]): Promise<void>;
  /** With `release`: the command runs as PID 1, which is the caller's now (called before execute returns). */
  handedOver?(pid1: number): void;
}

/** What an OCI container asks of execute beyond a script (runtime/features/oci/supervise.ts). */
export interface OciOptions {
  /** Let go of PID 1 before `beforeExec` (Container.release): the caller's subreaper reaps it, `ctr delete` tears down. */
  release?: boolean | "adopt";
  /** `linux.cgroupsPath`: where the container's cgroups are made (CgroupManager's `path`). */
  cgroupsPath?: string;
  /** Namespaces of the plan joined by path (`linux.namespaces[].path`) instead of made. */
  paths?: readonly NsPath[];
  /** A freezer cgroup of its own, for `pause` (SessionSpec.freezer). */
  freezer?: boolean;
}

/** The exit status of a process killed by SIGKILL, as the OOM killer does. */
export const OOM_STATUS = 137;

function runStatus(r: RunResult): number {
  return r.signal ? signalStatus(r.signal) : (r.exitCode ?? 0);
}

/** Why the script stopped at a `run`, as a diagnostic on its line. */
export function runFailure(op: Op, run: RunResult, status: number): SysError {
  const how = run.signal ? `was killed by ${run.signal} (status ${status})` : `exited with status ${status}`;
  return new SysError({ message: `\`${op.source}\` ${how}`, hint: `a failing \`run\` stops the script; follow it with \`expect exit ${status}\` if that is expected`, span: op.span, status });
}

/** The hostname when the container is first observed (a later `hostname` rewrites /etc/hostname then: Container). */
function hostnameOf(plan: Plan): string | null {
  const first = plan.ops.findIndex((o) => o.kind === "run" || o.kind === "exec" || o.kind === "show");
  const op = plan.ops.slice(0, first < 0 ? undefined : first).findLast((o) => o.kind === "hostname") as Extract<Op, { kind: "hostname" }> | undefined;
  return op?.name ?? null;
}

type LimitOp = Extract<Op, { kind: "cgroup-limit" }>;

/** The plan's `join` (runtime/features/ns/join.ts), if any. */
function joinOf(plan: Plan): { name: string; namespaces: NsName[]; span: Span } | null {
  const op = plan.ops.find((o) => o.kind === "join");
  return op?.kind === "join" ? { name: op.name, namespaces: op.namespaces, span: op.span } : null;
}

/** What an unprivileged caller cannot do, said before anything is made (runtime/privileges.ts). */
function checkPrivileges(plan: Plan): void {
  if (plan.namespaces.length === 0) return;
  // In a joined user namespace, the rest is created with the capabilities it gives (join-host.ts refuses a join without it).
  if (!joinOf(plan)?.namespaces.includes("user")) checkNamespacePrivileges(plan.namespaces, plan.ops.find((o) => o.kind === "unshare")?.span);
  const limit = plan.ops.find((o) => o.kind === "cgroup-limit");
  if (limit) checkCgroupPrivileges(limit.limit.controller, limit.span);
  checkNetPrivileges(plan.ops);
}

/**
 * `tracking`: the container's tracking cgroup when the CLI made it already and
 * sent the plan (runtime/features/cgroup/track.ts): adopted first, so that it is removed
 * on every path.
 */
export async function execute(id: string, plan: Plan, launch: Launch, tracking: Tracking | null, io: ExecuteIO, oci: OciOptions = {}): Promise<number> {
  const needsContainer = plan.namespaces.length > 0 || plan.ops.some((o) => o.side === "pid1" || o.side === "host");
  const session = new ContainerSession(id, launch, { output: io.output, trace: io.trace ? io.traceLine : undefined, notice: (t) => io.notice?.(t) });
  session.adopt(tracking);
  let lastCommand: string | null = null;
  // Until the container forwards signals itself (Container.create), a signal is
  // noted, and honoured once what was made so far can be cleaned up.
  let early: NodeJS.Signals | null = null;
  const note = (sig: NodeJS.Signals) => void (early ??= sig);
  for (const sig of HANDLED_SIGNALS) process.on(sig, note);
  const stopNoting = () => {
    for (const sig of HANDLED_SIGNALS) process.off(sig, note);
  };
  try {
    if (!needsContainer) {
      for (const op of plan.ops) if (op.kind === "echo") io.output(op.text + "\n");
      return early ? signalStatus(early) : 0;
    }
    checkPrivileges(plan);
    const limitOps = plan.ops.filter((o): o is LimitOp => o.kind === "cgroup-limit");
    const atStart = limitsAtStart(plan.ops);
    const container = await session.create(
      {
        namespaces: plan.namespaces,
        limits: limitOps.filter((o) => atStart.has(o)).map((o) => o.limit),
        later: limitOps.filter((o) => !atStart.has(o)).map((o) => o.limit),
        accounting: plan.ops.some((o) => o.kind === "show-cgroup"),
        cgroupSpan: (limitOps[0] ?? plan.ops.find((o) => o.kind === "unshare"))?.span,
        stateDir: plan.ops.some((o) => o.kind === "rootfs" || o.kind === "net-host") ? { hostname: hostnameOf(plan), mountPoints: plan.ops.some(overlaid) } : null,
        defaultRootfs: plan.needsDefaultRootfs,
        idmaps: plan.ops,
        net: plan.ops,
        join: joinOf(plan),
        ...(oci.cgroupsPath !== undefined ? { cgroupsPath: oci.cgroupsPath } : {}),
        mountsCgroup: plan.ops.some((o) => o.kind === "mount-cgroup"),
        ...(oci.freezer ? { freezer: true } : {}),
      },
      { trace: io.trace, forwardSignals: true, release: oci.release, paths: oci.paths },
    );
    stopNoting();
    if (early) {
      container.interrupted = early;
      return signalStatus(early);
    }
    await session.started();
    let upSaid = false;
    const up = () => {
      if (upSaid) return;
      upSaid = true;
      io.started?.(container.pid1);
    };
    let rooted = false;
    const beforeRoot = async () => {
      if (rooted || !io.beforeRoot) return;
      rooted = true;
      await io.beforeRoot(container.pid1, [...(session.cgroups?.made ?? [])]);
    };
    const beforeExec = async () => {
      await beforeRoot();
      await io.beforeExec!(container.pid1, oci.release ? await session.release() : null);
    };
    const ops = plan.ops.filter((o) => o.kind !== "unshare" && o.kind !== "join" && o.kind !== "idmap" && o.kind !== "net-host" && !(o.kind === "cgroup-limit" && atStart.has(o)));
    for (let i = 0; i < ops.length; i++) {
      // Consecutive setup steps of PID 1 (up to a `run`, a host-side step or
      // `exec`) go out together: no round trip per mount.
      let end = i;
      while (end < ops.length && ops[end]!.side === "pid1" && ops[end]!.kind !== "run" && ops[end - 1]?.kind !== "exec" && !(io.beforeRoot && end > i && ops[end]!.kind === "enter-root")) end++;
      if (end - i > 1) {
        const batch = ops.slice(i, end);
        if (batch[0]!.kind === "enter-root") await beforeRoot();
        const exec = batch.find((o) => o.kind === "exec");
        if (exec?.kind === "exec") lastCommand = exec.argv.join(" ");
        if (exec && io.beforeExec) {
          await session.applyBatch(batch.slice(0, -1));
          await beforeExec();
          await session.apply(exec);
        } else await session.applyBatch(batch);
        if (exec) {
          up();
          break;
        }
        i = end - 1;
        continue;
      }
      const op = ops[i]!;
      if (op.kind === "run" || op.kind === "exec") lastCommand = op.argv.join(" ");
      if (op.kind === "run") up();
      if (op.kind === "exec" && io.beforeExec) await beforeExec();
      if (op.kind === "enter-root") await beforeRoot();
      const result = await session.apply(op);
      if (op.kind === "exec") {
        up();
        break;
      }
      if (op.kind === "run") {
        const run = result as RunResult;
        const status = runStatus(run);
        const next = ops[i + 1];
        const checked = next?.kind === "expect" && next.subject === "exit";
        if (run.error && !checked) throw new SysError({ message: run.error, span: op.span, status });
        if (container.interrupted) {
          // ctr was signalled and the run got the signal: the script goes no further.
          await container.finish();
          return status !== 0 ? status : signalStatus(container.interrupted);
        }
        if (status !== 0 && !checked) {
          // Say what stopped the script, not only its status.
          io.error(runFailure(op, run, status));
          await container.finish();
          return status;
        }
      }
    }
    up();
    const status = await container.finish();
    if (container.handedOver) io.handedOver?.(container.pid1);
    session.oomCheck(lastCommand);
    return status;
  } catch (e) {
    // PID 1 itself may be what the OOM killer chose: say so rather than "PID 1 exited".
    if (session.oomCheck(lastCommand)) return OOM_STATUS;
    if (session.container?.interrupted) return signalStatus(session.container.interrupted);
    io.error(e);
    return e instanceof SysError && e.status !== undefined ? e.status : 125;
  } finally {
    stopNoting();
    await session.teardown();
  }
}
