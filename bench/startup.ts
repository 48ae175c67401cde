#!/usr/bin/env bun
// Container start-up benchmark (issue 3): the same minimal container, started by
// ctr, `runc run`, bwrap and unshare, alternating, in one run.
//
//   container: new uts, ipc, pid, mount and net namespaces; a busybox root
//              filesystem; /proc mounted; the command /bin/true.
//
// Usage: node_modules/.bin/bun bench/startup.ts [--rounds N] [--warmup N]
//                                               [--timeout MS] [--json]
//
// Reports median, p10 and p90 wall time (spawn to exit, reaped) per peer and the
// ratios of medians ctr/runc, ctr/bwrap and ctr/unshare. A second ctr variant with
// `rootfs default` is reported on its own line and is not part of the ratios.
// Needs root; installs runc, bubblewrap and busybox-static from Debian if missing.

import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  BenchError,
  Cleanup,
  type RunResult,
  type Stats,
  describeExit,
  diffLines,
  dpkgInstalled,
  ensurePackages,
  isStaticElf,
  makeBusyboxRootfs,
  makeTempDir,
  readMountinfo,
  removeTree,
  round,
  run,
  stats,
  timedRun,
} from "./lib.ts";

const REPO = resolve(import.meta.dir, "..");
const CTR = join(REPO, "bin", "ctr");
const NAMESPACES = "uts, ipc, pid, mnt, net";

// ---------------------------------------------------------------- options

interface Options {
  rounds: number;
  warmup: number;
  timeoutMs: number;
  json: boolean;
}

const USAGE = `usage: bun bench/startup.ts [--rounds N] [--warmup N] [--timeout MS] [--json]
  --rounds N     timed rounds; each runs every peer once, in rotating order (default 30)
  --warmup N     untimed runs of each peer first (default 3)
  --timeout MS   a run taking longer is killed and counted as failed (default 30000)
  --json         print only one line of JSON`;

function parseOptions(argv: readonly string[]): Options {
  const o: Options = { rounds: 30, warmup: 3, timeoutMs: 30_000, json: false };
  const int = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < min) {
      throw new BenchError(`${flag} needs an integer >= ${min}\n${USAGE}`, 2);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith("--") && a.includes("=") ? a.split("=", 2) : [a, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case "--rounds":
        o.rounds = int(flag, value(), 1);
        break;
      case "--warmup":
        o.warmup = int(flag, value(), 0);
        break;
      case "--timeout":
        o.timeoutMs = int(flag, value(), 100);
        break;
      case "--json":
        o.json = true;
        break;
      case "-h":
      case "--help":
        console.log(USAGE);
        process.exit(0);
      default:
        throw new BenchError(`unknown argument ${a}\n${USAGE}`, 2);
    }
  }
  return o;
}

// ---------------------------------------------------------------- peers

interface Peer {
  name: string;
  /** What it runs, for the report. */
  what: string;
  /** Part of the ratios (the busybox-rootfs peers); `ctr (default)` is not. */
  inRatio: boolean;
  /** The command line of run number i (runc needs a fresh container id each time). */
  argv: (i: number) => string[];
  /** Called after a failed run, untimed (runc: delete the container if it remains). */
  afterFailure?: (i: number) => void;
}

interface PeerResult {
  peer: Peer;
  samples: number[];
  runs: number;
  failures: number;
  /** The first failure, for the report. */
  firstFailure?: RunResult;
  /** Failed during warm-up: left out of the timed rounds. */
  disabled: boolean;
}

/** Writes the OCI bundle for runc: config.json only, the rootfs is shared. */
function writeRuncBundle(bundle: string, root: string): void {
  const config = {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ["/bin/true"],
      env: ["PATH=/bin"],
      cwd: "/",
      noNewPrivileges: true,
    },
    root: { path: root, readonly: false },
    mounts: [{ destination: "/proc", type: "proc", source: "proc" }],
    linux: {
      namespaces: [
        { type: "uts" },
        { type: "ipc" },
        { type: "pid" },
        { type: "mount" },
        { type: "network" },
      ],
    },
  };
  writeFileSync(join(bundle, "config.json"), JSON.stringify(config, null, 2) + "\n");
}

function ctrScript(rootfs: string): string {
  return [
    "# written by bench/startup.ts: the minimal container of the start-up benchmark",
    `ns ${NAMESPACES}`,
    `rootfs ${rootfs}`,
    "mount proc",
    "exec /bin/true",
    "",
  ].join("\n");
}

function makePeers(work: string, root: string, runcState: string): Peer[] {
  const bundle = join(work, "bundle");
  run(["mkdir", "-p", bundle]);
  writeRuncBundle(bundle, root);
  const ctrFile = join(work, "startup.ctr");
  writeFileSync(ctrFile, ctrScript(root));
  const ctrDefaultFile = join(work, "startup-default.ctr");
  writeFileSync(ctrDefaultFile, ctrScript("default"));
  const runcId = (i: number) => `ctr-bench-${process.pid}-${i}`;
  return [
    {
      name: "ctr",
      what: `bin/ctr ${ctrFile}`,
      inRatio: true,
      argv: () => [CTR, ctrFile],
    },
    {
      name: "runc",
      what: `runc --root STATE run --bundle ${bundle} ID`,
      inRatio: true,
      argv: (i) => ["runc", "--root", runcState, "run", "--bundle", bundle, runcId(i)],
      afterFailure: (i) => {
        run(["runc", "--root", runcState, "delete", "-f", runcId(i)]);
      },
    },
    {
      name: "bwrap",
      what: "bwrap --unshare-uts --unshare-ipc --unshare-pid --unshare-net --bind ROOT / --proc /proc /bin/true",
      inRatio: true,
      argv: () => [
        "bwrap",
        "--unshare-uts",
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-net",
        "--bind",
        root,
        "/",
        "--proc",
        "/proc",
        "/bin/true",
      ],
    },
    {
      name: "unshare",
      what: "unshare --uts --ipc --pid --mount --net --fork --root=ROOT --mount-proc /bin/true",
      inRatio: true,
      argv: () => [
        "unshare",
        "--uts",
        "--ipc",
        "--pid",
        "--mount",
        "--net",
        "--fork",
        `--root=${root}`,
        "--mount-proc",
        "/bin/true",
      ],
    },
    {
      name: "ctr (default)",
      what: `bin/ctr ${ctrDefaultFile} (rootfs default)`,
      inRatio: false,
      argv: () => [CTR, ctrDefaultFile],
    },
  ];
}

// ---------------------------------------------------------------- measuring

/** Lets the event loop run (signal handlers, e.g. Ctrl-C) between two timed runs. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

async function measure(
  peers: Peer[],
  o: Options,
  progress: (msg: string) => void,
): Promise<PeerResult[]> {
  const results = peers.map(
    (peer): PeerResult => ({ peer, samples: [], runs: 0, failures: 0, disabled: false }),
  );
  let seq = 0;
  const once = async (r: PeerResult): Promise<RunResult> => {
    await tick();
    const i = seq++;
    const res = timedRun(r.peer.argv(i), { timeoutMs: o.timeoutMs });
    if (!res.ok) {
      r.failures++;
      r.firstFailure ??= res;
      r.peer.afterFailure?.(i);
    }
    return res;
  };

  // Warm-up: page cache, dentries, the rootfs cache of `rootfs default`. A peer
  // failing here is not timed at all.
  for (let w = 0; w < o.warmup; w++) {
    for (const r of results) {
      if (r.disabled) continue;
      if (!(await once(r)).ok) r.disabled = true;
    }
  }
  if (o.warmup === 0) {
    // Still find out which peers cannot run before the rounds, untimed.
    for (const r of results) if (!(await once(r)).ok) r.disabled = true;
  }
  const live = results.filter((r) => !r.disabled);

  for (let round = 0; round < o.rounds; round++) {
    // Rotate the order each round so that any drift affects all peers alike.
    for (let k = 0; k < live.length; k++) {
      const r = live[(round + k) % live.length]!;
      const res = await once(r);
      r.runs++;
      if (res.ok) r.samples.push(res.ms);
    }
    if ((round + 1) % 10 === 0 || round + 1 === o.rounds) {
      progress(`round ${round + 1}/${o.rounds}`);
    }
  }
  return results;
}

// ---------------------------------------------------------------- reporting

function version(argv: string[]): string {
  const r = run(argv);
  return (r.stdout + r.stderr).trim().split("\n")[0] ?? "?";
}

function fmt(x: number | null | undefined, digits = 2): string {
  return x === null || x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(digits);
}

function firstLines(s: string, n: number): string {
  const lines = s
    .trim()
    .split("\n")
    .map((l) => l.trimEnd())
    .filter((l) => l !== "");
  const head = lines.slice(0, n).join("\n    ");
  return lines.length > n ? `${head}\n    ... (${lines.length - n} more lines)` : head;
}

interface Report {
  summary: Record<string, number | null>;
  peers: Record<string, unknown>;
  failed: string[];
}

function buildReport(results: PeerResult[], o: Options): Report {
  const st = new Map<string, Stats>();
  for (const r of results) if (r.samples.length) st.set(r.peer.name, stats(r.samples));
  const median = (name: string): number | null => round(st.get(name)?.median ?? Number.NaN, 3);
  const ratio = (a: string, b: string): number | null =>
    round((st.get(a)?.median ?? Number.NaN) / (st.get(b)?.median ?? Number.NaN), 3);
  const summary: Record<string, number | null> = {
    ctr_ms: median("ctr"),
    runc_ms: median("runc"),
    ratio_ctr_runc: ratio("ctr", "runc"),
    bwrap_ms: median("bwrap"),
    unshare_ms: median("unshare"),
    ratio_ctr_bwrap: ratio("ctr", "bwrap"),
    ratio_ctr_unshare: ratio("ctr", "unshare"),
    ctr_default_ms: median("ctr (default)"),
    rounds: o.rounds,
  };
  const peers: Record<string, unknown> = {};
  const failed: string[] = [];
  for (const r of results) {
    const s = st.get(r.peer.name);
    const ok = !r.disabled && r.failures === 0;
    if (!ok) failed.push(r.peer.name);
    peers[r.peer.name] = {
      ok,
      in_ratio: r.peer.inRatio,
      runs: r.runs,
      failures: r.failures,
      median_ms: round(s?.median ?? Number.NaN, 3),
      p10_ms: round(s?.p10 ?? Number.NaN, 3),
      p90_ms: round(s?.p90 ?? Number.NaN, 3),
      min_ms: round(s?.min ?? Number.NaN, 3),
      max_ms: round(s?.max ?? Number.NaN, 3),
      ...(r.firstFailure
        ? {
            error: describeExit(r.firstFailure),
            stderr: r.firstFailure.stderr.slice(0, 4000),
          }
        : {}),
    };
  }
  return { summary, peers, failed };
}

function printTable(results: PeerResult[], report: Report, o: Options, versions: string[]): void {
  const out: string[] = [];
  out.push(
    `container start-up: ns ${NAMESPACES}; busybox rootfs; /proc; /bin/true`,
    `${o.rounds} rounds, each peer once per round in rotating order, after ${o.warmup} warm-up run(s) each`,
    `wall time from spawn to exit (reaped), ms; ${versions.join("; ")}`,
    "",
  );
  const head = ["peer", "runs", "median", "p10", "p90", "min", "max"];
  const rows = results.map((r) => {
    const s = r.samples.length ? stats(r.samples) : undefined;
    const runs = r.disabled ? "failed" : r.failures ? `${r.samples.length}/${r.runs}` : `${r.runs}`;
    return [
      r.peer.inRatio ? r.peer.name : `${r.peer.name}*`,
      runs,
      fmt(s?.median),
      fmt(s?.p10),
      fmt(s?.p90),
      fmt(s?.min),
      fmt(s?.max),
    ];
  });
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const line = (cells: string[]) =>
    cells.map((x, c) => (c === 0 ? x.padEnd(widths[c]!) : x.padStart(widths[c]!))).join("  ");
  out.push(line(head), ...rows.map(line));
  out.push("* not part of the ratios (rootfs default instead of the busybox rootfs)", "");

  const s = report.summary;
  const verdict =
    s.ratio_ctr_runc === null
      ? "not measured"
      : s.ratio_ctr_runc <= 1
        ? "target ctr/runc <= 1.0 met"
        : "target ctr/runc <= 1.0 NOT met";
  out.push(
    `ratio of medians: ctr/runc ${fmt(s.ratio_ctr_runc)} (${verdict}); ` +
      `ctr/bwrap ${fmt(s.ratio_ctr_bwrap)}; ctr/unshare ${fmt(s.ratio_ctr_unshare)}`,
  );
  for (const r of results) {
    if (!r.firstFailure) continue;
    const f = r.firstFailure;
    const where = r.disabled ? "could not run (left out of the rounds)" : `failed ${r.failures} time(s)`;
    out.push(
      "",
      `FAILED ${r.peer.name}: ${where}; ${describeExit(f)}`,
      `  command: ${r.peer.what}`,
      `  stderr:  ${f.stderr.trim() ? firstLines(f.stderr, 12) : "(empty)"}`,
    );
  }
  out.push("", JSON.stringify({
    ctr_ms: s.ctr_ms,
    runc_ms: s.runc_ms,
    ratio_ctr_runc: s.ratio_ctr_runc,
    bwrap_ms: s.bwrap_ms,
    unshare_ms: s.unshare_ms,
    ctr_default_ms: s.ctr_default_ms,
  }));
  console.log(out.join("\n"));
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  const note = (msg: string) => {
    if (!o.json) console.error(`bench/startup: ${msg}`);
  };
  if (process.getuid?.() !== 0) {
    throw new BenchError("needs root (runc, unshare and ctr create namespaces and mounts)");
  }

  const requirements = [
    { pkg: "runc", present: () => Bun.which("runc") !== null },
    { pkg: "bubblewrap", present: () => Bun.which("bwrap") !== null },
    {
      pkg: "busybox-static",
      present: () => dpkgInstalled("busybox-static") && isStaticElf("/bin/busybox"),
    },
  ];
  const missing = requirements.filter((r) => !r.present()).map((r) => r.pkg);
  if (missing.length) note(`installing ${missing.join(", ")} with apt-get ...`);
  const installed = ensurePackages(requirements);
  if (installed.length) note(`installed ${installed.join(", ")}`);

  const mountsBefore = readMountinfo();
  const cleanup = new Cleanup((sig, problems) => {
    console.error(`bench/startup: interrupted by ${sig}; cleaned up`);
    for (const p of problems) console.error(`bench/startup: warning: ${p}`);
  });

  const work = makeTempDir("ctr-bench-startup-");
  cleanup.add("remove temp dir", () => removeTree(work));
  const root = join(work, "rootfs");
  const runcState = join(work, "runc-state");
  cleanup.add("delete runc containers", () => {
    const problems: string[] = [];
    const ls = run(["runc", "--root", runcState, "list", "-q"]);
    for (const id of ls.ok ? ls.stdout.split("\n").filter(Boolean) : []) {
      const d = run(["runc", "--root", runcState, "delete", "-f", id]);
      if (!d.ok) problems.push(`runc delete -f ${id}: ${d.stderr.trim()}`);
    }
    return problems;
  });

  makeBusyboxRootfs(root);
  const peers = makePeers(work, root, runcState);
  const versions = [
    version(["runc", "--version"]),
    version(["bwrap", "--version"]),
    version(["unshare", "--version"]),
    `kernel ${version(["uname", "-r"])}`,
  ];

  note(`${peers.length} peers, ${o.warmup} warm-up + ${o.rounds} rounds, temp dir ${work}`);
  const results = await measure(peers, o, note);

  const problems = cleanup.run();
  const mountsAfter = readMountinfo();
  const diff = diffLines(mountsBefore, mountsAfter);
  const warnings = [...problems];
  if (diff.added.length || diff.gone.length) {
    warnings.push(
      "/proc/self/mountinfo changed during the benchmark" +
        diff.added.map((l) => `\n    + ${l}`).join("") +
        diff.gone.map((l) => `\n    - ${l}`).join(""),
    );
  }

  const report = buildReport(results, o);
  if (o.json) {
    console.log(
      JSON.stringify({
        ...report.summary,
        warmup: o.warmup,
        versions,
        peers: report.peers,
        failed: report.failed,
        mountinfo_unchanged: diff.added.length === 0 && diff.gone.length === 0,
        warnings,
      }),
    );
  } else {
    printTable(results, report, o, versions);
    for (const w of warnings) console.error(`bench/startup: warning: ${w}`);
  }
  return report.failed.length ? 1 : 0;
}

try {
  process.exitCode = await main();
} catch (e) {
  if (e instanceof BenchError) {
    console.error(`bench/startup: ${e.message}`);
    process.exitCode = e.exitCode;
  } else {
    throw e;
  }
}
