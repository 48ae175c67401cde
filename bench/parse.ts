// Front-end benchmark (issue 2): parse + check of a generated 10,000-statement
// script against a 10-statement one.
//
//   node_modules/.bin/bun bench/parse.ts [--runs N] [--json]
//
// Three measurements, each the median of N runs (default 15):
//   in-process   compile() in this process, warm (after one untimed run);
//                the first, cold call is shown too
//   fresh bun    a new Bun process that imports the front end and the
//                registry, reads the file and compiles it (what `ctr check`
//                costs without the CLI around it)
//   ctr check    bin/ctr check FILE, end to end, when bin/ctr exists
// The target is for the end-to-end figures: the 10,000-statement script should
// cost less than twice the 10-statement one.
//
// (`--child FILE` is the fresh-process worker; not for direct use.)

import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { round, stats, timedRun } from "./lib.ts";

const ROOT = join(import.meta.dir, "..");

async function child(file: string): Promise<never> {
  const { compile } = await import("../lang/index.ts");
  const { statements } = await import("../runtime/registry.ts");
  const r = compile(readFileSync(file, "utf8"), { file, specs: statements });
  process.stdout.write(`${r.commands.length} ${r.diagnostics.length}\n`);
  process.exit(r.diagnostics.some((d) => d.severity === "error") ? 2 : 0);
}

/**
 * A script of n statements in the style of the examples: namespaces, then a
 * cycle of mounts, hostnames, environment, runs and echoes, with some
 * interpolation and a few function calls. Only statements the runtime
 * already plans are used, so that `ctr check` accepts the script too.
 */
export function generate(n: number): string {
  const lines = ["ns uts, pid, mnt, ipc", "let base = /usr", "fn scratch(dir) { mount tmpfs ${dir} size=16m mode=1777 }"];
  const templates = [
    (i: number) => `hostname "node-${i}"`,
    (i: number) => `mount tmpfs /tmp/t${i} size=64m mode=0755`,
    (i: number) => `mount bind \${base}/share /mnt/d${i} ro nosuid`,
    (i: number) => `env VAR_${i}=value-${i} PATH=/bin:/usr/bin`,
    (i: number) => `run /bin/echo "step ${i}" --flag=${i}`,
    () => `cwd /tmp`,
    (i: number) => `scratch /scratch/${i}`,
    (i: number) => `mount proc /proc${i} nosuid nodev noexec`,
    (i: number) => `echo "statement ${i} of the benchmark"`,
    () => `domainname example.org`,
  ];
  for (let i = 0; lines.length < n; i++) lines.push(templates[i % templates.length]!(i));
  return lines.join("\n") + "\n";
}

function parseArgs(argv: string[]): { runs: number; json: boolean } {
  let runs = 15;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--runs") runs = Math.max(1, Number(argv[++i]));
    else if (a === "--json") json = true;
    else {
      console.error(`usage: bun bench/parse.ts [--runs N] [--json]`);
      process.exit(2);
    }
  }
  return { runs, json };
}

interface Row {
  what: string;
  small: number;
  large: number;
  ratio: number;
  note?: string;
  /** Set when a run failed: the figures do not measure what the row says. */
  failed?: boolean;
}

async function main(): Promise<void> {
  const { runs, json } = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), "ctr-parse-bench-"));
  const small = join(dir, "small.ctr");
  const large = join(dir, "large.ctr");
  writeFileSync(small, generate(10));
  writeFileSync(large, generate(10_000));
  const rows: Row[] = [];
  try {
    // In-process.
    const { compile } = await import("../lang/index.ts");
    const { statements } = await import("../runtime/registry.ts");
    const texts = { small: readFileSync(small, "utf8"), large: readFileSync(large, "utf8") };
    const once = (text: string, file: string): number => {
      const t0 = performance.now();
      const r = compile(text, { file, specs: statements });
      const ms = performance.now() - t0;
      if (r.diagnostics.length) throw new Error(`${file}: the generated script has diagnostics: ${r.diagnostics[0]!.message}`);
      return ms;
    };
    const coldSmall = once(texts.small, small);
    const coldLarge = once(texts.large, large);
    rows.push({ what: "in-process, first call", small: coldSmall, large: coldLarge, ratio: coldLarge / coldSmall });
    const warm = (text: string, file: string): number => stats(Array.from({ length: runs }, () => once(text, file))).median;
    const ws = warm(texts.small, small);
    const wl = warm(texts.large, large);
    rows.push({ what: "in-process, warm", small: ws, large: wl, ratio: wl / ws });

    // Fresh Bun process per run: start, import, compile, exit.
    const bun = process.execPath;
    const fresh = (file: string): number => {
      const samples: number[] = [];
      timedRun([bun, join(ROOT, "bench", "parse.ts"), "--child", file]); // page cache, JIT cache
      for (let i = 0; i < runs; i++) {
        const r = timedRun([bun, join(ROOT, "bench", "parse.ts"), "--child", file]);
        if (!r.ok) throw new Error(`fresh compile of ${file} failed: ${r.stderr || r.stdout}`);
        samples.push(r.ms);
      }
      return stats(samples).median;
    };
    const fs_ = fresh(small);
    const fl = fresh(large);
    rows.push({ what: "fresh bun process", small: fs_, large: fl, ratio: fl / fs_ });

    // The real CLI.
    const ctr = join(ROOT, "bin", "ctr");
    if (existsSync(ctr)) {
      const check = (file: string): { ms: number; note?: string; failed?: boolean } => {
        timedRun([ctr, "check", file]);
        const samples: number[] = [];
        let note: string | undefined;
        for (let i = 0; i < runs; i++) {
          const r = timedRun([ctr, "check", file]);
          if (!r.ok) note = `exit ${r.exitCode}: ${(r.stderr.split("\n")[0] ?? "").slice(0, 100)}`;
          samples.push(r.ms);
        }
        const out: { ms: number; note?: string; failed?: boolean } = { ms: stats(samples).median };
        if (note) {
          out.note = note;
          out.failed = true;
        }
        return out;
      };
      const cs = check(small);
      const cl = check(large);
      const row: Row = { what: "bin/ctr check", small: cs.ms, large: cl.ms, ratio: cl.ms / cs.ms };
      const note = cs.note ?? cl.note;
      if (note) row.note = note;
      if (cs.failed || cl.failed) row.failed = true;
      rows.push(row);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  if (json) {
    console.log(JSON.stringify({ runs, rows: rows.map((r) => ({ ...r, small: round(r.small), large: round(r.large), ratio: round(r.ratio) })) }));
    return;
  }
  console.log(`parse + check, 10 vs 10,000 statements (median of ${runs} runs; milliseconds)\n`);
  const w = Math.max(...rows.map((r) => r.what.length));
  console.log(`${"".padEnd(w)}  ${"10 stmts".padStart(9)}  ${"10,000".padStart(9)}  ${"ratio".padStart(7)}`);
  for (const r of rows) {
    console.log(`${r.what.padEnd(w)}  ${r.small.toFixed(2).padStart(9)}  ${r.large.toFixed(2).padStart(9)}  ${r.ratio.toFixed(2).padStart(7)}${r.note ? "  (" + r.note + ")" : ""}`);
  }
  const e2e = rows.find((r) => r.what === "bin/ctr check") ?? rows.find((r) => r.what === "fresh bun process");
  // A failed `ctr check` (a refused file, a diagnostic) stops early: its time says nothing about parsing.
  if (e2e?.failed) console.log(`\ntarget (end to end, ${e2e.what}): not measured, a run failed (${e2e.note})`);
  else if (e2e) console.log(`\ntarget (end to end, ${e2e.what}): ratio < 2 -> ${e2e.ratio < 2 ? "met" : "not met"} (${e2e.ratio.toFixed(2)})`);
  if (e2e?.failed) process.exitCode = 1;
}

if (import.meta.main) {
  if (process.argv[2] === "--child") await child(process.argv[3]!);
  else await main();
}
