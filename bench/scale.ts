// Two start-up measures of issue 17 that bench/startup.ts reports after its
// rounds (items 3 and 4 of the issue):
//
//   - scale: N copies of the minimal container started at once, for ctr and
//     for runc, alternating rounds; the wall time from the first spawn to the
//     last exit, and the CPU time of all N process trees together (each
//     child's rusage from wait4, which holds the descendants it waited for).
//   - stages: the peak RSS of each of ctr's own processes while a container
//     runs. The script is the minimal container with a `run /bin/sleep` before
//     its `exec`, so that every ctr process (the host process, the stages
//     between it and PID 1, and PID 1's agent) is alive at once; the tree
//     under the spawned ctr is read from /proc every few milliseconds and each
//     process's VmHWM (its high-water mark, which only grows) kept at its
//     highest, for the processes that run ctr's Bun (a stage that has exec'd
//     a command, as PID 1 does at the end, is no longer one). Processes are
//     named by their comm (ctr names its stages with prctl(PR_SET_NAME)).

import { readFileSync, readlinkSync } from "node:fs";
import { stats } from "./lib.ts";

export interface ScaleRound {
  wallMs: number;
  cpuMs: number;
  failures: number;
}

export interface ScaleResult {
  name: string;
  rounds: ScaleRound[];
  /** The stderr of the first failed container, for the report. */
  firstError?: string;
}

/** Starts n containers at once (argv(i) each) and waits for them all. */
async function oneScaleRound(argv: (i: number) => string[], n: number, timeoutMs: number, first: (err: string) => void): Promise<ScaleRound> {
  const t0 = performance.now();
  const procs = Array.from({ length: n }, (_, i) => Bun.spawn(argv(i), { stdin: "ignore", stdout: "ignore", stderr: "pipe", timeout: timeoutMs }));
  const codes = await Promise.all(procs.map((p) => p.exited));
  const wallMs = performance.now() - t0;
  let cpuMs = 0;
  let failures = 0;
  for (let i = 0; i < n; i++) {
    const p = procs[i]!;
    const ru = p.resourceUsage();
    if (ru) cpuMs += Number(ru.cpuTime.total) / 1000;
    if (codes[i] !== 0) {
      failures++;
      first(await new Response(p.stderr).text());
    }
  }
  return { wallMs, cpuMs, failures };
}

/**
 * `rounds` rounds of n containers at once for each peer, the peers' order
 * alternating; `after(name, round)` runs after each (runc: delete leftovers).
 */
export async function measureScale(
  peers: { name: string; argv: (round: number, i: number) => string[]; after?: (round: number, n: number) => void }[],
  n: number,
  rounds: number,
  timeoutMs: number,
): Promise<ScaleResult[]> {
  const out: ScaleResult[] = peers.map((p) => ({ name: p.name, rounds: [] }));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < peers.length; k++) {
      const idx = (r + k) % peers.length;
      const peer = peers[idx]!;
      const res = out[idx]!;
      res.rounds.push(await oneScaleRound((i) => peer.argv(r, i), n, timeoutMs, (err) => (res.firstError ??= err.trim().slice(0, 2000))));
      peer.after?.(r, n);
    }
  }
  return out;
}

/** Median wall and CPU of a peer's rounds that had no failure (NaN when none). */
export function scaleMedians(r: ScaleResult): { wallMs: number; cpuMs: number; ok: number } {
  const ok = r.rounds.filter((x) => x.failures === 0);
  const med = (xs: number[]) => (xs.length ? stats(xs).median : Number.NaN);
  return { wallMs: med(ok.map((x) => x.wallMs)), cpuMs: med(ok.map((x) => x.cpuMs)), ok: ok.length };
}

// ---------------------------------------------------------------- stages

function readStatus(pid: number): { comm: string; hwmKiB: number; exe: string } | null {
  try {
    const exe = readlinkSync(`/proc/${pid}/exe`);
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const comm = /^Name:\s*(.*)$/m.exec(s)?.[1] ?? "?";
    const hwm = Number(/^VmHWM:\s*(\d+)/m.exec(s)?.[1] ?? Number.NaN);
    return { comm, hwmKiB: hwm, exe };
  } catch {
    return null; // ended between two readings
  }
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").split(" ");
  } catch {
    return out;
  }
  for (const t of tasks) if (t) out.push(Number(t));
  return out;
}

/** Each process of the tree under pid, by depth-first walk, with its depth. */
function walk(pid: number, depth = 0, acc: { pid: number; depth: number }[] = []): { pid: number; depth: number }[] {
  acc.push({ pid, depth });
  for (const c of childrenOf(pid)) walk(c, depth + 1, acc);
  return acc;
}

export interface StageSample {
  /** "host" for the spawned ctr itself, else the process's comm ("ctr-stage1", "ctr-init"). */
  role: string;
  hwmKiB: number;
}

/**
 * One run of argv (ctr): the highest VmHWM read of each of ctr's processes,
 * those whose executable is the spawned ctr's own (Bun): a stage that has
 * exec'd the container's command is no longer one of them.
 */
export async function sampleStages(argv: string[], timeoutMs: number): Promise<{ ok: boolean; stages: StageSample[]; stderr: string }> {
  const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "ignore", stderr: "pipe", timeout: timeoutMs });
  const last = new Map<number, StageSample>();
  let done = false;
  let bun: string | null = null;
  void proc.exited.then(() => (done = true));
  while (!done) {
    for (const { pid, depth } of walk(proc.pid)) {
      const st = readStatus(pid);
      if (!st || !Number.isFinite(st.hwmKiB)) continue;
      // bin/ctr is a shell script until it execs Bun: the first Bun at the top names the executable.
      if (depth === 0 && st.exe.includes("bun")) bun ??= st.exe;
      if (bun === null || st.exe !== bun) continue;
      const was = last.get(pid)?.hwmKiB ?? 0;
      last.set(pid, { role: depth === 0 ? "host" : st.comm, hwmKiB: Math.max(was, st.hwmKiB) });
    }
    await Bun.sleep(5);
  }
  const code = await proc.exited;
  return { ok: code === 0, stages: [...last.values()], stderr: code === 0 ? "" : await new Response(proc.stderr).text() };
}
