#!/usr/bin/env bun
// Container start-up benchmark (issue 3): the same minimal container, started by
// ctr, `runc run`, bwrap and unshare, alternating, in one run.
//
//   container: new uts, ipc, pid, mount and net namespaces; a busybox root
//              filesystem; /proc mounted; the command /bin/true.
//
// Usage: node_modules/.bin/bun bench/startup.ts [--rounds N] [--warmup N]
//                                               [--memory N] [--timeout MS] [--json]
//                                               [--scale N] [--scale-rounds N]
//
// Reports per peer: median, p10 and p90 wall time (spawn to exit, reaped); the
// median CPU time (user + system of the whole process tree: wait4's rusage, which
// holds every descendant its parent waited for); and the median peak memory of the
// largest process of the tree (ru_maxrss, from extra runs under GNU time, which
// forks: Bun starts children with vfork, so their own ru_maxrss would include
// Bun's memory). Then the ratios of medians ctr/runc, ctr/bwrap and ctr/unshare.
// The benchmark is its processes' subreaper: a descendant orphaned before it ends
// comes back to it, is reaped and counted ("escaped"), since its CPU time is in no
// rusage; every peer should show 0. A second ctr variant with `rootfs default` is
// reported on its own line and is not part of the ratios. So is the sandbox pair:
// ctr with `import "std/docker"`, `docker_security` and `docker_fs` (the 14
// capabilities, no_new_privs, Docker's seccomp profile, the device policy, runc's
// masked and read-only paths; /proc, /sys, /dev, devpts, shm, mqueue, /tmp, /run)
// against `runc run` with the config.json of `runc spec` (its 3 capabilities,
// no_new_privs, the same masked and read-only paths, device policy and mounts, a
// read-only root; no seccomp profile), with their own ratio.
// Needs root; installs runc, bubblewrap, busybox-static and time from Debian if missing.

import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { setChildSubreaper } from "../native/caps.ts";
import { waitpid } from "../native/proc.ts";
import { join, resolve } from "node:path";
import {
  BenchError,
  Cleanup,
  parseFlags,
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
import { measureScale, sampleStages, scaleMedians } from "./scale.ts";

const REPO = resolve(import.meta.dir, "..");
const CTR = join(REPO, "bin", "ctr");
const NAMESPACES = "uts, ipc, pid, mnt, net";

// ---------------------------------------------------------------- options

type Options = {
  rounds: number;
  warmup: number;
  memory: number;
  timeoutMs: number;
  json: boolean;
  scale: number;
  scaleRounds: number;
};

const USAGE = `usage: bun bench/startup.ts [--rounds N] [--warmup N] [--memory N] [--timeout MS] [--json] [--scale N] [--scale-rounds N]
  --rounds N     timed rounds; each runs every peer once, in rotating order (default 30)
  --warmup N     untimed runs of each peer first (default 3)
  --memory N     runs of each peer under GNU time for the peak memory (default 5)
  --timeout MS   a run taking longer is killed and counted as failed (default 30000)
  --json         print only one line of JSON
  --scale N      containers started at once, ctr against runc, after the rounds (default 20; 0: none)
  --scale-rounds N  rounds of those, alternating (default 5)`;

function parseOptions(argv: readonly string[]): Options {
  return parseFlags<Options>(
    argv,
    { rounds: 30, warmup: 3, memory: 5, timeoutMs: 30_000, json: false, scale: 20, scaleRounds: 5 },
    {
      "--rounds": { key: "rounds", min: 1 },
      "--warmup": { key: "warmup", min: 0 },
      "--memory": { key: "memory", min: 0 },
      "--timeout": { key: "timeoutMs", min: 100 },
      "--scale": { key: "scale", min: 0 },
      "--scale-rounds": { key: "scaleRounds", min: 1 },
    },
    { "--json": "json" },
    USAGE,
  );
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
  /** CPU time of each timed run that succeeded, ms. */
  cpu: number[];
  /** Peak RSS of the largest process, KiB, of each memory run. */
  rss: number[];
  /** Descendants that ended orphaned (their CPU time is in no rusage), over all runs. */
  escaped: number;
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

/** The sandbox pair's ctr script: Docker's defaults (stdlib/docker.ctr) on the busybox root. */
function ctrDockerScript(rootfs: string): string {
  return [
    "# written by bench/startup.ts: the sandbox of the start-up benchmark",
    'import "std/docker"',
    `ns ${NAMESPACES}`,
    "docker_security",
    `docker_fs ${rootfs}`,
    "exec /bin/true",
    "",
  ].join("\n");
}

/** runc's own default config.json (`runc spec`), with /bin/true, no terminal and the shared root. */
function writeRuncSpecBundle(bundle: string, root: string): void {
  run(["mkdir", "-p", bundle]);
  const spec = run(["runc", "spec", "--bundle", bundle]);
  if (!spec.ok) throw new BenchError(`runc spec: ${spec.stderr.trim()}`);
  const config = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
  config.process.terminal = false;
  config.process.args = ["/bin/true"];
  config.root.path = root;
  writeFileSync(join(bundle, "config.json"), JSON.stringify(config, null, 2) + "\n");
}

/** The unprivileged user of the rootless pair. */
const ROOTLESS_UID = 65534;

/**
 * The rootless pair (issue 17: "keep the rootless path as fast as its design
 * allows and report it"): ctr with `ns user` and runc with `runc spec
 * --rootless`'s config.json, both run as uid/gid 65534 through setpriv with a
 * minimal environment of their own. Their root is a copy of the busybox tree
 * owned by that user (runc, rootless, bind-mounts the host's /dev nodes onto
 * files it creates in the root's /dev).
 */
function rootlessPeers(work: string, root: string): Peer[] {
  const u = ROOTLESS_UID;
  const dir = join(work, "rootless");
  const rlRoot = join(dir, "rootfs");
  run(["mkdir", "-p", rlRoot, join(dir, "home"), join(dir, "run"), join(dir, "runc-state")]);
  run(["cp", "-a", `${root}/.`, rlRoot]);
  chmodSync(work, 0o755);
  chmodSync(join(dir, "run"), 0o700);
  run(["chown", "-R", `${u}:${u}`, rlRoot, join(dir, "home"), join(dir, "run"), join(dir, "runc-state")]);
  const file = join(dir, "rootless.ctr");
  writeFileSync(file, ctrScript(rlRoot).replace(`ns ${NAMESPACES}`, `ns user, ${NAMESPACES}`));
  const bundle = join(dir, "bundle");
  run(["mkdir", "-p", bundle]);
  const spec = run(["runc", "spec", "--rootless", "--bundle", bundle]);
  if (!spec.ok) throw new BenchError(`runc spec --rootless: ${spec.stderr.trim()}`);
  const config = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
  Object.assign(config.process, { terminal: false, args: ["/bin/true"] });
  config.root = { path: rlRoot, readonly: false };
  // The same container as ctr's: its namespaces, /proc the only mount; the maps name the user.
  config.mounts = [{ destination: "/proc", type: "proc", source: "proc" }];
  config.linux.namespaces = ["user", "uts", "ipc", "pid", "mount", "network"].map((type) => ({ type }));
  for (const m of [...config.linux.uidMappings, ...config.linux.gidMappings]) m.hostID = u;
  writeFileSync(join(bundle, "config.json"), JSON.stringify(config, null, 2) + "\n");
  const asUser = (argv: string[]) => ["env", "-i", "PATH=/usr/bin:/bin", `HOME=${dir}/home`, `XDG_RUNTIME_DIR=${dir}/run`, "setpriv", `--reuid=${u}`, `--regid=${u}`, "--clear-groups", ...argv];
  const id = (i: number) => `ctr-bench-rl-${process.pid}-${i}`;
  const state = join(dir, "runc-state");
  return [
    { name: "ctr (rootless)", what: `setpriv --reuid=${u} bin/ctr ${file} (ns user)`, inRatio: false, argv: () => asUser([CTR, file]) },
    {
      name: "runc (rootless)",
      what: `setpriv --reuid=${u} runc --root STATE run --bundle ${bundle} ID (runc spec --rootless)`,
      inRatio: false,
      argv: (i) => asUser(["runc", "--root", state, "run", "--bundle", bundle, id(i)]),
      afterFailure: (i) => void run(asUser(["runc", "--root", state, "delete", "-f", id(i)])),
    },
  ];
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
  const runcPeer = (name: string, dir: string, inRatio: boolean): Peer => ({
    name,
    what: `runc --root STATE run --bundle ${dir} ID`,
    inRatio,
    argv: (i) => ["runc", "--root", runcState, "run", "--bundle", dir, runcId(i)],
    afterFailure: (i) => {
      run(["runc", "--root", runcState, "delete", "-f", runcId(i)]);
    },
  });
  const ctrDockerFile = join(work, "startup-docker.ctr");
  writeFileSync(ctrDockerFile, ctrDockerScript(root));
  const specBundle = join(work, "bundle-spec");
  writeRuncSpecBundle(specBundle, root);
  return [
    {
      name: "ctr",
      what: `bin/ctr ${ctrFile}`,
      inRatio: true,
      argv: () => [CTR, ctrFile],
    },
    runcPeer("runc", bundle, true),
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
    {
      name: "ctr docker_security",
      what: `bin/ctr ${ctrDockerFile}`,
      inRatio: false,
      argv: () => [CTR, ctrDockerFile],
    },
    runcPeer("runc (runc spec)", specBundle, false),
    ...rootlessPeers(work, root),
  ];
}

// ---------------------------------------------------------------- measuring

/**
 * Reaps the orphans handed to this process (a subreaper) and returns how many.
 * Children left once a run is reaped are its descendants that outlived their parent.
 */
function reapOrphans(): number {
  let n = 0;
  for (const tid of readdirSync("/proc/self/task")) {
    let text = "";
    try {
      text = readFileSync(`/proc/self/task/${tid}/children`, "utf8");
    } catch {
      continue; // the thread ended
    }
    for (const pid of text.split(" ").filter(Boolean).map(Number)) {
      waitpid(pid, 0);
      n++;
    }
  }
  return n;
}

/** The peak RSS (KiB) of the largest process of one run, from GNU time's %M; null if it failed. */
function peakRss(argv: string[], work: string, o: Options): number | null {
  const out = join(work, "time.out");
  const r = timedRun(["/usr/bin/time", "-f", "%M", "-o", out, ...argv], { timeoutMs: o.timeoutMs });
  let kib: number | null = null;
  try {
    const n = Number(readFileSync(out, "utf8").trim().split("\n").pop());
    if (r.ok && Number.isFinite(n)) kib = n;
  } catch {
    // no output: the run did not start
  }
  rmSync(out, { force: true });
  return kib;
}

/** Lets the event loop run (signal handlers, e.g. Ctrl-C) between two timed runs. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

async function measure(
  peers: Peer[],
  o: Options,
  work: string,
  progress: (msg: string) => void,
): Promise<PeerResult[]> {
  const results = peers.map(
    (peer): PeerResult => ({ peer, samples: [], cpu: [], rss: [], escaped: 0, runs: 0, failures: 0, disabled: false }),
  );
  let seq = 0;
  const once = async (r: PeerResult): Promise<RunResult> => {
    await tick();
    const i = seq++;
    const res = timedRun(r.peer.argv(i), { timeoutMs: o.timeoutMs });
    r.escaped += reapOrphans();
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
      if (res.ok) {
        r.samples.push(res.ms);
        if (res.cpuMs !== null) r.cpu.push(res.cpuMs);
      }
    }
    if ((round + 1) % 10 === 0 || round + 1 === o.rounds) {
      progress(`round ${round + 1}/${o.rounds}`);
    }
  }
  // Memory, after the timed rounds (GNU time's fork and exec are not in the wall times).
  for (let m = 0; m < o.memory; m++) {
    for (let k = 0; k < live.length; k++) {
      const r = live[(m + k) % live.length]!;
      await tick();
      const i = seq++;
      const kib = peakRss(r.peer.argv(i), work, o);
      r.escaped += reapOrphans();
      if (kib !== null) r.rss.push(kib);
      else r.peer.afterFailure?.(i);
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

/** The median of samples, NaN when there are none. */
function medianOf(xs: readonly number[]): number {
  return xs.length ? stats(xs).median : Number.NaN;
}

function buildReport(results: PeerResult[], o: Options): Report {
  const st = new Map<string, Stats>();
  for (const r of results) if (r.samples.length) st.set(r.peer.name, stats(r.samples));
  const median = (name: string): number | null => round(st.get(name)?.median ?? Number.NaN, 3);
  const ratio = (a: string, b: string): number | null =>
    round((st.get(a)?.median ?? Number.NaN) / (st.get(b)?.median ?? Number.NaN), 3);
  const byName = new Map(results.map((r) => [r.peer.name, r]));
  const cpu = (name: string): number => medianOf(byName.get(name)?.cpu ?? []);
  const rss = (name: string): number => medianOf(byName.get(name)?.rss ?? []);
  const summary: Record<string, number | null> = {
    ctr_ms: median("ctr"),
    runc_ms: median("runc"),
    ratio_ctr_runc: ratio("ctr", "runc"),
    bwrap_ms: median("bwrap"),
    unshare_ms: median("unshare"),
    ratio_ctr_bwrap: ratio("ctr", "bwrap"),
    ratio_ctr_unshare: ratio("ctr", "unshare"),
    ctr_default_ms: median("ctr (default)"),
    ctr_docker_ms: median("ctr docker_security"),
    runc_spec_ms: median("runc (runc spec)"),
    ratio_docker_runc_spec: ratio("ctr docker_security", "runc (runc spec)"),
    ctr_rootless_ms: median("ctr (rootless)"),
    runc_rootless_ms: median("runc (rootless)"),
    ratio_rootless: ratio("ctr (rootless)", "runc (rootless)"),
    ctr_cpu_ms: round(cpu("ctr"), 3),
    runc_cpu_ms: round(cpu("runc"), 3),
    ratio_cpu_ctr_runc: round(cpu("ctr") / cpu("runc"), 3),
    ctr_rss_kib: round(rss("ctr"), 0),
    runc_rss_kib: round(rss("runc"), 0),
    ratio_rss_ctr_runc: round(rss("ctr") / rss("runc"), 3),
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
      cpu_ms: round(medianOf(r.cpu), 3),
      peak_rss_kib: round(medianOf(r.rss), 0),
      escaped: r.escaped,
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
    `wall time from spawn to exit (reaped), ms; CPU: user + system of the process tree, ms (median);`,
    `peak: RSS of the largest process, MiB (median of ${o.memory} runs under GNU time); escaped: orphaned descendants`,
    versions.join("; "),
    "",
  );
  const head = ["peer", "runs", "median", "p10", "p90", "min", "max", "CPU", "peak", "escaped"];
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
      fmt(medianOf(r.cpu)),
      fmt(medianOf(r.rss) / 1024, 1),
      String(r.escaped),
    ];
  });
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const line = (cells: string[]) =>
    cells.map((x, c) => (c === 0 ? x.padEnd(widths[c]!) : x.padStart(widths[c]!))).join("  ");
  out.push(line(head), ...rows.map(line));
  out.push("* not part of the ratios above: rootfs default instead of the busybox rootfs; the sandbox pair (docker_security, runc spec) and the rootless pair have their own", "");

  const s = report.summary;
  const verdict =
    s.ratio_ctr_runc === null
      ? "not measured"
      : s.ratio_ctr_runc <= 1
        ? "target ctr/runc <= 1.0 met"
        : "target ctr/runc <= 1.0 NOT met";
  const cpuVerdict =
    s.ratio_cpu_ctr_runc === null
      ? "not measured"
      : s.ratio_cpu_ctr_runc <= 1.5
        ? "target <= 1.5 met"
        : "target <= 1.5 NOT met";
  out.push(
    `ratio of medians: ctr/runc ${fmt(s.ratio_ctr_runc)} (${verdict}); ` +
      `ctr/bwrap ${fmt(s.ratio_ctr_bwrap)}; ctr/unshare ${fmt(s.ratio_ctr_unshare)}`,
    `CPU ctr/runc ${fmt(s.ratio_cpu_ctr_runc)} (${cpuVerdict}); peak memory ctr/runc ${fmt(s.ratio_rss_ctr_runc)}`,
    `sandbox: ctr docker_security / runc with runc spec's config.json ${fmt(s.ratio_docker_runc_spec)} (ctr's adds Docker's seccomp profile, which runc spec has not)`,
    `rootless (uid ${ROOTLESS_UID}, a user namespace): ctr / runc ${fmt(s.ratio_rootless)}`,
  );
  const escaped = results.filter((r) => r.escaped > 0);
  if (escaped.length) {
    out.push(`note: ${escaped.map((r) => `${r.peer.name} ${r.escaped}`).join(", ")} descendant(s) ended orphaned: their CPU time is not counted`);
  }
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
    ctr_docker_ms: s.ctr_docker_ms,
    runc_spec_ms: s.runc_spec_ms,
    ratio_docker_runc_spec: s.ratio_docker_runc_spec,
    ratio_rootless: s.ratio_rootless,
    ctr_cpu_ms: s.ctr_cpu_ms,
    runc_cpu_ms: s.runc_cpu_ms,
    ratio_cpu_ctr_runc: s.ratio_cpu_ctr_runc,
    ctr_rss_kib: s.ctr_rss_kib,
    runc_rss_kib: s.runc_rss_kib,
  }));
  console.log(out.join("\n"));
}

// ---------------------------------------------------------------- scale and stages (bench/scale.ts)

/** A script that keeps every ctr process alive for a moment: the minimal container with a `run /bin/sleep 1` first. */
function ctrStagesScript(rootfs: string): string {
  return ctrScript(rootfs).replace("exec /bin/true", "run /bin/sleep 1\nexec /bin/true");
}

async function measureExtra(peers: Peer[], o: Options, work: string, root: string, progress: (msg: string) => void): Promise<{ lines: string[]; json: Record<string, unknown> }> {
  const lines: string[] = [];
  const json: Record<string, unknown> = {};
  const ctr = peers.find((p) => p.name === "ctr")!;
  const runc = peers.find((p) => p.name === "runc")!;
  if (o.scale > 0) {
    progress(`scale: ${o.scale} containers at once, ${o.scaleRounds} round(s) per peer`);
    // Container ids of their own range (the rounds used 0..seq).
    const id = (r: number, i: number) => 1_000_000 + r * o.scale + i;
    const res = await measureScale(
      [
        { name: "ctr", argv: (r, i) => ctr.argv(id(r, i)) },
        { name: "runc", argv: (r, i) => runc.argv(id(r, i)), after: (r, n) => { for (let i = 0; i < n; i++) runc.afterFailure?.(id(r, i)); } },
      ],
      o.scale,
      o.scaleRounds,
      o.timeoutMs,
    );
    const [c, u] = res.map(scaleMedians) as [ReturnType<typeof scaleMedians>, ReturnType<typeof scaleMedians>];
    lines.push(
      "",
      `scale: ${o.scale} containers started at once, ${o.scaleRounds} round(s) each, alternating (medians of the rounds without a failure)`,
      `  ctr   wall ${fmt(c.wallMs)} ms, CPU ${fmt(c.cpuMs)} ms (${c.ok}/${o.scaleRounds} rounds)`,
      `  runc  wall ${fmt(u.wallMs)} ms, CPU ${fmt(u.cpuMs)} ms (${u.ok}/${o.scaleRounds} rounds)`,
      `  ctr/runc wall ${fmt(c.wallMs / u.wallMs)}, CPU ${fmt(c.cpuMs / u.cpuMs)}`,
      ...res.filter((r) => r.firstError !== undefined).map((r) => `  FAILED ${r.name}: ${firstLines(r.firstError!, 6)}`),
    );
    json.scale = { n: o.scale, rounds: o.scaleRounds, ctr_wall_ms: round(c.wallMs, 3), ctr_cpu_ms: round(c.cpuMs, 3), runc_wall_ms: round(u.wallMs, 3), runc_cpu_ms: round(u.cpuMs, 3), ratio_wall: round(c.wallMs / u.wallMs, 3), ratio_cpu: round(c.cpuMs / u.cpuMs, 3) };
  }
  if (o.memory > 0) {
    const file = join(work, "startup-stages.ctr");
    writeFileSync(file, ctrStagesScript(root));
    const byRole = new Map<string, number[]>();
    let failed = "";
    for (let m = 0; m < o.memory; m++) {
      const r = await sampleStages([CTR, file], o.timeoutMs);
      if (!r.ok) {
        failed ||= r.stderr.trim();
        continue;
      }
      const peak = new Map<string, number>();
      for (const s of r.stages) peak.set(s.role, Math.max(peak.get(s.role) ?? 0, s.hwmKiB));
      for (const [role, kib] of peak) byRole.set(role, [...(byRole.get(role) ?? []), kib]);
    }
    const rows = [...byRole].map(([role, xs]) => ({ role, kib: medianOf(xs), runs: xs.length }));
    lines.push(
      "",
      `ctr's processes while a container runs (its \`run /bin/sleep 1\`): peak RSS (VmHWM) of each, MiB, median of ${o.memory} run(s)`,
      ...rows.map((r) => `  ${r.role.padEnd(12)} ${fmt(r.kib / 1024, 1)}  (${r.runs} run(s))`),
      ...(failed ? [`  FAILED: ${firstLines(failed, 6)}`] : []),
    );
    json.stages = Object.fromEntries(rows.map((r) => [r.role, round(r.kib, 0)]));
  }
  return { lines, json };
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
    { pkg: "time", present: () => dpkgInstalled("time") },
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
  // Orphaned descendants come back here, so that they are counted (reapOrphans).
  setChildSubreaper(true);
  const results = await measure(peers, o, work, note);
  const extra = await measureExtra(peers, o, work, root, note);

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
        scale: extra.json.scale,
        stages: extra.json.stages,
        mountinfo_unchanged: diff.added.length === 0 && diff.gone.length === 0,
        warnings,
      }),
    );
  } else {
    printTable(results, report, o, versions);
    console.log(extra.lines.join("\n"));
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
