// Issue 4's acceptance, measured on the real kernel as root: `limit cpu|memory|
// pids|cpuset` enforced, observed through the cgroup's own counters, and every
// cgroup directory gone afterwards (also after SIGKILL of the command, SIGINT
// to ctr, and SIGKILL of ctr itself, after which stage 1 removes them).
//
// The figures are printed so a run of this file is also the measurement:
//   node_modules/.bin/bun test test/cgroup/limits.test.ts

import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { callerDir, describeSystem, hierarchyOf, machineCgroups } from "../../runtime/features/cgroup/detect.ts";
import type { Hierarchy, KernelController } from "../../runtime/features/cgroup/types.ts";
import { onHost, type Host } from "../integration/host-state.ts";

const CTR = new URL("../../bin/ctr", import.meta.url).pathname;
const IS_ROOT = process.getuid?.() === 0;
const sys = machineCgroups();
const has = (c: KernelController) => hierarchyOf(sys, c) !== null;
const READY = IS_ROOT && has("cpu") && has("memory") && has("pids") && has("cpuset");
if (!READY) console.log(`skip: the cgroup tests need root and the cpu, memory, pids and cpuset controllers (${IS_ROOT ? describeSystem(sys) : "not root"})`);
else console.log(`cgroups here: ${describeSystem(sys)}`);
// Each test also runs under the integration tests' host check (mounts, processes, state, cgroups).
let host: Host | null = null;
const rootTest = (name: string, fn: () => Promise<void>, timeout = 30_000) =>
  test.skipIf(!READY)(
    name,
    () =>
      onHost(async (h) => {
        host = h;
        try {
          await fn();
        } finally {
          host = null;
        }
      }),
    timeout,
  );

// A root filesystem with /proc and /dev (background jobs of sh open /dev/null).
const BASE = "ns pid, mnt, ipc, uts; rootfs default; mount proc; mount dev";

interface Result {
  code: number;
  out: string;
  err: string;
  pid: number;
  ms: number;
}

function start(script: string): { proc: ReturnType<typeof Bun.spawn>; done: Promise<Result> } {
  const t0 = performance.now();
  // CTR_TEACHING=1: teaching containers on purpose (the note has its own tests, test/security/note.test.ts).
  const proc = Bun.spawn({ cmd: [CTR, "-e", script], env: { ...process.env, CTR_TEACHING: "1" }, stdout: "pipe", stderr: "pipe" });
  host?.pids.push(proc.pid);
  const done = (async () => {
    const [out, err] = await Promise.all([new Response(proc.stdout as ReadableStream).text(), new Response(proc.stderr as ReadableStream).text()]);
    const code = await proc.exited;
    return { code, out, err, pid: proc.pid, ms: performance.now() - t0 };
  })();
  return { proc, done };
}

const ctr = (script: string) => start(script).done;

/** Every cgroup directory below ctr's own cgroup, in every hierarchy. */
function snapshot(): Set<string> {
  const out = new Set<string>();
  const roots = new Set<string>();
  for (const h of [...Object.values(sys.v1), sys.v2] as (Hierarchy | null)[]) if (h) roots.add(callerDir(h));
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      out.add(`${dir}/${e.name}`);
      walk(`${dir}/${e.name}`);
    }
  };
  for (const r of roots) walk(r);
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Same directories before and after, except containers of other live ctr processes (others test at the same time). */
function expectNothingLeft(before: Set<string>, ours: number): void {
  const after = snapshot();
  const changed = [...after].filter((d) => !before.has(d)).concat([...before].filter((d) => !after.has(d)));
  const foreign = (d: string) => {
    const m = /\/ctr-[^/]*-(\d+)(-host)?(\/|$)/.exec(d);
    return m !== null && Number(m[1]) !== ours && alive(Number(m[1]));
  };
  expect(changed.filter((d) => !foreign(d))).toEqual([]);
}

/** The "cpu usage" of `show cgroup` outputs, in seconds. */
function cpuUsages(out: string): number[] {
  return [...out.matchAll(/^cpu\s+usage\s+([\d.]+) s/gm)].map((m) => Number(m[1]));
}

async function busyShare(limit: string): Promise<number> {
  const before = snapshot();
  const r = await ctr(`${BASE}; ${limit}; show cgroup; run sh -c 'while :; do :; done & sleep 3; kill $!'; show cgroup`);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  const [u0, u1] = cpuUsages(r.out);
  expectNothingLeft(before, r.pid);
  return (u1! - u0!) / 3;
}

/** A limited container running `sleep 100`, once its cgroups exist. */
async function startSleeping() {
  const started = start(`${BASE}; limit cpu 50%; limit pids 20; run sleep 100`);
  for (let i = 0; i < 200; i++) {
    await Bun.sleep(20);
    if ([...snapshot()].some((d) => d.endsWith(`-${started.proc.pid}`))) break;
  }
  await Bun.sleep(200);
  return started;
}

describe("cgroup limits on the real kernel", () => {
  rootTest("cpu: a 3 s busy loop uses 15-25% of one CPU under `limit cpu 20%`, > 80% without", async () => {
    const limited = await busyShare("limit cpu 20%");
    // Without a limit the loop gets what the machine leaves it: on 2 CPUs, other
    // work at the same moment can take a share. Up to three tries, the best counts.
    let free = 0;
    for (let i = 0; i < 3 && free <= 0.8; i++) free = Math.max(free, await busyShare("echo no limit"));
    console.log(`cpu: busy loop for 3 s, by the cgroup's own counter: ${(limited * 100).toFixed(1)}% of one CPU under limit cpu 20%, ${(free * 100).toFixed(1)}% without`);
    expect(limited).toBeGreaterThanOrEqual(0.15);
    expect(limited).toBeLessThanOrEqual(0.25);
    expect(free).toBeGreaterThan(0.8);
  });

  rootTest("memory: 100 MB allocated under `limit memory 32m` is OOM-killed, ctr exits 137 and says so; without the limit it finishes", async () => {
    // tail keeps its whole input when it sees no newline: 100 MB of anonymous memory.
    const alloc = "run sh -c 'head -c 100M /dev/zero | tail > /dev/null'";
    const before = snapshot();
    const killed = await ctr(`${BASE}; limit memory 32m; ${alloc}`);
    console.log(`memory: limited: exit ${killed.code} in ${killed.ms.toFixed(0)} ms; ${killed.err.trim()}`);
    expect(killed.code).toBe(137);
    expect(killed.err).toMatch(/^ctr: out of memory: the kernel killed tail \(pid \d+ on the host\) at the container's memory limit of 32 MiB \((memory\.limit_in_bytes|memory\.max)\)/m);
    expectNothingLeft(before, killed.pid);

    const free = await ctr(`${BASE}; ${alloc}; show cgroup`);
    const peak = /^memory\s+usage\s+.* peak ([\d.]+) MiB/m.exec(free.out);
    console.log(`memory: unlimited: exit ${free.code} in ${free.ms.toFixed(0)} ms, peak ${peak?.[1]} MiB`);
    expect(free.code).toBe(0);
    expect(free.err).toBe("");
    // The allocator really allocates: the cgroup's peak is above the 100 MB it holds.
    expect(Number(peak?.[1])).toBeGreaterThan(100);
    expectNothingLeft(before, free.pid);
  });

  rootTest("memory: an exec'd command killed at the limit is PID 1: 137 and the OOM message", async () => {
    const before = snapshot();
    const r = await ctr(`${BASE}; limit memory 16m; exec dd if=/dev/zero of=/dev/null bs=64M count=1`);
    expect(r.code).toBe(137);
    expect(r.err).toContain("out of memory: the kernel killed dd (pid");
    expectNothingLeft(before, r.pid);
  });

  rootTest("pids: under `limit pids 10` the excess of 20 background sleeps fails and the container exits cleanly", async () => {
    const before = snapshot();
    const list = Array.from({ length: 20 }, (_, i) => i + 1).join(" ");
    // dash stops at the first fork the kernel refuses (status 2): the script expects it.
    const r = await ctr(`${BASE}; limit pids 10; run sh -c 'for i in ${list}; do sleep 60 & echo started $i; done'; expect exit 2; show cgroup`);
    const started = r.out.match(/^started \d+$/gm)?.length ?? 0;
    const usage = /^pids\s+usage\s+(\d+) tasks now, (\d+) forks refused/m.exec(r.out);
    console.log(`pids: ${started} of 20 sleeps started, ${usage?.[2]} forks refused, ${usage?.[1]} tasks at the end (limit 10); exit ${r.code}`);
    expect(r.code).toBe(0);
    expect(r.err).toContain("Cannot fork");
    expect(started).toBeGreaterThan(0);
    expect(started).toBeLessThan(10);
    expect(Number(usage?.[2])).toBeGreaterThanOrEqual(1);
    expect(Number(usage?.[1])).toBeLessThanOrEqual(10);
    expectNothingLeft(before, r.pid);
  });

  rootTest("cpuset: under `limit cpuset 0` the command may run on CPU 0 only", async () => {
    const before = snapshot();
    const r = await ctr(`${BASE}; limit cpuset 0; run grep Cpus_allowed_list /proc/self/status`);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe("Cpus_allowed_list:\t0");
    if (availableParallelism() > 1) {
      const r1 = await ctr(`${BASE}; limit cpuset 1; run grep Cpus_allowed_list /proc/self/status`);
      expect(r1.out.trim()).toBe("Cpus_allowed_list:\t1");
    }
    expectNothingLeft(before, r.pid);
  });

  rootTest("the container's processes are in its cgroups from the start, in every hierarchy", async () => {
    const r = await ctr(`${BASE}; limit cpu 50%; limit memory 64m; limit pids 50; limit cpuset 0; run cat /proc/self/cgroup`);
    expect(r.code).toBe(0);
    for (const c of ["cpu", "cpuacct", "memory", "pids", "cpuset"] as const) {
      const h = hierarchyOf(sys, c)!;
      const line = r.out.split("\n").find((l) => (h.version === "v2" ? l.startsWith("0::") : l.split(":")[1]?.split(",").includes(c)));
      expect(line).toMatch(new RegExp(`/ctr-[a-z0-9]+-${r.pid}$`));
    }
  });

  rootTest("SIGKILL of the command: 137, nothing left", async () => {
    const before = snapshot();
    const { proc, done } = start(`${BASE}; limit cpu 50%; limit memory 64m; exec sleep 100`);
    let victim = 0;
    for (let i = 0; i < 200 && !victim; i++) {
      await Bun.sleep(20);
      const dir = [...snapshot()].find((d) => d.endsWith(`-${proc.pid}`) && d.includes("/cpu/"));
      if (!dir) continue;
      for (const p of readFileSync(`${dir}/cgroup.procs`, "utf8").split("\n").filter(Boolean)) {
        if (readFileSync(`/proc/${p}/comm`, "utf8").trim() === "sleep") victim = Number(p);
      }
    }
    expect(victim).toBeGreaterThan(0);
    process.kill(victim, "SIGKILL");
    const r = await done;
    expect(r.code).toBe(137);
    expect(r.err).toBe(""); // a plain SIGKILL is not an OOM kill
    expectNothingLeft(before, r.pid);
  });

  rootTest("SIGINT to ctr during a run: 130, nothing left", async () => {
    const before = snapshot();
    const { proc, done } = await startSleeping();
    proc.kill("SIGINT");
    const r = await done;
    expect(r.code).toBe(130);
    expectNothingLeft(before, r.pid);
  });

  rootTest("SIGKILL of ctr itself: stage 1 takes PID 1 down and removes the cgroups (the next run sweeps any it could not)", async () => {
    const before = snapshot();
    const { proc, done } = await startSleeping();
    proc.kill("SIGKILL");
    await done;
    // stage 1 sees ctr gone (pidfd), takes PID 1 down, then removes the cgroups it was told of
    for (let i = 0; i < 100 && [...snapshot()].some((d) => d.endsWith(`-${proc.pid}`)); i++) await Bun.sleep(20);
    expectNothingLeft(before, proc.pid);
    const next = await ctr("ns pid; limit pids 20; run true");
    expect(next.code).toBe(0);
    expectNothingLeft(before, proc.pid);
  });

  rootTest("background processes that outlive the command (no `ns pid`) are killed, then the cgroups removed", async () => {
    const before = snapshot();
    const r = await ctr("ns mnt; limit pids 20; run sh -c 'sleep 100 >/dev/null 2>&1 & echo $!'");
    expect(r.code).toBe(0);
    const bg = Number(r.out.trim());
    expect(bg).toBeGreaterThan(0);
    await Bun.sleep(50);
    // Gone, or a zombie of whichever subreaper adopted it.
    const state = alive(bg) ? (/^State:\s+(\S)/m.exec(readFileSync(`/proc/${bg}/status`, "utf8"))?.[1] ?? "") : "gone";
    expect(["gone", "Z", "X"]).toContain(state);
    expectNothingLeft(before, r.pid);
  });

  rootTest("limits the machine cannot honour: a clear error naming the controller and the fix (2 when the checker can tell, else 125), nothing left", async () => {
    const before = snapshot();
    const cases: [string, RegExp, number][] = [
      ["limit memory 1m", /limit memory 1 MiB: too small .*\n(.|\n)*help: use at least 8 MiB/, 2], // checked before anything runs, in the run's words
      ["limit cpu 0.5%", /limit cpu 0.5%: that is 500 us of CPU per 100000 us period, below the kernel's minimum quota of 1000 us(.|\n)*help: use at least 1%/, 2],
      ["limit cpuset 0 mems=7", /memory node 7 is not available to ctr's cgroup \(.*cpuset\.effective_mems = 0\)(.|\n)*help: use memory nodes from 0/, 125],
      ["limit cpuset 64", /CPU 64 does not exist(.|\n)*help: this machine has/, 2], // checked before anything runs
      ["limit pids 2", /limit pids 2: too few(.|\n)*help: use at least 4/, 2],
    ];
    for (const [limit, message, code] of cases) {
      const r = await ctr(`${BASE}; ${limit}; run true`);
      expect({ limit, code: r.code }).toEqual({ limit, code });
      expect(r.err).toMatch(message);
      expectNothingLeft(before, r.pid);
    }
  });

  rootTest("a limit after the first command is a live change at its place in the script", async () => {
    const r = await ctr(`${BASE}; limit pids 50; run true; limit pids 30; show cgroup`);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^pids\s+limit\s+30 /m);
  });

  rootTest("examples 07 and 08 run to the end with their self-checks, nothing left", async () => {
    const before = snapshot();
    const run = (name: string) => {
      const p = Bun.spawn({ cmd: [CTR, new URL(`../../examples/${name}`, import.meta.url).pathname, "true"], env: { ...process.env, CTR_TEACHING: "1" }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
      host?.pids.push(p.pid);
      return (async () => ({ code: await p.exited, out: await new Response(p.stdout as ReadableStream).text(), err: await new Response(p.stderr as ReadableStream).text(), pid: p.pid }))();
    };
    const cpu = await run("07-cgroup-cpu.ctr");
    expect(cpu.err).toBe("");
    expect(cpu.code).toBe(0);
    expect(cpu.out).toMatch(/^busy loop: (1[5-9]|2[0-5])% of one CPU for 3 s$/m);
    expectNothingLeft(before, cpu.pid);
    const mem = await run("08-cgroup-memory.ctr");
    expect(mem.code).toBe(0);
    expect(mem.out).toContain("holding 16 MiB");
    expect(mem.err).toMatch(/ctr: out of memory: the kernel killed sh \(pid \d+ on the host\) at the container's memory limit of 64 MiB/);
    expect(mem.out).toMatch(/^memory\s+oom kills\s+1/m);
    expectNothingLeft(before, mem.pid);
  });

  rootTest("explain prints the exact file writes for this machine's cgroups", async () => {
    const p = Bun.spawnSync({ cmd: [CTR, "explain", "-e", `${BASE}; limit cpu 20%; limit memory 32m; run true`] });
    const out = p.stdout.toString();
    if (hierarchyOf(sys, "cpu")!.version === "v1") {
      expect(out).toContain("write cpu.cfs_quota_us = 20000");
      expect(out).toContain("write memory.limit_in_bytes = 33554432");
    } else {
      expect(out).toContain('write cpu.max = "20000 100000"');
      expect(out).toContain("write memory.max = 33554432");
    }
    expect(out).toContain(`${callerDir(hierarchyOf(sys, "memory")!)}/ctr-`);
  });
});
