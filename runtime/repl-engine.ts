// The REPL's engine: one input at a time, checked and planned with the same
// front end, planner and executor as scripts, applied to a live container.
//
// The terminal and pipe front ends (runtime/repl.ts) and the benchmark drive
// this class; it prints through the ReplIO it is given and never exits.
//
//   input --Session.compile--> commands --Planner.add--> ops --Container.apply--> kernel
//
// Rules that shape it:
//   - `ns` creates the container (stage 1 was started when the session began,
//     so this is quick); later statements are applied to it at once.
//   - An input with errors changes nothing. A statement that fails at run time
//     leaves the container as it was before that statement; statements of the
//     same input that came before it stay applied (and are said to).
//   - The session's state (variables, functions, namespaces, the planner's
//     "mount tree private yet?", "root entered yet?") must match what actually
//     took effect. The front end's Session and the Planner commit as they go,
//     so after a failure both are rebuilt by compiling and planning again what
//     took effect (`saved`: the same text `:save` writes). Re-planning is cheap
//     and performs nothing; the ops it may emit again (make the tree private,
//     enter the root) are idempotent in PID 1.
//   - `run` that exits non-zero is kept, followed by `expect exit N`, so that
//     the saved script replays it instead of stopping there.

import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { ScriptFileError, Session, formatDiagnostic, limitDiagnostics, readScriptFile, type Command, type Diagnostic, type Span } from "../lang/index.ts";
import { SysError } from "../native/error.ts";
import { type Container, Launch, makeStateDir, traceLine } from "./host.ts";
import { ContainerSession } from "./session.ts";
import { overlaid, SIDE_NAME, type Op, type RunResult } from "./ops.ts";
import { newContainerId, stateRoot } from "./paths.ts";
import { bound, Planner, texts } from "./plan.ts";
import { findStatement, statements, suggestStatement } from "./registry.ts";
import { defaultCacheDir, defaultRootfs } from "./features/rootfs/cache.ts";
import { signalStatus } from "./status.ts";
import { helpOverview, helpStatement, type CompletionContext } from "./complete.ts";
import { hostView } from "./hostview.ts";
import { stdlibDir } from "./bundle.ts";
import { explainOps } from "./explain.ts";
import { checkCgroupPrivileges, checkNamespacePrivileges } from "./privileges.ts";
import { detachContainer, Fatal } from "./repl-detach-host.ts";

/** Where the engine prints. */
export interface ReplIO {
  /** Results: what a statement did, `show` tables, `echo`. */
  out(text: string): void;
  /** Diagnostics, errors, notices. */
  err(text: string): void;
  color: boolean;
  /** Print each syscall of the container's stages as it is made. */
  trace: boolean;
  /** Leave out the lines that say what each statement did. */
  quiet?: boolean;
  /** A REPL on a terminal: the terminal's Ctrl-C and Ctrl-\ are for `run`, so PID 1 must survive them. */
  terminal?: boolean;
  /** The container ended while the REPL was idle (the front end redraws its prompt). */
  idleNotice?(text: string): void;
}

export interface EvalResult {
  /** 0 when everything took effect; otherwise the failure's status (2 for a diagnostic). */
  status: number;
  /** The session is over: `exec` ran, or `:quit`. */
  end?: boolean;
  /** `exec` ran: status is the command's. */
  exec?: boolean;
}

/** A piece of script that took effect, as `:save` writes it. */
interface Saved {
  text: string;
  file: string;
}

interface HistoryItem {
  text: string;
  ok: boolean;
}

const EXIT_USAGE = 2;
const EXIT_SETUP = 125;

const DIM = "\x1b[2m";
const RESET = "\x1b[0m";

// Ops whose explain lines are not worth repeating after they ran: they print their own result.
const SILENT = new Set<Op["kind"]>(["run", "exec", "show", "show-cgroup", "echo", "expect", "sleep", "show-security", "show-net"]);

const lookup = findStatement;

/** Signals a Ctrl-C sends to a `run`, by how many times it was pressed. */
const ESCALATION: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGKILL"];

export class ReplEngine {
  id = newContainerId();
  private launching: Promise<Launch> | null = null;
  /** The launch the live container was made from (`:detach` hands it to its stage 1). */
  private launch: Launch | null = null;
  /** The live container's life on the host (runtime/session.ts), from `ns` on. */
  private life: ContainerSession | null = null;
  private get container(): Container | null {
    return this.life?.container ?? null;
  }
  private session!: Session;
  private planner!: Planner;
  private saved: Saved[] = [];
  readonly history: HistoryItem[] = [];
  private sources = new Map<string, string>();
  private hostname: string | null = null;
  private stateDirMade = false;
  /** The prepared root (a host path in PID 1's mount namespace) until it is entered. */
  private pendingRoot: string | null = null;
  private cwd = "/";
  /** What a Ctrl-C should stop, while a statement runs. */
  private interruptible: ((n: number) => void) | null = null;
  private interrupts = 0;
  /** True while a statement is being evaluated. */
  private busy = false;
  /** The container ended on its own; noticed between statements. */
  private gone: string | null = null;
  private execing = false;
  private closed = false;
  /** Result lines of the op just applied, when better than its explain lines. */
  private report: string[] | null = null;

  constructor(private readonly io: ReplIO) {
    this.fresh();
  }

  /** Start stage 1 now, so that `ns` only has to send it the plan. */
  start(): void {
    if (this.launching || this.closed) return;
    this.launching = Launch.start(undefined, true); // detachable: `:detach` may hand the container to its stage 1
    this.launching.catch(() => {}); // reported when `ns` needs it
  }

  private fresh(): void {
    this.id = newContainerId();
    this.session = this.newSession();
    this.planner = this.newPlanner();
    this.saved = [];
    this.hostname = null;
    this.stateDirMade = false;
    this.pendingRoot = null;
    this.cwd = "/";
    this.gone = null;
  }

  /** A front-end session of the REPL's: the container's root for completion's host view, the package's stdlib for imports. */
  private newSession(): Session {
    return new Session({ specs: statements, env: process.env, host: hostView(() => this.completion.containerRoot()), stdlibDir: stdlibDir() });
  }

  private newPlanner(): Planner {
    return new Planner(lookup, { stateDir: this.stateDir, defaultRootfs: `${defaultCacheDir()}/rootfs` }, { enterRootAtOnce: true });
  }

  private get stateDir(): string {
    return `${stateRoot()}/${this.id}`;
  }

  /** The prompt: `ctr> ` before `ns`, then the container's name and PID 1's host PID. */
  prompt(): string {
    if (!this.container) return "ctr> ";
    return `ctr[${this.hostname ?? this.id.split("-")[1]} pid ${this.container.pid1}]> `;
  }

  /** Namespaces of the container (empty before `ns`). */
  get namespaces(): ReadonlySet<string> {
    return this.session.namespaces;
  }

  get pid1(): number {
    return this.container?.pid1 ?? 0;
  }

  get completion(): CompletionContext {
    return {
      functions: () => this.session.functions(),
      variables: () => this.session.variables(),
      containerRoot: () => {
        const pid = this.container?.pid1;
        if (!pid) return null;
        return `/proc/${pid}/root${this.pendingRoot ?? ""}`;
      },
      containerCwd: () => this.cwd,
    };
  }

  /**
   * Ctrl-C: stop what the current statement is doing. False when nothing can be
   * stopped. `fromTerminal`: the terminal driver signalled the run itself.
   */
  interrupt(fromTerminal = false): boolean {
    if (!this.interruptible) return false;
    const n = this.interrupts++;
    // The terminal's first Ctrl-C has reached the run already; later ones escalate.
    if (!(fromTerminal && n === 0)) this.interruptible(n);
    this.noteIgnored(n);
    return true;
  }

  /** A run still going a moment after a press ignored its signal: say what the next press sends. */
  private noteIgnored(n: number): void {
    const sent = ESCALATION[Math.min(n, ESCALATION.length - 1)]!;
    const next = ESCALATION[n + 1];
    if (!next) return;
    const run = this.interruptible;
    const timer = setTimeout(() => {
      if (this.interruptible === run && this.interrupts === n + 1) this.io.err(this.dim(`  the run is still going after ${sent}: press Ctrl-C again to send ${next}\n`));
    }, 300);
    timer.unref?.();
  }

  /** A signal to ctr while `exec`'s command runs goes to it; otherwise false. */
  forward(sig: NodeJS.Signals): boolean {
    if (!this.execing || !this.container) return false;
    this.container.signal(sig);
    return true;
  }

  /** One input: a REPL command (`:help`) or statements. */
  async eval(input: string, file?: string): Promise<EvalResult> {
    const trimmed = input.trim();
    if (trimmed === "") return { status: 0 };
    this.busy = true;
    try {
      if (trimmed.startsWith(":")) return await this.command(trimmed);
      this.history.push({ text: input.replace(/\n$/, ""), ok: false });
      const r = await this.statements(input, file ?? `<repl:${this.history.length}>`, true);
      this.history[this.history.length - 1]!.ok = r.status === 0;
      return r;
    } finally {
      this.busy = false;
      this.interruptible = null;
      if (this.gone !== null && !this.closed) await this.containerGone();
    }
  }

  // ---- REPL commands -------------------------------------------------------------

  private async command(line: string): Promise<EvalResult> {
    const [cmd, ...rest] = line.split(/\s+/);
    const arg = line.slice(cmd!.length).trim();
    switch (cmd) {
      case ":help":
      case ":h":
      case ":?": {
        if (!arg) {
          this.io.out(helpOverview());
          return { status: 0 };
        }
        const text = helpStatement(rest[0]!, rest[1]);
        if (text) {
          this.io.out(text);
          return { status: 0 };
        }
        const spec = findStatement(rest[0]!);
        const why = spec
          ? `\`${spec.name}\` has no form \`${rest[1]}\`${spec.forms ? ` (its forms: ${Object.keys(spec.forms).join(", ")})` : ""}`
          : `no statement \`${rest[0]}\`${suggestStatement(rest[0]!) ? `: ${suggestStatement(rest[0]!)}` : ""}`;
        this.io.err(`${why} (\`:help\` lists the statements)\n`);
        return { status: EXIT_USAGE };
      }
      case ":explain":
        return this.explain(arg);
      case ":show":
        return this.statements(`show ${arg}`, `<:show>`, false);
      case ":history":
        this.io.out(this.history.map((h, i) => `${String(i + 1).padStart(4)}  ${h.ok ? " " : "!"} ${h.text.replace(/\n/g, "\n        ")}`).join("\n") + (this.history.length ? "\n" : ""));
        return { status: 0 };
      case ":save":
        return this.save(arg);
      case ":load":
        return this.load(arg);
      case ":reset":
        await this.teardown();
        this.closed = false;
        this.fresh();
        this.start();
        this.io.out(this.io.quiet ? "" : "the container is gone; a new session starts\n");
        return { status: 0 };
      case ":detach":
        return this.detach(arg);
      case ":quit":
      case ":q":
      case ":exit":
        return { status: 0, end: true };
      default:
        this.io.err(`unknown command \`${cmd}\`; the commands are ${[":help", ":explain", ":show", ":history", ":save", ":load", ":reset", ":detach", ":quit"].join(" ")}\n`);
        return { status: EXIT_USAGE };
    }
  }

  /**
   * `:detach [NAME]`: the container runs on under NAME, supervised by its stage 1
   * (runtime/repl-detach-host.ts), and the session ends without tearing it down.
   */
  private async detach(name: string): Promise<EvalResult> {
    const life = this.life;
    const launch = this.launch;
    if (!life?.container || !launch) {
      this.io.err("ctr: there is no container to detach yet\nhelp: create it first: ns uts, pid, mnt\n");
      return { status: EXIT_USAGE };
    }
    if (/\s/.test(name)) {
      this.io.err("usage: :detach [NAME]\n");
      return { status: EXIT_USAGE };
    }
    let detached: string;
    try {
      detached = await detachContainer({ name, id: this.id, life, launch, namespaces: [...this.planner.namespaces], ops: this.tookEffect(), stateDir: this.stateDir, stateDirMade: this.stateDirMade, hostname: this.hostname });
    } catch (e) {
      if (!(e instanceof Fatal)) {
        this.error(e);
        return { status: e instanceof SysError && e.status !== undefined ? e.status : EXIT_SETUP };
      }
      this.error(e.cause);
      this.gone = "`:detach` failed after PID 1 was told, so the container was ended"; // torn down once this command returns
      return { status: EXIT_SETUP };
    }
    // Stage 1 supervises it now: nothing of the container is this session's to tear down.
    this.life = null;
    this.launch = null;
    this.launching = null;
    launch.close();
    this.io.out(detached + "\n");
    if (!this.io.quiet) this.io.err(this.dim(`  the container runs on as ${detached}: ctr exec ${detached} CMD, ctr logs ${detached}, ctr stop ${detached}, ctr rm ${detached}\n`));
    return { status: 0, end: true };
  }

  /** The operations of what took effect, planned again (performs nothing). */
  private tookEffect(): Op[] {
    const session = this.newSession();
    const planner = this.newPlanner();
    return this.saved.flatMap((s) => planner.add(session.compile(s.text, s.file).commands).ops);
  }

  private async explain(text: string): Promise<EvalResult> {
    if (!text) {
      this.io.err("usage: :explain STATEMENT (e.g. :explain mount proc)\n");
      return { status: EXIT_USAGE };
    }
    const file = "<:explain>";
    const r = this.session.compile(text, file);
    this.sources.set(file, text);
    let status = 0;
    if (this.diagnose(r.diagnostics)) status = EXIT_USAGE;
    else {
      const { ops, diagnostics } = this.planner.add(r.commands);
      if (this.diagnose(diagnostics)) status = EXIT_USAGE;
      else {
        const lines: string[] = [];
        const derived = explainOps(ops);
        ops.forEach((op, i) => {
          if (op.kind === "unshare" && this.container) lines.push(`${op.source}    [the container exists: \`ns\` would add namespaces to it, which ctr cannot do]`);
          else lines.push(`${op.source}    [${SIDE_NAME[op.side]}]`, ...derived[i]!.map((e) => `    ${e}`));
        });
        this.io.out(lines.join("\n") + (lines.length ? "\n" : ""));
      }
    }
    // Nothing was done: the session and planner go back to what took effect.
    this.rebuild();
    return { status };
  }

  private save(file: string): EvalResult {
    if (!file) {
      this.io.err("usage: :save FILE\n");
      return { status: EXIT_USAGE };
    }
    const head = `# Saved from a ctr REPL session on ${new Date().toISOString()}: the statements that took effect.\n# Run it with: ctr ${file}\n`;
    // Trailing blanks go (a completed word leaves one), unless they follow a backslash.
    const body = this.saved.map((s) => s.text.replace(/(?<!\\)[ \t]+$/gm, "").replace(/\n?$/, "\n")).join("");
    try {
      writeFileSync(file, head + body);
    } catch (e) {
      this.io.err(`ctr: cannot write "${file}": ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`);
      return { status: EXIT_USAGE };
    }
    const n = this.saved.length;
    if (!this.io.quiet) this.io.out(`saved ${n} input${n === 1 ? "" : "s"} to ${file}\n`);
    return { status: 0 };
  }

  private async load(file: string): Promise<EvalResult> {
    if (!file) {
      this.io.err("usage: :load FILE\n");
      return { status: EXIT_USAGE };
    }
    let text: string;
    try {
      text = readScriptFile(file); // a regular file of bounded size: `:load /dev/zero` would never end
    } catch (e) {
      this.io.err(`ctr: cannot read "${file}": ${e instanceof ScriptFileError ? e.message : ((e as NodeJS.ErrnoException).code ?? String(e))}\n`);
      return { status: EXIT_USAGE };
    }
    this.history.push({ text: `:load ${file}`, ok: false });
    const r = await this.statements(text, file, true);
    this.history[this.history.length - 1]!.ok = r.status === 0;
    return r;
  }

  // ---- statements ----------------------------------------------------------------

  private sourceOf = (file: string): string | undefined => this.sources.get(file);

  /** Print diagnostics; true when one of them is an error. */
  private diagnose(ds: readonly Diagnostic[]): boolean {
    const { shown, more } = limitDiagnostics(ds);
    for (const d of shown) this.io.err(formatDiagnostic(d, this.sourceOf, this.io.color) + "\n");
    if (more) this.io.err(`${more}\n`);
    return ds.some((d) => d.severity === "error");
  }

  private error(e: unknown, span?: Span): void {
    if (e instanceof SysError) {
      const at = (e.span as Span | undefined) ?? span;
      if (at) {
        this.diagnose([{ severity: "error", span: at, message: e.message, help: e.hint }]);
        return;
      }
      this.io.err(`ctr: ${e.message}\n${e.hint ? `help: ${e.hint}\n` : ""}`);
      return;
    }
    this.io.err(`ctr: ${e instanceof Error ? e.message : String(e)}\n`);
  }

  private async statements(input: string, file: string, record: boolean): Promise<EvalResult> {
    const r = this.session.compile(input, file);
    for (const [f, t] of r.sources) this.sources.set(f, t);
    this.sources.set(file, input);
    if (this.diagnose(r.diagnostics)) return { status: EXIT_USAGE }; // nothing committed
    const commands = r.commands;

    // A container's namespaces are made once: a later `ns` can only repeat them.
    const existing = new Set(this.planner.namespaces);
    const redundant = new Set<Command>();
    for (const cmd of commands) {
      if (cmd.name !== "ns" || !this.container) continue;
      const wanted = texts(bound(cmd).rest).filter((w) => w !== "none");
      const missing = wanted.filter((n) => !existing.has(n as never));
      if (missing.length === 0) {
        redundant.add(cmd);
        continue;
      }
      this.diagnose([
        {
          severity: "error",
          span: cmd.span,
          message: `the container exists already${existing.size ? ` with ${[...existing].join(", ")}` : ", with no namespaces of its own"}: ${missing.join(", ")} cannot be added to it`,
          help: `:reset, then \`ns ${[...new Set([...existing, ...wanted])].join(", ")}\` (or :save, edit the file's \`ns\` line, :reset and :load it)`,
        },
      ]);
      this.rebuild();
      return { status: EXIT_USAGE };
    }

    const { ops, diagnostics } = this.planner.add(commands);
    // Stage 1 joins before it unshares; the REPL's container is made by its first `ns` alone (create()).
    for (const op of ops) if (op.kind === "join") diagnostics.push({ severity: "error", span: op.span, message: `\`${op.source}\` is not supported in the REPL yet: stage 1 joins the running container before it unshares, and the REPL makes its container from \`ns\` alone`, help: "run it from a script: ctr FILE.ctr" });
    if (this.diagnose(diagnostics)) {
      this.rebuild();
      return { status: EXIT_USAGE };
    }

    let failed: { cmd: Command; status: number; run: boolean } | null = null;
    // `map` lines of the same input as `ns user` are written when the namespace is made.
    const idmaps = ops.filter((o) => o.kind === "idmap");
    const creating = ops.some((o) => o.kind === "unshare" && !this.container);
    let derived: string[][] | null = null;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      const cmd = commands.find((c) => c.span === op.span) ?? commands[0]!;
      if (op.kind === "unshare" && this.container) {
        // Repeats what exists, or a second `ns` of the input that created it (with all of them).
        if (redundant.has(cmd) && !this.io.quiet) this.io.out(this.dim(`  nothing to do: the container has ${texts(bound(cmd).rest).join(", ")} already\n`));
        continue;
      }
      try {
        if (op.kind === "idmap" && !creating) {
          throw new SysError({
            message: "the id maps of a user namespace are written once, when it is made: this container's are set",
            hint: "`:reset`, then give `ns user, ...` and its `map` lines in one input (on one line with `;`, or :load a file)",
            span: op.span,
            status: EXIT_USAGE,
          });
        }
        const result = op.kind === "unshare" ? await this.create(op.namespaces, idmaps, op.span) : await this.apply(op);
        if (op.kind === "exec") return { status: result as number, end: true, exec: true };
        if (op.kind === "run") {
          const status = this.reportRun(op, result as RunResult);
          const next = ops[i + 1];
          if (status !== 0 && !(next?.kind === "expect" && next.subject === "exit")) {
            // A run stopped with Ctrl-C was abandoned: it is not kept for :save. On a
            // terminal the key's signal may end the run before ctr has counted the press.
            const signal = (result as RunResult).signal;
            const byKey = this.io.terminal === true && (signal === "SIGINT" || signal === "SIGQUIT");
            failed = { cmd, status, run: this.interrupts === 0 && !byKey };
            break;
          }
        } else if (!this.io.quiet && (this.report || !SILENT.has(op.kind))) {
          const lines = this.report ?? (derived ??= explainOps(ops))[i]!;
          this.io.out(this.dim(lines.map((l) => `  ${l}\n`).join("") + (op.kind === "unshare" ? `  PID 1 is host pid ${this.pid1}\n` : "")));
        }
        this.report = null;
      } catch (e) {
        this.report = null;
        this.error(e, op.span);
        failed = { cmd, status: e instanceof SysError && e.status !== undefined ? e.status : op.kind === "expect" ? 1 : EXIT_SETUP, run: false };
        break;
      }
    }
    if (!failed) {
      if (record) this.saved.push({ text: input, file });
      return { status: 0 };
    }

    // Part of the input took effect: keep exactly that, and bring the session in line with it.
    const k = commands.indexOf(failed.cmd);
    if (failed.run && k === commands.length - 1) {
      // Only the last `run` failed: keep the input whole; the script must not stop there.
      if (record) this.saved.push({ text: `${input.replace(/\n?$/, "\n")}expect exit ${failed.status}\n`, file });
      return { status: failed.status };
    }
    const kept = commands.slice(0, failed.run ? k + 1 : k).map(commandText);
    if (failed.run) kept.push(`expect exit ${failed.status}`);
    if (kept.length > 0 && record) {
      this.saved.push({ text: kept.join("\n") + "\n", file });
      const n = failed.run ? k + 1 : k;
      if (n > 0) this.io.err(`note: ${n} statement${n === 1 ? "" : "s"} of this input took effect before it stopped: ${commands.slice(0, n).map((c) => "`" + commandText(c) + "`").join(", ")}\n`);
    }
    this.rebuild();
    return { status: failed.status };
  }

  /** Compile and plan again what took effect: the session's and the planner's state follow it. */
  private rebuild(): void {
    this.session = this.newSession();
    this.planner = this.newPlanner();
    for (const s of this.saved) {
      const r = this.session.compile(s.text, s.file);
      this.planner.add(r.commands);
    }
  }

  private dim(text: string): string {
    return this.io.color && text ? DIM + text.replace(/\n$/, "") + RESET + "\n" : text;
  }

  /** Says how a `run` ended when it did not end well; returns its status. */
  private reportRun(op: Extract<Op, { kind: "run" }>, r: RunResult): number {
    const status = r.signal ? signalStatus(r.signal) : (r.exitCode ?? 0);
    // (an OOM kill of the run was said by the session: ContainerSession.apply)
    // A command that could not be started is a status (127, 126), with the reason.
    const error = (r as RunResult & { error?: string }).error;
    if (error) this.error(new SysError({ message: error, status }), op.span);
    else if (status !== 0) this.io.err(this.dim(r.signal ? `  killed by ${r.signal} (status ${status})\n` : `  exit status ${status}\n`));
    return status;
  }

  // ---- applying operations -----------------------------------------------------------

  private async apply(op: Op): Promise<RunResult | number | undefined> {
    switch (op.kind) {
      case "unshare":
      case "idmap": // written by create()
        return;
      case "net-host":
        throw new SysError({ message: `\`${op.source}\` is not supported in the REPL yet: the host's end is made between unshare and PID 1`, hint: "run it from a script: ctr run FILE", span: op.span, status: EXIT_USAGE });
      case "mount-cgroup":
        // It shows the container's own cgroup of every hierarchy, made before stage 1 unshares (runtime/features/cgroup/when.ts).
        throw new SysError({ message: `\`${op.source}\` is not supported in the REPL yet: the container's cgroups of every hierarchy are made before it starts`, hint: "run it from a script: ctr run FILE", span: op.span, status: EXIT_USAGE });
      case "sleep":
        await this.sleep(op.ms);
        return;
      case "echo":
        if (!this.container) {
          this.io.out(op.text + "\n");
          return;
        }
        break;
      case "rootfs":
        if (!this.stateDirMade) {
          makeStateDir(this.id, this.hostname, overlaid(op));
          this.stateDirMade = true;
        }
        if (op.overlay) defaultRootfs(undefined, { onProgress: (m) => this.io.err(`ctr: ${m}\n`) });
        break;
      case "cgroup-limit":
      case "show-cgroup": {
        // What the kernel was told, from the manager's log: the real paths and values.
        const mark = this.life?.cgroups?.log.length ?? 0;
        const made = await this.ensureCgroups(op.kind === "cgroup-limit" ? op : null);
        const result = await this.life!.apply(op);
        const log = this.life?.cgroups?.log.slice(mark) ?? [];
        const who = (v: string) => (Number(v) === this.container?.stage1Pid ? "  # stage 1" : Number(v) === this.pid1 ? "  # PID 1" : "");
        this.report = [...made, ...log.map((w) => `write ${w.path} = ${w.value}${w.path.endsWith("/cgroup.procs") ? who(w.value) : ""}`)];
        return result as undefined;
      }
      case "exec":
        return this.exec(op);
    }
    const c = this.container;
    if (!c) throw new SysError({ message: "there is no container yet", hint: "create it first: ns uts, pid, mnt", span: op.span, status: EXIT_SETUP });
    if (op.kind === "run") {
      this.interrupts = 0;
      this.interruptible = (n) => c.interrupt(ESCALATION[Math.min(n, ESCALATION.length - 1)]);
    }
    const result = await this.life!.apply(op);
    this.interruptible = null;
    switch (op.kind) {
      case "hostname":
        this.hostname = op.name; // the per-container files follow it: Container.reply
        break;
      case "rootfs":
        this.pendingRoot = op.overlay ? op.overlay.merged : op.dir;
        break;
      case "enter-root":
        this.pendingRoot = null;
        break;
      case "cwd":
        this.cwd = op.dir;
        break;
    }
    return result as RunResult | undefined;
  }

  /** Keep the container's /etc/hostname and /etc/hosts (bind-mounted from the state dir) in step. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.interruptible = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private async create(namespaces: Extract<Op, { kind: "unshare" }>["namespaces"], idmaps: readonly Op[], span?: Span): Promise<undefined> {
    checkNamespacePrivileges(namespaces, span); // the same refusal, in the same words, as a script's
    this.start();
    let launch: Launch;
    try {
      launch = await this.launching!;
    } catch (e) {
      this.launching = null;
      throw e;
    }
    const life = new ContainerSession(this.id, launch, {
      output: (text) => this.io.out(text),
      trace: this.io.trace ? (stage, e) => this.io.err(traceLine(stage, e)) : undefined,
      notice: (text) => this.io.err(`ctr: ${text}\n`),
    });
    this.life = life;
    this.launch = launch;
    let c: Container;
    try {
      // The container's own cgroups where it needs them (runtime/features/cgroup/when.ts), before
      // stage 1 unshares; `limit` and `show cgroup` add controllers to them later.
      c = await life.create({ namespaces, idmaps, stateDir: { later: this.stateDir } }, { trace: this.io.trace, forwardSignals: false, interactive: this.io.terminal === true });
      await life.started();
    } catch (e) {
      await life.teardown();
      this.life = null;
      this.launch = null;
      this.launching = null;
      this.start(); // a fresh stage 1 for the next try
      throw e;
    }
    this.watchExit(c, launch);
    return undefined;
  }

  private watchExit(c: Container, launch: Launch): void {
    void launch.stage1.exited.then((code) => {
      if (this.container !== c || this.closed || this.execing) return;
      const status = code ?? signalStatus(launch.stage1.signalCode ?? "");
      this.gone = `the container ended: PID 1 exited (status ${status})`;
      if (!this.busy) void this.containerGone();
    });
  }

  /** PID 1 died on its own (killed, OOM, `run kill 1`): tear down and start over. */
  private async containerGone(): Promise<void> {
    const why = this.gone;
    if (why === null) return;
    this.gone = null;
    await this.teardown();
    this.closed = false;
    this.fresh();
    this.start();
    const text = `ctr: ${why}; a new session starts (the statements and variables of the last one are gone)\n`;
    if (this.busy || !this.io.idleNotice) this.io.err(text);
    else this.io.idleNotice(text);
  }

  /**
   * The container's cgroups, made on the first `limit` or `show cgroup`: the
   * live processes move in. Returns what was made, for the result lines.
   */
  private async ensureCgroups(op: Extract<Op, { kind: "cgroup-limit" }> | null): Promise<string[]> {
    const c = this.container;
    if (!c) throw new SysError({ message: "there is no container yet", hint: "create it first: ns uts, pid, mnt", status: EXIT_SETUP });
    if (this.life!.cgroupsComplete) return [];
    checkCgroupPrivileges(op ? op.limit.controller : "memory", op?.span, op ? "`limit`" : "`show cgroup`");
    return this.life!.addCgroups(op ? op.limit : null, [c.stage1Pid, ...descendants(c.stage1Pid)]);
  }

  private async exec(op: Extract<Op, { kind: "exec" }>): Promise<number> {
    const c = this.container;
    if (!c) throw new SysError({ message: "there is no container yet", hint: "create it first: ns uts, pid, mnt", span: op.span, status: EXIT_SETUP });
    this.execing = true;
    try {
      await this.life!.apply(op);
    } catch (e) {
      this.execing = false;
      throw e;
    }
    // The command is PID 1 now; the session ends when it does.
    const status = await c.finish();
    await this.teardown();
    return status;
  }

  /** Remove everything the session made: processes, state directory, cgroups. Safe to call twice. */
  async teardown(): Promise<void> {
    this.closed = true;
    const life = this.life;
    const launching = this.launching;
    this.life = null;
    this.launch = null;
    this.launching = null;
    if (life) await life.teardown();
    else if (launching) await launching.then((l) => l.cancel()).catch(() => {});
    this.execing = false;
  }
}

/** A command as script text: what `:save` writes for statements of a partly applied input. */
export function commandText(cmd: Command): string {
  const arg = (a: Command["args"][number]): string => {
    if (a.kind === "option") return `${a.key}=${a.value ? arg(a.value) : ""}`;
    if (a.kind === "list") return (a.items ?? []).map(arg).join(", ");
    return quoteWord(a.text);
  };
  return [cmd.name, ...cmd.args.map(arg)].join(" ");
}

/** A bare word when the lexer reads it back unchanged, else a string. */
export function quoteWord(s: string): string {
  if (/^[A-Za-z0-9_@%+:./-][A-Za-z0-9_@%+:.=/-]*$/.test(s) || s === "==" || s === "!=") return s;
  if (!s.includes("'") && !s.includes("\n")) return `'${s}'`;
  return `"${s.replace(/[\\"$]/g, (c) => "\\" + c).replace(/\n/g, "\\n").replace(/\t/g, "\\t").replace(/\r/g, "\\r")}"`;
}

/** Every process below `root` (by parent PID), read from the host's /proc. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), pid]);
    } catch {
      // ended meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(root);
  return out;
}

