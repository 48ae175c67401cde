// Issue 15's benchmark, in one run (as root):
//   1. `ctr exec NAME /bin/true` against `runc exec ID /bin/true` and
//      `nsenter -t PID -m -u -i -n -p -r -w /bin/true` into the same kind of
//      container (uts, ipc, pid, mount, network; a busybox root; /proc), the
//      three alternating, N rounds; medians and the ratio ctr/runc;
//   2. the memory of ctr's own processes per detached container, for 1, 10 and
//      50 of them: every process of ctr's then running (a Bun running this
//      package's code: the user's shared monitor, runtime/features/lifecycle/monitor.ts,
//      and any supervisor, supervise.ts, or stage 1, runtime/init.ts, still
//      there; none once the monitor adopted PID 1, adopt.ts), summed RSS and
//      PSS (from /proc/PID/smaps_rollup: PSS shares Bun's mapped binary among
//      them) / N; at 50, each role's PSS and anonymous memory (its own: heap,
//      JIT) apart, per container. The container's own command is not ctr's and
//      is left out. Run it with no other detached container of root's: the
//      monitor is shared, and theirs would count.
// Usage: node_modules/.bin/bun bench/lifecycle.ts [--rounds N] [--json]
// Everything it starts is removed at the end (ctr rm -f, runc delete -f).

import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { BenchError, describeExit, makeBusyboxRootfs, makeTempDir, round, run, stats, timedRun } from "./lib.ts";

const REPO = resolve(import.meta.dir, "..");
const CTR = join(REPO, "bin", "ctr");
const args = process.argv.slice(2);
const ROUNDS = Number(args[args.indexOf("--rounds") + 1] ?? 0) || 30;
const JSON_OUT = args.includes("--json");

if (process.getuid?.() !== 0) throw new BenchError("bench/lifecycle.ts needs root (runc and nsenter as root)");
for (const tool of ["runc", "nsenter"]) if (!Bun.which(tool)) throw new BenchError(`${tool} is not installed`);

const work = makeTempDir("ctr-bench-lifecycle-");
const root = join(work, "rootfs");
run(["mkdir", "-p", root]);
makeBusyboxRootfs(root);
const tag = `bl-${process.pid}`;
const names: string[] = [];
const runcState = join(work, "runc");
const runcId = `ctr-bench-${process.pid}`;

function cleanup(): void {
  if (names.length) run([CTR, "rm", "-f", ...names.splice(0)]);
  run(["runc", "--root", runcState, "delete", "-f", runcId]);
  rmSync(work, { recursive: true, force: true });
}
process.on("exit", cleanup);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => process.exit(130));

const script = join(work, "c.ctr");
writeFileSync(script, `ns uts, ipc, pid, mnt, net\nrootfs ${root}\nmount proc\nexec /bin/sleep 1000000\n`);

function detach(name: string): { supervisor: number; pid1: number } {
  const r = run([CTR, "-d", "--name", name, script]);
  if (!r.ok) throw new BenchError(`ctr -d failed (${describeExit(r)}): ${r.stderr}`);
  names.push(name);
  const s = JSON.parse(run([CTR, "inspect", name]).stdout);
  return { supervisor: s.supervisor.pid, pid1: s.pid1.pid };
}

// ---- 1. exec latency
const target = detach(`${tag}-exec`);
const bundle = join(work, "bundle");
run(["mkdir", "-p", bundle]);
writeFileSync(
  join(bundle, "config.json"),
  JSON.stringify({
    ociVersion: "1.0.2",
    process: { terminal: false, user: { uid: 0, gid: 0 }, args: ["/bin/sleep", "1000000"], env: ["PATH=/bin"], cwd: "/" },
    root: { path: root, readonly: false },
    mounts: [{ destination: "/proc", type: "proc", source: "proc" }],
    linux: { namespaces: [{ type: "uts" }, { type: "ipc" }, { type: "pid" }, { type: "mount" }, { type: "network" }] },
  }),
);
// Its stdio: none (a pipe would be held open by the container's command).
const runcStart = Bun.spawnSync(["runc", "--root", runcState, "run", "-d", "--bundle", bundle, runcId], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
if (runcStart.exitCode !== 0) throw new BenchError(`runc run -d failed (exit ${runcStart.exitCode})`);
const peers: [string, string[]][] = [
  ["ctr exec", [CTR, "exec", `${tag}-exec`, "/bin/true"]],
  ["runc exec", ["runc", "--root", runcState, "exec", runcId, "/bin/true"]],
  ["nsenter", ["nsenter", "-t", String(target.pid1), "-m", "-u", "-i", "-n", "-p", "-r", "-w", "/bin/true"]],
];
const samples = new Map<string, number[]>(peers.map(([n]) => [n, []]));
for (const [, argv] of peers) timedRun(argv); // warm-up
for (let i = 0; i < ROUNDS; i++) {
  for (const [n, argv] of peers) {
    const r = timedRun(argv, { timeoutMs: 10_000 });
    if (!r.ok) throw new BenchError(`${n} failed: ${r.stderr}`);
    samples.get(n)!.push(r.ms);
  }
}
const median = (n: string) => stats(samples.get(n)!).median;

// ---- 2. memory per detached container
function kib(pid: number, file: "status" | "smaps_rollup", key: string): number {
  try {
    return Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/${file}`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}
// ctr's processes: Bun running this package's code (its sources or dist/ bundles), but not this script.
const BUN = readlinkSync("/proc/self/exe");
function ctrProcesses(): { pid: number; role: string }[] {
  const out: { pid: number; role: string }[] = [];
  for (const e of readdirSync("/proc")) {
    const pid = Number(e);
    if (!/^\d+$/.test(e) || pid === process.pid) continue;
    try {
      if (readlinkSync(`/proc/${pid}/exe`) !== BUN) continue;
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (!argv.some((a) => a.startsWith(`${REPO}/`))) continue;
      const role = argv.some((a) => a.endsWith("/runtime/monitor-main.ts")) ? "monitor" : argv.includes("--supervise") ? "supervisor" : argv.includes("stage1") ? "stage 1" : "other";
      out.push({ pid, role });
    } catch {
      // ended meanwhile, or not ours to look at
    }
  }
  return out;
}
const memory: { containers: number; processes: number; rss_mib: number | null; pss_mib: number | null }[] = [];
const all: { supervisor: number; pid1: number }[] = [target];
// At the largest N, each role's share per container: PSS and its anonymous (private: heap, JIT) part.
const roles: Record<string, { processes: number; pss_mib: number | null; anon_mib: number | null }> = {};
for (const n of [1, 10, 50]) {
  while (all.length < n) all.push(detach(`${tag}-m${all.length}`));
  const ours = ctrProcesses();
  const sum = (file: "status" | "smaps_rollup", key: string, pids = ours.map((p) => p.pid)) => pids.reduce((t, p) => t + kib(p, file, key), 0);
  memory.push({ containers: n, processes: ours.length, rss_mib: round(sum("status", "VmRSS") / 1024 / n, 2), pss_mib: round(sum("smaps_rollup", "Pss") / 1024 / n, 2) });
  if (n === 50) {
    for (const role of new Set(ours.map((p) => p.role))) {
      const pids = ours.filter((p) => p.role === role).map((p) => p.pid);
      roles[role] = { processes: pids.length, pss_mib: round(sum("smaps_rollup", "Pss", pids) / 1024 / n, 2), anon_mib: round(sum("smaps_rollup", "Anonymous", pids) / 1024 / n, 2) };
    }
  }
}

const result = {
  rounds: ROUNDS,
  ctr_exec_ms: round(median("ctr exec")),
  runc_exec_ms: round(median("runc exec")),
  nsenter_ms: round(median("nsenter")),
  ratio_ctr_runc: round(median("ctr exec") / median("runc exec")),
  memory_per_container: memory,
  memory_by_role_at_50: roles,
  load: readFileSync("/proc/loadavg", "utf8").trim(),
};
if (JSON_OUT) console.log(JSON.stringify(result));
else {
  console.log(`exec /bin/true, median of ${ROUNDS}: ctr exec ${result.ctr_exec_ms} ms, runc exec ${result.runc_exec_ms} ms, nsenter ${result.nsenter_ms} ms; ctr/runc ${result.ratio_ctr_runc} (target <= 1: ${result.ratio_ctr_runc! <= 1 ? "met" : "NOT met"})`);
  for (const m of memory) console.log(`${m.containers} detached: ctr's ${m.processes} processes ${m.rss_mib} MiB RSS, ${m.pss_mib} MiB PSS per container (target at 50: RSS <= 10 MiB: ${m.containers === 50 ? (m.rss_mib! <= 10 ? "met" : "NOT met") : "-"})`);
  console.log(`at 50, per container: ${Object.entries(roles).map(([r, m]) => `${r} (${m.processes}) ${m.pss_mib} MiB PSS (${m.anon_mib} MiB anonymous)`).join(", ")}`);
  console.log(`load average at the end: ${result.load}`);
}
if (!existsSync(work)) throw new BenchError("work directory vanished");
