// Shared helpers for the benchmarks in bench/.
//
// Nothing here prints: helpers return values or throw BenchError, and the benchmark
// scripts decide what to show. Everything is synchronous on purpose, so that cleanup
// can run from a signal handler or from process.on("exit") and still finish.

import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** An error meant for the user: its message is printed as is, without a stack. */
export class BenchError extends Error {
  /** The exit code the script should end with: 1 by default, 2 for usage errors. */
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = "BenchError";
    this.exitCode = exitCode;
  }
}

// ---------------------------------------------------------------- statistics

export interface Stats {
  n: number;
  median: number;
  p10: number;
  p90: number;
  min: number;
  max: number;
  mean: number;
}

/** Percentile p (0..100) of an ascending array, by linear interpolation between ranks. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (b - a) * (rank - lo);
}

export function stats(samples: readonly number[]): Stats {
  const s = [...samples].sort((x, y) => x - y);
  const sum = s.reduce((acc, x) => acc + x, 0);
  return {
    n: s.length,
    median: percentile(s, 50),
    p10: percentile(s, 10),
    p90: percentile(s, 90),
    min: s.length ? s[0]! : Number.NaN,
    max: s.length ? s[s.length - 1]! : Number.NaN,
    mean: s.length ? sum / s.length : Number.NaN,
  };
}

/** Rounds to `digits` decimals; NaN and infinities become null (JSON has no NaN). */
export function round(x: number, digits = 2): number | null {
  if (!Number.isFinite(x)) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

// ---------------------------------------------------------------- processes

export interface RunResult {
  ok: boolean;
  /** Wall time from spawn to exit, in milliseconds. */
  ms: number;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  /**
   * CPU time (user + system), ms, of the process and of every descendant that was
   * waited for inside its tree (wait4's rusage); null when it did not start. A
   * descendant orphaned before it ended is not in it (bench/startup.ts counts those).
   */
  cpuMs: number | null;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Kill the process (SIGKILL) after this many milliseconds. */
  timeoutMs?: number;
}

/**
 * Runs argv to completion and times it with performance.now() around Bun.spawnSync:
 * spawn, run, exit and reap. stdin is /dev/null; stdout and stderr are captured.
 * Never throws for a failing command (a missing executable is reported as a failure).
 */
export function timedRun(argv: readonly string[], opts: RunOptions = {}): RunResult {
  const t0 = performance.now();
  let proc: ReturnType<typeof Bun.spawnSync>;
  try {
    proc = Bun.spawnSync([...argv], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      env: opts.env,
      cwd: opts.cwd,
      timeout: opts.timeoutMs,
      killSignal: "SIGKILL",
    });
  } catch (e) {
    const ms = performance.now() - t0;
    return {
      ok: false,
      ms,
      exitCode: null,
      signal: null,
      timedOut: false,
      stdout: "",
      stderr: `cannot start ${argv[0]}: ${(e as Error).message}`,
      cpuMs: null,
    };
  }
  const ms = performance.now() - t0;
  const signal = proc.signalCode === undefined ? null : String(proc.signalCode);
  const timedOut = proc.exitedDueToTimeout === true;
  return {
    ok: proc.exitCode === 0,
    ms,
    exitCode: proc.exitCode,
    signal,
    timedOut,
    stdout: proc.stdout ? proc.stdout.toString() : "",
    stderr: proc.stderr ? proc.stderr.toString() : "",
    // Microseconds as bigint. (Not ru_maxrss: Bun starts children with vfork, so a
    // child's peak includes Bun's own memory until its execve.)
    cpuMs: proc.resourceUsage ? Number(proc.resourceUsage.cpuTime.total) / 1000 : null,
  };
}

/** Runs a helper command (not timed); returns its result. */
export function run(argv: readonly string[], opts: RunOptions = {}): RunResult {
  return timedRun(argv, opts);
}

/** One line describing how a run ended, for failure reports. */
export function describeExit(r: RunResult): string {
  if (r.timedOut) return `timed out after ${Math.round(r.ms)} ms`;
  if (r.signal) return `killed by ${r.signal}`;
  if (r.exitCode === null) return "did not start";
  return `exit code ${r.exitCode}`;
}

// ---------------------------------------------------------------- Debian packages

export interface Requirement {
  /** Debian package that provides it. */
  pkg: string;
  /** True when already usable. */
  present: () => boolean;
}

export function dpkgInstalled(pkg: string): boolean {
  const r = run(["dpkg-query", "-W", "-f=${Status}", pkg]);
  return r.ok && r.stdout.trim() === "install ok installed";
}

/**
 * Installs the packages of the requirements that are not present, with apt-get
 * (running `apt-get update` first only if the plain install fails). Returns the
 * packages it installed. Throws BenchError with apt's last lines when it cannot.
 */
export function ensurePackages(reqs: readonly Requirement[]): string[] {
  const missing = [...new Set(reqs.filter((r) => !r.present()).map((r) => r.pkg))];
  if (missing.length === 0) return [];
  if (process.getuid?.() !== 0) {
    throw new BenchError(
      `missing packages ${missing.join(", ")} and not root: install them with ` +
        `\`apt-get install -y ${missing.join(" ")}\` or run this as root`,
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const install = ["apt-get", "install", "-y", "--no-install-recommends", ...missing];
  let r = run(install, { env, timeoutMs: 15 * 60_000 });
  if (!r.ok) {
    const u = run(["apt-get", "update"], { env, timeoutMs: 15 * 60_000 });
    r = run(install, { env, timeoutMs: 15 * 60_000 });
    if (!r.ok) {
      const tail = (u.stderr + r.stderr + r.stdout).trim().split("\n").slice(-8).join("\n");
      throw new BenchError(
        `cannot install ${missing.join(", ")} (\`${install.join(" ")}\` ${describeExit(r)}` +
          `${u.ok ? "" : `, \`apt-get update\` ${describeExit(u)}`}):\n${tail}`,
      );
    }
  }
  const still = reqs.filter((q) => !q.present()).map((q) => q.pkg);
  if (still.length) {
    throw new BenchError(`installed ${missing.join(", ")} but still missing: ${still.join(", ")}`);
  }
  return missing;
}

/** True when the ELF file at path has no PT_INTERP segment (statically linked). */
export function isStaticElf(path: string): boolean {
  let b: Buffer;
  try {
    b = readFileSync(path);
  } catch {
    return false;
  }
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2 || b[5] !== 1) return false;
  const phoff = Number(b.readBigUInt64LE(0x20));
  const phentsize = b.readUInt16LE(0x36);
  const phnum = b.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const off = phoff + i * phentsize;
    if (off + 4 > b.length) return false;
    if (b.readUInt32LE(off) === 3 /* PT_INTERP */) return false;
  }
  return true;
}

// ---------------------------------------------------------------- root filesystems

export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Fills `root` with a busybox root filesystem: /bin/busybox (copied from a static
 * busybox), a symlink in /bin for every applet it has (sh, true, ls, ...), and the
 * empty mount points /proc /dev /sys /tmp plus /etc /root.
 */
export function makeBusyboxRootfs(root: string, busybox = "/bin/busybox"): void {
  if (!isStaticElf(busybox)) {
    throw new BenchError(`${busybox} is not a static x86-64 ELF (install busybox-static)`);
  }
  for (const d of ["bin", "proc", "dev", "sys", "tmp", "etc", "root"]) {
    mkdirSync(join(root, d), { recursive: true });
  }
  chmodSync(join(root, "tmp"), 0o1777);
  copyFileSync(busybox, join(root, "bin", "busybox"));
  chmodSync(join(root, "bin", "busybox"), 0o755);
  const list = run([busybox, "--list"]);
  const applets = list.ok ? list.stdout.split("\n").map((s) => s.trim()) : [];
  for (const a of new Set([...applets, "sh", "true"])) {
    if (!a || a === "busybox" || a.includes("/")) continue;
    const link = join(root, "bin", a);
    if (!existsSync(link)) symlinkSync("busybox", link);
  }
}

// ---------------------------------------------------------------- mounts

/** The lines of /proc/self/mountinfo. */
export function readMountinfo(): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l !== "");
}

/** Lines only in `before` (gone) and only in `after` (added). */
export function diffLines(
  before: readonly string[],
  after: readonly string[],
): { gone: string[]; added: string[] } {
  const b = new Set(before);
  const a = new Set(after);
  return { gone: before.filter((l) => !a.has(l)), added: after.filter((l) => !b.has(l)) };
}

/** Decodes the octal escapes (\040 etc.) of a mountinfo path field. */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Mount points at or below dir in this mount namespace, deepest first. */
export function mountsUnder(dir: string): string[] {
  const base = dir.replace(/\/+$/, "");
  const points = readMountinfo()
    .map((l) => unescapeMountPath(l.split(" ")[4] ?? ""))
    .filter((p) => p === base || p.startsWith(base + "/"));
  return [...new Set(points)].sort((x, y) => y.length - x.length);
}

/**
 * Removes a directory tree that benchmarks created. Anything still mounted below it
 * is lazily unmounted first, and `rm --one-file-system` never crosses into a mount
 * that could not be removed (a leaked bind of the host must not be emptied).
 * Returns the problems met (empty when all is gone).
 */
export function removeTree(dir: string): string[] {
  const problems: string[] = [];
  if (!existsSync(dir)) return problems;
  for (const m of mountsUnder(dir)) {
    const r = run(["umount", "-l", m]);
    if (!r.ok) problems.push(`cannot unmount ${m}: ${r.stderr.trim()}`);
  }
  const left = mountsUnder(dir);
  if (left.length) {
    problems.push(`still mounted, not removing ${dir}: ${left.join(", ")}`);
    return problems;
  }
  const r = run(["rm", "-rf", "--one-file-system", "--", dir]);
  if (!r.ok || existsSync(dir)) problems.push(`cannot remove ${dir}: ${r.stderr.trim()}`);
  return problems;
}

// ---------------------------------------------------------------- cleanup

/**
 * A stack of cleanup actions run once, last registered first: at the end of the
 * benchmark, when it throws, on process exit, and on SIGINT/SIGTERM/SIGHUP (then the
 * process exits with 128+signal). Problems are collected, not printed; `onSignal`
 * lets the script say something before exiting.
 */
export class Cleanup {
  private actions: { name: string; fn: () => string[] | void }[] = [];
  private done = false;
  readonly problems: string[] = [];

  constructor(onSignal?: (signal: NodeJS.Signals, problems: string[]) => void) {
    const signals: [NodeJS.Signals, number][] = [
      ["SIGINT", 2],
      ["SIGTERM", 15],
      ["SIGHUP", 1],
    ];
    for (const [sig, num] of signals) {
      process.on(sig, () => {
        this.run();
        onSignal?.(sig, this.problems);
        process.exit(128 + num);
      });
    }
    process.on("exit", () => this.run());
  }

  add(name: string, fn: () => string[] | void): void {
    this.actions.push({ name, fn });
  }

  /** Runs every action once; later calls do nothing. Returns the problems met. */
  run(): string[] {
    if (this.done) return this.problems;
    this.done = true;
    while (this.actions.length) {
      const a = this.actions.pop()!;
      try {
        const p = a.fn();
        if (p) this.problems.push(...p);
      } catch (e) {
        this.problems.push(`${a.name}: ${(e as Error).message}`);
      }
    }
    return this.problems;
  }
}

// ---------------------------------------------------------------- options

/**
 * Parses `--flag N`, `--flag=N` and boolean `--flag` arguments into a copy of
 * `defaults`: `ints` maps each integer flag to its key and least value, `bools` each
 * boolean flag to its key. `-h`/`--help` prints `usage` and exits 0; anything else
 * is a usage error (BenchError, exit 2).
 */
export function parseFlags<T extends Record<string, number | boolean>>(
  argv: readonly string[],
  defaults: T,
  ints: Record<string, { key: keyof T; min: number }>,
  bools: Record<string, keyof T>,
  usage: string,
): T {
  const o: Record<string, number | boolean> = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith("--") && a.includes("=") ? a.split("=", 2) : [a, undefined];
    if (flag === "-h" || flag === "--help") {
      console.log(usage);
      process.exit(0);
    }
    const int = ints[flag!];
    const bool = bools[flag!];
    if (int) {
      const v = inline ?? argv[++i];
      const n = Number(v);
      if (v === undefined || !Number.isInteger(n) || n < int.min) throw new BenchError(`${flag} needs an integer >= ${int.min}\n${usage}`, 2);
      o[int.key as string] = n;
    } else if (bool !== undefined && inline === undefined) {
      o[bool as string] = true;
    } else {
      throw new BenchError(`unknown argument ${a}\n${usage}`, 2);
    }
  }
  return o as T;
}
