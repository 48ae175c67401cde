// Bad input never crashes, hangs or eats the machine (issue 11): one test per
// finding, each through the real `ctr check` / `ctr explain` where the finding
// was, with a time limit and the process's peak RSS (rusage), and output
// written to files so that an old blow-up cannot fill the test's memory.

import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compile, formatDiagnostic, type Command } from "../../lang/index.ts";
import { parseCpuList } from "../../lang/values.ts";
import { makePlan } from "../../runtime/plan.ts";
import { statements } from "../../runtime/registry.ts";
import { close, pipe2 } from "../../native/fd.ts";

const REPO = join(import.meta.dir, "..", "..");
const CTR = join(REPO, "bin", "ctr");
const DIR = mkdtempSync(join(tmpdir(), "ctr-bad-input-"));
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

interface Ran {
  code: number | null;
  out: string;
  err: string;
  errBytes: number;
  ms: number;
  rssMB: number;
}

const BUN = process.execPath;

/**
 * Runs bin/ctr with stdout and stderr in files (read back at most 1 MiB), killed
 * after `timeout` ms. With both in files, it is started by test/cli/fuzz-spawn.ts,
 * a small process, so that `rssMB` is the run's own: a child's ru_maxrss starts at
 * the size of the process it was forked from (Bun starts children with vfork, and
 * the kernel keeps the old image's high-water mark across execve), and this test
 * runner grows to hundreds of MiB by the end of the suite. The figure is an upper
 * bound: it includes the small spawner's size. With a descriptor of the caller's
 * as stdout or stderr, the run is spawned here and `rssMB` is NaN (not measured).
 */
function ctr(args: string[], o: { timeout?: number; stdout?: number | "file"; stderr?: number | "file" } = {}): Ran {
  const outPath = join(DIR, "out");
  const errPath = join(DIR, "err");
  const head = (p: string) => readFileSync(p).subarray(0, 1 << 20).toString();
  const timeout = o.timeout ?? 10_000;
  const files = (o.stdout === undefined || o.stdout === "file") && (o.stderr === undefined || o.stderr === "file");
  if (files) {
    writeFileSync(outPath, "");
    writeFileSync(errPath, "");
    const report = join(DIR, "report");
    writeFileSync(report, "");
    const t0 = performance.now();
    // RLIMIT_DATA of 8 GiB: fuzz-harness.ts's floor (a run that blows up fails an allocation, not the machine).
    const r = Bun.spawnSync({ cmd: [BUN, join(import.meta.dir, "fuzz-spawn.ts"), report, outPath, errPath, "8192", "--", CTR, ...args], stdio: ["ignore", "inherit", "inherit"], timeout, killSignal: "SIGKILL" });
    const ms = performance.now() - t0;
    const lines = readFileSync(report, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as { pid?: number; code?: number | null; rssMB?: number });
    const end = lines.find((l) => "rssMB" in l);
    if (!end) {
      // The spawner was killed at the timeout: so is the run it started, by its PID.
      const pid = lines.find((l) => l.pid !== undefined)?.pid;
      if (pid !== undefined) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      return { code: null, out: head(outPath), err: head(errPath), errBytes: statSync(errPath).size, ms, rssMB: Number.NaN };
    }
    if (r.exitCode !== 0) throw new Error(`fuzz-spawn.ts exited ${r.exitCode}`);
    return { code: end.code ?? null, out: head(outPath), err: head(errPath), errBytes: statSync(errPath).size, ms, rssMB: end.rssMB! };
  }
  const fo = openSync(outPath, "w");
  const fe = openSync(errPath, "w");
  const t0 = performance.now();
  const r = Bun.spawnSync({
    cmd: [CTR, ...args],
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["ignore", o.stdout === undefined || o.stdout === "file" ? fo : o.stdout, o.stderr === undefined || o.stderr === "file" ? fe : o.stderr],
    timeout,
    killSignal: "SIGKILL",
  });
  const ms = performance.now() - t0;
  closeSync(fo);
  closeSync(fe);
  return { code: r.exitCode, out: head(outPath), err: head(errPath), errBytes: statSync(errPath).size, ms, rssMB: Number.NaN };
}

function file(name: string, text: string): string {
  const p = join(DIR, name);
  writeFileSync(p, text);
  return p;
}

/** Exit 2 with a diagnostic, no internal error or stack trace, in time and memory. */
function expectDiagnosed(r: Ran): void {
  expect({ code: r.code, internal: /internal error|^\s+at .*:\d+:\d+\)?$/m.test(r.err) }).toEqual({ code: 2, internal: false });
  expect(r.ms).toBeLessThan(5000);
  expect(r.rssMB).toBeLessThan(512);
}

describe("item 1: throws reachable from check and explain are diagnostics", () => {
  test("`limit cpux 10%` and `limit foo 10`: the checker's diagnostic with a suggestion, exit 2, for check and explain", () => {
    for (const cmd of ["check", "explain"]) {
      const cpux = ctr([cmd, "-e", "ns uts; limit cpux 10%"]);
      expectDiagnosed(cpux);
      expect(cpux.err).toContain("-e:1:15: error: unknown `limit` form `cpux`");
      expect(cpux.err).toContain("help: did you mean `cpu`?");
      const foo = ctr([cmd, "-e", "ns uts; limit foo 10"]);
      expectDiagnosed(foo);
      expect(foo.err).toContain("unknown `limit` form `foo`");
      expect(foo.err).toContain("help: expected one of `cpu`, `memory`, `pids`, `cpuset` or `io`");
    }
  });

  test("a plan function that throws becomes a diagnostic on its command, not an exception", () => {
    const r = compile("ns uts\nhostname x", { file: "t.ctr", specs: statements, cpus: 2, env: {} });
    expect(r.diagnostics).toEqual([]);
    const lookup = (name: string) => (name === "hostname" ? { name, plan: (): never => { throw new Error("no plan for this"); } } : statements.find((s) => s.name === name));
    const plan = makePlan(r.commands as Command[], lookup, { stateDir: "/run/ctr/ID", defaultRootfs: "/nonexistent" });
    expect(plan.diagnostics.map((d) => [d.span.line, d.message])).toEqual([[2, "internal error: cannot plan `hostname x`: no plan for this"]]);
  });
});

describe("item 2: numeric ranges are bounded before they are walked", () => {
  test("`limit cpuset 9007199254740992` and `mems=9007199254740992`: out of range, at once", () => {
    const cpus = ctr(["check", "-e", "ns uts; limit cpuset 9007199254740992"]);
    expectDiagnosed(cpus);
    expect(cpus.err).toContain("-e:1:22: error: `9007199254740992` is out of range for CPUS");
    expect(cpus.err).toContain("from 0 to 8191");
    const mems = ctr(["explain", "-e", "ns uts; limit cpuset 0 mems=9007199254740992"]);
    expectDiagnosed(mems);
    expect(mems.err).toContain("-e:1:29: error: `9007199254740992` is out of range for mems=");
    const node = ctr(["check", "-e", "ns uts; limit cpuset 0 mems=1024"]);
    expectDiagnosed(node);
    expect(node.err).toContain("`1024` is out of range for mems=");
    expect(ctr(["check", "-e", "ns uts; limit cpuset 0 mems=0-1023"]).code).toBe(0);
  });

  test("parseCpuList: numbers from 8192 up are refused; many overlapping ranges cost no more than one", () => {
    expect(parseCpuList("8191")).toEqual([8191]);
    expect(parseCpuList("8192")).toBeUndefined();
    expect(parseCpuList("0-8192")).toBeUndefined();
    expect(parseCpuList("3,0-1,1")).toEqual([0, 1, 3]);
    const t0 = performance.now();
    expect(parseCpuList(new Array(20_000).fill("0-8191").join(","))?.length).toBe(8192);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

/** `let a0 = "SEED"`, then `k` lines each doubling the one before. */
function doubling(seed: string, k: number): string[] {
  const lines = [`let a0 = "${seed}"`];
  for (let i = 1; i <= k; i++) lines.push(`let a${i} = "\${a${i - 1}}\${a${i - 1}}"`);
  return lines;
}

describe("item 3: expansion has a budget", () => {
  test("27 lines of `let a_i = \"${a_(i-1)}${a_(i-1)}\"`: an error on the line that goes over 1 MiB", () => {
    const lines = doubling("x", 27);
    lines.push("ns uts", "hostname ${a27}");
    const r = ctr(["check", file("double.ctr", lines.join("\n"))]);
    expectDiagnosed(r);
    expect(r.err).toContain("double.ctr:22:11: error: this value expands to more than 1 MiB");
    expect(r.err.match(/error:/g)?.length).toBe(1); // the lines after it use a failed value: no cascade
  });

  test("a loop repeating a large value stops at 16 MiB of text in all", () => {
    const lines = doubling("0123456789abcdef", 15);
    lines.push("let l = 0,1,2,3,4,5,6,7,8,9", "for a in ${l} { for b in ${l} { echo ${a15} } }");
    const r = ctr(["explain", file("loop.ctr", lines.join("\n"))]);
    expectDiagnosed(r);
    expect(r.err).toMatch(/loop\.ctr:18:\d+: error: the script expands to more than 16 MiB of text/);
  });

  test("a function doubling its argument at each call", () => {
    const r = ctr(["check", "-e", 'fn f(x) { f "${x}${x}"; f "${x}${x}" }\nf ab']);
    expectDiagnosed(r);
    expect(r.err).toContain("this value expands to more than 1 MiB");
  });

  test("imports add up: the script and its imports are at most 1 MiB", () => {
    const big = "# " + "x".repeat(400_000) + "\n";
    const readFile = (p: string) => (p.endsWith(".ctr") ? big : "");
    const r = compile('import "./a.ctr"\nimport "./b.ctr"\nimport "./c.ctr"', { file: "main.ctr", specs: statements, cpus: 2, env: {}, readFile });
    expect(r.diagnostics.map((d) => `${d.span.line}: ${d.message}`)).toEqual(["3: cannot import `./c.ctr`: the script and its imports would be over 1 MiB"]);
  });
});

describe("item 4: diagnostics are bounded", () => {
  test("one line of 16,000 undefined `${x}`: 50 diagnostics, a count, small output", () => {
    const r = ctr(["check", file("undef.ctr", "echo " + "${x}".repeat(16_000) + "\n")]);
    expectDiagnosed(r);
    expect(r.errBytes).toBeLessThan(64 * 1024);
    expect(r.err.match(/error: undefined variable `x`/g)?.length).toBe(50);
    expect(r.err).toContain("\n15950 more errors not shown\n16000 errors\n");
  });

  test("`ns uts,uts,…` x 60,000 (x 100,000 is over the size limit): warnings only (exit 0), 50 shown", () => {
    const r = ctr(["check", file("ns.ctr", "ns " + new Array(60_000).fill("uts").join(",") + "\n")]);
    expect(r.code).toBe(0);
    expect(r.ms).toBeLessThan(5000);
    expect(r.errBytes).toBeLessThan(64 * 1024);
    expect(r.err).toContain("\n59949 more warnings not shown\n");
  });

  test("a long source line is shown as a window around the column, the caret under the culprit", () => {
    const src = "echo " + "a ".repeat(5000) + "${nope} " + "b ".repeat(5000);
    const r = compile(src, { file: "w.ctr", specs: statements, cpus: 2, env: {} });
    const text = formatDiagnostic(r.diagnostics[0]!, () => src);
    const [, line, caret] = text.split("\n");
    expect(line!.length).toBeLessThan(120);
    expect(line).toMatch(/^ {2}1 \| …[ a]+\$\{nope\}[ b]+…$/);
    expect(line!.indexOf("${nope}")).toBe(caret!.indexOf("^"));
    expect(caret).toMatch(/\^{7}$/);
  });
});

describe("found by the fuzz harness", () => {
  test("52,000 calls of an undefined function: linear time (each looked for a later definition by scanning the script)", () => {
    const r = ctr(["check", file("calls.ctr", "f(x)\n".repeat(52_000))]);
    expectDiagnosed(r);
    expect(r.ms).toBeLessThan(3000);
    expect(r.err).toContain("calls.ctr:1:1: error: unknown function `f`");
  });

  test("5,000 `if x` lines without their blocks: linear time (recovery inserted a `{` at each, nesting the rest of the script)", () => {
    const r = ctr(["check", file("ifs.ctr", "if x\n".repeat(5000))], { timeout: 20_000 });
    expectDiagnosed(r);
    expect(r.ms).toBeLessThan(3000);
    expect(r.err).toContain("ifs.ctr:1:5: error: expected `{` to start the block, found end of line");
  });
});

describe("item 5: scripts are read from regular files of bounded size", () => {
  test("/dev/zero, a directory, a FIFO, a file over 512 KiB: a clear error at once, exit 2", () => {
    const fifo = join(DIR, "fifo");
    const mk = Bun.spawnSync({ cmd: ["mkfifo", fifo] });
    expect(mk.exitCode).toBe(0);
    const big = file("big.ctr", "# " + "x".repeat(512 << 10) + "\n");
    const cases: [string, string][] = [
      ["/dev/zero", `ctr: cannot read "/dev/zero": not a regular file (a character device)`],
      [DIR, `ctr: cannot read "${DIR}": it is a directory`],
      [fifo, `ctr: cannot read "${fifo}": not a regular file (a FIFO)`],
      [big, `ctr: cannot read "${big}": larger than 512 KiB`],
    ];
    for (const [path, message] of cases) {
      const r = ctr(["check", path], { timeout: 5000 });
      expectDiagnosed(r);
      expect(r.err).toContain(message);
    }
  });

  test("`import \"/dev/zero\"` is a diagnostic on the import", () => {
    const r = ctr(["check", "-e", 'import "/dev/zero"'], { timeout: 5000 });
    expectDiagnosed(r);
    expect(r.err).toContain("-e:1:8: error: cannot import `/dev/zero`: not a regular file (a character device)");
  });
});

describe("item 6: a full or closed output", () => {
  test("stdout full: `cannot write output: no space left on device`, 125, no stack", () => {
    const full = openSync("/dev/full", "w");
    try {
      const r = ctr(["explain", join(REPO, "examples", "04-pid.ctr")], { stdout: full });
      expect(r.code).toBe(125);
      expect(r.err).toBe("ctr: cannot write output: no space left on device\n");
    } finally {
      closeSync(full);
    }
  });

  test("stderr full: said on stdout, 125", () => {
    const full = openSync("/dev/full", "w");
    try {
      const r = ctr(["check", "-e", "hostnme x"], { stderr: full });
      expect(r.code).toBe(125);
      expect(r.out).toBe("ctr: cannot write diagnostics: no space left on device\n");
    } finally {
      closeSync(full);
    }
  });

  test("a reader that went away (EPIPE): quiet, 141 as after SIGPIPE", () => {
    const [rd, wr] = pipe2();
    close(rd); // every write to `wr` now fails with EPIPE
    try {
      const r = ctr(["explain", join(REPO, "examples", "04-pid.ctr")], { stdout: wr });
      expect({ code: r.code, err: r.err }).toEqual({ code: 141, err: "" });
    } finally {
      close(wr);
    }
  });
});
