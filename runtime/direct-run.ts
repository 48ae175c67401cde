// The rest of a run whose plan is the cache's (runtime/direct-start.ts), so that
// nothing of the front end is needed: a direct start's, PID 1 up (runDirect), or
// one through the stage 1 runtime/main.ts started (runStaged). This drives the
// container to its end as the CLI's run of a planned script does (runtime/cli-run.ts,
// on runtime/execute.ts: the ops sent to PID 1, signals forwarded, its status
// relayed, the state directory and whatever else the session made removed),
// without loading the CLI's bundle. A bundle of its own (runtime/bundle.ts),
// loaded once PID 1 is spawned, so that its loading overlaps PID 1's start-up;
// in the direct start's bundle it would delay the spawn (measured: ~4 ms).

import type { Plan } from "./ops.ts";
import { WriteError } from "./fdio.ts";
import { Launch } from "./host.ts";
import { EXIT_SETUP, Output, runPlanned, sayPowerNote, sendPlanEarly, writeFailed } from "./cli-run.ts";
import type { DirectStart } from "./features/ns/direct.ts";

type Script = { file: string; text: string };

/**
 * A cached plan's run: its note said, the launch adopted (`adopt`), then `go`
 * with it; returns ctr's exit status, as the CLI's run reports it.
 */
async function runCached(script: Script, plan: Plan, adopt: () => Launch, go: (launch: Launch, out: Output) => Promise<number>): Promise<number> {
  try {
    const out = new Output();
    out.addSource(script.file, script.text);
    sayPowerNote(plan);
    let launch: Launch;
    try {
      launch = adopt();
    } catch (e) {
      out.error(e);
      return EXIT_SETUP;
    }
    return await go(launch, out);
  } catch (e) {
    if (e instanceof WriteError) return writeFailed(e);
    throw e;
  }
}

/** Runs the directly started container of `plan` (its id filled in) to its end; returns ctr's exit status. */
export function runDirect(start: DirectStart, script: Script, id: string, plan: Plan): Promise<number> {
  // PID 1 is in its namespaces already: no plan to send.
  return runCached(script, plan, () => Launch.adopt(start.pid1, true), (launch, out) => runPlanned(id, plan, launch, null, out, false));
}

/**
 * Runs the container of a cached plan that needs stage 1 (`stage1`, which
 * runtime/main.ts started) to its end, as the CLI's run of a cached plan does
 * (runtime/cli.ts, runScript) without its bundle: the plan sent at once when
 * nothing is to be done on the host first (sendPlanEarly), then the run.
 */
export function runStaged(stage1: Bun.Subprocess, script: Script, id: string, plan: Plan): Promise<number> {
  return runCached(script, plan, () => Launch.adopt(stage1), async (launch, out) => runPlanned(id, plan, launch, await sendPlanEarly(plan, launch, id, false, false), out, false));
}
