// Expansion of the scripting layer: let, fn and calls, if, for, import and
// ${...} interpolation. The result is a flat list of Commands (registry
// statements with resolved arguments), each remembering the calls/imports
// that produced it in `via`.

import * as path from "node:path";
import type { ArgNode, AtomNode, Cond, FnStmt, ImportStmt, Part, Script, Stmt, VarRef, WordNode } from "./ast.ts";
import type { BuildResult } from "./build.ts";
import { parseNumber } from "./strings.ts";
import type { Arg, Command, Diagnostic, Span } from "./spec.ts";
import { didYouMean, programHint } from "./suggest.ts";
import { formatSize } from "./values.ts";

/** Calls nested deeper than this are reported as runaway recursion. */
export const MAX_CALL_DEPTH = 64;
/** Statements executed during one expansion, at most (guards against blowups). */
export const MAX_STEPS = 250_000;
/**
 * Characters one value may have once interpolated (a string, a word, a list,
 * an option): a `let` that doubles itself reaches it in about twenty lines.
 */
export const MAX_VALUE = 1 << 20;
/**
 * Characters of text the expansion may produce in all: every interpolated
 * value, and every command's arguments (a loop repeating a large value
 * produces it again each time). Past it, expansion stops. A command and each
 * of its arguments count ARG_COST more, for the memory they take besides
 * their text (the checker and the planner make objects of each).
 */
export const MAX_TEXT = 16 << 20;
const ARG_COST = 64;
/** Characters of source text in all, the script and what it imports (each file has its own bound too: lang/read.ts). */
export const MAX_SOURCES = 1 << 20;


/** Marks a variable whose definition failed: uses of it are skipped silently. */
const POISON = Symbol("poison");
type Binding = Arg | typeof POISON;

export class Scope {
  readonly vars = new Map<string, Binding>();
  constructor(
    readonly parent?: Scope,
    /** `let` defines in the nearest frame (a file's top level or a function call). */
    readonly frame = false,
  ) {}

  lookup(name: string): Binding | undefined {
    for (let s: Scope | undefined = this; s; s = s.parent) {
      const v = s.vars.get(name);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  names(): string[] {
    const out = new Set<string>();
    for (let s: Scope | undefined = this; s; s = s.parent) for (const k of s.vars.keys()) out.add(k);
    return [...out];
  }

  frameScope(): Scope {
    let s: Scope = this;
    while (!s.frame && s.parent) s = s.parent;
    return s;
  }

  clone(): Scope {
    const c = new Scope(this.parent, this.frame);
    for (const [k, v] of this.vars) c.vars.set(k, v);
    return c;
  }
}

export interface FnDef {
  stmt: FnStmt;
  /** Definition failed to parse: calls are skipped silently. */
  poisoned?: boolean;
}

/** What persists between compilations in a REPL session. */
export interface ExpandState {
  globals: Scope;
  fns: Map<string, FnDef>;
  /** Absolute paths of files already imported. */
  imported: Set<string>;
}

export function newExpandState(): ExpandState {
  return { globals: new Scope(undefined, true), fns: new Map(), imported: new Set() };
}

export function cloneExpandState(s: ExpandState): ExpandState {
  return { globals: s.globals.clone(), fns: new Map(s.fns), imported: new Set(s.imported) };
}

export interface ExpandHost {
  args: readonly string[];
  env: Record<string, string | undefined>;
  isStatement(name: string): boolean;
  statementNames(): Iterable<string>;
  /** True when NAME is a program (for the help of `ps -ef` typed as a statement). */
  isCommand?(name: string): boolean;
  readFile(file: string): string;
  stdlibDir: string;
  parse(text: string, file: string): BuildResult;
}

export interface ExpandResult {
  commands: Command[];
  diagnostics: Diagnostic[];
  /** Every script parsed (the main one first), for the static check of unexpanded code. */
  scripts: Script[];
  /** Statements that were expanded at least once. */
  visited: Set<Stmt>;
  /** File name -> text of every file read, for formatting diagnostics. */
  sources: Map<string, string>;
  /** How each `via` span came about ("in the call of `f`"). */
  viaNotes: Map<Span, string>;
}

interface Frame {
  scope: Scope;
  via: Span[];
  depth: number;
  /** Directory against which `import "./x"` resolves. */
  dir: string;
  /** The files being imported, outermost first (display names and absolute paths). */
  stack: { abs: string; name: string }[];
  topLevel: boolean;
}

type Resolved = { text: string } | { arg: Arg } | { args: true } | typeof POISON;

class Abort {}

export class Expander {
  readonly commands: Command[] = [];
  readonly diagnostics: Diagnostic[] = [];
  readonly scripts: Script[] = [];
  readonly visited = new Set<Stmt>();
  readonly sources = new Map<string, string>();
  readonly viaNotes = new Map<Span, string>();
  private steps = 0;
  /** The functions each file defines at its top level, by name (for laterFn). */
  private fnIndex = new WeakMap<Script, Map<string, Span>>();
  /** Characters produced so far (see MAX_TEXT). */
  private produced = 0;
  /** Characters of the script and the files it imported (see MAX_SOURCES). */
  private sourceChars = 0;
  /** Set when recursion ran away: unwinds to the statement at depth 0. */
  private unwinding = false;

  constructor(
    private host: ExpandHost,
    readonly state: ExpandState,
  ) {}

  /** Expands a parsed script; `abs` is its absolute path (undefined for inline code). */
  run(script: Script, text: string, abs: string | undefined): ExpandResult {
    this.scripts.push(script);
    this.sources.set(script.file, text);
    this.sourceChars += text.length;
    const dir = abs ? path.dirname(abs) : process.cwd();
    const stack = abs ? [{ abs, name: script.file }] : [];
    if (abs) this.state.imported.add(abs);
    try {
      this.block(script.body, { scope: this.state.globals, via: [], depth: 0, dir, stack, topLevel: true });
    } catch (e) {
      if (!(e instanceof Abort)) throw e;
    }
    return {
      commands: this.commands,
      diagnostics: this.diagnostics,
      scripts: this.scripts,
      visited: this.visited,
      sources: this.sources,
      viaNotes: this.viaNotes,
    };
  }

  /** Counts `n` characters of produced text; past MAX_TEXT, reports it at `span` and stops expanding. */
  private charge(n: number, span: Span, f: Frame): void {
    this.produced += n;
    if (this.produced <= MAX_TEXT) return;
    this.error(span, `the script expands to more than ${formatSize(MAX_TEXT)} of text`, "look for a loop or a function that repeats a large value", f.via);
    throw new Abort();
  }

  /** False (and an error at `span`) when a value of `n` characters would be over MAX_VALUE. */
  private fits(n: number, span: Span, f: Frame): boolean {
    if (n <= MAX_VALUE) return true;
    this.error(span, `this value expands to more than ${formatSize(MAX_VALUE)}`, `values are limited to ${formatSize(MAX_VALUE)}; look for a variable that grows each time it is used`, f.via);
    return false;
  }

  /** A list of `items`, or undefined (reported) when its text would be too long. */
  private list(items: Arg[], span: Span, f: Frame): Arg | undefined {
    let n = items.length - 1;
    for (const it of items) n += it.text.length;
    if (!this.fits(n, span, f)) return undefined;
    this.charge(n, span, f);
    return listArg(items, span);
  }

  private error(span: Span, message: string, help?: string, via?: Span[]): void {
    const d: Diagnostic = { severity: "error", span, message };
    if (help) d.help = help;
    if (via && via.length) d.notes = this.notes(via);
    this.diagnostics.push(d);
  }

  /** Notes for a call/import chain, innermost first; repeated calls (recursion) are folded. */
  notes(via: Span[]): { span: Span; message: string }[] {
    const out: { span: Span; message: string }[] = [];
    for (let i = via.length - 1; i >= 0; i--) {
      const s = via[i]!;
      let j = i;
      while (j > 0 && via[j - 1] === s) j--;
      const times = i - j + 1;
      const message = this.viaNotes.get(s) ?? "expanded from here";
      out.push({ span: s, message: times > 1 ? `${message} (${times} nested calls)` : message });
      i = j;
    }
    return out;
  }

  private block(stmts: Stmt[], f: Frame): void {
    for (const st of stmts) {
      if (this.unwinding) {
        if (f.depth > 0) return;
        this.unwinding = false;
      }
      if (++this.steps > MAX_STEPS) {
        this.error(st.span, `the script expands to more than ${MAX_STEPS} statements`, "check for loops or recursion that grow without bound", f.via);
        throw new Abort();
      }
      this.visited.add(st);
      this.stmt(st, f);
    }
  }

  private stmt(st: Stmt, f: Frame): void {
    if (st.broken) {
      // Reported by the parser; keep names defined so uses do not cascade.
      if (st.kind === "let" && st.name) f.scope.frameScope().vars.set(st.name, POISON);
      if (st.kind === "fn" && st.name && !this.state.fns.has(st.name)) this.state.fns.set(st.name, { stmt: st, poisoned: true });
      return;
    }
    switch (st.kind) {
      case "command":
        return this.command(st, f);
      case "let": {
        if (!st.value) return;
        const vals = this.evalArg(st.value, f);
        const target = f.scope.frameScope();
        if (vals === undefined) {
          target.vars.set(st.name, POISON);
          return;
        }
        const value = vals.length === 1 ? vals[0]! : this.list(vals, st.value.span, f);
        target.vars.set(st.name, value ?? POISON);
        return;
      }
      case "fn":
        return this.defineFn(st, f);
      case "import":
        return this.importFile(st, f);
      case "if": {
        for (const br of st.branches) {
          const c = this.cond(br.cond, f);
          if (c === undefined) return;
          if (c) return this.block(br.body, { ...f, topLevel: false });
        }
        if (st.elseBody) this.block(st.elseBody, { ...f, topLevel: false });
        return;
      }
      case "for": {
        const items: Arg[] = [];
        for (const it of st.items) {
          const vs = this.evalArg(it, f);
          if (!vs) return;
          for (const v of vs) {
            if (v.kind === "list") items.push(...(v.items ?? []));
            else items.push(v);
          }
        }
        for (const item of items) {
          const scope = new Scope(f.scope, false);
          scope.vars.set(st.variable, item);
          this.block(st.body, { ...f, scope, topLevel: false });
          if (this.unwinding) return;
        }
        return;
      }
    }
  }

  private defineFn(st: FnStmt, f: Frame): void {
    if (!f.topLevel) {
      this.error(st.nameSpan, "`fn` is only allowed at the top level of a file", "move the function definition out of the block", f.via);
      return;
    }
    if (this.host.isStatement(st.name)) {
      this.error(st.nameSpan, `\`${st.name}\` is a statement; a function cannot take its name`, "choose another name for the function", f.via);
      return;
    }
    const prev = this.state.fns.get(st.name);
    if (prev && prev.stmt !== st) {
      if (prev.poisoned) return;
      const d: Diagnostic = {
        severity: "error",
        span: st.nameSpan,
        message: `function \`${st.name}\` is already defined`,
        help: "rename one of the two functions",
        notes: [{ span: prev.stmt.nameSpan, message: "first defined here" }],
      };
      this.diagnostics.push(d);
      return;
    }
    this.state.fns.set(st.name, { stmt: st });
  }

  private command(st: Extract<Stmt, { kind: "command" }>, f: Frame): void {
    const fn = this.state.fns.get(st.name);
    if (fn) return this.call(st, fn, f);
    if (st.paren) {
      if (this.host.isStatement(st.name)) {
        this.error(st.nameSpan, `\`${st.name}\` is a statement, not a function`, `write its arguments without parentheses: ${st.name} ARGS...`, f.via);
      } else {
        const later = this.laterFn(st.name, f);
        this.error(
          st.nameSpan,
          `unknown function \`${st.name}\``,
          later ? `\`${st.name}\` is defined later, at ${later.line}:${later.column}; define functions before calling them` : didYouMean(st.name, this.state.fns.keys()),
          f.via,
        );
      }
      return;
    }
    if (!this.host.isStatement(st.name)) {
      const later = this.laterFn(st.name, f);
      this.error(
        st.nameSpan,
        `unknown statement \`${st.name}\``,
        later
          ? `\`${st.name}\` is a function defined later, at ${later.line}:${later.column}; define functions before calling them`
          : (programHint(this.host.isCommand, st.name, st.args.map((a) => ("raw" in a && typeof a.raw === "string" ? a.raw : "..."))) ?? didYouMean(st.name, [...this.host.statementNames(), ...this.state.fns.keys()])),
        f.via,
      );
      return;
    }
    const args = this.evalArgs(st.args, f);
    if (!args) return;
    let n = ARG_COST + st.name.length;
    for (const a of args) n += ARG_COST + a.text.length;
    this.charge(n, st.span, f);
    const cmd: Command = { name: st.name, nameSpan: st.nameSpan, args, span: st.span };
    if (f.via.length) cmd.via = f.via;
    this.commands.push(cmd);
  }

  /** A function of this name defined further down in one of the scripts (for a better message). */
  private laterFn(name: string, f: Frame): Span | undefined {
    const file = f.stack[f.stack.length - 1]?.name ?? this.scripts[0]?.file;
    const script = this.scripts.find((s) => s.file === file) ?? this.scripts[0];
    if (!script) return undefined;
    // Indexed once per file: a script of many unknown names would otherwise scan itself for each.
    let fns = this.fnIndex.get(script);
    if (!fns) {
      fns = new Map();
      for (const st of script.body) if (st.kind === "fn" && !fns.has(st.name)) fns.set(st.name, st.nameSpan);
      this.fnIndex.set(script, fns);
    }
    return fns.get(name);
  }

  private call(st: Extract<Stmt, { kind: "command" }>, fn: FnDef, f: Frame): void {
    if (fn.poisoned) return;
    const def = fn.stmt;
    if (f.depth >= MAX_CALL_DEPTH) {
      this.error(st.nameSpan, `calls nest more than ${MAX_CALL_DEPTH} deep (runaway recursion in \`${st.name}\`?)`, "make sure the recursion stops", f.via);
      this.unwinding = true;
      return;
    }
    const args = this.evalArgs(st.args, f);
    if (!args) return;
    if (args.length !== def.params.length) {
      const sig = `${def.name}(${def.params.map((p) => p.name).join(", ")})`;
      const d: Diagnostic = {
        severity: "error",
        span: args.length > def.params.length ? (args[def.params.length]?.span ?? st.nameSpan) : st.nameSpan,
        message: `\`${def.name}\` takes ${count(def.params.length, "argument")}, but ${args.length} ${args.length === 1 ? "was" : "were"} given`,
        help: `call it as ${sig}`,
        notes: [{ span: def.nameSpan, message: "defined here" }, ...this.notes(f.via)],
      };
      this.diagnostics.push(d);
      return;
    }
    const scope = new Scope(this.state.globals, true);
    def.params.forEach((p, i) => scope.vars.set(p.name, args[i]!));
    this.viaNotes.set(st.span, `in the call of \`${def.name}\` here`);
    this.visited.add(def);
    this.block(def.body, { ...f, scope, via: [...f.via, st.span], depth: f.depth + 1, topLevel: false });
  }

  private importFile(st: ImportStmt, f: Frame): void {
    if (!st.path) return;
    const vs = this.evalArg(st.path, f);
    if (!vs) return;
    const spec = vs.map((v) => v.text).join(" ");
    if (vs.length !== 1 || spec === "") {
      this.error(st.path.span, "`import` needs one path", 'syntax: import "std/NAME" or import "./file.ctr"', f.via);
      return;
    }
    let file: string;
    if (spec.startsWith("std/")) {
      const name = spec.slice(4);
      file = path.join(this.host.stdlibDir, name.endsWith(".ctr") ? name : name + ".ctr");
    } else {
      file = path.isAbsolute(spec) ? spec : path.join(f.dir, spec);
    }
    const abs = path.resolve(file);
    const rel = path.relative(process.cwd(), abs);
    const name = rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : abs;
    const cycleAt = f.stack.findIndex((e) => e.abs === abs);
    if (cycleAt >= 0) {
      const chain = [...f.stack.slice(cycleAt).map((e) => e.name), name].join(" -> ");
      this.error(st.path.span, `import cycle: ${chain}`, "remove one of the imports that form the cycle", f.via);
      return;
    }
    if (this.state.imported.has(abs)) return;
    let text: string;
    try {
      text = this.host.readFile(abs);
    } catch (e) {
      const code = (e as { code?: string }).code;
      const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : code === "EACCES" ? "permission denied" : String((e as Error).message ?? e);
      const help = spec.startsWith("std/") ? `the standard library is in ${this.host.stdlibDir}` : `paths are relative to the importing file; looked for ${name}`;
      this.error(st.path.span, `cannot import \`${spec}\`: ${why}`, help, f.via);
      return;
    }
    this.sourceChars += text.length;
    if (this.sourceChars > MAX_SOURCES) {
      this.error(st.path.span, `cannot import \`${spec}\`: the script and its imports would be over ${formatSize(MAX_SOURCES)}`, "import fewer or smaller files", f.via);
      return;
    }
    this.state.imported.add(abs);
    const built = this.host.parse(text, name);
    this.sources.set(name, text);
    this.diagnostics.push(...built.diagnostics);
    this.scripts.push(built.script);
    this.viaNotes.set(st.span, `in the file imported here`);
    this.block(built.script.body, {
      scope: this.state.globals,
      via: [...f.via, st.span],
      depth: f.depth,
      dir: path.dirname(abs),
      stack: [...f.stack, { abs, name }],
      topLevel: true,
    });
  }

  // ---- values ----------------------------------------------------------------

  private cond(c: Cond, f: Frame): boolean | undefined {
    switch (c.kind) {
      case "not": {
        const v = this.cond(c.cond, f);
        return v === undefined ? undefined : !v;
      }
      case "value": {
        const t = this.atomText(c.value, f);
        if (t === undefined) return undefined;
        return t !== "" && t !== "0" && t !== "false";
      }
      case "compare": {
        const l = this.atomText(c.left, f);
        const r = this.atomText(c.right, f);
        if (l === undefined || r === undefined) return undefined;
        return c.op === "==" ? l === r : l !== r;
      }
    }
  }

  private atomText(a: AtomNode, f: Frame): string | undefined {
    if (!a.dynamic) return a.text;
    const vs: Arg[] = [];
    if (!this.evalInto(a, f, vs)) return undefined;
    if (vs.length === 1) return vs[0]!.text;
    let n = vs.length - 1;
    for (const v of vs) n += v.text.length;
    return this.fits(n, a.span, f) ? vs.map((v) => v.text).join(" ") : undefined;
  }

  /** Evaluates all arguments (reporting every error); undefined if any failed. */
  private evalArgs(nodes: ArgNode[], f: Frame): Arg[] | undefined {
    let i = 0;
    while (i < nodes.length && !nodes[i]!.dynamic) i++;
    // All literal (most commands): each node is its own value, and the list itself
    // is used as is (no copy per command: nothing changes a command's arguments).
    if (i === nodes.length) return nodes;
    const out: Arg[] = nodes.slice(0, i);
    let ok = true;
    for (; i < nodes.length; i++) {
      const a = nodes[i]!;
      if (!a.dynamic) out.push(a); // a literal node is its own value
      else if (!this.evalInto(a, f, out)) ok = false;
    }
    return ok ? out : undefined;
  }

  private evalArg(a: ArgNode, f: Frame): Arg[] | undefined {
    if (!a.dynamic) return [a];
    const out: Arg[] = [];
    return this.evalInto(a, f, out) ? out : undefined;
  }

  /**
   * Evaluates an argument into `out`; `${args}` alone splices into several.
   * False on error (reported).
   */
  private evalInto(a: ArgNode, f: Frame, out: Arg[]): boolean {
    if (!a.dynamic) {
      out.push(a);
      return true;
    }
    switch (a.kind) {
      case "word":
        return this.evalWord(a, f, out);
      case "string": {
        const t = this.partsText(a.parts ?? [a.text], f, a.span);
        if (t === undefined) return false;
        out.push({ kind: "string", text: t, span: a.span });
        return true;
      }
      case "list": {
        const items: Arg[] = [];
        let ok = true;
        for (const it of a.items) {
          const vs: Arg[] = [];
          if (!this.evalInto(it, f, vs)) {
            ok = false;
            continue;
          }
          for (const v of vs) {
            if (v.kind === "list") for (const x of v.items ?? []) items.push(withSpan(x, it.span));
            else items.push(v);
          }
        }
        const list = ok ? this.list(items, a.span, f) : undefined;
        if (list) out.push(list);
        return list !== undefined;
      }
      case "option": {
        const vs: Arg[] = [];
        if (!this.evalInto(a.value, f, vs)) return false;
        const value = vs.length === 1 ? vs[0]! : vs.length === 0 ? ({ kind: "word", text: "", span: a.value.span } as Arg) : this.list(vs, a.value.span, f);
        if (!value || !this.fits(a.key.length + 1 + value.text.length, a.span, f)) return false;
        out.push({ kind: "option", text: `${a.key}=${value.text}`, span: a.span, key: a.key, value });
        return true;
      }
    }
  }

  private evalWord(w: WordNode, f: Frame, out: Arg[]): boolean {
    const parts = w.parts ?? [w.text];
    if (parts.length === 1) {
      const p = parts[0]!;
      if (typeof p === "string") {
        out.push({ kind: "word", text: p, span: w.span });
        return true;
      }
      const r = this.resolve(p, f);
      if (r === undefined || r === POISON) return false;
      if ("args" in r) for (const t of this.host.args) out.push(classify(t, w.span));
      else if ("arg" in r) out.push(withSpan(r.arg, w.span));
      else out.push(classify(r.text, w.span));
      return true;
    }
    const t = this.partsText(parts, f, w.span);
    if (t === undefined) return false;
    out.push(classify(t, w.span));
    return true;
  }

  /** The text of interpolated parts; undefined on an error (reported), and when it would be over MAX_VALUE. */
  private partsText(parts: Part[], f: Frame, span: Span): string | undefined {
    let out = "";
    let ok = true;
    for (const p of parts) {
      let piece: string;
      if (typeof p === "string") piece = p;
      else {
        const r = this.resolve(p, f);
        if (r === undefined || r === POISON) {
          ok = false;
          continue;
        }
        piece = "args" in r ? this.host.args.join(" ") : "arg" in r ? r.arg.text : r.text;
      }
      // Checked before appending: the text never grows past the limit.
      if (!this.fits(out.length + piece.length, span, f)) return undefined;
      out += piece;
    }
    if (!ok) return undefined;
    this.charge(out.length, span, f);
    return out;
  }


  private resolve(ref: VarRef, f: Frame): Resolved | undefined {
    const name = ref.name;
    if (/^\d+$/.test(name)) {
      const n = Number(name);
      if (n === 0) return { text: this.scripts[0]?.file ?? "" };
      const v = this.host.args[n - 1];
      if (v !== undefined) return { text: v };
      if (ref.fallback !== undefined) return { text: ref.fallback };
      const given = this.host.args.length;
      this.error(
        ref.span,
        `script argument \`\${${name}}\` was not given`,
        `the script got ${given === 0 ? "no arguments" : count(given, "argument")}; pass one after the file name, or give a default: \${${name}:-VALUE}`,
        f.via,
      );
      return undefined;
    }
    if (name === "#") return { text: String(this.host.args.length) };
    if (name.startsWith("env.")) {
      const key = name.slice(4);
      const v = this.host.env[key];
      if (v !== undefined) return { text: v };
      if (ref.fallback !== undefined) return { text: ref.fallback };
      this.error(ref.span, `environment variable \`${key}\` is not set`, `give a default: \${env.${key}:-VALUE}`, f.via);
      return undefined;
    }
    const b = f.scope.lookup(name);
    if (b === POISON) return POISON;
    if (b !== undefined) return { arg: b };
    if (name === "args") return ref.fallback !== undefined && this.host.args.length === 0 ? { text: ref.fallback } : { args: true };
    if (ref.fallback !== undefined) return { text: ref.fallback };
    const candidates = [...f.scope.names(), "args"];
    this.error(ref.span, `undefined variable \`${name}\``, didYouMean(name, candidates) ?? `define it first with \`let ${name} = VALUE\``, f.via);
    return undefined;
  }
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

/** A bare word's value: a number when it reads as one (64m, 20%), else a word. */
export function classify(text: string, span: Span): Arg {
  const n = parseNumber(text);
  if (n) return { kind: "number", text, span, number: n };
  return { kind: "word", text, span };
}

function listArg(items: Arg[], span: Span): Arg {
  return { kind: "list", text: items.map((i) => i.text).join(","), span, items };
}

/** A copy of a value with its spans moved to where it is used. */
export function withSpan(a: Arg, span: Span): Arg {
  const c: Arg = { ...a, span };
  if (a.items) c.items = a.items.map((i) => withSpan(i, span));
  if (a.value) c.value = withSpan(a.value, span);
  return c;
}
