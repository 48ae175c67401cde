// Helpers for the executor tests: plan a script the way `ctr explain` does (no host
// looked at, state directory /run/ctr/ID) and build PID 1's state on a RecordingSys.

import { compile, type Command } from "../../lang/index.ts";
import { newAgentState } from "../../runtime/agent.ts";
import type { AgentState, Op } from "../../runtime/ops.ts";
import { makePlan } from "../../runtime/plan.ts";
import { findStatement, statements } from "../../runtime/registry.ts";
import { RecordingSys, type FakeNode } from "../../native/recording.ts";

export const STATE_DIR = "/run/ctr/ID";
export const DEFAULT_ROOTFS = "/var/cache/ctr/rootfs/default/rootfs";

/** The ops of a script, as `ctr explain` plans them; every host path is taken for a directory. */
export function planOps(text: string, env: Record<string, string> = {}, file = "t.ctr"): Op[] {
  const fe = compile(text, { file, specs: statements, env, cpus: 4, host: { kind: () => "dir", isCommand: () => true } });
  const errors = fe.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) throw new Error(errors.map((d) => d.message).join("\n"));
  const r = makePlan(fe.commands as Command[], findStatement, { stateDir: STATE_DIR, defaultRootfs: DEFAULT_ROOTFS });
  if (r.diagnostics.length > 0) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  return r.plan.ops;
}

/** PID 1's state of a container (not `ns none`), calling `sys`. */
export function recordingState(files: Record<string, FakeNode> = {}): { st: AgentState; sys: RecordingSys } {
  const sys = new RecordingSys(files);
  return { st: newAgentState(false, sys), sys };
}
