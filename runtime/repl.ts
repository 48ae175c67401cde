// The REPL's front ends: a terminal (line editing, completion, history, Ctrl-C)
// and a pipe (statements line by line, no prompts, no colours). Both drive the
// same ReplEngine (runtime/repl-engine.ts), which checks, plans and applies.
//
// Exit status: the status of the last input that failed (2 for a diagnostic,
// 125 for a setup error, the command's status for a `run` that failed), 0 when
// none did; after `exec`, the command's own status; 128+N when ctr is killed
// by signal N. Like `sh -e` without the -e: a failure does not stop the input.
//
// Ctrl-C and the terminal. At the prompt, readline holds the terminal (raw
// mode) and Ctrl-C clears the line. While a statement runs, the terminal is in
// its normal mode and nobody in ctr reads it: a `run` can read it like any
// foreground program, and Ctrl-C or Ctrl-\ reach it from the terminal driver,
// as they reach every process of the foreground group. PID 1 of an interactive
// session therefore keeps running on them (runtime/init.ts), stage 1 has them
// blocked, and ctr itself only escalates: a second Ctrl-C repeats SIGINT through
// PID 1, then SIGTERM, then SIGKILL (Container.interrupt).

// A pipe is read one byte at a time past what is already there, as sh does, so
// that after `exec` the rest of the input is the command's, not lost in ctr's buffer.

import { appendFileSync, mkdirSync, read as readAsync, readFileSync, readSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import * as readline from "node:readline";
import { isIncomplete } from "../lang/index.ts";
import { ioctl } from "../native/index.ts";
import { complete } from "./complete.ts";
import { ReplEngine, type ReplIO } from "./repl-engine.ts";
import { HANDLED_SIGNALS, signalStatus } from "./status.ts";
// The REPL writes at once, not through process.stdout: `run` children write to
// the same descriptors directly, so nothing may wait in a buffer.
import { writeAllOrDrop } from "./fdio.ts";

export interface ReplOptions {
  trace: boolean;
  /** Arguments after `ctr repl`. */
  args?: string[];
}

const USAGE = "usage: ctr [--trace] repl [-q|--quiet]\n";

export async function repl(opts: ReplOptions): Promise<number> {
  let quiet = false;
  for (const a of opts.args ?? []) {
    if (a === "-q" || a === "--quiet") quiet = true;
    else {
      process.stderr.write(`ctr: unknown argument \`${a}\` for the REPL\n${USAGE}`);
      return 2;
    }
  }
  const terminal = process.stdin.isTTY === true && process.stdout.isTTY === true;
  return terminal ? new TerminalRepl(opts.trace, quiet).run() : pipeRepl(opts.trace, quiet);
}

/**
 * SIGINT stops the statement in progress (`interrupt`); every other signal a
 * user may send (HANDLED_SIGNALS) ends the session, after tearing it down, with
 * 128+N, unless `exec`'s command is running: it gets the signal. With
 * `keepQuit`, SIGQUIT is left to the caller (a terminal's Ctrl-\ is for the run).
 */
function handleSignals(engine: ReplEngine, interrupt: () => void, keepQuit = false): () => void {
  const onInt = () => interrupt();
  const onEnd = (sig: NodeJS.Signals) => {
    if (engine.forward(sig)) return; // `exec`'s command gets it
    void engine.teardown().finally(() => process.exit(signalStatus(sig)));
  };
  const ending = HANDLED_SIGNALS.filter((sig) => sig !== "SIGINT" && !(keepQuit && sig === "SIGQUIT"));
  process.on("SIGINT", onInt);
  for (const sig of ending) process.on(sig, onEnd);
  return () => {
    process.off("SIGINT", onInt);
    for (const sig of ending) process.off(sig, onEnd);
  };
}

// ---- pipe ----------------------------------------------------------------------------

const FIONREAD = 0x541b;

/** Lines of a file descriptor, never reading past the newline of the line returned. */
export class LineReader {
  private readonly one = Buffer.alloc(1);
  private readonly count = Buffer.alloc(4);
  private ioctlWorks = true;

  constructor(private readonly fd: number) {}

  /** Bytes that can be read now without blocking (0 when unknown). */
  private available(): number {
    if (!this.ioctlWorks) return 0;
    try {
      ioctl(this.fd, FIONREAD, this.count);
      return this.count.readInt32LE(0);
    } catch {
      this.ioctlWorks = false;
      return 0;
    }
  }

  private readOne(): Promise<number> {
    return new Promise((resolve) => readAsync(this.fd, this.one, 0, 1, null, (err, n) => resolve(err ? 0 : n)));
  }

  /** The next line with its "\n", or what is left before EOF; null at EOF. */
  async next(): Promise<string | null> {
    const bytes: number[] = [];
    const done = () => Buffer.from(bytes).toString("utf8");
    for (;;) {
      let n = this.available();
      if (n > 0) {
        // Already there: plain reads, one byte at a time up to the newline.
        while (n-- > 0) {
          if (readSync(this.fd, this.one, 0, 1, null) !== 1) break;
          bytes.push(this.one[0]!);
          if (this.one[0] === 10) return done();
        }
        continue;
      }
      // Wait for more without holding up the event loop (signals, the container's messages).
      if ((await this.readOne()) === 0) return bytes.length > 0 ? done() : null;
      bytes.push(this.one[0]!);
      if (this.one[0] === 10) return done();
    }
  }
}

async function pipeRepl(trace: boolean, quiet: boolean): Promise<number> {
  const io: ReplIO = { out: (t) => writeAllOrDrop(1, t), err: (t) => writeAllOrDrop(2, t), color: false, trace, quiet };
  const engine = new ReplEngine(io);
  engine.start();
  // Without a terminal, SIGINT stops the statement in progress, or ends the session between statements.
  const unhandle = handleSignals(engine, () => {
    if (!engine.interrupt()) void engine.teardown().finally(() => process.exit(signalStatus("SIGINT")));
  });
  const reader = new LineReader(0);
  let status = 0;
  let pending = "";
  try {
    for (;;) {
      const line = await reader.next();
      if (line === null && pending === "") break;
      pending += line ?? "";
      if (line !== null && isIncomplete(pending)) continue;
      const r = await engine.eval(pending);
      pending = "";
      if (r.end) return r.exec ? r.status : status;
      if (r.status !== 0) status = r.status;
      if (line === null) break;
    }
    return status;
  } finally {
    await engine.teardown();
    unhandle();
  }
}

// ---- terminal --------------------------------------------------------------------------

/** The history file: $XDG_STATE_HOME/ctr/history, else ~/.ctr_history. */
export function historyFile(env: Record<string, string | undefined> = process.env): string {
  const state = env.XDG_STATE_HOME;
  if (state?.startsWith("/")) return join(state, "ctr", "history");
  return join(env.HOME?.startsWith("/") ? env.HOME : homedir(), ".ctr_history");
}

const HISTORY_SIZE = 1000;

const BOLD_CYAN = "\x1b[1;36m";
const RESET = "\x1b[0m";

class TerminalRepl {
  private readonly color = !process.env.NO_COLOR;
  private readonly engine: ReplEngine;
  private readonly history: string[] = [];
  private readonly historyPath = historyFile();
  private rl: readline.Interface | null = null;

  constructor(trace: boolean, quiet: boolean) {
    const io: ReplIO = {
      out: (t) => writeAllOrDrop(1, t),
      err: (t) => writeAllOrDrop(2, t),
      color: this.color,
      trace,
      quiet,
      terminal: true,
      idleNotice: (t) => this.notice(t),
    };
    this.engine = new ReplEngine(io);
    this.loadHistory();
  }

  async run(): Promise<number> {
    this.engine.start();
    // The terminal signals the whole foreground group itself; ctr counts the
    // press and, from the second one on, escalates through PID 1.
    const unhandle = handleSignals(this.engine, () => this.engine.interrupt(true), true);
    const onQuit = () => void this.engine.interrupt(true); // Ctrl-\ is for the `run` in progress, not for ctr
    process.on("SIGQUIT", onQuit);
    let status = 0;
    try {
      if (!this.engine.history.length) writeAllOrDrop(1, this.paint("ctr REPL: one statement at a time on a live container. :help for help, Ctrl-D to leave.\n", "\x1b[2m"));
      for (;;) {
        const input = await this.read();
        if (input === null) break;
        const r = await this.engine.eval(input);
        if (r.end) return r.exec ? r.status : status;
        if (r.status !== 0) status = r.status;
      }
      return status;
    } finally {
      await this.engine.teardown();
      unhandle();
      process.off("SIGQUIT", onQuit);
    }
  }

  private paint(text: string, code: string): string {
    return this.color ? code + text.replace(/\n$/, "") + RESET + (text.endsWith("\n") ? "\n" : "") : text;
  }

  /** One complete input (several lines for an open `{` or a trailing `\`), or null at Ctrl-D. */
  private read(): Promise<string | null> {
    return new Promise((resolve) => {
      const prompt = this.engine.prompt();
      const rl = readline.createInterface({
        input: process.stdin,
        output: process.stdout,
        terminal: true,
        history: this.history,
        historySize: HISTORY_SIZE,
        removeHistoryDuplicates: true,
        completer: (line: string) => complete(line, this.engine.completion),
        tabSize: 4,
      });
      this.rl = rl;
      let pending = "";
      let settled = false;
      const finish = (value: string | null) => {
        if (settled) return;
        settled = true;
        this.rl = null;
        rl.close();
        resolve(value);
      };
      const first = this.color ? BOLD_CYAN + prompt.trimEnd() + RESET + " " : prompt;
      const more = this.color ? BOLD_CYAN + "...>" + RESET + " " : "...> ";
      rl.setPrompt(first);
      rl.on("line", (line) => {
        if (line.trim() !== "") this.remember(line);
        pending += line + "\n";
        if (isIncomplete(pending)) {
          rl.setPrompt(more);
          rl.prompt();
          return;
        }
        finish(pending);
      });
      rl.on("SIGINT", () => {
        // Like a shell: Ctrl-C drops what is being typed and gives a fresh prompt.
        writeAllOrDrop(1, "^C\n");
        pending = "";
        rl.write(null, { ctrl: true, name: "e" });
        rl.write(null, { ctrl: true, name: "u" });
        rl.setPrompt(first);
        rl.prompt();
      });
      rl.on("close", () => {
        if (settled) return;
        writeAllOrDrop(1, "\n");
        finish(null);
      });
      rl.prompt();
    });
  }

  /** A message while the prompt is shown: print it above a fresh prompt. */
  private notice(text: string): void {
    const rl = this.rl;
    if (!rl) {
      writeAllOrDrop(2, text);
      return;
    }
    readline.clearLine(process.stdout, 0);
    readline.cursorTo(process.stdout, 0);
    writeAllOrDrop(2, text);
    const prompt = this.engine.prompt();
    rl.setPrompt(this.color ? BOLD_CYAN + prompt.trimEnd() + RESET + " " : prompt);
    rl.prompt(true);
  }

  private loadHistory(): void {
    try {
      const lines = readFileSync(this.historyPath, "utf8").split("\n").filter(Boolean);
      // readline keeps the newest first.
      this.history.push(...lines.slice(-HISTORY_SIZE).reverse());
      if (lines.length > 2 * HISTORY_SIZE) writeFileSync(this.historyPath, lines.slice(-HISTORY_SIZE).join("\n") + "\n");
    } catch {
      // no history yet
    }
  }

  private remember(line: string): void {
    try {
      mkdirSync(dirname(this.historyPath), { recursive: true });
      appendFileSync(this.historyPath, line.replace(/\n/g, " ") + "\n", { mode: 0o600 });
    } catch {
      // a read-only home: history stays in memory
    }
  }
}
