// A detached container with a PID namespace is adopted by the user's shared
// monitor (monitor.ts; issue 15's memory per container): no ctr process of its
// own once its command runs. The mechanism is the OCI path's let-go
// (runtime/features/oci/supervise.ts, Container.release): right before `exec`,
// stage 1 is killed and PID 1 is re-parented to the nearest subreaper above it.
// The supervisor (this process, the monitor's child: `ctr --supervise`) is no
// subreaper, so that is the monitor. The supervisor then hands the container
// over (handOver below: PID 1, what the let-go left on the host, HeldResources,
// and the name) and exits 0 once the monitor said it took it; the monitor reaps
// PID 1, records its status and tears down.
//
// The guarantees stage 1 gave are kept: PID 1 dies with the monitor (the plan
// says `adopted`: PR_SET_PDEATHSIG right before execve, after the process
// spec's uid change, which would clear it, and after the let-go, so that the
// monitor is its parent then; runtime/features/process/process.ts), and with
// PID 1 every process of the PID namespace. Hence only with `ns pid`: without
// it the container's other processes would outlive PID 1 with nobody to kill
// them (stage 1 does that as their subreaper), so such a container keeps its
// stage 1 and its supervisor. A command that is set-uid or has file
// capabilities loses the parent-death signal at execve (the kernel clears it);
// its container then outlives a SIGKILLed monitor until the next ctr sweeps the
// record. When the monitor is gone before it took the container, the
// supervisor kills PID 1 itself and tears down as a supervisor always did.

import { close, pidfdOpen, pidfdSendSignal, SIGKILL } from "../../../native/index.ts";
import type { Plan } from "../../ops.ts";
import type { HeldResources } from "../../session.ts";
import { removeHeld } from "../oci/teardown.ts";
import { tryConnect } from "./monitor-link.ts";
import { processRef, sameProcess } from "./procstat.ts";
import type { NamedRun } from "./supervise.ts";

/** The monitor that spawned this supervisor (its parent, named by CTR_MONITOR), or null; the variable is not passed on. */
let monitor: number | null | undefined;
export function monitorPid(): number | null {
  if (monitor === undefined) {
    const pid = Number(process.env.CTR_MONITOR ?? 0);
    delete process.env.CTR_MONITOR;
    monitor = pid > 0 && pid === process.ppid ? pid : null;
  }
  return monitor;
}

/**
 * A detached container the monitor adopts (see the header): `ns pid`, an `exec`, no `join`, and a monitor.
 * Nor a host end of `net veth`/`net bridge`: the monitor removes what HeldResources names (cgroups, the
 * directory), not links, so such a container keeps its supervisor, whose teardown removes its bridge
 * (runtime/features/net/host.ts: no later sweep finds a bridge that no directory's file names).
 */
export function adoptable(named: NamedRun | null, plan: Plan): boolean {
  return named?.detached === true && plan.namespaces.includes("pid") && plan.ops.some((o) => o.kind === "exec") && !plan.ops.some((o) => o.kind === "join" || o.kind === "net-host") && monitorPid() !== null;
}

/**
 * An adopted container's id: its cgroups and per-container directory are
 * named after the monitor's PID, the process that removes them, so that the
 * sweeps (runtime/statedir.ts, features/cgroup/manager.ts), which remove what
 * a dead ctr process left, keep them while the monitor lives and remove them
 * once it is killed.
 */
export function adoptedId(id: string): string {
  return id.replace(/-\d+$/, `-${monitorPid()}`);
}

export class Adoption {
  private held: HeldResources | null = null;
  private pid1 = 0;
  private adopted = false;

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

  /** PID 1 runs the command as the monitor's child. */
  get running(): boolean {
    return this.adopted;
  }

  /**
   * Hand the container to the monitor: null once it took it; else (no
   * monitor any more, or it refused) PID 1 is killed here, what it held
   * removed, and its status returned.
   */
  async handOver(name: string, notice: (text: string) => void): Promise<number | null> {
    const ref = processRef(this.pid1);
    // PID 1 is the monitor's child, not reaped until the monitor took it: its pidfd, for the fallback.
    let pidfd = -1;
    try {
      pidfd = pidfdOpen(this.pid1);
    } catch {
      // it ended, and the monitor is gone
    }
    try {
      if (ref) {
        let why = "";
        try {
          const link = tryConnect();
          try {
            link.send({ t: "adopt", name, supervisor: process.pid, pid1: ref, held: this.held });
            const r = link.reply(10_000);
            if (r !== "closed" && r.t === "adopted") return null;
            why = r === "closed" ? "it ended" : String(r.message);
          } finally {
            link.close();
          }
        } catch (e) {
          why = e instanceof Error ? e.message : String(e);
        }
        notice(`the container monitor did not take ${name} (${why}): it ends`);
      }
      if (pidfd >= 0) {
        try {
          pidfdSendSignal(pidfd, SIGKILL);
        } catch {
          // ended
        }
      }
      while (sameProcess(ref)) await Bun.sleep(10);
      if (this.held) for (const problem of await removeHeld(this.held)) notice(problem);
      return 128 + SIGKILL;
    } finally {
      if (pidfd >= 0) close(pidfd);
    }
  }
}
