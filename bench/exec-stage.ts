// What the exec stage costs a `run` (runtime/features/process/spec.ts): the same script of
// N `run true` through Bun.spawn and through the exec stage, alternating,
// medians; before any new root, and inside `rootfs default`, where the exec
// stage is started from PID 1's copy of the host's tree
// (runtime/features/process/stage.ts). As root, from the checkout:
// node_modules/.bin/bun bench/exec-stage.ts [--runs N] [--rounds R]

import { join } from "node:path";

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const runs = arg("--runs", 20);
const rounds = arg("--rounds", 10);
const ctr = join(import.meta.dir, "..", "bin", "ctr");
const script = (root: boolean) => ["ns uts, pid, mnt", ...(root ? ["rootfs default"] : []), ...Array.from({ length: runs }, () => "run true")].join("\n");

function once(root: boolean, staged: boolean): number {
  const t0 = performance.now();
  const r = Bun.spawnSync({ cmd: [ctr, "-e", script(root)], env: { ...process.env, ...(staged ? { CTR_EXEC_STAGE: "always" } : {}) }, stdout: "ignore", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`ctr failed (${r.exitCode}): ${r.stderr.toString()}`);
  return performance.now() - t0;
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
const cases = [
  { name: "no root, Bun.spawn", root: false, staged: false },
  { name: "no root, exec stage", root: false, staged: true },
  { name: "rootfs, Bun.spawn", root: true, staged: false },
  { name: "rootfs, exec stage from the host's tree", root: true, staged: true },
];
for (const c of cases) once(c.root, c.staged);
const times = cases.map(() => [] as number[]);
for (let i = 0; i < rounds; i++) cases.forEach((c, k) => times[k]!.push(once(c.root, c.staged)));
const m = times.map(median);
const perRun = (a: number, b: number) => ((m[b]! - m[a]!) / runs).toFixed(1);
console.log(`${runs} runs, ${rounds} rounds, medians: ${cases.map((c, k) => `${c.name} ${m[k]!.toFixed(1)} ms`).join(", ")}`);
console.log(`exec stage: ${perRun(0, 1)} ms more per run without a root, ${perRun(2, 3)} ms more per run inside one`);
console.log(JSON.stringify({ runs, rounds, medians_ms: Object.fromEntries(cases.map((c, k) => [c.name, m[k]])), per_run_ms: { no_root: (m[1]! - m[0]!) / runs, rootfs: (m[3]! - m[2]!) / runs } }));
