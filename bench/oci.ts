// Issue 18's benchmark, the part that runs here (as root): ctr as an OCI
// runtime against runc, on one bundle (`ctr spec`'s config, a busybox root,
// the command /bin/true), the two alternating, N rounds; medians and the
// ratio ctr/runc of
//   1. `run --bundle B ID`: create, start, wait for the exit, delete, in one call;
//   2. `create` alone (PID 1 waiting, command not executed), then `start`
//      alone, then `delete` once it stopped.
// podman and containerd through ctr do not run yet (their default configs ask
// for fields ctr refuses, and their monitors reap the container's PID 1 as
// their child: README, the OCI row), so they are not measured here.
// Usage: node_modules/.bin/bun bench/oci.ts [--rounds N] [--json]
// Everything it starts is removed at the end (delete --force, the temporary directory).

import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { BenchError, makeBusyboxRootfs, makeTempDir, round, run, stats, timedRun } from "./lib.ts";

const REPO = resolve(import.meta.dir, "..");
const CTR = join(REPO, "bin", "ctr");
const args = process.argv.slice(2);
const ROUNDS = Number(args[args.indexOf("--rounds") + 1] ?? 0) || 20;
const JSON_OUT = args.includes("--json");

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

const med = (xs: number[]) => stats(xs).median;
const rows = (["run", "create", "start", "delete"] as const).map((what) => {
  const c = med(times.ctr[what]);
  const r = med(times.runc[what]);
  return { what, ctrMs: round(c, 1), runcMs: round(r, 1), ratio: round(c / r, 2) };
});
if (JSON_OUT) console.log(JSON.stringify({ rounds: ROUNDS, rows }));
else {
  console.log(`ctr vs runc as OCI runtimes, one busybox bundle, /bin/true, ${ROUNDS} rounds alternating (medians)`);
  for (const r of rows) console.log(`  ${r.what.padEnd(7)} ctr ${String(r.ctrMs).padStart(7)} ms   runc ${String(r.runcMs).padStart(7)} ms   ctr/runc ${r.ratio}`);
}
