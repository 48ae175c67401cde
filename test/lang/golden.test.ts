// Golden tests: every test/lang/golden/*.ctr is compiled and its diagnostics
// compared with the expectations written in its comments:
//
//   # error: LINE:COL substring       an error at LINE:COL whose message contains substring
//   # warning: LINE:COL substring     the same for a warning
//   # error: FILE:LINE:COL substring  in another file (an import), FILE a path suffix
//   # help: LINE:COL substring        the diagnostic at LINE:COL has help containing substring
//   # ok                              no diagnostics at all
//   # args: a b c                     script arguments
//   # env: NAME=VALUE ...             environment for ${env.NAME}
//   # cpus: N                         CPU count (default 4)
//
// The set must match exactly: a missing or an extra diagnostic fails.
// Files in subdirectories (lib/, std/) are only imported, not run.

import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { compile, formatDiagnostic, type Diagnostic } from "../../lang/index.ts";
import { statements } from "../../runtime/registry.ts";

const DIR = path.join(import.meta.dir, "golden");
const REL = path.relative(process.cwd(), DIR) || ".";

interface Expectation {
  kind: "error" | "warning" | "help";
  file?: string;
  line: number;
  column: number;
  text: string;
  where: number;
}

interface Golden {
  expectations: Expectation[];
  ok: boolean;
  args: string[];
  env: Record<string, string>;
  cpus: number;
}

function readGolden(source: string): Golden {
  const g: Golden = { expectations: [], ok: false, args: [], env: {}, cpus: 4 };
  source.split("\n").forEach((line, i) => {
    const m = /#\s*(error|warning|help):\s*(?:([^\s:]+):)?(\d+):(\d+)\s+(.*?)\s*$/.exec(line);
    if (m) {
      const e: Expectation = { kind: m[1] as Expectation["kind"], line: Number(m[3]), column: Number(m[4]), text: m[5]!, where: i + 1 };
      if (m[2]) e.file = m[2];
      g.expectations.push(e);
      return;
    }
    if (/^#\s*ok\s*$/.test(line.trim())) g.ok = true;
    const a = /^#\s*args:\s*(.*)$/.exec(line.trim());
    if (a) g.args = a[1]!.split(/\s+/).filter(Boolean);
    const e = /^#\s*env:\s*(.*)$/.exec(line.trim());
    if (e) for (const kv of e[1]!.split(/\s+/).filter(Boolean)) g.env[kv.slice(0, kv.indexOf("="))] = kv.slice(kv.indexOf("=") + 1);
    const c = /^#\s*cpus:\s*(\d+)$/.exec(line.trim());
    if (c) g.cpus = Number(c[1]);
  });
  return g;
}

function matches(d: Diagnostic, e: Expectation, mainFile: string): boolean {
  const file = e.file ?? mainFile;
  if (!(d.span.file === file || d.span.file.endsWith("/" + file) || d.span.file.endsWith(file))) return false;
  if (d.span.line !== e.line || d.span.column !== e.column) return false;
  if (e.kind === "help") return (d.help ?? "").includes(e.text);
  return d.severity === e.kind && d.message.includes(e.text);
}

const files = readdirSync(DIR)
  .filter((f) => f.endsWith(".ctr"))
  .sort();

test("there are at least 45 golden files", () => {
  expect(files.length).toBeGreaterThanOrEqual(45);
});

describe("golden", () => {
  for (const name of files) {
    test(name, () => {
      const file = path.join(REL, name);
      const source = readFileSync(path.join(DIR, name), "utf8");
      const g = readGolden(source);
      expect(g.ok || g.expectations.length > 0).toBe(true); // every file states what it expects
      const r = compile(source, { file, specs: statements, cpus: g.cpus, args: g.args, env: g.env, stdlibDir: path.join(DIR, "std") });
      const shown = r.diagnostics.map((d) => formatDiagnostic(d, (f) => r.sources.get(f) ?? safeRead(f))).join("\n\n");
      if (g.ok) {
        expect(g.expectations).toEqual([]);
        if (r.diagnostics.length) throw new Error(`expected no diagnostics, got:\n${shown}`);
        return;
      }
      const problems: string[] = [];
      const diagExp = g.expectations.filter((e) => e.kind !== "help");
      const used = new Set<Expectation>();
      for (const d of r.diagnostics) {
        const e = diagExp.find((x) => !used.has(x) && matches(d, x, file));
        if (e) used.add(e);
        else problems.push(`unexpected ${d.severity} at ${d.span.file}:${d.span.line}:${d.span.column}: ${d.message}`);
      }
      for (const e of diagExp) if (!used.has(e)) problems.push(`missing ${e.kind} at ${e.file ?? ""}${e.line}:${e.column} containing "${e.text}" (expected on line ${e.where})`);
      for (const e of g.expectations.filter((x) => x.kind === "help")) {
        if (!r.diagnostics.some((d) => matches(d, e, file))) problems.push(`missing help at ${e.line}:${e.column} containing "${e.text}" (expected on line ${e.where})`);
      }
      if (problems.length) throw new Error(problems.join("\n") + "\n\nall diagnostics:\n" + shown);
    });
  }
});

function safeRead(f: string): string | undefined {
  try {
    return readFileSync(f, "utf8");
  } catch {
    return undefined;
  }
}
