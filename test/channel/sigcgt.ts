// Whether a process has a handler for a signal, from the SigCgt mask of its
// /proc status: how a test tells that ctr is forwarding signals (it installs
// its handlers once a run is under way), for test/channel/direct-ready.test.ts
// and test/integration/direct.test.ts.
import { readFileSync } from "node:fs";

/** Whether process `pid` has a handler for signal number `sig`; false when it is gone. */
export function catchesSignal(pid: number, sig: number): boolean {
  try {
    const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? "0";
    return ((BigInt(`0x${mask}`) >> BigInt(sig - 1)) & 1n) === 1n;
  } catch {
    return false;
  }
}
