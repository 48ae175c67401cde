// Running a whole plan: create the container, apply every operation in order,
// relay the exit status, and always clean up.
//
// A `run` that fails stops the script with its status (like a failing RUN in a
// Dockerfile) unless the next statement is an `expect exit` that checks it.

import type { TraceEvent } from "./channel.ts";
import { Container, Launch, makeStateDir, sweepStaleStateDirs } from "./host.ts";
import type { Op, Plan, RunResult } from "./ops.ts";
import { SysError } from "../native/error.ts";
import { signalStatus } from "./status.ts";
import { defaultRootfs } from "./rootfs-build.ts";

export interface ExecuteIO {
  trace: boolean;
  output(text: string): void;
  traceLine(stage: 1 | 2, e: TraceEvent): void;
  error(e: unknown): void;
}

function runStatus(r: RunResult): number {
  return r.signal ? signalStatus(r.signal) : (r.exitCode ?? 0);
}

function hostnameOf(plan: Plan): string | null {
  const op = plan.ops.findLast((o) => o.kind === "hostname") as Extract<Op, { kind: "hostname" }> | undefined;
  return op?.name ?? null;
}

export async function execute(id: string, plan: Plan, launch: Launch, io: ExecuteIO): Promise<number> {
  const needsContainer = plan.namespaces.length > 0 || plan.ops.some((o) => o.side === "pid1" || o.side === "host");
  let container: Container | null = null;
  try {
    if (!needsContainer) {
      await launch.cancel();
      for (const op of plan.ops) if (op.kind === "echo") io.output(op.text + "\n");
      return 0;
    }
    sweepStaleStateDirs();
    if (plan.needsDefaultRootfs) defaultRootfs();
    const stateDir = plan.ops.some((o) => o.kind === "rootfs") ? makeStateDir(id, hostnameOf(plan)) : null;
    container = new Container(id, launch, stateDir, { output: io.output, trace: io.trace ? io.traceLine : undefined });
    await container.create(plan, io.trace);
    const ops = plan.ops.filter((o) => o.kind !== "unshare");
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      const result = await container.apply(op);
      if (op.kind === "exec") break;
      if (op.kind === "run") {
        const status = runStatus(result as RunResult);
        const next = ops[i + 1];
        const checked = next?.kind === "expect" && next.subject === "exit";
        if (status !== 0 && !checked) {
          await container.finish();
          return status;
        }
      }
    }
    return await container.finish();
  } catch (e) {
    if (container?.interrupted) return signalStatus(container.interrupted);
    io.error(e);
    return e instanceof SysError && e.status !== undefined ? e.status : 125;
  } finally {
    if (container) await container.destroy();
    else await launch.cancel().catch(() => {});
  }
}
