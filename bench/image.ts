#!/usr/bin/env bun
// Image benchmark (issue 14): how long `ctr image import` takes for an archive a
// real tool wrote, and how long a container of that image takes to start with
// `rootfs image`, next to `podman run --rm` of the same image and `runc run` on
// its unpacked bundle, alternating, in one run.
//
//   image:     a busybox root filesystem (bench/lib.ts makeBusyboxRootfs) made an
//              image with `podman import`, written with `podman save` as a
//              docker-archive. podman keeps it in a store of its own
//              (--root/--runroot in the benchmark's temporary directory, vfs).
//   container: new uts, ipc, pid, mount and net namespaces; /proc mounted; /bin/true.
//
// Usage: node_modules/.bin/bun bench/image.ts [--rounds N] [--warmup N] [--imports N] [--json]
//
// Reports the median, p10 and p90 wall time (spawn to exit) of the imports (each
// into a fresh store, removed after) and of each peer's start-up, then the ratios
// of medians ctr/podman and ctr/runc. Everything it makes is under one temporary
// directory, removed at the end (also on an error or a signal); the host's mount
// table is compared before and after. Needs root; installs podman, runc and
// busybox-static from Debian if missing.

import { rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { BenchError, Cleanup, type Stats, describeExit, diffLines, dpkgInstalled, ensurePackages, makeBusyboxRootfs, makeTempDir, readMountinfo, removeTree, round, run, stats, timedRun } from "./lib.ts";

const REPO = resolve(import.meta.dir, "..");
const CTR = join(REPO, "bin", "ctr");
const IMAGE = "localhost/ctr-bench-bb:1";
/**
 * podman asks for 1048576 open files and processes by default, which runc cannot set where
 * the hard limits are lower (here: 20000 files); the benchmark's own open-file limit, and
 * 4096 processes (runc was refused even the inherited process limit on this machine).
 */
const ULIMITS = [run(["bash", "-c", "echo nofile=$(ulimit -Sn):$(ulimit -Hn)"]).stdout.trim(), "nproc=4096:4096"];

interface Options {
  rounds: number;
  warmup: number;
  imports: number;
  json: boolean;
}

const USAGE = `usage: bun bench/image.ts [--rounds N] [--warmup N] [--imports N] [--json]
  --rounds N    timed start-up rounds; each runs every peer once, in rotating order (default 20)
  --warmup N    untimed start-ups of each peer first (default 2)
  --imports N   timed imports, each into a fresh store (default 10)
  --json        print only one line of JSON`;

function parseOptions(argv: readonly string[]): Options {
  const o: Options = { rounds: 20, warmup: 2, imports: 10, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--json") o.json = true;
    else if (a === "-h" || a === "--help") {
      console.log(USAGE);
      process.exit(0);
    } else if (["--rounds", "--warmup", "--imports"].includes(a)) {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < (a === "--warmup" ? 0 : 1)) throw new BenchError(`${a} needs a whole number\n${USAGE}`, 2);
      o[a.slice(2) as "rounds" | "warmup" | "imports"] = n;
    } else throw new BenchError(`unknown argument ${a}\n${USAGE}`, 2);
  }
  return o;
}

/** One checked helper command (not timed). */
function must(argv: string[], env?: Record<string, string | undefined>): string {
  const r = run(argv, { env, timeoutMs: 120_000 });
  if (!r.ok) throw new BenchError(`${argv.slice(0, 6).join(" ")}: ${describeExit(r)}: ${r.stderr.trim().split("\n").slice(-3).join(" / ")}`);
  return r.stdout;
}

interface Peer {
  name: string;
  what: string;
  argv: (i: number) => string[];
  env?: Record<string, string | undefined>;
  after?: (i: number) => void;
}

function main(): void {
  const o = parseOptions(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new BenchError("bench/image.ts needs root (podman's and ctr's stores, runc)");
  ensurePackages([
    { pkg: "podman", present: () => dpkgInstalled("podman") },
    { pkg: "runc", present: () => dpkgInstalled("runc") },
    { pkg: "busybox-static", present: () => dpkgInstalled("busybox-static") },
  ]);
  const mountsBefore = readMountinfo();
  const work = makeTempDir("ctr-bench-image-");
  const podman = ["podman", "--root", join(work, "podman/root"), "--runroot", join(work, "podman/run"), "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "none"];
  const cleanup = new Cleanup((sig) => console.error(`bench/image.ts: ${sig}, cleaned up`));
  cleanup.add("remove the temporary directory", () => removeTree(work));
  cleanup.add("podman's images", () => void run([...podman, "rmi", "-a", "-f"]));
  cleanup.add("podman's containers", () => void run([...podman, "rm", "-a", "-f"]));

  // The image: podman import of a busybox tree, saved by podman.
  const rootfs = join(work, "rootfs");
  makeBusyboxRootfs(rootfs);
  must(["tar", "-C", rootfs, "-cf", join(work, "rootfs.tar"), "."]);
  must([...podman, "import", "--change", 'CMD ["/bin/true"]', join(work, "rootfs.tar"), IMAGE]);
  const archive = join(work, "bb-docker.tar");
  must([...podman, "save", "--format", "docker-archive", "-o", archive, IMAGE]);
  const archiveBytes = statSync(archive).size;

  // Import time: a fresh store each time (the layer is unpacked every time).
  const imports: number[] = [];
  for (let i = 0; i < o.imports; i++) {
    const store = join(work, `import-${i}`);
    const r = timedRun([CTR, "image", "import", archive, "bench:1"], { env: { ...process.env, CTR_STORE: store } });
    if (!r.ok) throw new BenchError(`ctr image import: ${describeExit(r)}: ${r.stderr.trim()}`);
    imports.push(r.ms);
    rmSync(store, { recursive: true, force: true });
  }

  // Start-up: the same image in ctr's store, podman's store, and as a runc bundle.
  const ctrEnv = { ...process.env, CTR_STORE: join(work, "store") };
  must([CTR, "image", "import", archive, "bench:1"], ctrEnv);
  const script = join(work, "image.ctr");
  writeFileSync(script, ["# written by bench/image.ts", "ns uts, ipc, pid, mnt, net", "rootfs image bench:1", "mount proc", "exec /bin/true", ""].join("\n"));
  const bundle = join(work, "bundle");
  must(["mkdir", "-p", join(bundle, "rootfs")]);
  must(["tar", "-C", join(bundle, "rootfs"), "-xf", join(work, "rootfs.tar")]);
  writeFileSync(join(bundle, "config.json"), JSON.stringify({
    ociVersion: "1.0.2",
    process: { terminal: false, user: { uid: 0, gid: 0 }, args: ["/bin/true"], env: ["PATH=/bin"], cwd: "/", noNewPrivileges: true },
    root: { path: "rootfs", readonly: false },
    mounts: [{ destination: "/proc", type: "proc", source: "proc" }],
    linux: { namespaces: ["uts", "ipc", "pid", "mount", "network"].map((type) => ({ type })) },
  }));
  const runcState = join(work, "runc");
  const runcId = (i: number) => `ctr-bench-image-${process.pid}-${i}`;
  const peers: Peer[] = [
    { name: "ctr", what: `bin/ctr ${script} (rootfs image bench:1)`, argv: () => [CTR, script], env: ctrEnv },
    { name: "podman", what: `podman run --rm --network none ${ULIMITS.map((u) => `--ulimit ${u}`).join(" ")} ${IMAGE} /bin/true`, argv: () => [...podman, "run", "--rm", "--network", "none", ...ULIMITS.flatMap((u) => ["--ulimit", u]), IMAGE, "/bin/true"] },
    { name: "runc", what: `runc --root STATE run --bundle ${bundle} ID`, argv: (i) => ["runc", "--root", runcState, "run", "--bundle", bundle, runcId(i)], after: (i) => void run(["runc", "--root", runcState, "delete", "-f", runcId(i)]) },
  ];
  cleanup.add("runc's containers", () => {
    const ids = run(["runc", "--root", runcState, "list", "-q"]).stdout.split("\n").filter(Boolean);
    for (const id of ids) run(["runc", "--root", runcState, "delete", "-f", id]);
  });

  const samples = new Map<string, number[]>(peers.map((p) => [p.name, []]));
  let n = 0;
  const once = (p: Peer, timed: boolean) => {
    const i = n++;
    const r = timedRun(p.argv(i), { env: p.env, timeoutMs: 60_000 });
    if (!r.ok) {
      p.after?.(i);
      throw new BenchError(`${p.name} failed (${describeExit(r)}): ${r.stderr.trim().split("\n").slice(-3).join(" / ")}`);
    }
    if (timed) samples.get(p.name)!.push(r.ms);
  };
  for (let w = 0; w < o.warmup; w++) for (const p of peers) once(p, false);
  for (let round = 0; round < o.rounds; round++) for (let k = 0; k < peers.length; k++) once(peers[(round + k) % peers.length]!, true);

  const problems = cleanup.run();
  const mounts = diffLines(mountsBefore, readMountinfo());
  const s = (xs: number[]): Stats => stats(xs);
  const med = (name: string) => s(samples.get(name)!).median;
  const result = {
    archive: { format: "docker-archive", bytes: archiveBytes },
    import: summary(s(imports)),
    startup: Object.fromEntries(peers.map((p) => [p.name, { what: p.what, ...summary(s(samples.get(p.name)!)) }])),
    ratios: { "ctr/podman": round(med("ctr") / med("podman")), "ctr/runc": round(med("ctr") / med("runc")) },
    rounds: o.rounds,
    mountsChanged: mounts.gone.length + mounts.added.length,
    cleanupProblems: problems,
  };
  if (o.json) {
    console.log(JSON.stringify(result));
  } else {
    const line = (name: string, x: ReturnType<typeof summary>) => `${name.padEnd(16)} ${String(x.median).padStart(8)} ${String(x.p10).padStart(8)} ${String(x.p90).padStart(8)}   n=${x.n}`;
    console.log(`image: ${IMAGE}, podman save docker-archive, ${(result.archive.bytes / 1024 / 1024).toFixed(1)} MiB`);
    console.log(`${"ms".padEnd(16)} ${"median".padStart(8)} ${"p10".padStart(8)} ${"p90".padStart(8)}`);
    console.log(line("ctr image import", result.import));
    for (const p of peers) console.log(line(p.name, result.startup[p.name]!));
    console.log(`ratios of medians: ctr/podman ${result.ratios["ctr/podman"]}, ctr/runc ${result.ratios["ctr/runc"]}`);
    console.log(`host mount table ${result.mountsChanged === 0 ? "unchanged" : `changed (${result.mountsChanged} lines)`}; cleanup ${problems.length ? problems.join("; ") : "complete"}`);
    console.log(JSON.stringify(result));
  }
  if (problems.length || result.mountsChanged) process.exitCode = 1;
}

function summary(x: Stats): { n: number; median: number | null; p10: number | null; p90: number | null } {
  return { n: x.n, median: round(x.median, 1), p10: round(x.p10, 1), p90: round(x.p90, 1) };
}

try {
  main();
} catch (e) {
  if (e instanceof BenchError) {
    console.error(`bench/image.ts: ${e.message}`);
    process.exit(e.exitCode);
  }
  throw e;
}
