// Driving a real `ctr repl` from a test: through pipes (no terminal: no
// prompts, no colours) and through a pseudo-terminal (Bun's own `terminal`
// spawn option: prompts, line editing, Tab, Ctrl-C and Ctrl-D as a user types
// them). Both are tracked by the Host of test/integration/host-state.ts, so
// the usual "nothing left behind" check covers them; cgroups are checked here.

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { CTR, onHost, REPO, type Host } from "../integration/host-state.ts";
import { callerDir, machineCgroups } from "../../runtime/features/cgroup/detect.ts";

async function waitFor(get: () => string, re: RegExp, from: number, timeoutMs: number, what: string): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = get().slice(from).match(re);
    if (m) return m;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${re} in ${what}:\n${get().slice(from)}`);
    await Bun.sleep(10);
  }
}

/** `ctr repl` on pipes. */
export class PipeRepl {
  out = "";
  err = "";
  readonly proc;
  private readonly done: Promise<void>;

  constructor(h: Host, args: string[] = [], env: Record<string, string> = {}) {
    this.proc = Bun.spawn({
      cmd: [CTR, "repl", ...args],
      cwd: REPO,
      env: { ...process.env, NO_COLOR: "1", TMPDIR: h.tmp, ...env },
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    h.pids.push(this.proc.pid);
    track(h, this.proc);
    const pump = async (s: ReadableStream<Uint8Array>, add: (t: string) => void) => {
      const d = new TextDecoder();
      for await (const chunk of s) add(d.decode(chunk, { stream: true }));
    };
    this.done = Promise.all([pump(this.proc.stdout, (t) => void (this.out += t)), pump(this.proc.stderr, (t) => void (this.err += t))]).then(() => {});
  }

  /** Send lines; returns the stdout and stderr offsets before them. */
  send(text: string): { out: number; err: number } {
    const at = { out: this.out.length, err: this.err.length };
    this.proc.stdin.write(text.endsWith("\n") ? text : text + "\n");
    this.proc.stdin.flush();
    return at;
  }

  expectOut(re: RegExp, from = 0, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    return waitFor(() => this.out, re, from, timeoutMs, `stdout (stderr: ${this.err})`);
  }

  expectErr(re: RegExp, from = 0, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    return waitFor(() => this.err, re, from, timeoutMs, `stderr (stdout: ${this.out})`);
  }

  /** Close stdin (EOF) and wait for the end. */
  async close(): Promise<number> {
    await this.proc.stdin.end();
    const code = await this.proc.exited;
    await this.done;
    return code;
  }
}

/** Run a whole REPL input through a pipe. */
export async function pipeRun(h: Host, input: string, args: string[] = ["-q"]): Promise<{ code: number; out: string; err: string }> {
  const r = new PipeRepl(h, args);
  r.send(input);
  const code = await r.close();
  return { code, out: r.out, err: r.err };
}

/** `ctr` (the REPL) on a pseudo-terminal. */
export class TermRepl {
  out = "";
  readonly proc;

  constructor(h: Host, env: Record<string, string> = {}) {
    this.proc = Bun.spawn({
      cmd: [CTR],
      cwd: REPO,
      env: { ...process.env, NO_COLOR: "1", TMPDIR: h.tmp, TERM: "xterm", ...env },
      terminal: { cols: 200, rows: 50, data: (_t, d) => void (this.out += new TextDecoder().decode(d)) },
    });
    h.pids.push(this.proc.pid);
    track(h, this.proc);
  }

  /** Keys as typed (no newline added); returns the output offset before them. */
  keys(text: string): number {
    const at = this.out.length;
    this.proc.terminal!.write(text);
    return at;
  }

  /** A line and Enter. */
  type(line: string): number {
    return this.keys(line + "\r");
  }

  expect(re: RegExp, from = 0, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    return waitFor(() => this.out, re, from, timeoutMs, "the terminal");
  }

  /** Wait for the prompt after `from` (a prompt is `ctr> ` or `ctr[NAME pid N]> `). */
  prompt(from = 0, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    return this.expect(/ctr(?:\[(\S+) pid (\d+)\])?> (?:\x1b\[\d+G)?$/, from, timeoutMs);
  }

  async exited(): Promise<number> {
    const code = await this.proc.exited;
    this.proc.terminal?.close();
    return code;
  }
}

const live = new Map<Host, { exitCode: number | null; kill(sig?: number | NodeJS.Signals): void; exited: Promise<number> }[]>();

function track(h: Host, proc: { exitCode: number | null; kill(sig?: number | NodeJS.Signals): void; exited: Promise<number> }): void {
  live.set(h, [...(live.get(h) ?? []), proc]);
}

/**
 * onHost for REPL tests: a REPL a failed test left running is ended the way a
 * user would end it (SIGTERM: it tears down) before the host is checked.
 */
export function onReplHost(fn: (h: Host) => Promise<void>): Promise<void> {
  return onHost(async (h) => {
    try {
      await fn(h);
    } finally {
      for (const proc of live.get(h) ?? []) {
        if (proc.exitCode === null) {
          proc.kill("SIGTERM");
          await proc.exited;
        }
      }
      live.delete(h);
    }
  });
}

/** cgroup directories a ctr with one of `pids` left (named ctr-XXXXXX-PID below the test's own cgroups). */
export function cgroupLeftovers(pids: readonly number[]): string[] {
  const sys = machineCgroups();
  const dirs = new Set<string>();
  for (const h of [...Object.values(sys.v1), sys.v2]) if (h) dirs.add(callerDir(h));
  const mine = new RegExp(`^ctr-[a-z0-9]+-(${pids.join("|") || "none"})(-host)?$`);
  const found: string[] = [];
  for (const d of dirs) {
    let names: string[] = [];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const n of names) if (mine.test(n)) found.push(join(d, n));
  }
  return found;
}
