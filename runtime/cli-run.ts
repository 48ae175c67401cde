// The CLI's part that runs a planned script and prints what happens to it:
// its diagnostics (`Output`), the note on a root container, the run itself
// (`runPlanned`, on runtime/execute.ts) and the status of a failed write. Shared by
// runtime/cli.ts and the direct start's runner (runtime/direct-run.ts), which
// drives a container without loading the whole CLI. So this file imports
// nothing of the front end (the parser, the checker, the registry), and the
// runtime only when a run starts.

import { formatDiagnostic, limitDiagnostics } from "../lang/diagnostics.ts";
import { readScriptFile } from "../lang/read.ts";
import type { Diagnostic, Span } from "../lang/spec.ts";
import { SysError } from "../native/error.ts";
import type { Plan } from "./ops.ts";
import { WriteError, isTerminal, writeAll } from "./fdio.ts";
import type { ExecuteIO, OciOptions } from "./execute.ts";
import type { Launch } from "./host.ts";
import type { Tracking } from "./features/cgroup/track.ts";
import { hostPowerNote } from "./features/security/note.ts";

export const EXIT_SETUP = 125;

/** Diagnostics and errors on stderr, with the lines of the sources they point at. */
export class Output {
  private sources = new Map<string, string>();
  addSource(file: string, text: string): void {
    this.sources.set(file, text);
  }
  sourceOf = (file: string): string | undefined => {
    if (!this.sources.has(file)) {
      try {
        this.sources.set(file, readScriptFile(file));
      } catch {
        return undefined;
      }
    }
    return this.sources.get(file);
  };
  private colorCache: boolean | undefined;
  get color(): boolean {
    return (this.colorCache ??= !process.env.NO_COLOR && isTerminal(2));
  }
  diagnostics(ds: Diagnostic[]): void {
    const { shown, more } = limitDiagnostics(ds);
    for (const d of shown) writeAll(2, formatDiagnostic(d, this.sourceOf, this.color) + "\n");
    if (more) writeAll(2, `${more}\n`);
    const errors = ds.filter((d) => d.severity === "error").length;
    if (errors > 1) writeAll(2, `${errors} errors\n`);
  }
  error(e: unknown): void {
    if (e instanceof SysError && e.span) {
      this.diagnostics([{ severity: "error", span: e.span as Span, message: e.message, help: e.hint }]);
    } else {
      const msg = e instanceof Error ? e.message : String(e);
      writeAll(2, `ctr: ${msg}\n`);
      if (e instanceof SysError && e.hint) writeAll(2, `help: ${e.hint}\n`);
    }
  }
}

/** The note on a container whose commands have the host's full power (runtime/features/security/note.ts), from the plan: a cached plan gets it too. */
export function sayPowerNote(plan: Plan): void {
  const note = hostPowerNote(plan, process.env);
  if (note) writeAll(2, `ctr: ${note}\n`);
}

/**
 * Stage 1 may unshare while the rest of ctr loads, unless the host has work to
 * do first: cgroups to make and join (runtime/features/cgroup/when.ts), id maps
 * to write, a veth pair to make, a container to join. Then the plan goes to
 * stage 1 now; else the session sends it (runtime/session.ts). A tracking
 * cgroup alone is made here and joined by stage 1 itself: returned, for the
 * session to adopt.
 */
export async function sendPlanEarly(plan: Plan, launch: Launch, id: string, trace: boolean, release: false | "adopt"): Promise<Tracking | null> {
  if (plan.namespaces.length === 0 || plan.namespaces.includes("user") || plan.ops.some((o) => o.kind === "net-host" || o.kind === "join")) return null;
  const { cgroupsFirst, trackingOnly } = await import("./features/cgroup/when.ts");
  if (!cgroupsFirst(plan)) {
    launch.sendPlan(plan, trace, false, false, [], [], undefined, release);
    return null;
  }
  if (!trackingOnly(plan)) return null;
  const tracking = (await import("./features/cgroup/track.ts")).makeTracking(id);
  const dirs = tracking ? [tracking.dir] : [];
  launch.sendPlan(plan, trace, false, false, dirs, dirs, undefined, release);
  return tracking;
}

/** Runs a planned script's container to its end (runtime/execute.ts), printing its output, trace and errors; returns its status. */
export async function runPlanned(id: string, plan: Plan, launch: Launch, tracking: Tracking | null, out: Output, trace: boolean, more: Partial<ExecuteIO> = {}, oci: OciOptions = {}): Promise<number> {
  const [{ execute }, { traceLine }] = await Promise.all([import("./execute.ts"), import("./host.ts")]);
  return execute(
    id,
    plan,
    launch,
    tracking,
    {
      trace,
      output: (text) => writeAll(1, text),
      traceLine: (stage, e) => writeAll(2, traceLine(stage, e)),
      error: (e) => out.error(e),
      notice: (text) => writeAll(2, `ctr: ${text}\n`),
      ...more,
    },
    oci,
  );
}

/** The status of a command whose output could not be written (runtime/exec-cli.ts uses it too). */
export function writeFailed(e: WriteError): number {
  // A reader that went away (`ctr explain x | head`): stop quietly, with the
  // status of a tool killed by SIGPIPE (Bun ignores the signal itself).
  if (e.code === "EPIPE") return 128 + 13;
  const why = e.code === "ENOSPC" ? "no space left on device" : e.code === "EIO" ? "input/output error" : e.code;
  try {
    // When stderr is the one that failed, stdout is the only place left to say it.
    writeAll(e.fd === 2 ? 1 : 2, `ctr: cannot write ${e.fd === 2 ? "diagnostics" : "output"}: ${why}\n`);
  } catch {
    // neither can be written: the status says it
  }
  return EXIT_SETUP;
}
