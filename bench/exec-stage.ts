// What the exec stage costs a `run` (runtime/features/process/spec.ts): the same script of
// N `run true` through Bun.spawn and through the exec stage, alternating,
// medians. As root, from the checkout: node_modules/.bin/bun bench/exec-stage.ts [--runs N] [--rounds R]

import { join } from "node:path";

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const runs = arg("--runs", 20);
const rounds = arg("--rounds", 10);
const ctr = join(import.meta.dir, "..", "bin", "ctr");
const script = ["ns uts, pid, mnt", ...Array.from({ length: runs }, () => "run true")].join("\n");

function once(env: Record<string, string>): number {
  const t0 = performance.now();
  const r = Bun.spawnSync({ cmd: [ctr, "-e", script], env: { ...process.env, ...env }, stdout: "ignore", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`ctr failed (${r.exitCode}): ${r.stderr.toString()}`);
  return performance.now() - t0;
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
once({});
once({ CTR_EXEC_STAGE: "always" });
const direct: number[] = [];
const staged: number[] = [];
for (let i = 0; i < rounds; i++) {
  direct.push(once({}));
  staged.push(once({ CTR_EXEC_STAGE: "always" }));
}
const d = median(direct);
const s = median(staged);
console.log(`${runs} runs, ${rounds} rounds, medians: Bun.spawn ${d.toFixed(1)} ms, exec stage ${s.toFixed(1)} ms: ${((s - d) / runs).toFixed(1)} ms more per run`);
console.log(JSON.stringify({ runs, rounds, direct_ms: d, staged_ms: s, per_run_ms: (s - d) / runs }));
