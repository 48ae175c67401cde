// Public entry points of the ctr front end.
//
//   compile(source, opts)  -> { commands, diagnostics }   (never throws)
//   formatDiagnostic(d, source, color?)
//   limitDiagnostics(ds)   -> the first MAX_SHOWN, and a line counting the rest
//   new Session(opts)      -> compile one REPL input at a time, keeping state
//   isIncomplete(text)     -> true when a REPL should read another line

import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { ArgNode, Script, Stmt } from "./ast.ts";
import { parseSource } from "./build.ts";
import { readScriptFile } from "./read.ts";
import { Checker, cloneCheckerState, indexSpecs, newCheckerState, shape, type CheckerState } from "./checker.ts";
import { formatDiagnostic, formatDiagnostics, limitDiagnostics } from "./diagnostics.ts";
import { Expander, classify, cloneExpandState, newExpandState, type ExpandState, type FnDef } from "./expand.ts";
import { tokenize, LBrace, RBrace, LParen, RParen } from "./lexer.ts";
import type { Arg, Command, Diagnostic, HostView, NsName, Span, StatementSpec } from "./spec.ts";
import { didYouMean } from "./suggest.ts";

export type * from "./spec.ts";
export { NAMESPACES } from "./spec.ts";
export { STATEMENT_KEYWORDS } from "./lexer.ts";
export { formatDiagnostic, formatDiagnostics, limitDiagnostics };
export { parseSource } from "./build.ts";
export { MAX_SCRIPT_BYTES, ScriptFileError, readScriptFile } from "./read.ts";
export { editDistance, suggest, didYouMean } from "./suggest.ts";
export { parseSize, parseDuration, parsePercent, parseCpuList, parseCidr, parseMode, parseInt10, itemsOf, namespacesOf, MAX_ID } from "./values.ts";
export { resolve as resolveForm, shape as shapeCommand } from "./checker.ts";
export type { Script, Stmt } from "./ast.ts";

export interface FrontEndOptions {
  /** Path shown in diagnostics ("-e" for inline code). */
  file: string;
  /** Script arguments: ${1}, ${2}, ${args}, ${#}. */
  args?: string[];
  /** For ${env.NAME}; default process.env. */
  env?: Record<string, string | undefined>;
  /** The statement table (runtime/registry.ts). */
  specs: StatementSpec[];
  /** Default: os.cpus().length (only read when a check needs it). */
  cpus?: number;
  /** For imports; default readScriptFile (lang/read.ts: regular files of at most MAX_SCRIPT_BYTES). */
  readFile?: (path: string) => string;
  /** Where `import "std/NAME"` resolves (NAME.ctr); default <repo>/stdlib. */
  stdlibDir?: string;
  /** Namespaces already present (REPL session); default none. */
  namespaces?: Set<NsName>;
  /** REPL rules: a later `ns` adds namespaces instead of being an error. */
  repl?: boolean;
  /** Lets the checker look at host paths (a rootfs, a bind source); default: it does not. */
  host?: HostView;
}

export interface FrontEndResult {
  commands: Command[];
  diagnostics: Diagnostic[];
  /** Text of every file involved (main and imports), by the name used in spans. */
  sources: Map<string, string>;
}

export const DEFAULT_STDLIB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "stdlib");

/** Compiles a script: parse, expand the scripting layer, check. Never throws. */
export function compile(source: string, opts: FrontEndOptions): FrontEndResult {
  const ns = opts.namespaces;
  const cstate = newCheckerState(ns);
  return compileWith(source, opts, newExpandState(), cstate).result;
}

interface Compiled {
  result: FrontEndResult;
  expandState: ExpandState;
  checkerState: CheckerState;
}

function compileWith(source: string, opts: FrontEndOptions, expandState: ExpandState, checkerState: CheckerState): Compiled {
  try {
    return { result: compileUnsafe(source, opts, expandState, checkerState), expandState, checkerState };
  } catch (e) {
    // A bug in the front end must not take down the caller: report it.
    const span: Span = { file: opts.file, line: 1, column: 1, offset: 0, length: 0 };
    const message = `internal error in the ctr front end: ${(e as Error)?.message ?? String(e)}`;
    return {
      result: { commands: [], diagnostics: [{ severity: "error", span, message, help: "please report this with the script that caused it" }], sources: new Map([[opts.file, source]]) },
      expandState,
      checkerState,
    };
  }
}

function compileUnsafe(source: string, opts: FrontEndOptions, expandState: ExpandState, checkerState: CheckerState): FrontEndResult {
  const specs = opts.specs;
  const index = indexSpecs(specs);
  const parsed = parseSource(source, opts.file);
  const readFile = opts.readFile ?? ((p: string) => readScriptFile(p));
  const inline = opts.file === "-e" || opts.file.startsWith("<");
  const abs = inline ? undefined : path.resolve(opts.file);
  const expander = new Expander(
    {
      args: opts.args ?? [],
      env: opts.env ?? process.env,
      isStatement: (n) => index.has(n),
      statementNames: () => index.keys(),
      isCommand: opts.host?.isCommand ? (n) => opts.host!.isCommand!(n) : undefined,
      readFile,
      stdlibDir: opts.stdlibDir ?? DEFAULT_STDLIB_DIR,
      parse: parseSource,
    },
    expandState,
  );
  const ex = expander.run(parsed.script, source, abs);

  let cpus = opts.cpus;
  const checker = new Checker(specs, {
    get cpus() {
      cpus ??= Math.max(1, os.cpus().length);
      return cpus;
    },
    repl: opts.repl ?? false,
    host: opts.host,
    state: checkerState,
  });
  const diagnostics: Diagnostic[] = [...parsed.diagnostics, ...ex.diagnostics];
  const fnNames = [...expandState.fns.keys()];
  for (const cmd of ex.commands) {
    const ds = checker.check(cmd, fnNames);
    if (ds.length === 0) continue;
    if (cmd.via) {
      const notes = expander.notes(cmd.via);
      for (const d of ds) d.notes = [...(d.notes ?? []), ...notes];
    }
    diagnostics.push(...ds);
  }
  staticCheck(ex.scripts, ex.visited, index, expandState.fns, diagnostics);

  return { commands: ex.commands, diagnostics: tidy(diagnostics, ex.scripts), sources: ex.sources };
}

/** Dedupes (a function called twice reports a problem once) and sorts by file, then position. */
function tidy(ds: Diagnostic[], scripts: Script[]): Diagnostic[] {
  const order = new Map<string, number>();
  scripts.forEach((s, i) => order.has(s.file) || order.set(s.file, i));
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const d of ds) {
    const key = `${d.span.file}\0${d.span.offset}\0${d.span.length}\0${d.severity}\0${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(d);
  }
  return out
    .map((d, i) => ({ d, i }))
    .sort((a, b) => (order.get(a.d.span.file) ?? 1e9) - (order.get(b.d.span.file) ?? 1e9) || a.d.span.offset - b.d.span.offset || a.i - b.i)
    .map((x) => x.d);
}

// ---- static check of code that was never expanded ---------------------------
//
// A function that is never called, or an `if` branch not taken, still gets its
// statement names, forms, options and flags checked, so typos are caught.
// Arguments that depend on variables are unknown here and skipped.

function staticCheck(scripts: Script[], visited: Set<Stmt>, index: Map<string, StatementSpec>, fns: Map<string, FnDef>, out: Diagnostic[]): void {
  const walk = (stmts: Stmt[]): void => {
    for (const st of stmts) {
      if (st.broken) continue;
      switch (st.kind) {
        case "command":
          if (!visited.has(st)) checkStatic(st, index, fns, out);
          break;
        case "fn":
          walk(st.body);
          break;
        case "if":
          for (const b of st.branches) walk(b.body);
          if (st.elseBody) walk(st.elseBody);
          break;
        case "for":
          walk(st.body);
          break;
      }
    }
  };
  for (const s of scripts) walk(s.body);
}

function checkStatic(st: Extract<Stmt, { kind: "command" }>, index: Map<string, StatementSpec>, fns: Map<string, FnDef>, out: Diagnostic[]): void {
  const report = (severity: "error" | "warning", span: Span, message: string, help?: string): void => {
    const d: Diagnostic = { severity, span, message };
    if (help) d.help = help;
    out.push(d);
  };
  const fn = fns.get(st.name);
  if (fn) {
    if (fn.poisoned) return;
    const splices = st.args.some((a) => a.kind === "word" && a.parts?.length === 1 && typeof a.parts[0] !== "string" && a.parts[0]!.name === "args");
    const def = fn.stmt;
    if (!splices && st.args.length !== def.params.length) {
      const n = st.args.length;
      out.push({
        severity: "error",
        span: n > def.params.length ? st.args[def.params.length]!.span : st.nameSpan,
        message: `\`${def.name}\` takes ${def.params.length} argument${def.params.length === 1 ? "" : "s"}, but ${n} ${n === 1 ? "was" : "were"} given`,
        help: `call it as ${def.name}(${def.params.map((p) => p.name).join(", ")})`,
        notes: [{ span: def.nameSpan, message: "defined here" }],
      });
    }
    return;
  }
  const spec = index.get(st.name);
  if (st.paren) {
    if (spec) report("error", st.nameSpan, `\`${st.name}\` is a statement, not a function`, `write its arguments without parentheses: ${st.name} ARGS...`);
    else report("error", st.nameSpan, `unknown function \`${st.name}\``, didYouMean(st.name, fns.keys()));
    return;
  }
  if (!spec) {
    report("error", st.nameSpan, `unknown statement \`${st.name}\``, didYouMean(st.name, [...index.keys(), ...fns.keys()]));
    return;
  }
  const opaque = new Set<Arg>();
  const args = st.args.map((a) => staticArg(a, opaque));
  const cmd: Command = { name: st.name, nameSpan: st.nameSpan, args, span: st.span };
  shape(cmd, spec, report, (a) => opaque.has(a));
}

/** An argument's value when it is literal (the node itself); otherwise a placeholder marked opaque. */
function staticArg(a: ArgNode, opaque: Set<Arg>): Arg {
  if (!a.dynamic) return a;
  switch (a.kind) {
    case "word":
    case "string": {
      const arg: Arg = a.kind === "word" ? classify(a.raw, a.span) : { kind: "string", text: a.raw, span: a.span };
      opaque.add(arg);
      return arg;
    }
    case "list": {
      const items = a.items.map((i) => staticArg(i, opaque));
      const arg: Arg = { kind: "list", text: a.text, span: a.span, items };
      opaque.add(arg);
      return arg;
    }
    case "option":
      return { kind: "option", text: a.text, span: a.span, key: a.key, value: staticArg(a.value, opaque) };
    default:
      return a;
  }
}

// ---- REPL support --------------------------------------------------------------

/**
 * True when `text` cannot be complete yet: a `{` or `(` is still open, or the
 * last line ends with `\`. A REPL then reads another line and tries again.
 */
export function isIncomplete(text: string): boolean {
  const { tokens, comments } = tokenize(text);
  let depth = 0;
  for (const t of tokens) {
    const tt = t.tokenType;
    if (tt === LBrace || tt === LParen) depth++;
    else if ((tt === RBrace || tt === RParen) && depth > 0) depth--;
  }
  if (depth > 0) return true;
  const trimmed = text.replace(/\r?\n$/, "");
  if (!trimmed.endsWith("\\")) return false;
  const at = trimmed.length - 1;
  // A backslash inside a comment or a string does not continue the line.
  if (comments.some((c) => c.startOffset <= at && at < c.startOffset + c.image.length)) return false;
  if (tokens.some((t) => t.startOffset <= at && at < t.startOffset + t.image.length && /^["']/.test(t.image))) return false;
  return true;
}

export interface SessionOptions extends Omit<FrontEndOptions, "file" | "repl"> {
  /** File name for diagnostics (default "<repl>"). */
  file?: string;
}

export interface SessionResult extends FrontEndResult {
  /** False when the input had errors: its definitions were not kept. */
  committed: boolean;
}

/**
 * A REPL session: compiles one input at a time, keeping `let` variables, `fn`
 * definitions, imported files and the namespaces created so far. An input
 * with errors changes nothing.
 */
export class Session {
  private expandState: ExpandState = newExpandState();
  private checkerState: CheckerState;
  private inputs = 0;

  constructor(private opts: SessionOptions) {
    this.checkerState = newCheckerState(opts.namespaces);
  }

  compile(input: string, file?: string): SessionResult {
    this.inputs++;
    const name = file ?? this.opts.file ?? "<repl>";
    const ex = cloneExpandState(this.expandState);
    const ck = cloneCheckerState(this.checkerState);
    const c = compileWith(input, { ...this.opts, file: name, repl: true }, ex, ck);
    const ok = !c.result.diagnostics.some((d) => d.severity === "error");
    if (ok) {
      this.expandState = c.expandState;
      this.checkerState = c.checkerState;
    }
    return { ...c.result, committed: ok };
  }

  isIncomplete(input: string): boolean {
    return isIncomplete(input);
  }

  /** Namespaces created so far (by `ns`, `join`, or given at the start). */
  get namespaces(): ReadonlySet<NsName> {
    return this.checkerState.namespaces;
  }

  /** Names of variables defined so far (for completion). */
  variables(): string[] {
    return [...this.expandState.globals.vars.keys()];
  }

  /** Names of functions defined so far (for completion). */
  functions(): string[] {
    return [...this.expandState.fns.keys()];
  }

  /** Number of inputs compiled. */
  get count(): number {
    return this.inputs;
  }
}
