// A detached container with a PID namespace is adopted by its supervisor
// (issue 15's memory per container): one ctr process per container instead of
// two. The mechanism is the OCI path's let-go (runtime/features/oci/supervise.ts,
// Container.release): right before `exec`, stage 1 is killed and PID 1 is
// re-parented to the nearest subreaper above it, which here is the supervisor
// itself (PR_SET_CHILD_SUBREAPER, set before stage 1 exists). The supervisor
// then reaps PID 1, records its status, and tears down from what the let-go
// left on the host (HeldResources: cgroups and ctr's per-container directory,
// removed as `ctr delete` does: runtime/features/oci/teardown.ts).
//
// The guarantees stage 1 gave are kept: PID 1 dies with the supervisor (the
// plan says `adopted`: PR_SET_PDEATHSIG right before execve, after the
// process spec's uid change, which would clear it; runtime/features/process/process.ts),
// and with PID 1 every process of the PID namespace. Hence only with `ns pid`:
// without it the container's other processes would outlive PID 1 with nobody
// to kill them (stage 1 does that as their subreaper), so such a container
// keeps its stage 1. A command that is set-uid or has file capabilities loses
// the parent-death signal at execve (the kernel clears it); its container then
// outlives a SIGKILLed supervisor until the next ctr sweeps the record.

import { SysError, WNOHANG, setChildSubreaper, waitpid } from "../../../native/index.ts";
import type { Plan } from "../../ops.ts";
import type { HeldResources } from "../../session.ts";
import { HANDLED_SIGNALS } from "../../status.ts";
import { removeHeld } from "../oci/teardown.ts";
import type { NamedRun } from "./supervise.ts";

/** How often the supervisor looks whether PID 1 ended (its child: waitpid WNOHANG, no thread blocked). */
const REAP_MS = 100;

/** A detached container whose PID 1 its supervisor adopts (see the header): `ns pid`, an `exec`, no `join`. */
export function adoptable(named: NamedRun | null, plan: Plan): boolean {
  return named?.detached === true && plan.namespaces.includes("pid") && plan.ops.some((o) => o.kind === "exec") && !plan.ops.some((o) => o.kind === "join");
}

export class Adoption {
  private held: HeldResources | null = null;
  private pid1 = 0;
  private adopted = false;

  /** Before stage 1 starts: orphans of this process's descendants (PID 1, once stage 1 is killed) become its children. */
  constructor() {
    setChildSubreaper(true);
  }

  /** What execute calls: the let-go's leftovers, then the handover. */
  readonly io = {
    beforeExec: async (_pid1: number, held: HeldResources | null): Promise<void> => {
      this.held = held;
    },
    handedOver: (pid1: number): void => {
      this.pid1 = pid1;
      this.adopted = true;
    },
  };

  /** PID 1 runs the command as this process's child. */
  get running(): boolean {
    return this.adopted;
  }

  /** Wait for PID 1 (signals to this process go to it), remove what it held; its status, 128+N for a signal. */
  async finish(notice: (text: string) => void): Promise<number> {
    const forward = (sig: NodeJS.Signals) => {
      try {
        process.kill(this.pid1, sig); // this process's unreaped child: still that PID
      } catch {
        // ended meanwhile
      }
    };
    for (const sig of HANDLED_SIGNALS) process.on(sig, forward);
    let status: number;
    try {
      status = await this.reap();
    } finally {
      for (const sig of HANDLED_SIGNALS) process.off(sig, forward);
    }
    if (this.held) for (const problem of await removeHeld(this.held)) notice(problem);
    return status;
  }

  private async reap(): Promise<number> {
    for (;;) {
      let w: ReturnType<typeof waitpid>;
      try {
        w = waitpid(this.pid1, WNOHANG);
      } catch (e) {
        if (e instanceof SysError && e.code === "ECHILD") return 125; // not ours: cannot happen once handed over
        throw e;
      }
      if (w.pid === this.pid1 && w.exited) return w.exitCode ?? 0;
      if (w.pid === this.pid1 && w.signaled) return 128 + (w.signal ?? 0);
      await Bun.sleep(REAP_MS);
    }
  }
}
