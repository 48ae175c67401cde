// The command-line fuzz harness: generates the cases (fuzz-gen.ts), runs each
// through `ctr check` and `ctr explain`, and classifies every run.
//
// Thousands of CLI processes would take minutes on a small machine, so most
// runs go through the CLI's entry point in a few long-lived worker processes
// (fuzz-worker.ts: per-run wall time and getrusage peak RSS), and a sample
// through the real `bin/ctr`, one process per run (its rusage from wait4).
// Every process is started by a small one (fuzz-spawn.ts: the peak RSS a
// child reports counts the process it was forked from), runs with RLIMIT_DATA
// as a last guard for the machine, and is watched: killed past `killMs` in
// one run, past `killMB` of RSS, or when it has printed more than `outCapMB`.
//
// Also a command: prints the totals as JSON (used for the figures of issue 11):
//   bun test/cli/fuzz-harness.ts [--root DIR] [--cases N] [--seed S] [--cli N] [--kill-ms MS]

import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { corpus, makeCases, type FuzzCase } from "./fuzz-gen.ts";

export interface FuzzOptions {
  /** The ctr checkout under test. */
  root: string;
  seed: number;
  cases: number;
  /** How many runs go through the real bin/ctr (spread over the cases). */
  cliRuns: number;
  /** A run taking longer is killed (a hang). */
  killMs: number;
  /** A process above this RSS is killed. */
  killMB: number;
  /** Output beyond this (stdout or stderr of one run) gets the process killed. */
  outCapMB: number;
  /** Worker processes running at once. */
  workers: number;
}

export type Failure = "crash" | "status" | "hang" | "memory" | "output";

export interface RunResult {
  r: number;
  via: "entry" | "process";
  cmd: "check" | "explain";
  code: number | null;
  ms: number;
  rssMB: number;
  outBytes: number;
  errBytes: number;
  failure?: Failure;
  detail?: string;
}

const BUN = process.execPath;
const HERE = import.meta.dir;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function vmRssMB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

function size(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

interface Watched {
  killed?: "hang" | "memory" | "output";
  code: number | null;
  maxRSS?: number;
}

/**
 * The lowest RLIMIT_DATA a watched process gets. JavaScriptCore reserves its
 * JIT's executable memory up front, and that private writable mapping counts
 * against RLIMIT_DATA: under a limit of 2 GiB the reservation fails and JSC
 * runs without its JIT, some three times slower (measured: `explain` of a
 * 4,380-line case took 3.7 s under `prlimit --data=2G`, 1.1 s under 4G or no
 * limit, 3.4 s with BUN_JSC_useJIT=0). The fuzz test would then time an
 * interpreter no user runs. The watcher still kills a run past `killMB` of RSS.
 */
const DATA_FLOOR_MB = 8192;

/**
 * Runs argv (through fuzz-spawn.ts, so that its peak RSS is its own) with
 * stdout/stderr appended to out/err, polling every 20 ms; `runStart()` says
 * when the current run started (null between runs). Kills it on the first
 * limit crossed.
 */
async function watch(argv: string[], out: string, err: string, o: FuzzOptions, runStart: () => number | null, poll?: () => void): Promise<Watched> {
  const report = `${out}.spawn`;
  writeFileSync(report, "");
  const spawner = Bun.spawn({ cmd: [BUN, join(HERE, "fuzz-spawn.ts"), report, out, err, String(Math.max(o.killMB * 2, DATA_FLOOR_MB)), "--", ...argv], stdio: ["ignore", "inherit", "inherit"] });
  const lines = (): { pid?: number; code?: number | null; rssMB?: number }[] =>
    readFileSync(report, "utf8")
      .split("\n")
      .filter((l) => l.endsWith("}"))
      .map((l) => JSON.parse(l));
  let killed: Watched["killed"];
  let exited = false;
  spawner.exited.then(() => (exited = true));
  let pid: number | undefined;
  while (!exited) {
    await sleep(20);
    poll?.();
    pid ??= lines()[0]?.pid;
    if (pid === undefined) continue;
    const start = runStart();
    if (start !== null && Date.now() - start > o.killMs) killed = "hang";
    else if (vmRssMB(pid) > o.killMB) killed = "memory";
    else if (Math.max(size(out), size(err)) > o.outCapMB * 2 ** 20) killed = "output";
    if (killed) {
      process.kill(pid, "SIGKILL");
      break;
    }
  }
  await spawner.exited;
  poll?.();
  const end = lines()[1];
  rmSync(report, { force: true });
  const res: Watched = { code: killed ? null : (end?.code ?? null) };
  if (killed) res.killed = killed;
  if (end?.rssMB !== undefined) res.maxRSS = end.rssMB;
  return res;
}

const STACK = /^\s+at .*(:\d+:\d+\)?|\(native\)|<anonymous>\)?)$/m;

/** Classifies a finished run. */
function classify(res: RunResult, errText: string, stack: boolean, internal: boolean): RunResult {
  if (stack || internal) {
    res.failure = "crash";
    res.detail = errText.slice(0, 600);
  } else if (res.code !== 0 && res.code !== 2) {
    res.failure = "status";
    res.detail = `exit ${res.code}: ${errText.slice(0, 400)}`;
  }
  return res;
}

/** Runs in the worker processes: runs [from, to) of one shard. */
async function shard(dir: string, from: number, to: number, o: FuzzOptions, id: number, results: RunResult[]): Promise<void> {
  const report = join(dir, `report-${id}.jsonl`);
  const out = join(dir, `out-${id}`);
  const err = join(dir, `err-${id}`);
  let next = from;
  while (next < to) {
    writeFileSync(report, "");
    writeFileSync(out, "");
    writeFileSync(err, "");
    let offset = 0;
    let current: { r: number; start: number } | null = null;
    let recycled = false;
    const poll = () => {
      const text = readFileSync(report, "utf8");
      const end = text.lastIndexOf("\n") + 1;
      for (const line of text.slice(offset, end).split("\n")) {
        if (!line) continue;
        const m = JSON.parse(line);
        if ("start" in m) current = { r: m.r, start: m.start };
        else if ("recycle" in m) recycled = true;
        else if ("code" in m) {
          current = null;
          const cmd = m.r % 2 === 0 ? "check" : "explain";
          results.push(classify({ r: m.r, via: "entry", cmd, code: m.code, ms: m.ms, rssMB: m.rssMB, outBytes: m.outBytes, errBytes: m.errBytes }, m.err ?? "", m.stack, m.internal));
          next = m.r + 1;
        }
      }
      offset = end;
    };
    const w = await watch([BUN, join(HERE, "fuzz-worker.ts"), o.root, dir, report, out, err, String(next), String(to)], out, err, o, () => (current as { start: number } | null)?.start ?? null, poll);
    const cur = current as { r: number; start: number } | null;
    if (cur) {
      // The run in progress when the worker was killed or died.
      const failure: Failure = w.killed ?? "crash";
      const errText = readFileSync(err, "utf8").slice(-600);
      results.push({ r: cur.r, via: "entry", cmd: cur.r % 2 === 0 ? "check" : "explain", code: w.code, ms: Date.now() - cur.start, rssMB: w.killed === "memory" ? o.killMB : 0, outBytes: size(out), errBytes: size(err), failure, detail: w.killed ? `killed: ${w.killed}` : `worker died (status ${w.code}): ${errText}` });
      next = cur.r + 1;
    } else if (!recycled && next < to) {
      throw new Error(`fuzz worker exited at run ${next} without reporting (status ${w.code}): ${readFileSync(err, "utf8").slice(-2000)}`);
    }
  }
}

/** One run through the real CLI process. */
async function cliRun(dir: string, r: number, o: FuzzOptions): Promise<RunResult> {
  const cmd = r % 2 === 0 ? "check" : "explain";
  const out = join(dir, `cli-out-${r}`);
  const err = join(dir, `cli-err-${r}`);
  writeFileSync(out, "");
  writeFileSync(err, "");
  const start = Date.now();
  const w = await watch([join(o.root, "bin", "ctr"), cmd, join(dir, `case-${r >> 1}.ctr`)], out, err, o, () => start);
  const ms = Date.now() - start;
  const errText = readFileSync(err, "utf8").slice(-20000);
  const outText = readFileSync(out, "utf8").slice(-20000);
  const res: RunResult = { r, via: "process", cmd, code: w.code, ms, rssMB: w.maxRSS ?? 0, outBytes: size(out), errBytes: size(err) };
  rmSync(out);
  rmSync(err);
  if (w.killed) return { ...res, failure: w.killed, detail: `killed: ${w.killed}` };
  return classify(res, errText, STACK.test(errText) || STACK.test(outText), /internal error/.test(errText));
}

export interface FuzzReport {
  cases: FuzzCase[];
  results: RunResult[];
  dir: string;
}

/** Writes the cases to a fresh directory (with the golden lib/ and std/ next to them, for imports) and runs them all. */
export async function runFuzz(o: FuzzOptions, keep = false): Promise<FuzzReport> {
  const repo = join(HERE, "..", "..");
  const cases = makeCases(corpus(repo), o.seed, o.cases);
  const dir = mkdtempSync(join(tmpdir(), "ctr-fuzz-"));
  for (const sub of ["lib", "std"]) {
    mkdirSync(join(dir, sub));
    for (const f of readdirSync(join(repo, "test", "lang", "golden", sub))) copyFileSync(join(repo, "test", "lang", "golden", sub, f), join(dir, sub, f));
  }
  cases.forEach((c, i) => writeFileSync(join(dir, `case-${i}.ctr`), c.text));
  const results: RunResult[] = [];
  try {
    const runs = 2 * o.cases;
    const per = Math.ceil(runs / o.workers);
    const shards = [];
    for (let k = 0; k < o.workers; k++) shards.push(shard(dir, k * per, Math.min(runs, (k + 1) * per), o, k, results));
    await Promise.all(shards);
    // The sample through bin/ctr: evenly spread, both commands; two at a time.
    const sample: number[] = [];
    for (let k = 0; k < o.cliRuns; k++) sample.push(Math.floor(((k + 0.5) * runs) / o.cliRuns));
    for (let k = 0; k < sample.length; k += 2) {
      const batch = sample.slice(k, k + 2).map((r) => cliRun(dir, r, o));
      results.push(...(await Promise.all(batch)));
    }
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
  results.sort((a, b) => a.r - b.r || a.via.localeCompare(b.via));
  return { cases, results, dir };
}

export interface Totals {
  cases: number;
  runs: number;
  byEntry: number;
  byProcess: number;
  crashes: number;
  badStatus: number;
  hangs: number;
  over5s: number;
  killedMemory: number;
  over512MB: number;
  outputKilled: number;
  peakRssMB: number;
  /** The same for the runs through bin/ctr alone. */
  peakRssMBProcess: number;
  slowestMs: number;
  totalMs: number;
}

export function totals(rep: FuzzReport, limitMs = 5000, limitMB = 512): Totals {
  const rs = rep.results;
  return {
    cases: rep.cases.length,
    runs: rs.length,
    byEntry: rs.filter((r) => r.via === "entry").length,
    byProcess: rs.filter((r) => r.via === "process").length,
    crashes: rs.filter((r) => r.failure === "crash").length,
    badStatus: rs.filter((r) => r.failure === "status").length,
    hangs: rs.filter((r) => r.failure === "hang").length,
    over5s: rs.filter((r) => r.ms > limitMs).length,
    killedMemory: rs.filter((r) => r.failure === "memory").length,
    over512MB: rs.filter((r) => r.rssMB > limitMB || r.failure === "memory").length,
    outputKilled: rs.filter((r) => r.failure === "output").length,
    peakRssMB: Math.round(Math.max(0, ...rs.map((r) => r.rssMB))),
    peakRssMBProcess: Math.round(Math.max(0, ...rs.filter((r) => r.via === "process").map((r) => r.rssMB))),
    slowestMs: Math.round(Math.max(0, ...rs.map((r) => r.ms))),
    totalMs: Math.round(rs.reduce((s, r) => s + r.ms, 0)),
  };
}

if (import.meta.main) {
  const arg = (name: string, def: string): string => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1]! : def;
  };
  const o: FuzzOptions = {
    root: arg("--root", join(HERE, "..", "..")),
    seed: Number(arg("--seed", "11")),
    cases: Number(arg("--cases", "3000")),
    cliRuns: Number(arg("--cli", "40")),
    killMs: Number(arg("--kill-ms", "10000")),
    killMB: Number(arg("--kill-mb", "1024")),
    outCapMB: Number(arg("--out-mb", "64")),
    workers: Number(arg("--workers", "1")),
  };
  if (!existsSync(join(o.root, "runtime", "cli.ts"))) throw new Error(`no ctr checkout at ${o.root}`);
  const t0 = Date.now();
  const rep = await runFuzz(o, process.argv.includes("--keep"));
  const t = totals(rep);
  const failures = rep.results.filter((r) => r.failure || r.ms > 5000 || r.rssMB > 512);
  const byKind: Record<string, number> = {};
  for (const f of failures) {
    const what = f.failure ?? (f.ms > 5000 ? "slow" : "rss");
    const head = (f.detail ?? "").split("\n").find((l) => l.trim()) ?? "";
    const key = `${what}: ${head.replace(/\d+/g, "N").slice(0, 90)}`;
    byKind[key] = (byKind[key] ?? 0) + 1;
  }
  if (process.argv.includes("--keep")) console.log(`cases kept in ${rep.dir}`);
  console.log(JSON.stringify({ options: o, wallMs: Date.now() - t0, totals: t, kinds: byKind }, null, 2));
  if (process.argv.includes("--list")) for (const f of failures) console.log(JSON.stringify({ ...f, from: rep.cases[f.r >> 1]!.from, size: rep.cases[f.r >> 1]!.text.length }));
}
