// The checker: validates expanded commands against the statement table it is
// given (runtime/registry.ts in practice). It knows no statement by name: the
// ordering rules come from flags on the specs (container, requires,
// createsNamespaces, final, after, exclusive).

import { NAMESPACES, type Arg, type ArgSpec, type Bound, type CheckContext, type Command, type Diagnostic, type FormSpec, type HostView, type NsName, type Span, type StatementSpec, type ValueKind } from "./spec.ts";
import { didYouMean, listOf, programHint } from "./suggest.ts";
import { MAX_CPUS, MAX_ID, MAX_NODES, cpuListProblem, isNamespace, itemsOf, namespacesOf, parseCidr, parseDuration, parseInt10, parseMode, parsePercent, parseSize } from "./values.ts";

/** Where a statement was seen, for "already ... at L:C" messages. */
function at(s: Span): string {
  return `${s.line}:${s.column}`;
}

/** The merged schema of a statement and one of its forms (computed once, cached). */
export interface Schema {
  spec: StatementSpec;
  form?: FormSpec;
  formName?: string;
  /** "mount tmpfs" or "hostname". */
  label: string;
  syntax: string;
  argSpecs: ArgSpec[];
  options: Record<string, ValueKind>;
  /** The same, by key, for the per-option lookup (an own-property test per option costs more in a cold process). */
  optionKinds: Map<string, ValueKind>;
  /** Option keys without the "*" wildcard. */
  optionKeys: string[];
  flags: readonly string[];
  requires: NsName[];
  requiredOptions: string[];
  /** Index of the `rest` argument, or -1. */
  restAt: number;
  /** The rest argument takes everything after it, options and flags included (commands, text). */
  restTakesAll: boolean;
}

/** A command matched to its schema: the arguments after the form word. */
export interface Resolved {
  schema: Schema;
  args: Arg[];
}

/** Result of the shape check: arguments sorted into positionals, options and flags. */
export interface Shaped {
  resolved: Resolved;
  positional: Arg[];
  options: ReadonlyMap<string, Arg>;
  flags: ReadonlySet<string>;
}

/** What a command without options or flags shapes to: shared, and read-only by their types (Bound.flags too). */
const NO_OPTIONS: ReadonlyMap<string, Arg> = new Map();
const NO_FLAGS: ReadonlySet<string> = new Set();
/** What Checker.check returns for a command without diagnostics (frozen: shared by all of them). */
const NO_DIAGNOSTICS: Diagnostic[] = Object.freeze([]) as unknown as Diagnostic[];

const schemas = new WeakMap<StatementSpec, Map<string, Schema>>();

export function schemaOf(spec: StatementSpec, formName?: string): Schema {
  let m = schemas.get(spec);
  if (!m) schemas.set(spec, (m = new Map()));
  const key = formName ?? "";
  let sc = m.get(key);
  if (sc) return sc;
  const form = formName !== undefined ? spec.forms?.[formName] : undefined;
  const argSpecs = form?.args ?? spec.args ?? [];
  const options = { ...spec.options, ...form?.options };
  const restAt = argSpecs.findIndex((a) => a.rest);
  const rest = argSpecs[restAt];
  sc = {
    spec,
    label: formName !== undefined ? `${spec.name} ${formName}` : spec.name,
    syntax: form?.syntax ?? spec.syntax,
    argSpecs,
    options,
    optionKinds: new Map(Object.entries(options)),
    optionKeys: Object.keys(options).filter((k) => k !== "*"),
    flags: [...(spec.flags ?? []), ...(form?.flags ?? [])],
    requires: [...new Set([...(spec.requires ?? []), ...(form?.requires ?? [])])],
    requiredOptions: [...(spec.requiredOptions ?? []), ...(form?.requiredOptions ?? [])],
    restAt,
    restTakesAll: rest !== undefined && (rest.kind === "text" || rest.kind === "word"),
  };
  if (form) sc.form = form;
  if (formName !== undefined) sc.formName = formName;
  m.set(key, sc);
  return sc;
}

export interface CheckerState {
  namespaces: Set<NsName>;
  /** The `ns` statement of the script, if any. */
  nsCmd?: Command;
  nsItems: string[];
  /** A `join` statement providing namespaces. */
  joinCmd?: Command;
  /** Namespaces were present before this compilation (REPL session). */
  preexisting: boolean;
  finalCmd?: Command;
  seen: Set<string>;
  exclusive: Map<string, Command>;
}

export function newCheckerState(namespaces?: Iterable<NsName>): CheckerState {
  const ns = new Set(namespaces ?? []);
  return { namespaces: ns, nsItems: [...ns], preexisting: ns.size > 0, seen: new Set(), exclusive: new Map() };
}

export function cloneCheckerState(s: CheckerState): CheckerState {
  return { ...s, namespaces: new Set(s.namespaces), nsItems: [...s.nsItems], seen: new Set(s.seen), exclusive: new Map(s.exclusive) };
}

export interface CheckerOptions {
  cpus: number;
  host?: HostView;
  /** REPL: a second `ns` adds namespaces instead of being an error. */
  repl?: boolean;
  state?: CheckerState;
}

const specIndex = new WeakMap<readonly StatementSpec[], Map<string, StatementSpec>>();
export function indexSpecs(specs: readonly StatementSpec[]): Map<string, StatementSpec> {
  let m = specIndex.get(specs);
  if (!m) {
    m = new Map(specs.map((s) => [s.name, s]));
    specIndex.set(specs, m);
  }
  return m;
}

type Report = (severity: "error" | "warning", span: Span, message: string, help?: string) => void;

function kindName(kind: ValueKind): string {
  if (typeof kind === "object") return "one of " + kind.oneOf.join(", ");
  return kind;
}

export class Checker {
  readonly state: CheckerState;
  private index: Map<string, StatementSpec>;

  constructor(
    specs: readonly StatementSpec[],
    private opts: CheckerOptions,
  ) {
    this.index = indexSpecs(specs);
    this.state = opts.state ?? newCheckerState();
  }

  /** Checks one command in script order; returns its diagnostics. */
  private out: Diagnostic[] = [];
  private errors = 0;
  /** Calls already reported for a namespace their statements need (below). */
  private readonly missingReported = new Set<string>();
  private readonly report: Report = (severity, span, message, help) => {
    const d: Diagnostic = { severity, span, message };
    if (help) d.help = help;
    if (severity === "error") this.errors++;
    if (this.out === NO_DIAGNOSTICS) this.out = [];
    this.out.push(d);
  };
  private readonly ctx: CheckContext = (() => {
    const self = this;
    return {
      get namespaces() {
        return self.state.namespaces;
      },
      get cpus() {
        return self.opts.cpus;
      },
      get host() {
        return self.opts.host;
      },
      error: (span: Span, message: string, help?: string) => self.report("error", span, message, help),
      warning: (span: Span, message: string, help?: string) => self.report("warning", span, message, help),
    };
  })();

  /** Checks one command in script order; returns its diagnostics. */
  check(cmd: Command, extraNames: Iterable<string> = []): Diagnostic[] {
    this.out = NO_DIAGNOSTICS; // an array is made at the first report (most commands have none)
    this.errors = 0;
    const report = this.report;
    const spec = this.index.get(cmd.name);
    if (!spec) {
      // A program name typed as a statement (`ps -ef`) most likely wants `run`.
      const asRun = programHint(this.opts.host?.isCommand?.bind(this.opts.host), cmd.name, cmd.args.map((a) => a.text));
      report("error", cmd.nameSpan, `unknown statement \`${cmd.name}\``, asRun ?? didYouMean(cmd.name, [...this.index.keys(), ...extraNames]));
      return this.out;
    }
    const resolved = resolve(cmd, spec, report);
    const shaped = resolved ? shapeResolved(cmd, resolved, report) : undefined;
    const shapeErrors = this.errors;
    if (shaped && shapeErrors === 0) cmd.bound = bind(shaped);
    this.context(cmd, spec, resolved, report);
    if (shaped && shapeErrors === 0) {
      spec.check?.(cmd, this.ctx);
      shaped.resolved.schema.form?.check?.(cmd, this.ctx);
    }
    this.advance(cmd, spec);
    return this.out;
  }

  /** Ordering rules: namespaces, host protection, exec last, expect after run. */
  private context(cmd: Command, spec: StatementSpec, resolved: Resolved | undefined, report: Report): void {
    const st = this.state;
    const label = resolved?.schema.label ?? spec.name;
    if (spec.createsNamespaces && st.nsCmd && !this.opts.repl) {
      report(
        "error",
        cmd.nameSpan,
        `namespaces are already created by the \`ns\` at ${at(st.nsCmd.nameSpan)}`,
        `list every namespace in one statement: ns ${[...st.nsItems, ...namespacesOf(cmd.args)].join(", ")}`,
      );
    }
    if (st.finalCmd && spec.side !== "front") {
      report(
        "error",
        cmd.nameSpan,
        `unreachable: \`${cmd.name}\` comes after the \`${st.finalCmd.name}\` at ${at(st.finalCmd.nameSpan)}, which hands the container over to its command`,
        `move it before the \`${st.finalCmd.name}\`, or use \`run\` for a command that should return`,
      );
    }
    if (spec.container) {
      const requires = resolved?.schema.requires ?? spec.requires ?? [];
      const haveContainer = st.nsCmd !== undefined || st.joinCmd !== undefined || st.preexisting;
      if (!haveContainer) {
        const help = requires.length
          ? `add \`ns ${requires.join(", ")}\` before it`
          : "start with an `ns` statement, e.g. `ns uts, pid, mnt` (or `ns none` for a child process with no new namespaces)";
        report("error", cmd.nameSpan, `\`${label}\` acts on a container, but no \`ns\` statement comes before it`, help);
      } else {
        let missing: NsName[] | undefined;
        for (let i = 0; i < requires.length; i++) if (!st.namespaces.has(requires[i]!)) (missing ??= []).push(requires[i]!);
        if (missing) {
          const what = missing.map((n) => `\`ns ${n}\``).join(" and ");
          const affects = spec.affects ? `: without it, it would change ${spec.affects}` : "";
          let help: string;
          if (st.nsCmd) {
            const items = st.nsItems.filter(isNamespace);
            help = `add ${listOf(missing)} to the \`ns\` statement: ns ${[...items, ...missing].join(", ")}`;
          } else if (st.joinCmd) {
            help = `join ${missing.length > 1 ? "those namespaces" : "that namespace"} too, or create ${missing.length > 1 ? "them" : "it"} with \`ns ${missing.join(", ")}\``;
          } else {
            help = `create ${missing.length > 1 ? "them" : "it"} first: ns ${missing.join(", ")}`;
          }
          // One report per call of a library function for the same missing namespaces:
          // `docker_security` has 17 statements that need `ns mnt`, and one fix for all.
          const call = cmd.via?.[0];
          const key = call ? `${call.file}:${call.offset}:${missing.join(",")}` : null;
          if (key === null || !this.missingReported.has(key)) report("error", cmd.nameSpan, `\`${label}\` needs ${what}${affects}`, call ? `${help} (one fix for every statement of this call)` : help);
          if (key !== null) this.missingReported.add(key);
        }
      }
    }
    if (spec.after && !seenAny(st.seen, spec.after)) {
      const names = spec.after.map((n) => "`" + n + "`").join(" or ");
      report("error", cmd.nameSpan, `\`${cmd.name}\` checks the result of a ${names}, but none comes before it`, `add a ${names} before it, e.g. \`run /bin/true\``);
    }
    if (spec.exclusive) {
      const prev = st.exclusive.get(spec.exclusive);
      if (prev) {
        const msg =
          prev.name === cmd.name
            ? `\`${cmd.name}\` is already given at ${at(prev.nameSpan)}`
            : `\`${cmd.name}\` conflicts with the \`${prev.name}\` at ${at(prev.nameSpan)}`;
        report("error", cmd.nameSpan, msg, `keep only one of them`);
      }
    }
  }

  /** Updates the state after a command (also when it had errors, to avoid cascades). */
  private advance(cmd: Command, spec: StatementSpec): void {
    const st = this.state;
    if (spec.createsNamespaces || spec.joinsNamespaces) {
      const names = namespacesOf(cmd.args);
      for (const n of names) if (isNamespace(n)) st.namespaces.add(n);
      if (spec.createsNamespaces) {
        if (!st.nsCmd) st.nsCmd = cmd;
        st.nsItems.push(...names.filter((n) => !st.nsItems.includes(n)));
      } else st.joinCmd ??= cmd;
    }
    if (spec.final && !st.finalCmd) st.finalCmd = cmd;
    if (spec.exclusive && !st.exclusive.has(spec.exclusive)) st.exclusive.set(spec.exclusive, cmd);
    st.seen.add(spec.name);
  }
}

function seenAny(seen: Set<string>, names: readonly string[]): boolean {
  for (const n of names) if (seen.has(n)) return true;
  return false;
}

const formSets = new WeakMap<StatementSpec, Set<string>>();
/** A spec's form names, as a set made once (an own-property test per command costs more in a cold process). */
function formSet(spec: StatementSpec): Set<string> {
  let set = formSets.get(spec);
  if (!set) formSets.set(spec, (set = new Set(formNames(spec))));
  return set;
}

function formNames(spec: StatementSpec): string[] {
  return Object.keys(spec.forms ?? {});
}

/** Picks the form (if the statement has forms) and its merged schema. */
export function resolve(cmd: Command, spec: StatementSpec, report: Report, isOpaque?: (a: Arg) => boolean): Resolved | undefined {
  if (!spec.forms) return { schema: schemaOf(spec), args: cmd.args };
  const args = cmd.args;
  const first = args[0];
  if (!first) {
    report("error", cmd.nameSpan, `\`${spec.name}\` needs one of ${listOf(formNames(spec))}`, `syntax: ${spec.syntax}`);
    return undefined;
  }
  if (isOpaque?.(first)) return undefined;
  const text = first.kind === "word" || first.kind === "string" || first.kind === "number" ? first.text : undefined;
  if (text === undefined || !formSet(spec).has(text)) {
    const shown = text ?? first.text;
    const why = spec.notForms && Object.hasOwn(spec.notForms, shown) ? spec.notForms[shown] : undefined;
    report("error", first.span, `unknown \`${spec.name}\` form \`${shown}\``, why ?? didYouMean(shown, formNames(spec)) ?? `expected one of ${listOf(formNames(spec))}; syntax: ${spec.syntax}`);
    return undefined;
  }
  return { schema: schemaOf(spec, text), args: args.slice(1) };
}

/**
 * Checks a command's arguments against its schema: form word, options,
 * flags, positional count and value kinds. With `isOpaque` (static check of
 * code that was never expanded), arguments whose value is unknown are skipped.
 */
export function shape(cmd: Command, spec: StatementSpec, report: Report, isOpaque?: (a: Arg) => boolean): Shaped | undefined {
  const resolved = resolve(cmd, spec, report, isOpaque);
  return resolved ? shapeResolved(cmd, resolved, report, isOpaque) : undefined;
}

export function shapeResolved(cmd: Command, resolved: Resolved, report: Report, isOpaque?: (a: Arg) => boolean): Shaped | undefined {
  const r = resolved.schema;
  const args = resolved.args;
  const positional: Arg[] = [];
  let options: Map<string, Arg> | undefined;
  let flags: Set<string> | undefined;
  const restAt = r.restAt;
  const restSpec = restAt >= 0 ? r.argSpecs[restAt] : undefined;
  const restTakesAll = r.restTakesAll;
  const flagList = r.flags;
  let uncertain = false;
  let knownUpTo = Infinity;
  let errors = 0;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (restTakesAll && positional.length >= restAt) {
      positional.push(a);
      continue;
    }
    if (isOpaque !== undefined && isOpaque(a)) {
      // Its value (none, one or several words) is known only at run time: so are the positions of the arguments after it.
      if (!uncertain) knownUpTo = positional.length;
      uncertain = true;
      continue;
    }
    if (a.kind === "option" && a.key !== undefined) {
      if (!checkOption(a, r, (options ??= new Map()), report, isOpaque)) errors++;
      continue;
    }
    if (a.kind === "word" && flagList.length > 0 && flagList.includes(a.text)) {
      flags ??= new Set();
      if (flags.has(a.text)) report("warning", a.span, `flag \`${a.text}\` is given twice`);
      flags.add(a.text);
      continue;
    }
    positional.push(a);
  }
  const specs = r.argSpecs;
  // Count.
  const fixed = restAt >= 0 ? restAt : specs.length;
  if (!uncertain) {
    if (restSpec === undefined && positional.length > specs.length) {
      const extra = positional[specs.length]!;
      let help = `syntax: ${r.syntax}`;
      if (extra.kind === "word" && flagList.length) {
        help = didYouMean(extra.text, flagList) ?? `flags are ${listOf([...flagList])}; syntax: ${r.syntax}`;
      }
      const message = specs.length === 0 ? `\`${r.label}\` takes no arguments, found \`${extra.text}\`` : `too many arguments for \`${r.label}\`: unexpected \`${extra.text}\``;
      report("error", extra.span, message, help);
      errors++;
    }
    let missing = -1;
    for (let i = positional.length; i < specs.length; i++) {
      if (!specs[i]!.optional) {
        missing = i;
        break;
      }
    }
    if (missing >= 0) {
      const names = specs.slice(missing).filter((s) => !s.optional).map((s) => s.name);
      const where = r.form && cmd.args[0] ? cmd.args[0].span : cmd.nameSpan;
      report("error", where, `missing ${names.join(" ")} for \`${r.label}\``, `syntax: ${r.syntax}`);
      errors++;
    }
  }
  // Values.
  const checkUpTo = Math.min(positional.length, knownUpTo);
  for (let i = 0; i < checkUpTo; i++) {
    const a = positional[i]!;
    const s = i < fixed ? specs[i] : restSpec;
    if (s === undefined || s.kind === "text" || (isOpaque !== undefined && isOpaque(a))) continue;
    if (s.kind === "path" && flagList.length && a.kind === "word" && !a.text.includes("/")) {
      // `mount proc nosuidd`: a misspelt flag, not a relative path.
      const flag = didYouMean(a.text, flagList);
      if (flag) {
        report("error", a.span, `unknown flag \`${a.text}\` for \`${r.label}\``, flag);
        errors++;
        continue;
      }
    }
    if (!validate(a, s.kind, s.name, report)) errors++;
  }
  if (!uncertain && r.requiredOptions.length) {
    const missingOpts = r.requiredOptions.filter((k) => !options?.has(k));
    if (missingOpts.length) {
      report("error", r.form && cmd.args[0] ? cmd.args[0].span : cmd.nameSpan, `\`${r.label}\` needs ${listOf(missingOpts.map((k) => k + "="))}`, `syntax: ${r.syntax}`);
      errors++;
    }
  }
  return errors === 0 || isOpaque ? { resolved, positional, options: options ?? NO_OPTIONS, flags: flags ?? NO_FLAGS } : undefined;
}

/** The Bound form of a command whose shape checked (spec.ts). */
export function bind(s: Shaped): Bound {
  const { argSpecs, restAt, formName } = s.resolved.schema;
  const args: Record<string, Arg> = {};
  const rest: Arg[] = [];
  const positional = s.positional;
  // Plain loops and Map.forEach: this runs once per command (a cold process's hot path).
  for (let i = 0; i < positional.length; i++) {
    const a = positional[i]!;
    if (restAt >= 0 && i >= restAt) rest.push(a);
    else if (argSpecs[i]) args[argSpecs[i]!.name] = a;
  }
  const options: Record<string, Arg> = {};
  const optionSpans: Record<string, Span> = {};
  if (s.options.size > 0) {
    s.options.forEach((a, k) => {
      options[k] = a.value ?? a;
      optionSpans[k] = a.span;
    });
  }
  return { form: formName ?? null, positional: s.positional, args, rest, options, optionSpans, flags: s.flags };
}

/** Checks one `key=value` option; false when it reported an error. */
function checkOption(a: Arg, r: Schema, options: Map<string, Arg>, report: Report, isOpaque?: (a: Arg) => boolean): boolean {
  const key = a.key!;
  const kind = r.optionKinds.get(key) ?? r.optionKinds.get("*");
  if (kind === undefined) {
    const optionKeys = r.optionKeys;
    if (optionKeys.length === 0) {
      report("error", optionKeySpan(a.span, key), `unknown option \`${key}=\`: \`${r.label}\` takes no options`, `syntax: ${r.syntax}`);
    } else {
      report(
        "error",
        optionKeySpan(a.span, key),
        `unknown option \`${key}=\` for \`${r.label}\``,
        didYouMean(key, optionKeys, (s) => s + "=") ?? `options are ${listOf(optionKeys.map((k) => k + "="))}`,
      );
    }
    return false;
  }
  if (options.has(key)) {
    report("error", optionKeySpan(a.span, key), `option \`${key}=\` is given twice`);
    return false;
  }
  options.set(key, a);
  const value = a.value;
  if (!value || value.text === "") {
    if (kind !== "text" && kind !== "word") {
      report("error", optionKeySpan(a.span, key), `missing value for \`${key}=\``, `write the value right after \`=\`, with no space: ${key}=${example(kind)}`);
      return false;
    }
    return true;
  }
  if (kind === "text" || (isOpaque !== undefined && isOpaque(value))) return true;
  return validate(value, kind, key + "=", report);
}

/** The span of an option's `key=`. */
function optionKeySpan(span: Span, key: string): Span {
  return { ...span, length: key.length + 1 };
}

function example(kind: ValueKind): string {
  if (typeof kind === "object") return kind.oneOf[0] ?? "";
  switch (kind) {
    case "size":
      return "64m";
    case "percent":
      return "20%";
    case "duration":
      return "500ms";
    case "int":
    case "idrange":
      return "100";
    case "cpus":
      return "0-1";
    case "nslist":
      return "uts";
    case "cidr":
      return "10.0.0.1/24";
    case "mode":
      return "0755";
    default:
      return "VALUE";
  }
}

const LISTABLE = new Set<string>(["nslist", "cpus", "text"]);

/** Reports `message` at `a`; false (a function of its own, not a closure made per value checked). */
function fail(report: Report, a: Arg, message: string, help?: string): false {
  report("error", a.span, message, help);
  return false;
}

/** Validates one argument value against its kind. */
export function validate(a: Arg, kind: ValueKind, what: string, report: Report): boolean {
  if (a.kind === "list") {
    if (typeof kind === "object" || LISTABLE.has(kind)) {
      let ok = true;
      if (kind === "text") return true;
      if (kind === "cpus") return validate({ ...a, kind: "word" }, kind, what, report);
      for (const it of a.items ?? []) ok = validate(it, kind, what, report) && ok;
      return ok;
    }
    report("error", a.span, `expected one value for ${what}, found a list \`${a.text}\``, "remove the commas, or quote the value");
    return false;
  }
  if (a.kind === "option" && kind !== "text") {
    report("error", a.span, `expected ${what}, found an option \`${a.text}\``, "quote it if it is a value: \"" + a.text + '"');
    return false;
  }
  const t = a.text;
  if (typeof kind === "object") {
    if (kind.oneOf.includes(t)) return true;
    report("error", a.span, `unknown ${what.toLowerCase()} \`${t}\``, didYouMean(t, kind.oneOf) ?? `expected ${listOf([...kind.oneOf])}`);
    return false;
  }
  switch (kind) {
    case "text":
      return true;
    case "word":
      return t !== "" || fail(report, a, `empty value for ${what}`);
    case "path":
      return t !== "" || fail(report, a, `empty path for ${what}`, "give a path, e.g. /tmp");
    case "int":
      return parseInt10(t) !== undefined || fail(report, a, `expected a whole number for ${what}, found \`${t}\``);
    case "idrange": {
      const n = parseInt10(t);
      if (n === undefined) return fail(report, a, `expected a non-negative id for ${what}, found \`${t}\``);
      return n <= MAX_ID || fail(report, a, `id \`${t}\` is out of range`, `ids go from 0 to ${MAX_ID}`);
    }
    case "size":
      return parseSize(t) !== undefined || fail(report, a, `malformed size \`${t}\``, "a size is a number with an optional unit k, m, g or t: 4096, 4k, 64m, 1.5g");
    case "percent":
      if (parsePercent(t) !== undefined) return true;
      if (/^\d+(\.\d+)?$/.test(t)) return fail(report, a, `expected a percentage for ${what}, found \`${t}\``, `write it with \`%\`: ${t}%`);
      return fail(report, a, `malformed percentage \`${t}\``, "write a number followed by `%`: 20%");
    case "duration":
      return parseDuration(t) !== undefined || fail(report, a, `malformed duration \`${t}\``, "a duration is a number with an optional unit ms, s, m or h: 500ms, 2s (plain numbers are seconds)");
    case "cpus": {
      const problem = cpuListProblem(t);
      if (problem === undefined) return true;
      if ("tooLarge" in problem) return fail(report, a, `\`${problem.tooLarge}\` is out of range for ${what}`, `the kernel numbers CPUs from 0 to ${MAX_CPUS - 1} at most, memory nodes from 0 to ${MAX_NODES - 1}`);
      return fail(report, a, `malformed CPU list \`${t}\``, "list CPUs and ranges with commas: 0-1,3");
    }
    case "cidr":
      return parseCidr(t) !== undefined || fail(report, a, `malformed address \`${t}\``, "an IPv4 address with a prefix length: 10.0.0.1/24");
    case "mode":
      return parseMode(t) !== undefined || fail(report, a, `malformed mode \`${t}\``, "an octal mode: 755, 0755, 1777");
    case "nslist": {
      if (isNamespace(t) || t === "none") return true;
      return fail(report, a, `unknown namespace \`${t}\``, didYouMean(t, NAMESPACES) ?? `namespaces are ${listOf([...NAMESPACES], 20)}`);
    }
  }
  return fail(report, a, `cannot check ${what}: unknown kind ${kindName(kind)}`);
}

/** Helpers for registry `check` functions. */
export function argsAfterForm(cmd: Command, spec: StatementSpec): Arg[] {
  return spec.forms ? cmd.args.slice(1) : cmd.args;
}

export { itemsOf };
