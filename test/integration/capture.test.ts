/**
 * `run` output that an `expect output` checks streams through to the user and
 * is kept only in part (runtime/capture.ts): a run of 100 MB is as quick as
 * the command and takes no memory to speak of, and inside a memory limit the
 * capture does not get PID 1 killed.
 */
import { describe, expect, test } from "bun:test";
import { type Host, itest, onHost } from "./host-state.ts";
import { hierarchyOf, machineCgroups } from "../../runtime/cgroup/detect.ts";

const HUNDRED_MB = 100_000_000;

/** Run ctr, counting (not keeping) its stdout; with its time and peak RSS (ctr and its waited-for descendants). */
async function measured(h: Host, args: string[]) {
  const t0 = performance.now();
  const proc = h.spawn(args);
  let bytes = 0;
  let last = "";
  const counting = (async () => {
    for await (const chunk of proc.stdout) {
      bytes += chunk.length;
      last = Buffer.from(chunk.subarray(Math.max(0, chunk.length - 64))).toString();
    }
  })();
  const stderr = new Response(proc.stderr).text();
  const timer = setTimeout(() => proc.kill("SIGKILL"), 60_000);
  const code = await proc.exited;
  clearTimeout(timer);
  await counting;
  // Bun reports maxRSS in bytes.
  return { code, bytes, last, stderr: await stderr, seconds: (performance.now() - t0) / 1000, rssMiB: (proc.resourceUsage()?.maxRSS ?? 0) / (1 << 20) };
}

const produce = (n: number) => `run sh -c "yes 'line of text 0123456789' | head -c ${n}; echo; echo THE-END"`;

describe("output capture of run", () => {
  itest("100 MB checked by expect: streamed through, quick, in bounded memory", () =>
    onHost(async (h) => {
      const script = `ns uts\n${produce(HUNDRED_MB)}\nexpect output contains "0123456789\\nline"\nexpect output matches "^THE-END$"\nexpect output != "x"\n`;
      const r = await measured(h, ["-e", script]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.bytes).toBe(HUNDRED_MB + 1 + 8);
      expect(r.last.endsWith("\nTHE-END\n")).toBe(true);
      console.log(`100 MB run + expect: ${r.seconds.toFixed(2)} s, peak RSS ${r.rssMiB.toFixed(0)} MiB`);
      expect(r.rssMiB).toBeLessThan(200);
      expect(r.seconds).toBeLessThan(20);
    }),
    70_000,
  );

  itest("a failed expectation on a long output names its size", () =>
    onHost(async (h) => {
      const r = await measured(h, ["-e", `ns uts\n${produce(3_000_000)}\nexpect output contains "nowhere"\n`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`expectation failed: output contains "nowhere", but output was "line of text 0123456789\\nline`);
      expect(r.stderr).toContain(`..." (3000008 bytes)`);
    }),
  );

  const memory = hierarchyOf(machineCgroups(), "memory") !== null;
  if (!memory) console.log("skip: no memory cgroup controller on this machine (the limit test needs one)");
  (memory ? itest : test.skip)("under `limit memory 256m`, 100 MB captured does not get PID 1 killed", () =>
    onHost(async (h) => {
      const script = `ns uts, pid, mnt\nlimit memory 256m\n${produce(HUNDRED_MB)}\nexpect output contains "THE-END"\n`;
      const r = await measured(h, ["-e", script]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.bytes).toBe(HUNDRED_MB + 1 + 8);
    }),
    70_000,
  );
});
