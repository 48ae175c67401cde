// Exit statuses, the `docker run` way.

// Signal numbers from native/constants.ts, not node:os: its module costs each stage ~1 ms at start (issue 17).
import { SIGNAL_NAMES, signalNumber } from "../native/constants.ts";

/** The other names Node gives two of the signals (os.constants.signals). */
const ALIASES: Record<string, string> = { SIGIOT: "SIGABRT", SIGPOLL: "SIGIO" };

/** 128 + N for a process killed by signal N. */
export function signalStatus(sig: string | number): number {
  return 128 + (typeof sig === "number" ? sig : (signalNumber(ALIASES[sig] ?? sig) ?? 0));
}

/** A signal's name, e.g. 9 -> "SIGKILL". */
export function signalName(sig: string | number): string {
  if (typeof sig === "string") return sig;
  return SIGNAL_NAMES.find(([, n]) => n === sig)?.[0] ?? `signal ${sig}`;
}

/**
 * The signals a user may send to ctr that would end it by default (see
 * signal(7)), which ctr handles so that it always cleans up: a script's
 * container gets them (forwarded), the REPL ends its session. SIGKILL cannot be
 * handled, nor can Bun install handlers for SIGPWR and SIGSTKFLT: after those,
 * stage 1 takes the container down (it watches ctr) and the next run of ctr
 * sweeps what is left (state directory, cgroups).
 */
export const HANDLED_SIGNALS: readonly NodeJS.Signals[] = ["SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGVTALRM", "SIGPROF", "SIGIO", "SIGXCPU", "SIGXFSZ"];
