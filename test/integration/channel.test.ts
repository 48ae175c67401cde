/**
 * Flow control on the control channel: a script's setup steps go to PID 1 as
 * one batch, and however long the batch, neither end may wait forever on the
 * other (the host writing operations while PID 1 waits to write replies), and
 * ctr must still act on a signal while the batch is going.
 */
import { describe, expect } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Host, itest, onHost } from "./host-state.ts";

/** Run ctr on `script`; a ctr still running after `ms` is killed and the test fails. */
async function ctrWithin(h: Host, script: string, ms: number): Promise<{ code: number; stdout: string; stderr: string }> {
  const file = join(h.scratch(), "batch.ctr");
  writeFileSync(file, script);
  const proc = h.spawn([file]);
  const out = Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  const code = await Promise.race([proc.exited, Bun.sleep(ms).then(() => null)]);
  if (code === null) {
    proc.kill("SIGKILL");
    await proc.exited;
    throw new Error(`ctr did not finish within ${ms} ms (a channel deadlock)`);
  }
  const [stdout, stderr] = await out;
  return { code, stdout, stderr };
}

function hostnames(n: number): string {
  return Array.from({ length: n }, (_, i) => `hostname h${i + 1}`).join("\n");
}

/** `for` loops nested `depth` deep over 0..9: 10^depth hostname statements. */
function nestedFor(depth: number): string {
  const vars = "abcdefgh".slice(0, depth).split("");
  let body = `hostname "h${vars.map((v) => `\${${v}}`).join("")}"`;
  for (const v of vars.reverse()) body = `for ${v} in 0 1 2 3 4 5 6 7 8 9 {\n${body}\n}`;
  return body;
}

/** Host PID of the ctr-init process (PID 1, stage 2) under the ctr process `ctr`, or 0. */
function stage2Of(ctr: number): number {
  const parent = new Map<number, number>();
  const comm = new Map<number, string>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      comm.set(Number(name), stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")));
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone meanwhile
    }
  }
  for (const [pid, c] of comm) if (c === "ctr-init" && parent.get(parent.get(pid) ?? 0) === ctr) return pid;
  return 0;
}

describe("a long batch of setup steps", () => {
  for (const n of [600, 5000]) {
    itest(`${n} hostname statements complete`, () =>
      onHost(async (h) => {
        const r = await ctrWithin(h, `ns uts\n${hostnames(n)}\nrun hostname\n`, 20_000);
        expect(r.stderr).toBe("");
        expect(r.stdout).toBe(`h${n}\n`);
        expect(r.code).toBe(0);
      }),
    );
  }

  itest("a `for` over 700 items completes", () =>
    onHost(async (h) => {
      const items = Array.from({ length: 700 }, (_, i) => `n${i}`).join(" ");
      const r = await ctrWithin(h, `ns uts\nfor x in ${items} {\n  hostname "\${x}"\n}\nrun hostname\n`, 20_000);
      expect(r.stdout).toBe("n699\n");
      expect(r.code).toBe(0);
    }),
  );

  itest("SIGTERM during a batch of 100,000 steps ends ctr with 143 and cleans up", () =>
    onHost(async (h) => {
      const file = join(h.scratch(), "huge.ctr");
      writeFileSync(file, `ns uts, pid, mnt\n${nestedFor(5)}\nrun hostname\n`);
      const proc = h.spawn([file]);
      let pid1 = 0;
      for (let i = 0; i < 500 && pid1 === 0; i++) {
        await Bun.sleep(20);
        pid1 = stage2Of(proc.pid);
      }
      expect(pid1).toBeGreaterThan(0);
      await Bun.sleep(200); // the batch is going
      proc.kill("SIGTERM");
      const code = await Promise.race([proc.exited, Bun.sleep(5000).then(() => null)]);
      if (code === null) proc.kill("SIGKILL");
      expect(code).toBe(143);
      // It ended during the batch, not after it.
      expect(await new Response(proc.stdout).text()).toBe("");
    }),
  );
});
