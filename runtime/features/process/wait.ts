// Waiting for a child while the ctr that drives it lives: stage 1 for PID 1
// (runtime/init.ts) and the exec stage of `ctr exec` for its command
// (runtime/features/lifecycle/enter.ts). Neither may use threads or an event
// loop there (after joining or unsharing a PID namespace), so: a pidfd of each,
// polled; if the host ends first (even SIGKILLed), the child is killed.

import { kill, pidfdOpen, pollReadable, SIGKILL, waitpid } from "../../../native/index.ts";
import { signalStatus } from "../../status.ts";

/** The child's exit status (128+N for signal N), and whether the host went first. */
export function waitChildOrHost(child: number, host: number): { status: number; hostGone: boolean } {
  const childFd = pidfdOpen(child);
  let hostFd = -1;
  try {
    hostFd = pidfdOpen(host);
  } catch {
    // the host is already gone
  }
  const ready = hostFd < 0 ? [] : pollReadable([childFd, hostFd]);
  const hostGone = !ready.includes(childFd);
  if (hostGone) kill(child, SIGKILL);
  const w = waitpid(child, 0);
  return { status: w.signaled ? signalStatus(w.signal ?? 0) : (w.exitCode ?? 0), hostGone };
}
