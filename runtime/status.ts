// Exit statuses, the `docker run` way.

import { constants } from "node:os";

/** 128 + N for a process killed by signal N. */
export function signalStatus(sig: string | number): number {
  return 128 + (typeof sig === "number" ? sig : ((constants.signals as Record<string, number>)[sig] ?? 0));
}

/** A signal's name, e.g. 9 -> "SIGKILL". */
export function signalName(sig: string | number): string {
  if (typeof sig === "string") return sig;
  return Object.entries(constants.signals).find(([, n]) => n === sig)?.[0] ?? `signal ${sig}`;
}
