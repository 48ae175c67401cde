// What the REPL derives from the statement registry: tab completion and the
// text of `:help`. Nothing here touches the kernel; container paths are listed
// through a host directory the caller names (/proc/PID1/root/...), so the
// completion of `cwd /et<Tab>` sees the container's files, not the host's.

import { readdirSync, statSync } from "node:fs";
import { posix } from "node:path";
import { NAMESPACES, STATEMENT_KEYWORDS, Session, type ArgSpec, type FormSpec, type NsName, type ValueKind } from "../lang/index.ts";
import { Planner } from "./plan.ts";
import { explainOps } from "./explain.ts";
import { findStatement, statements, type StatementDef } from "./registry.ts";

/** The REPL's own commands, with a line of help each. */
export const REPL_COMMANDS: readonly (readonly [string, string, string])[] = [
  [":help", "[STATEMENT [FORM]]", "the statements, or one statement: syntax, meaning, example, the syscalls behind it"],
  [":explain", "STATEMENT", "what a statement would do to this container, without doing it"],
  [":show", "ns|mounts|procs|cgroup", "the same as `show`: what the kernel says now"],
  [":history", "", "the inputs of this session, failed ones marked"],
  [":save", "FILE", "the statements that took effect, as a script that rebuilds this container (ctr FILE)"],
  [":load", "FILE", "run a script's statements into this session"],
  [":reset", "", "tear the container down and start over"],
  [":detach", "[NAME]", "leave the container running under NAME (ctr ps, exec, logs, stop, rm) and end the session"],
  [":quit", "", "tear everything down and leave (also Ctrl-D)"],
];

/** What completion needs to know about the session. */
export interface CompletionContext {
  functions(): string[];
  variables(): string[];
  /**
   * A host directory through which the container's "/" is listed (e.g.
   * /proc/4242/root, or that plus a prepared root not entered yet), or null
   * before the container exists (container paths are then not completed).
   */
  containerRoot(): string | null;
  /** The container's working directory, for relative container paths. */
  containerCwd(): string;
}

const MAX_HITS = 500;

/**
 * Readline's completer: the candidates for the word before the cursor, and
 * that word's tail they replace (each candidate starts with it). A candidate
 * that completes a whole word ends in a space, a directory in "/".
 */
export function complete(line: string, ctx: CompletionContext): [string[], string] {
  if (/^\s*:/.test(line)) return completeCommand(line.trimStart(), ctx);
  const words = wordsOf(lastStatement(line));
  const current = words.pop() ?? "";
  return completeStatement(words, current, ctx);
}

function completeCommand(line: string, ctx: CompletionContext): [string[], string] {
  const m = /^(:\S*)(\s+)?(.*)$/.exec(line)!;
  const [, cmd, space, rest] = m;
  if (!space) return [prefixed(REPL_COMMANDS.map(([c]) => c + " "), cmd!), cmd!];
  switch (cmd) {
    case ":help": {
      const words = wordsOf(rest!);
      const current = words.pop() ?? "";
      if (words.length === 0) return [prefixed(statements.map((s) => s.name + " "), current), current];
      const forms = Object.keys(findStatement(words[0]!)?.forms ?? {});
      return words.length === 1 ? [prefixed(forms.map((f) => f + " "), current), current] : [[], current];
    }
    case ":explain":
      return complete(rest!, ctx);
    case ":show": {
      const current = wordsOf(rest!).pop() ?? "";
      return [prefixed(Object.keys(findStatement("show")?.forms ?? {}).map((f) => f + " "), current), current];
    }
    case ":save":
    case ":load": {
      const current = wordsOf(rest!).pop() ?? "";
      return completePath(current, "", process.cwd());
    }
  }
  return [[], ""];
}

function prefixed(candidates: Iterable<string>, prefix: string): string[] {
  const out: string[] = [];
  for (const c of candidates) if (c.startsWith(prefix) && !out.includes(c)) out.push(c);
  return out.sort();
}

/** The text of the last statement on the line: after the last `;`, `{` or `}` outside quotes. */
export function lastStatement(line: string): string {
  let quote: string | null = null;
  let start = 0;
  let interp = false; // inside a bare word's ${...}
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "$" && line[i + 1] === "{") (interp = true), i++;
    else if (c === "}" && interp) interp = false;
    else if (c === ";" || c === "{" || c === "}") start = i + 1;
    else if (c === "#") return ""; // a comment: nothing to complete
  }
  return line.slice(start);
}

/**
 * Splits a statement into words; the last one is the word being typed ("" after
 * a space). Quotes are kept on the word (an open quote marks a string being
 * typed); a comma list stays one word ("uts,pi"), as the language reads it.
 */
export function wordsOf(text: string): string[] {
  const words: string[] = [];
  let cur = "";
  let quote: string | null = null;
  let started = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      cur += c;
      if (c === "\\" && quote === '"' && i + 1 < text.length) cur += text[++i];
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      cur += c;
      started = true;
    } else if (/\s/.test(c)) {
      // `ns uts, pid`: a space after a comma (or before one) continues the list.
      const next = text.slice(i).trimStart()[0];
      if (cur.endsWith(",") || next === ",") continue;
      if (started) words.push(cur);
      cur = "";
      started = false;
    } else {
      cur += c;
      started = true;
    }
  }
  words.push(cur);
  return words;
}

function completeStatement(words: string[], current: string, ctx: CompletionContext): [string[], string] {
  if (current.includes("${") || current.endsWith("$")) return completeVariable(current, ctx);
  if (words.length === 0) {
    return [prefixed([...statements.map((s) => s.name + " "), ...ctx.functions().map((f) => f + "("), ...STATEMENT_KEYWORDS.map((k) => k + " ")], current), current];
  }
  const spec = findStatement(words[0]!);
  if (!spec) return [[], current];
  let form: FormSpec | undefined;
  let rest = words.slice(1);
  if (spec.forms) {
    if (rest.length === 0) return [prefixed(Object.keys(spec.forms).map((f) => f + " "), current), current];
    form = spec.forms[rest[0]!];
    if (!form) return [[], current];
    rest = rest.slice(1);
  }
  const args = form ? (form.args ?? []) : (spec.args ?? []);
  const options = form ? form.options : spec.options;
  const flags = form ? (form.flags ?? []) : (spec.flags ?? []);
  // Which argument is being typed: count the positionals before it.
  const positionals = rest.filter((w) => !isOptionWord(w) && !flags.includes(w));
  const arg: ArgSpec | undefined = args[positionals.length] ?? (args.at(-1)?.rest ? args.at(-1) : undefined);

  const eq = current.indexOf("=");
  if (eq > 0 && isOptionWord(current) && options) {
    const key = current.slice(0, eq);
    const kind = options[key] ?? options["*"];
    const value = current.slice(eq + 1);
    if (kind === "path") return completePath(value, "", process.cwd());
    return [[], value];
  }

  const hits: string[] = [];
  let fragment = current;
  if (arg) {
    const [h, f] = completeValue(spec.name, form, arg, positionals.length, current, ctx);
    hits.push(...h);
    fragment = f;
  }
  if (fragment === current && !current.startsWith("/") && !current.startsWith(".")) {
    // Flags and option keys may come anywhere after the positionals that precede them.
    const used = new Set(rest.map((w) => (isOptionWord(w) ? w.slice(0, w.indexOf("=") + 1) : w)));
    hits.push(...flags.filter((f) => !used.has(f)).map((f) => f + " "));
    if (options) hits.push(...Object.keys(options).filter((k) => k !== "*" && !used.has(k + "=")).map((k) => k + "="));
    return [prefixed(hits, current), current];
  }
  return [hits, fragment];
}

function isOptionWord(w: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_.-]*=(?!=)/.test(w);
}

/** Candidates for one positional argument, by its kind and by which side's paths it names. */
function completeValue(statement: string, form: FormSpec | undefined, arg: ArgSpec, index: number, current: string, ctx: CompletionContext): [string[], string] {
  const kind: ValueKind = arg.kind;
  if (kind === "nslist") {
    // The item after the last comma of the list being typed.
    const typed = current.split(",").map((s) => s.trim());
    const item = typed.pop() ?? "";
    const names: string[] = [...NAMESPACES, ...(statement === "ns" && typed.length === 0 ? ["none"] : [])];
    return [prefixed(names.filter((n) => !typed.includes(n as NsName)), item), item];
  }
  if (typeof kind === "object") return [prefixed(kind.oneOf.map((v) => v + " "), current), current];
  if (kind === "path") {
    if (hostPathArg(statement, arg)) return completePath(current, "", process.cwd());
    const root = ctx.containerRoot();
    return root ? completePath(current, root, ctx.containerCwd()) : [[], current];
  }
  if (kind === "text" && (statement === "run" || statement === "exec")) {
    const root = ctx.containerRoot();
    if (!root) return [[], current];
    if (index === 0 && !current.includes("/")) return [prefixed(commandsIn(root), current), current];
    return completePath(current, root, ctx.containerCwd());
  }
  void form;
  return [[], current];
}

/** Paths a statement reads on the host: bind sources and root filesystems. */
function hostPathArg(statement: string, arg: ArgSpec): boolean {
  return arg.name === "SRC" || statement === "rootfs" || statement === "chroot";
}

/** Executables in the container's usual PATH directories. */
function commandsIn(root: string): string[] {
  const out = new Set<string>();
  for (const dir of ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]) {
    let names: string[];
    try {
      names = readdirSync(root + dir);
    } catch {
      continue;
    }
    for (const n of names) {
      out.add(n + " ");
      if (out.size > 4000) break;
    }
  }
  return [...out];
}

/**
 * Complete a path: `base` is prepended to absolute paths for listing (the
 * container's root seen from the host), `cwd` resolves relative ones. The
 * candidates are the last component's completions (readline then shows short
 * names, as a shell does).
 */
export function completePath(current: string, base: string, cwd: string): [string[], string] {
  const quote = current.startsWith('"') || current.startsWith("'") ? current[0]! : "";
  const text = current.slice(quote.length);
  const slash = text.lastIndexOf("/");
  const dirPart = slash >= 0 ? text.slice(0, slash + 1) : "";
  const partial = text.slice(slash + 1);
  const dir = dirPart.startsWith("/") ? dirPart : posix.join(cwd, dirPart || ".");
  let names: string[];
  try {
    names = readdirSync(base + dir);
  } catch {
    return [[], partial];
  }
  const hits: string[] = [];
  for (const n of names.sort()) {
    if (!n.startsWith(partial) || (n.startsWith(".") && !partial.startsWith("."))) continue;
    let isDir = false;
    try {
      isDir = statSync(`${base}${dir}/${n}`).isDirectory();
    } catch {
      // a dangling link: offered as a file
    }
    hits.push(n + (isDir ? "/" : quote ? quote + " " : " "));
    if (hits.length >= MAX_HITS) break;
  }
  return [hits, partial];
}

function completeVariable(current: string, ctx: CompletionContext): [string[], string] {
  const at = current.lastIndexOf("$");
  const tail = current.slice(at);
  const names = ctx.variables().map((v) => "${" + v + "}");
  return [prefixed(names, tail.startsWith("${") ? tail : "$"), tail];
}

// ---- :help -----------------------------------------------------------------------

const lookup = findStatement;

/** The statements and the REPL's commands, one line each. */
export function helpOverview(): string {
  const width = Math.max(...statements.map((s) => s.name.length));
  const lines = ["statements (`:help NAME` for one):"];
  for (const s of statements) lines.push(`  ${s.name.padEnd(width)}  ${s.summary}${s.unsupported ? " (not yet)" : ""}`);
  lines.push("", "commands:");
  const cw = Math.max(...REPL_COMMANDS.map(([c, a]) => (a ? `${c} ${a}` : c).length));
  for (const [c, a, h] of REPL_COMMANDS) lines.push(`  ${(a ? `${c} ${a}` : c).padEnd(cw)}  ${h}`);
  lines.push("", "keys: Tab completes, Ctrl-C stops a `run` (or clears the line), Ctrl-D leaves; a line ending in \\ or an open { continues.");
  return lines.join("\n") + "\n";
}

/**
 * Help on one statement (or one of its forms): syntax, meaning, options and
 * flags, what it requires, an example and the syscalls that example makes
 * (planned, not performed). Null when there is no such statement.
 */
export function helpStatement(name: string, formName?: string): string | null {
  const spec = findStatement(name);
  if (!spec) return null;
  const out: string[] = [`${spec.name} — ${spec.summary}`, `  syntax:   ${spec.syntax}`];
  if (spec.requires?.length) out.push(`  requires: ns ${spec.requires.join(", ")}${spec.affects ? ` (without it, it would change ${spec.affects})` : ""}`);
  if (spec.unsupported) out.push(`  not supported yet: ${spec.unsupported}`);
  describeArgs(out, spec.options, spec.flags, "  ");
  const forms = spec.forms ? Object.entries(spec.forms).filter(([f]) => !formName || f === formName) : [];
  if (formName && forms.length === 0) return null;
  if (forms.length === 0) {
    example(out, spec, spec.example, "  ");
  } else {
    for (const [f, fs] of forms) {
      out.push("", `  ${fs.syntax}`, `    ${fs.summary}`);
      if (spec.unsupportedForms?.[f]) out.push(`    not supported yet: ${spec.unsupportedForms[f]}`);
      if (fs.requires?.length) out.push(`    requires: ns ${fs.requires.join(", ")}`);
      describeArgs(out, fs.options, fs.flags, "    ");
      example(out, spec, fs.example, "    ");
    }
  }
  return out.join("\n") + "\n";
}

function describeArgs(out: string[], options: Record<string, ValueKind> | undefined, flags: readonly string[] | undefined, indent: string): void {
  const kindName = (k: ValueKind) => (typeof k === "object" ? k.oneOf.join("|") : k);
  if (options && Object.keys(options).length) {
    out.push(`${indent}options:  ${Object.entries(options).map(([k, v]) => (k === "*" ? "NAME=VALUE" : `${k}=${kindName(v).toUpperCase()}`)).join(" ")}`);
  }
  if (flags?.length) out.push(`${indent}flags:    ${flags.join(" ")}`);
}

function example(out: string[], spec: StatementDef, text: string, indent: string): void {
  out.push(`${indent}example:  ${text}`);
  const explain = explainExample(spec, text);
  if (explain.length) out.push(`${indent}syscalls:`, ...explain.map((l) => `${indent}  ${l}`));
}

/** Plan an example in a container that has every namespace, and return its explain lines. */
export function explainExample(spec: StatementDef, text: string): string[] {
  if (spec.unsupported) return [];
  const all = new Set<NsName>(NAMESPACES);
  const session = new Session({ specs: statements, namespaces: all, env: {}, cpus: 64 });
  const prelude = spec.after ? `${spec.after[0]} /bin/true\n` : "";
  const r = session.compile(prelude + text, "<example>");
  if (r.diagnostics.some((d) => d.severity === "error")) return [];
  const planner = new Planner(lookup, { stateDir: "/run/ctr/ID", defaultRootfs: "$CACHE/rootfs" });
  // `ns` makes its own namespaces; any other example runs in a container that has all.
  if (!spec.createsNamespaces) for (const n of all) planner.namespaces.add(n);
  const { ops, diagnostics } = planner.add(r.commands.slice(prelude ? 1 : 0));
  if (diagnostics.length) return [];
  return explainOps(ops).flat();
}
