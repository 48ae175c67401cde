/**
 * `run` output that an `expect output` checks streams through to the user and
 * is kept only in part (runtime/features/process/capture.ts): a run of 100 MB is as quick as
 * the command and takes no memory to speak of, and inside a memory limit the
 * capture does not get PID 1 killed.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { type Host, itest, onHost } from "./host-state.ts";
import { hierarchyOf, machineCgroups } from "../../runtime/features/cgroup/detect.ts";

const HUNDRED_MB = 100_000_000;

/** The processes of the tree rooted at `root`. */
function tree(root: number): number[] {
  const kids = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone meanwhile
    }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(kids.get(out[i]!) ?? []));
  return out;
}

/**
 * The largest VmHWM (peak RSS since execve) in ctr's process tree, sampled
 * every 20 ms. Not getrusage's maxrss: that one starts at the size of the
 * process that spawned it (the test runner), which would hide the figure.
 */
function samplePeak(root: number): { stop(): number } {
  let peak = 0;
  const timer = setInterval(() => {
    for (const pid of tree(root)) {
      try {
        const kib = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
        peak = Math.max(peak, kib);
      } catch {
        // gone meanwhile
      }
    }
  }, 20);
  return {
    stop: () => {
      clearInterval(timer);
      return peak / 1024;
    },
  };
}

/** Run ctr, counting (not keeping) its stdout; with its time and peak RSS (ctr and its descendants, in MiB). */
async function measured(h: Host, args: string[]) {
  const t0 = performance.now();
  const proc = h.spawn(args);
  const peak = samplePeak(proc.pid);
  let bytes = 0;
  let last = "";
  const counting = (async () => {
    for await (const chunk of proc.stdout) {
      bytes += chunk.length;
      // The tail across chunks: the last one may hold a few bytes only.
      last = (last + Buffer.from(chunk.subarray(Math.max(0, chunk.length - 64))).toString()).slice(-64);
    }
  })();
  const stderr = new Response(proc.stderr).text();
  const timer = setTimeout(() => proc.kill("SIGKILL"), 60_000);
  const code = await proc.exited;
  clearTimeout(timer);
  const rssMiB = peak.stop();
  await counting;
  return { code, bytes, last, stderr: await stderr, seconds: (performance.now() - t0) / 1000, rssMiB };
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
