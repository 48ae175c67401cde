// Issue 18's benchmark, the part that runs here (as root): ctr as an OCI
// runtime against runc, on one bundle (`ctr spec`'s config, a busybox root,
// the command /bin/true), the two alternating, N rounds; medians and the
// ratio ctr/runc of
//   1. `run --bundle B ID`: create, start, wait for the exit, delete, in one call;
//   2. `create` alone (PID 1 waiting, command not executed), then `start`
//      alone, then `delete` once it stopped.
//   3. with podman installed: `podman run --rm IMAGE /bin/true` with ctr as its
//      runtime against runc (and crun if installed), alternating, its storage
//      and run root in the temporary directory, a busybox image imported from
//      the same rootfs, --network none (no network set-up of podman's in the
//      figure).
//   4. with containerd installed: `ctr run --rm --runc-binary BIN IMAGE ID
//      /bin/true` (containerd's client, /usr/bin/ctr: not ours) against runc,
//      alternating, with a containerd of the bench's own (config, root, state,
//      socket in the temporary directory; stopped at the end by its PID), the
//      image an OCI archive of the same rootfs.
// Usage: node_modules/.bin/bun bench/oci.ts [--rounds N] [--podman-rounds N] [--json]
// Everything it starts is removed at the end (delete --force, the temporary directory).

import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { BenchError, makeBusyboxRootfs, makeTempDir, round, run, stats, timedRun } from "./lib.ts";

const REPO = resolve(import.meta.dir, "..");
const CTR = join(REPO, "bin", "ctr");
const args = process.argv.slice(2);
const ROUNDS = Number(args[args.indexOf("--rounds") + 1] ?? 0) || 20;
const JSON_OUT = args.includes("--json");
const PODMAN_ROUNDS = args.includes("--podman-rounds") ? Number(args[args.indexOf("--podman-rounds") + 1]) : 10;

if (process.getuid?.() !== 0) throw new BenchError("bench/oci.ts needs root (runc and ctr run containers as root)");
if (!Bun.which("runc")) throw new BenchError("runc is not installed (apt-get install runc)");

const work = makeTempDir("ctr-bench-oci-");
const bundle = join(work, "bundle");
const rootfs = join(bundle, "rootfs");
run(["mkdir", "-p", rootfs]);
makeBusyboxRootfs(rootfs);
const roots = { ctr: join(work, "ctr-root"), runc: join(work, "runc-root") };
const peers = { ctr: [CTR], runc: ["runc"] } as const;
type Peer = keyof typeof peers;
const live: [Peer, string][] = [];

function cleanup(): void {
  for (const [peer, id] of live.splice(0)) run([...peers[peer], "--root", roots[peer], "delete", "--force", id]);
  rmSync(work, { recursive: true, force: true });
}
process.on("exit", cleanup);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => process.exit(130));

if (!run([CTR, "spec", "--bundle", bundle]).ok) throw new BenchError("ctr spec failed");
const cfg = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
cfg.process.args = ["/bin/true"];
writeFileSync(join(bundle, "config.json"), JSON.stringify(cfg, null, 2));

/** An OCI image layout archive of one uncompressed layer (tar made with the system's tar, so no library is needed). */
async function ociArchiveOf(file: string, layer: Buffer, name: string): Promise<string> {
  const dir = join(work, "oci-layout");
  mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
  const blob = (b: Buffer, mediaType: string) => {
    const hex = createHash("sha256").update(b).digest("hex");
    writeFileSync(join(dir, "blobs", "sha256", hex), b);
    return { mediaType, digest: `sha256:${hex}`, size: b.length };
  };
  const diffId = `sha256:${createHash("sha256").update(layer).digest("hex")}`;
  const config = blob(Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: [diffId] } })), "application/vnd.oci.image.config.v1+json");
  const manifest = blob(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config, layers: [blob(layer, "application/vnd.oci.image.layer.v1.tar")] })), "application/vnd.oci.image.manifest.v1+json");
  writeFileSync(join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ ...manifest, annotations: { "org.opencontainers.image.ref.name": name } }] }));
  if (!run(["tar", "-C", dir, "-cf", file, "."]).ok) throw new BenchError("tar of the OCI layout failed");
  return file;
}

function oci(peer: Peer, verb: string[]): ReturnType<typeof timedRun> {
  return timedRun([...peers[peer], "--root", roots[peer], ...verb]);
}

/**
 * `create`, timed: its standard streams go to a file, not a pipe, since the
 * container's supervisor keeps them (the container's process inherits them,
 * as under runc without a terminal): a pipe would not see EOF until the end.
 */
function createRun(peer: Peer, id: string): ReturnType<typeof timedRun> {
  const file = join(work, "create.out");
  const fd = openSync(file, "w");
  const t0 = performance.now();
  try {
    const p = Bun.spawnSync([...peers[peer], "--root", roots[peer], "create", "--bundle", bundle, id], { stdio: ["ignore", fd, fd] });
    const ms = performance.now() - t0;
    return { ok: p.exitCode === 0, ms, exitCode: p.exitCode, signal: null, timedOut: false, stdout: "", stderr: readFileSync(file, "utf8"), cpuMs: null };
  } finally {
    closeSync(fd);
  }
}

function must(r: ReturnType<typeof timedRun>, what: string): number {
  if (!r.ok) throw new BenchError(`${what} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
  return r.ms;
}

async function stopped(peer: Peer, id: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const s = oci(peer, ["state", id]);
    if (s.ok && JSON.parse(s.stdout).status === "stopped") return;
    await Bun.sleep(2);
  }
  throw new BenchError(`${peer}: ${id} did not stop`);
}

const times: Record<Peer, Record<"run" | "create" | "start" | "delete", number[]>> = {
  ctr: { run: [], create: [], start: [], delete: [] },
  runc: { run: [], create: [], start: [], delete: [] },
};
let n = 0;
for (let round_ = -2; round_ < ROUNDS; round_++) {
  // Two untimed rounds first; then each round alternates which peer goes first.
  const order: Peer[] = round_ % 2 === 0 ? ["ctr", "runc"] : ["runc", "ctr"];
  for (const peer of order) {
    const id = `b${process.pid}-${n++}`;
    const runMs = must(oci(peer, ["run", "--bundle", bundle, id]), `${peer} run`); // run waits for the end: a pipe is fine
    const id2 = `b${process.pid}-${n++}`;
    live.push([peer, id2]);
    const createMs = must(createRun(peer, id2), `${peer} create`);
    const startMs = must(oci(peer, ["start", id2]), `${peer} start`);
    await stopped(peer, id2);
    const deleteMs = must(oci(peer, ["delete", id2]), `${peer} delete`);
    live.pop();
    if (round_ < 0) continue;
    const t = times[peer];
    t.run.push(runMs);
    t.create.push(createMs);
    t.start.push(startMs);
    t.delete.push(deleteMs);
  }
}

// 3. podman run --rm, one runtime after the other in each round.
const podmanBin = Bun.which("podman");
const podmanRuntimes: [string, string][] = [["ctr", CTR], ...(["runc", "crun"].flatMap((r) => (Bun.which(r) ? [[r, Bun.which(r)!] as [string, string]] : [])))];
const podmanTimes = new Map<string, number[]>(podmanRuntimes.map(([name]) => [name, []]));
if (podmanBin && PODMAN_ROUNDS > 0) {
  const pod = [podmanBin, "--root", join(work, "podman-storage"), "--runroot", join(work, "podman-run"), "--tmpdir", join(work, "podman-tmp"), "--cgroup-manager", "cgroupfs", "--events-backend", "file"];
  const tar = join(work, "bb.tar");
  if (!run(["tar", "-C", rootfs, "-cf", tar, "."]).ok) throw new BenchError("tar of the busybox rootfs failed");
  if (!run([...pod, "import", tar, "localhost/ctr-bench-bb"]).ok) throw new BenchError("podman import failed");
  try {
    for (let r = -1; r < PODMAN_ROUNDS; r++) {
      const order = r % 2 === 0 ? podmanRuntimes : [...podmanRuntimes].reverse();
      for (const [name, bin] of order) {
        const ms = must(timedRun([...pod, "--runtime", bin, "run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "localhost/ctr-bench-bb", "/bin/true"]), `podman --runtime ${name} run`);
        if (r >= 0) podmanTimes.get(name)!.push(ms);
      }
    }
  } finally {
    run([...pod, "rmi", "--all", "--force"]);
    // The overlay driver's bind of its own directory, in our temporary storage.
    run(["umount", join(work, "podman-storage", "overlay")]);
  }
}

// 4. containerd, its own daemon for the bench.
const containerdBin = Bun.which("containerd");
const cdClient = ["/usr/bin/ctr", "/usr/local/bin/ctr"].find((p) => run([p, "--version"]).stdout.includes("containerd"));
const cdRuntimes: [string, string][] = [["ctr", CTR], ...(Bun.which("runc") ? [["runc", Bun.which("runc")!] as [string, string]] : [])];
const cdTimes = new Map<string, number[]>(cdRuntimes.map(([name]) => [name, []]));
const runDirExisted = existsSync("/run/containerd");
if (containerdBin && cdClient && PODMAN_ROUNDS > 0) {
  const cdDir = join(work, "containerd");
  mkdirSync(cdDir);
  writeFileSync(join(cdDir, "config.toml"), [`version = 2`, `root = "${cdDir}/root"`, `state = "${cdDir}/state"`, `disabled_plugins = ["io.containerd.grpc.v1.cri"]`, `[grpc]`, `  address = "${cdDir}/sock"`, `[ttrpc]`, `  address = "${cdDir}/sock.ttrpc"`, ""].join("\n"));
  const daemon = Bun.spawn({ cmd: [containerdBin, "--config", join(cdDir, "config.toml")], stdout: "ignore", stderr: "ignore" });
  const cd = [cdClient, "--address", join(cdDir, "sock"), "--namespace", "ctrbench"];
  // containerd puts a namespace's containers under /NAMESPACE in every hierarchy, and no runtime removes that parent.
  const nsParents = readdirSync("/sys/fs/cgroup").map((h) => join("/sys/fs/cgroup", h, "ctrbench")).filter((d) => !existsSync(d));
  try {
    for (let i = 0; !run([...cd, "version"]).ok; i++) {
      if (i > 200) throw new BenchError("containerd did not come up");
      await Bun.sleep(50);
    }
    const layer = join(work, "layer.tar");
    if (!run(["tar", "-C", rootfs, "-cf", layer, "."]).ok) throw new BenchError("tar of the busybox rootfs failed");
    const archive = await ociArchiveOf(join(work, "bb-oci.tar"), readFileSync(layer), "localhost/ctr-bench-bb:latest");
    if (!run([...cd, "image", "import", archive]).ok) throw new BenchError("ctr image import failed");
    let k = 0;
    for (let r = -1; r < PODMAN_ROUNDS; r++) {
      const order = r % 2 === 0 ? cdRuntimes : [...cdRuntimes].reverse();
      for (const [name, bin] of order) {
        const ms = must(timedRun([...cd, "run", "--rm", "--runc-binary", bin, "localhost/ctr-bench-bb:latest", `b${k++}`, "/bin/true"]), `containerd --runc-binary ${name} run`);
        if (r >= 0) cdTimes.get(name)!.push(ms);
      }
    }
    run([...cd, "image", "rm", "localhost/ctr-bench-bb:latest"]);
  } finally {
    daemon.kill("SIGTERM");
    await daemon.exited;
    // The shim's run directory (sockets, fifos, the OCI root it names), when the bench made it.
    if (!runDirExisted) rmSync("/run/containerd", { recursive: true, force: true });
    for (const d of nsParents) {
      try {
        rmdirSync(d); // empty once the containers are gone; a cgroup directory is removed by rmdir alone
      } catch {
        // never made, or not empty: left as it is
      }
    }
  }
}

const med = (xs: number[]) => stats(xs).median;
const rows = (["run", "create", "start", "delete"] as const).map((what) => {
  const c = med(times.ctr[what]);
  const r = med(times.runc[what]);
  return { what, ctrMs: round(c, 1), runcMs: round(r, 1), ratio: round(c / r, 2) };
});
const podmanRows = podmanBin && PODMAN_ROUNDS > 0 ? podmanRuntimes.map(([name]) => ({ runtime: name, ms: round(med(podmanTimes.get(name)!), 1) })) : [];
const podmanRatio = (name: string) => round(med(podmanTimes.get("ctr")!) / med(podmanTimes.get(name)!), 2);
const cdRows = containerdBin && cdClient && PODMAN_ROUNDS > 0 ? cdRuntimes.map(([name]) => ({ runtime: name, ms: round(med(cdTimes.get(name)!), 1) })) : [];
const cdRatio = (name: string) => round(med(cdTimes.get("ctr")!) / med(cdTimes.get(name)!), 2);
if (JSON_OUT) console.log(JSON.stringify({ rounds: ROUNDS, rows, podman: { rounds: PODMAN_ROUNDS, rows: podmanRows }, containerd: { rounds: PODMAN_ROUNDS, rows: cdRows } }));
else {
  console.log(`ctr vs runc as OCI runtimes, one busybox bundle, /bin/true, ${ROUNDS} rounds alternating (medians)`);
  for (const r of rows) console.log(`  ${r.what.padEnd(7)} ctr ${String(r.ctrMs).padStart(7)} ms   runc ${String(r.runcMs).padStart(7)} ms   ctr/runc ${r.ratio}`);
  if (!podmanBin) console.log("podman: not installed, not measured");
  else if (podmanRows.length > 0) {
    console.log(`podman run --rm busybox /bin/true, ${PODMAN_ROUNDS} rounds alternating (medians)`);
    for (const r of podmanRows) console.log(`  --runtime ${r.runtime.padEnd(5)} ${String(r.ms).padStart(7)} ms${r.runtime === "ctr" ? "" : `   ctr/${r.runtime} ${podmanRatio(r.runtime)}`}`);
  }
  if (!containerdBin || !cdClient) console.log("containerd: not installed (or its client /usr/bin/ctr), not measured");
  else if (cdRows.length > 0) {
    console.log(`containerd: ctr run --rm busybox /bin/true, ${PODMAN_ROUNDS} rounds alternating (medians)`);
    for (const r of cdRows) console.log(`  --runc-binary ${r.runtime.padEnd(5)} ${String(r.ms).padStart(7)} ms${r.runtime === "ctr" ? "" : `   ctr/${r.runtime} ${cdRatio(r.runtime)}`}`);
  }
}
