// Fuzz test: 2,000 random inputs (token soups and mutations of example-like
// scripts). The front end must never throw, must always return commands and
// diagnostics, and every diagnostic must point inside its source.
//
// The PRNG is seeded: set CTR_FUZZ_SEED to reproduce a failure (the seed and
// the case number are printed with it).

import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { compile, formatDiagnostic, isIncomplete, Session, type Diagnostic, type FrontEndResult } from "../../lang/index.ts";
import { statements } from "../../runtime/registry.ts";
import { mulberry32 } from "../cli/fuzz-gen.ts";

const SEED = Number(process.env.CTR_FUZZ_SEED ?? 20240601);
const CASES = 2000;

const SAMPLES = [
  `#!/usr/bin/env ctr
ns uts, pid, mnt, ipc
hostname "container"
rootfs default
mount proc
mount tmpfs /tmp size=64m mode=1777
limit cpu 20%
limit memory 64m swap=0
exec /bin/sh`,
  `ns user, uts, mnt
map uid 0 \${env.UID:-1000} 1
map gid 0 1000 1
let name = \${1:-box}
fn base(dir) {
  mount tmpfs \${dir} size=16m
  mount bind /etc/resolv.conf \${dir}/resolv.conf ro
}
base /tmp
if \${name} == box { hostname box } else { hostname "\${name}-x" }
for d in /run, /var/tmp { mount tmpfs \${d} }
run /bin/echo hello \${args}
expect output contains "hello"
expect exit 0`,
  `import "std/docker"
import "./lib.ctr"
ns net, uts
net lo up
net veth host=10.0.0.1/24 ctr=10.0.0.2/24
net bridge ctr0 ctr=10.0.1.2/24 addr=10.0.1.1/24
join web pid, net
env PATH=/bin:/usr/bin HOME=/root
cwd /root; user 1000:1000; cap drop all; cap add net_bind_service
seccomp default; rlimit nofile 1024:4096; readonly /
show ns; show mounts; echo 'done \${x}'; sleep 500ms`,
];

function corpus(): string[] {
  const out = [...SAMPLES];
  for (const dir of [path.join(import.meta.dir, "golden"), path.join(import.meta.dir, "..", "..", "examples")]) {
    try {
      for (const f of readdirSync(dir)) if (f.endsWith(".ctr")) out.push(readFileSync(path.join(dir, f), "utf8"));
    } catch {
      // examples/ may not exist yet
    }
  }
  return out;
}

const VOCAB = [
  ...statements.map((s) => s.name),
  ...statements.flatMap((s) => Object.keys(s.forms ?? {})),
  "let", "fn", "import", "if", "else", "for", "in", "{", "}", "(", ")", ",", ";", "=", "==", "!=", "!", "\n", "\n", "\n",
  "\\\n", "#", "# comment\n", '"', "'", '"str ${x}"', "'raw'", "${x}", "${1}", "${args}", "${#}", "${env.HOME}", "${", "}",
  "${x:-d}", "20%", "64m", "1.5g", "500ms", "0", "-1", "4294967296", "size=", "size=64m", "lower=/a:/b", "k=v", "a=b=c",
  "/bin/sh", "-c", "uts", "pid", "mnt", "net", "user", "utss", "10.0.0.1/24", "0-1,3", "1000:1000", "x", "y", "f", "\t",
  "é", "🙂", "\r\n", "\\", "`", "$", "$$", "\u0000", "\u2028",
];

function soup(rnd: () => number): string {
  const n = 1 + Math.floor(rnd() * 40);
  let s = "";
  for (let i = 0; i < n; i++) {
    s += VOCAB[Math.floor(rnd() * VOCAB.length)];
    if (rnd() < 0.7) s += " ";
  }
  return s;
}

const CHARS = ' \n\t{}(),;="\'#\\$!:-=%abcxyz0129/.é';

function mutate(src: string, rnd: () => number): string {
  let s = src;
  const steps = 1 + Math.floor(rnd() * 6);
  for (let k = 0; k < steps; k++) {
    const at = Math.floor(rnd() * (s.length + 1));
    const op = Math.floor(rnd() * 8);
    const lines = s.split("\n");
    const li = Math.floor(rnd() * lines.length);
    switch (op) {
      case 0: // delete a run of characters
        s = s.slice(0, at) + s.slice(at + 1 + Math.floor(rnd() * 5));
        break;
      case 1: // insert a character
        s = s.slice(0, at) + CHARS[Math.floor(rnd() * CHARS.length)] + s.slice(at);
        break;
      case 2: // insert a token
        s = s.slice(0, at) + " " + VOCAB[Math.floor(rnd() * VOCAB.length)] + " " + s.slice(at);
        break;
      case 3: // duplicate a line
        lines.splice(li, 0, lines[li] ?? "");
        s = lines.join("\n");
        break;
      case 4: // delete a line
        lines.splice(li, 1);
        s = lines.join("\n");
        break;
      case 5: {
        // swap two lines
        const lj = Math.floor(rnd() * lines.length);
        [lines[li], lines[lj]] = [lines[lj] ?? "", lines[li] ?? ""];
        s = lines.join("\n");
        break;
      }
      case 6: // truncate
        s = s.slice(0, at);
        break;
      default: // replace a character
        s = s.slice(0, at) + CHARS[Math.floor(rnd() * CHARS.length)] + s.slice(at + 1);
    }
  }
  return s;
}

/** An import resolver that never touches the disk. */
function readFile(p: string): string {
  if (p.endsWith("lib.ctr")) return `fn helper(a) { echo \${a} }\nlet libvar = 1`;
  if (p.endsWith("docker.ctr")) return `import "./docker.ctr"\nfn docker_run(x) { run \${x} }`;
  throw Object.assign(new Error("no such file"), { code: "ENOENT" });
}

function checkResult(r: FrontEndResult, source: string): string | undefined {
  if (!Array.isArray(r.commands) || !Array.isArray(r.diagnostics)) return "result without commands or diagnostics";
  for (const d of r.diagnostics) {
    const problem = checkDiagnostic(d, r, source);
    if (problem) return problem;
  }
  return undefined;
}

function checkDiagnostic(d: Diagnostic, r: FrontEndResult, source: string): string | undefined {
  if (d.message.startsWith("internal error")) return d.message;
  if (d.severity !== "error" && d.severity !== "warning") return `bad severity ${d.severity}`;
  const text = r.sources.get(d.span.file) ?? (d.span.file === "fuzz.ctr" ? source : undefined);
  if (text === undefined) return `diagnostic in unknown file ${d.span.file}`;
  const lines = text.split("\n");
  const { line, column, offset, length } = d.span;
  if (!Number.isInteger(line) || line < 1 || line > lines.length) return `line ${line} out of range (1..${lines.length}): ${d.message}`;
  if (!Number.isInteger(column) || column < 1 || column > lines[line - 1]!.length + 1) return `column ${column} out of range on line ${line}: ${d.message}`;
  if (!Number.isInteger(offset) || offset < 0 || offset > text.length) return `offset ${offset} out of range: ${d.message}`;
  if (!Number.isInteger(length) || length < 0 || offset + length > text.length + 1) return `length ${length} out of range: ${d.message}`;
  // Line and column agree with the offset.
  const before = text.slice(0, offset).split("\n");
  if (before.length !== line || before[before.length - 1]!.length + 1 !== column) return `span ${line}:${column} does not match offset ${offset}: ${d.message}`;
  formatDiagnostic(d, (f) => r.sources.get(f), true);
  return undefined;
}

test(`fuzz: ${CASES} random inputs never break the front end (seed ${SEED})`, () => {
  const rnd = mulberry32(SEED);
  const base = corpus();
  let withDiagnostics = 0;
  let clean = 0;
  const session = new Session({ specs: statements, cpus: 4, env: {}, readFile, stdlibDir: "/nonexistent/std" });
  for (let i = 0; i < CASES; i++) {
    const source = i % 2 === 0 ? soup(rnd) : mutate(base[Math.floor(rnd() * base.length)]!, rnd);
    const args = rnd() < 0.5 ? [] : ["a", "64m"];
    let r: FrontEndResult;
    try {
      r = compile(source, { file: "fuzz.ctr", specs: statements, cpus: 1 + Math.floor(rnd() * 8), args, env: { HOME: "/root" }, readFile, stdlibDir: "/nonexistent/std" });
      isIncomplete(source);
      if (i % 10 === 0) session.compile(source);
    } catch (e) {
      throw new Error(`seed ${SEED}, case ${i}: the front end threw ${(e as Error)?.stack ?? e}\n--- input ---\n${source}`);
    }
    const problem = checkResult(r, source);
    if (problem) throw new Error(`seed ${SEED}, case ${i}: ${problem}\n--- input ---\n${JSON.stringify(source)}`);
    if (r.diagnostics.length) withDiagnostics++;
    else clean++;
  }
  // The generator must reach both outcomes, or the test proves little.
  expect(withDiagnostics).toBeGreaterThan(CASES / 4);
  expect(clean).toBeGreaterThan(0);
});

test("extreme inputs: deep nesting, long runs, odd characters", () => {
  const inputs = [
    "if x { ".repeat(5000) + "echo" + " }".repeat(5000),
    "for x in a { ".repeat(3000),
    "}".repeat(3000),
    "if " + "! ".repeat(10000) + "x { }",
    "echo " + "a,".repeat(20000) + "b",
    "echo " + '"'.repeat(999),
    "fn f() { f }\n".repeat(50) + "f",
    "let x = " + "${x}".repeat(1000),
    "\u0000\u0001\u0002\r\r\n\t",
    "ns " + "uts, ".repeat(2000) + "pid",
    "limit memory 99999999999999999999999999999999g",
    "map uid 0 0 99999999999999999999999999",
  ];
  for (const source of inputs) {
    const r = compile(source, { file: "fuzz.ctr", specs: statements, cpus: 2, env: {}, readFile, stdlibDir: "/nonexistent/std" });
    const problem = checkResult(r, source);
    if (problem) throw new Error(`${problem}\n--- input ---\n${JSON.stringify(source.slice(0, 200))}`);
  }
});
