// Running a whole plan: create the container, apply every operation in order,
// relay the exit status, and always clean up.
//
// A `run` that fails stops the script with its status (like a failing RUN in a
// Dockerfile) unless the next statement is an `expect exit` that checks it.
//
// cgroups (runtime/cgroup): when the script limits or shows them, the
// container's cgroups are made and stage 1 joins them *before* it is sent its
// plan, so before it unshares anything: every process of the container starts
// inside (nothing ever runs unlimited), and with `ns cgroup` the new cgroup
// namespace is rooted at the container's own cgroup, not at ctr's. Limits that
// come before the first `run`/`exec` are written then; later ones are live
// changes at their place in the script. After each command the memory
// cgroup's OOM counter says whether the kernel killed something for the limit.
// The cgroups are removed on every path, after the container's processes.

import type { TraceEvent } from "./channel/messages.ts";
import { Container, Launch, makeStateDir, sweepStaleStateDirs } from "./host.ts";
import { userNamespaceSetup } from "./userns.ts";
import { checkCgroupPrivileges, checkNamespacePrivileges } from "./privileges.ts";
import type { Op, Plan, RunResult } from "./ops.ts";
import { SysError } from "../native/error.ts";
import { HANDLED_SIGNALS, signalStatus } from "./status.ts";
import { defaultRootfs } from "./rootfs-cache.ts";
import { hierarchyOf, machineCgroups } from "./cgroup/detect.ts";
import { CgroupManager, isolation, sweepStaleCgroups } from "./cgroup/manager.ts";
import { findOomVictims, oomMessage, oomScorePlan, readKernelLog, setCommandScore, setInitScore, type OomScorePlan } from "./cgroup/oom.ts";
import type { CgroupLimit } from "./cgroup/types.ts";
import { cgroupsFirst } from "./cgroup/when.ts";
import type { Tracking } from "./cgroup/track.ts";

export interface ExecuteIO {
  trace: boolean;
  output(text: string): void;
  traceLine(stage: 1 | 2, e: TraceEvent): void;
  error(e: unknown): void;
  /** A plain message from ctr about the run (an OOM kill, a cgroup it could not remove). */
  notice?(text: string): void;
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

/** Which limits are written when the cgroups are made: those before the first command. */
function limitsAtStart(ops: readonly Op[]): Set<LimitOp> {
  const out = new Set<LimitOp>();
  for (const op of ops) {
    if (op.kind === "run" || op.kind === "exec") break;
    if (op.kind === "cgroup-limit") out.add(op);
  }
  return out;
}

/** Says so when the kernel's OOM killer struck in the container's memory cgroup. */
function oomCheck(cgroups: CgroupManager | null, io: ExecuteIO, command: string | null, initPids: number[]): boolean {
  if (!cgroups) return false;
  const kills = cgroups.newOomKills();
  if (kills <= 0) return false;
  const h = hierarchyOf(cgroups.sys, "memory");
  const usage = cgroups.usage().memory;
  io.notice?.(oomMessage({ kills, victims: findOomVictims(cgroups.name, readKernelLog()), usage, version: h?.version ?? "v1", command, initPids: initPids.filter((p) => p > 0) }));
  return true;
}

/** What an unprivileged caller cannot do, said before anything is made (runtime/privileges.ts). */
function checkPrivileges(plan: Plan): void {
  if (plan.namespaces.length === 0) return;
  checkNamespacePrivileges(plan.namespaces, plan.ops.find((o) => o.kind === "unshare")?.span);
  const limit = plan.ops.find((o) => o.kind === "cgroup-limit");
  if (limit) checkCgroupPrivileges(limit.limit.controller, limit.span);
}

/**
 * `tracking`: the container's tracking cgroup when the CLI made it already and
 * sent the plan (runtime/cgroup/track.ts): adopted first, so that it is removed
 * on every path.
 */
export async function execute(id: string, plan: Plan, launch: Launch, tracking: Tracking | null, io: ExecuteIO): Promise<number> {
  const needsContainer = plan.namespaces.length > 0 || plan.ops.some((o) => o.side === "pid1" || o.side === "host");
  let container: Container | null = null;
  let cgroups: CgroupManager | null = null;
  let lastCommand: string | null = null;
  let scores: OomScorePlan | null = null;
  let execed = false;
  // ctr's own processes in the container, for an OOM message (after `exec`, PID 1 is the command).
  const initPids = () => [container?.stage1Pid ?? 0, execed ? 0 : (container?.pid1 ?? 0)];
  // Until the container forwards signals itself (Container.create), a signal is
  // noted, and honoured once what was made so far can be cleaned up.
  let early: NodeJS.Signals | null = null;
  const note = (sig: NodeJS.Signals) => void (early ??= sig);
  for (const sig of HANDLED_SIGNALS) process.on(sig, note);
  const stopNoting = () => {
    for (const sig of HANDLED_SIGNALS) process.off(sig, note);
  };
  if (tracking) {
    cgroups = new CgroupManager(id, machineCgroups());
    cgroups.adopt(tracking);
  }
  try {
    if (!needsContainer) {
      await launch.cancel();
      for (const op of plan.ops) if (op.kind === "echo") io.output(op.text + "\n");
      return early ? signalStatus(early) : 0;
    }
    checkPrivileges(plan);
    sweepStaleStateDirs();
    const limitOps = plan.ops.filter((o): o is LimitOp => o.kind === "cgroup-limit");
    const atStart = limitsAtStart(plan.ops);
    const sys = cgroupsFirst(plan) ? machineCgroups() : null;
    if (tracking) {
      sweepStaleCgroups(sys!); // the plan is sent: this no longer delays stage 1
    } else if (sys && sys.mode !== "none") {
      // The container's cgroups (runtime/cgroup/when.ts says when it has some),
      // joined by stage 1 before it is sent its plan, so before it unshares anything.
      sweepStaleCgroups(sys);
      cgroups = new CgroupManager(id, sys);
      const first: CgroupLimit[] = limitOps.filter((o) => atStart.has(o)).map((o) => o.limit);
      const later: CgroupLimit[] = limitOps.filter((o) => !atStart.has(o)).map((o) => o.limit);
      try {
        await cgroups.create(first, { accounting: plan.ops.some((o) => o.kind === "show-cgroup"), later, isolate: isolation(sys, plan) }, [launch.stage1.pid]);
      } catch (e) {
        const op = limitOps[0] ?? plan.ops.find((o) => o.kind === "unshare");
        if (e instanceof SysError && !e.span && op) e.span = op.span;
        throw e;
      }
      if (cgroups.dirs.has("memory")) {
        // The OOM killer must take the command that filled the cgroup, not ctr's init: runtime/oomscore.ts.
        scores = oomScorePlan();
        setCommandScore(scores, launch.stage1.pid);
      }
    }
    if (plan.needsDefaultRootfs) defaultRootfs();
    const stateDir = plan.ops.some((o) => o.kind === "rootfs") ? makeStateDir(id, hostnameOf(plan)) : null;
    container = new Container(id, launch, stateDir, { output: io.output, trace: io.trace ? io.traceLine : undefined });
    container.cgroups = cgroups;
    await container.create(plan, { trace: io.trace, setup: plan.namespaces.includes("user") ? userNamespaceSetup(plan.ops) : undefined });
    stopNoting();
    if (early) {
      container.interrupted = early;
      return signalStatus(early);
    }
    if (scores) {
      await container.waitReady(); // PID 1 has taken note of its start score
      setInitScore(scores, [container.stage1Pid, container.pid1]);
      cgroups!.releaseFromMemory(container.stage1Pid);
    }
    const ops = plan.ops.filter((o) => o.kind !== "unshare" && o.kind !== "idmap" && !(o.kind === "cgroup-limit" && atStart.has(o)));
    for (let i = 0; i < ops.length; i++) {
      // Consecutive setup steps of PID 1 (up to a `run`, a host-side step or
      // `exec`) go out together: no round trip per mount.
      let end = i;
      while (end < ops.length && ops[end]!.side === "pid1" && ops[end]!.kind !== "run" && ops[end - 1]?.kind !== "exec") end++;
      if (end - i > 1) {
        const batch = ops.slice(i, end);
        const exec = batch.find((o) => o.kind === "exec");
        if (exec?.kind === "exec") {
          lastCommand = exec.argv.join(" ");
          execed = true;
        }
        await container.applyBatch(batch);
        if (exec) break;
        i = end - 1;
        continue;
      }
      const op = ops[i]!;
      if (op.kind === "run" || op.kind === "exec") lastCommand = op.argv.join(" ");
      if (op.kind === "exec") execed = true;
      const result = await container.apply(op);
      if (op.kind === "exec") break;
      if (op.kind === "run") {
        const run = result as RunResult;
        const status = runStatus(run);
        oomCheck(cgroups, io, lastCommand, initPids());
        const next = ops[i + 1];
        const checked = next?.kind === "expect" && next.subject === "exit";
        if (run.error && !checked) throw new SysError({ message: run.error, span: op.span, status });
        if (container.interrupted) {
          // ctr was signalled and the run got the signal: the script goes no further.
          await container.finish();
          return status !== 0 ? status : signalStatus(container.interrupted);
        }
        if (status !== 0 && !checked) {
          // Say what stopped the script, not only its status (a signal forwarded by ctr is said by the shell).
          if (!container.interrupted) io.error(runFailure(op, run, status));
          await container.finish();
          return status;
        }
      }
    }
    const status = await container.finish();
    oomCheck(cgroups, io, lastCommand, initPids());
    return status;
  } catch (e) {
    // PID 1 itself may be what the OOM killer chose: say so rather than "PID 1 exited".
    if (oomCheck(cgroups, io, lastCommand, initPids())) return OOM_STATUS;
    if (container?.interrupted) return signalStatus(container.interrupted);
    io.error(e);
    return e instanceof SysError && e.status !== undefined ? e.status : 125;
  } finally {
    stopNoting();
    if (container) await container.destroy();
    else await launch.cancel().catch(() => {});
    if (cgroups) for (const problem of await cgroups.remove()) io.notice?.(`cgroup cleanup: ${problem}`);
  }
}
