// The command-line fuzz test (issue 11's acceptance): seeded mutations of
// every example and every golden file, each through `ctr check` and `ctr
// explain`. Every run must exit 0 or 2, print no stack trace or internal
// error, and stay under 5 s and 512 MiB (peak RSS from getrusage). Most runs
// go through the CLI's entry in two worker processes, a sample through
// bin/ctr itself (fuzz-harness.ts says how and why).
//
// CTR_FUZZ_SEED and CTR_FUZZ_CASES change the seed and the number of cases;
// a failure prints the seed, the run and where its input was kept.

import { expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runFuzz, totals, type RunResult } from "./fuzz-harness.ts";

const SEED = Number(process.env.CTR_FUZZ_SEED ?? 11);
const CASES = Number(process.env.CTR_FUZZ_CASES ?? 2500);
const CLI_RUNS = 40;
const LIMIT_MS = 5000;
const LIMIT_MB = 512;

test(
  `fuzz: ${CASES} cases (seed ${SEED}) through check and explain: exit 0 or 2, no stack trace, under ${LIMIT_MS / 1000} s and ${LIMIT_MB} MiB each`,
  async () => {
    const rep = await runFuzz({ root: join(import.meta.dir, "..", ".."), seed: SEED, cases: CASES, cliRuns: CLI_RUNS, killMs: 2 * LIMIT_MS, killMB: 2 * LIMIT_MB, outCapMB: 64, workers: 2 });
    const t = totals(rep, LIMIT_MS, LIMIT_MB);
    console.log(`fuzz totals: ${JSON.stringify(t)}`);
    const bad = rep.results.filter((r) => r.failure || r.ms > LIMIT_MS || r.rssMB > LIMIT_MB);
    if (bad.length) {
      const keep = mkdtempSync(join(tmpdir(), "ctr-fuzz-failed-"));
      for (const r of bad) writeFileSync(join(keep, `case-${r.r >> 1}.ctr`), rep.cases[r.r >> 1]!.text);
      const show = (r: RunResult) => `run ${r.r} (${r.cmd} of case ${r.r >> 1}, from ${rep.cases[r.r >> 1]!.from}, via ${r.via}): ${r.failure ?? "over a limit"}, exit ${r.code}, ${Math.round(r.ms)} ms, ${Math.round(r.rssMB)} MiB${r.detail ? `: ${r.detail.slice(0, 300)}` : ""}`;
      throw new Error(`seed ${SEED}: ${bad.length} bad runs; inputs in ${keep}\n${bad.slice(0, 20).map(show).join("\n")}`);
    }
    expect(t.runs).toBe(2 * CASES + CLI_RUNS);
    // The generator must reach both outcomes, and inputs that stress the bounds, or it proves little.
    const codes = (c: number) => rep.results.filter((r) => r.code === c).length;
    expect(codes(0)).toBeGreaterThan(CASES / 10);
    expect(codes(2)).toBeGreaterThan(CASES / 2);
    expect(rep.results.filter((r) => r.errBytes > 4096).length).toBeGreaterThan(CASES / 20);
    expect(Math.max(...rep.cases.map((c) => c.text.length))).toBeGreaterThan(100_000);
  },
  240_000,
);
