// A direct start sends its operations before PID 1 has said "ready"
// (Container.createDirect, runtime/host.ts). Until then PID 1 may not have its
// signal handlers, and the init of a PID namespace drops a signal it has no
// handler for: so a signal to ctr in that window is held, and passed on once
// "ready" comes. Shown with a fake PID 1 that is ready only when the test opens
// its gate, and says when SIGTERM reached it. No namespace is made, but the plan names `ns pid`,
// as a direct start's does, and ctr refuses such a plan without root.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { catchesSignal } from "./sigcgt.ts";

const catchesTerm = (pid: number): boolean => catchesSignal(pid, 15);

const IS_ROOT = process.getuid?.() === 0;
if (!IS_ROOT) console.log("skip: a direct start's plan names namespaces, which ctr runs only as root");

test.skipIf(!IS_ROOT)("a signal to ctr before a directly started PID 1 is ready reaches it once it is, and ends the run with the signal's status", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ctr-direct-ready-"));
  try {
    const gate = join(dir, "gate");
    const driver = Bun.spawn({ cmd: [process.execPath, join(import.meta.dir, "direct-driver.ts")], env: { ...process.env, CTR_FAKE_GATE: gate }, stdout: "pipe", stderr: "pipe" });
    // The driver forwards signals once its container is created; the fake is not ready before the gate opens.
    for (const end = Date.now() + 15_000; !catchesTerm(driver.pid) && Date.now() < end; ) await Bun.sleep(5);
    expect(catchesTerm(driver.pid)).toBe(true);
    driver.kill("SIGTERM");
    await Bun.sleep(200); // time for a signal passed on at once to arrive before "ready"
    writeFileSync(gate, "");
    const [stdout, stderr, code] = await Promise.all([new Response(driver.stdout).text(), new Response(driver.stderr).text(), driver.exited]);
    expect({ stdout, stderr, code }).toEqual({ stdout: "SIGTERM after ready\n", stderr: "", code: 143 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);

// The operations already sent are not what failed: PID 1's failure to start is reported as such.
test.skipIf(!IS_ROOT)("a directly started PID 1 that fails to start, or ends, before it is ready: its error, not one of the operations sent", async () => {
  for (const [how, want] of [
    ["error", "ctr: unshare(CLONE_NEWNS): EPERM (operation not permitted)\n"],
    ["exit", "ctr: container init stopped before PID 1 was ready (exit 3)\n"],
  ] as const) {
    const driver = Bun.spawn({ cmd: [process.execPath, join(import.meta.dir, "direct-driver.ts")], env: { ...process.env, CTR_FAKE_GATE: "/", CTR_FAKE_START: how }, stdout: "pipe", stderr: "pipe" });
    const [stderr, code] = await Promise.all([new Response(driver.stderr).text(), driver.exited]);
    expect({ how, stderr, code }).toEqual({ how, stderr: want, code: 125 });
  }
}, 20_000);
