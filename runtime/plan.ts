// The planner: checked commands -> an ordered list of operations.
//
// Each statement's own translation lives with its registry entry (`plan`);
// this file holds what concerns the plan as a whole:
//   - the namespaces, created at once by stage 1 whatever line `ns` is on;
//   - with `ns mnt`, making the mount tree private as part of the unshare
//     (stage 1 does it before any process of the container runs: chapter 05),
//     and keeping a copy of the host's tree before the first mount (sources);
//   - entering the new root (pivot_root or chroot) right before the first
//     operation that observes the container, so that every mount of the script
//     is made first with host paths as sources, as runc does;
//   - `readonly` and `mask` are held until the mounts before the next command are
//     made (OP_TRAITS `afterMounts`): they protect what is mounted then;
//   - `run` captures its output only when an `expect output` follows it;
//   - statements that are registered but not implemented yet are refused here,
//     before anything touches the kernel.

import type { Arg, Bound, Command, Diagnostic, NsName, Span } from "../lang/spec.ts";
import { traitsOf, type MountSpec, type Op, type OpBody, type Plan } from "./ops.ts";
import { orderNamespaces } from "./features/ns/ns.ts";
import { joinRules } from "./features/ns/join.ts";
import { userNameProblems } from "./features/security/user.ts";
import { defaultMaps, findOverlap } from "./features/userns/userns.ts";

/** What a statement's plan function gets besides its command. */
export interface PlanContext {
  /** The per-container directory on the host (not created by planning). */
  stateDir: string;
  /** Where `rootfs default` lives (may not be built yet). */
  defaultRootfs: string;
  /** The namespaces of the plan. */
  namespaces: ReadonlySet<NsName>;
  /** A host file's text, or null (`ctr check` and a run's first plan: `user` names in a host root's /etc). */
  readHost?: (path: string) => string | null | undefined;
}

export type PlanFn = (cmd: Command, ctx: PlanContext) => PlannedOp[];

/**
 * An op as a statement's plan function returns it: the planner adds span and
 * source. It has no explain lines: runtime/explain.ts derives them from the
 * op's executor.
 */
export type PlannedOp = OpBody & { side: Op["side"] };

/**
 * Give `op` its explain lines as a non-enumerable property: derived from its executor
 * on first read (runtime/explain.ts, the op alone: explainOps gives them in the plan's
 * context), and never serialised (the messages to PID 1 and cached plans do without
 * them; a plan loaded from the cache has none).
 */
export function setExplain(op: Op): void {
  Object.defineProperty(op, "explain", {
    enumerable: false,
    configurable: true,
    get() {
      // Loaded on first read only: a run, a check and a cached plan never load explain's machinery (start-up).
      const { explainOps } = require("./explain.ts") as typeof import("./explain.ts");
      const lines = explainOps([op])[0]!;
      Object.defineProperty(op, "explain", { value: lines, enumerable: false, writable: true, configurable: true });
      return lines;
    },
  });
}

/**
 * A command's arguments as the checker bound them (lang/spec.ts Bound): what
 * every check and plan function reads. A command that reaches a plan without
 * having been checked is a bug, reported as such.
 */
export function bound(cmd: Command): Bound {
  if (!cmd.bound) throw new Error(`\`${cmd.name}\` was planned without being checked`);
  return cmd.bound;
}

/** The texts of arguments, comma lists flattened: `ns uts, pid` -> ["uts", "pid"]. */
export function texts(args: readonly Arg[]): string[] {
  const out: string[] = [];
  // A plain loop: every plan function calls this (a cold process's hot path).
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.kind === "list") for (const it of a.items!) out.push(it.text);
    else out.push(a.text);
  }
  return out;
}

export function quote(s: string | null): string {
  return s === null ? "NULL" : JSON.stringify(s);
}



export interface PlanResult {
  plan: Plan;
  diagnostics: Diagnostic[];
}

export interface PlannerEntry {
  name: string;
  plan?: PlanFn;
  /** Set for statements that are registered but not implemented yet: why, and where it is tracked. */
  unsupported?: string;
  /** The same for single forms, keyed by the form word. */
  unsupportedForms?: Record<string, string>;
}

/**
 * Plans commands with the rules above. Scripts use `makePlan` (all commands at
 * once); the REPL keeps one Planner per session and adds statements one at a
 * time, so the same rules apply across lines (the mount tree is made private
 * once, the new root is entered before the first command that observes it).
 */
export class Planner {
  readonly namespaces = new Set<NsName>();
  private hostTreeKept = false;
  private rootPending: { mode: "pivot" | "chroot"; dir: string } | null = null;
  needsDefaultRootfs = false;
  /** `readonly` and `mask` ops waiting for the next op that observes the container (OP_TRAITS `afterMounts`). */
  private held: Op[] = [];

  /** The held ops, to be performed now (before an op that observes, or at the end of the script). */
  takeHeld(): Op[] {
    const out = this.held;
    this.held = [];
    return out;
  }

  constructor(
    private readonly lookup: (name: string) => PlannerEntry | undefined,
    private readonly base: Omit<PlanContext, "namespaces">,
    /**
     * The REPL: enter the new root with the `rootfs` statement itself, so that
     * what it did (pivot_root) is shown under it. Nothing is lost by entering
     * early: bind and overlay sources are host paths wherever they come
     * (runtime/features/mount/hostmount.ts), and targets are container paths either way.
     */
    private readonly opts: { enterRootAtOnce?: boolean } = {},
  ) {}

  /** Plan more commands; their `ns` lines count wherever they stand (stage 1 unshares all at once). */
  add(commands: readonly Command[]): { ops: Op[]; diagnostics: Diagnostic[] } {
    const diagnostics: Diagnostic[] = [];
    addNamespaces(this.namespaces, commands);
    const ctx: PlanContext = { ...this.base, namespaces: this.namespaces };
    const namespaces = orderNamespaces(this.namespaces);
    const ops: Op[] = [];
    for (const cmd of commands) {
      const planned = planCommand(this.lookup, cmd, ctx, diagnostics);
      if (planned === null) continue;
      const source = sourceText(cmd);
      for (const p of planned) {
        const op = { ...p, span: cmd.span, source } as Op;
        setExplain(op);
        if (op.kind === "unshare") op.namespaces = namespaces;
        const traits = traitsOf(op.kind);
        if (traits.mounts && !this.hostTreeKept && this.namespaces.has("mnt")) {
          ops.push(hostTreeOp(cmd.span, source));
          this.hostTreeKept = true;
        }
        if (traits.afterMounts && !this.opts.enterRootAtOnce) {
          this.held.push(op);
          continue;
        }
        if (this.rootPending && traits.observes) {
          ops.push(enterRootOp(this.rootPending.mode, cmd.span, source));
          this.rootPending = null;
        }
        if (traits.observes) ops.push(...this.takeHeld());
        if (op.kind === "rootfs") {
          this.rootPending = { mode: op.mode, dir: op.overlay ? op.overlay.merged : op.dir };
          if (op.overlay) this.needsDefaultRootfs = true;
        }
        ops.push(op);
        if (op.kind === "rootfs" && this.opts.enterRootAtOnce) {
          ops.push(enterRootOp(op.mode, cmd.span, source));
          this.rootPending = null;
        }
      }
    }
    if (this.namespaces.has("user") && ops.some((o) => o.kind === "unshare")) diagnostics.push(...completeIdMaps(ops));
    diagnostics.push(...joinRules(ops, this.namespaces)); // runtime/features/ns/join.ts
    diagnostics.push(...userNameProblems(ops, this.base.defaultRootfs, this.base.readHost)); // runtime/features/security/user.ts
    // `run` keeps its output for the `expect output` tests right after it
    // (among other `expect`s); PID 1 decides them as the output streams.
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      if (op.kind !== "run") continue;
      const tests: { test: Extract<Op, { kind: "expect" }>["test"]; value: string }[] = [];
      for (let j = i + 1; j < ops.length; j++) {
        const next = ops[j]!;
        if (next.kind !== "expect") break;
        if (next.subject === "output") tests.push({ test: next.test, value: next.value });
      }
      if (tests.length > 0) {
        op.capture = true;
        op.tests = tests;
      }
    }
    return { ops, diagnostics };
  }
}

/** The namespaces of the `ns` lines among `commands`, added to `into`. */
function addNamespaces(into: Set<NsName>, commands: readonly Command[]): void {
  for (const cmd of commands) {
    if (!cmd.bound) continue; // the checker has reported it
    if (cmd.name === "ns") for (const w of texts(cmd.bound.rest)) if (w !== "none") into.add(w as NsName);
  }
}

/** A command's statement and form as written, for messages. */
function formText(cmd: Command): string {
  return cmd.args[0] ? `${cmd.name} ${cmd.args[0].text}` : cmd.name;
}

/**
 * One command's ops as its plan function returns them, or null when it has none
 * (unknown, not supported yet: reported in `diagnostics`, or no plan function).
 */
function planCommand(lookup: (name: string) => PlannerEntry | undefined, cmd: Command, ctx: PlanContext, diagnostics: Diagnostic[]): PlannedOp[] | null {
  const entry = lookup(cmd.name);
  if (!entry) return null; // the checker has reported it
  const formWord = cmd.bound?.form ?? null;
  const unsupported = entry.unsupported ?? (formWord !== null ? entry.unsupportedForms?.[formWord] : undefined);
  if (unsupported) {
    const what = entry.unsupported ? cmd.name : formText(cmd);
    diagnostics.push({ severity: "error", span: cmd.nameSpan, message: `\`${what}\` is not supported yet: ${unsupported}`, help: "remove this statement; ctr refuses to run a script it cannot perform in full" });
    return null;
  }
  if (!entry.plan) return null;
  try {
    return entry.plan(cmd, ctx);
  } catch (e) {
    // A plan function trusts the checker; when it throws, the two disagree (a
    // bug). Refuse the script with a diagnostic rather than a stack trace.
    const why = e instanceof Error ? e.message : String(e);
    diagnostics.push({ severity: "error", span: cmd.nameSpan, message: `internal error: cannot plan \`${formText(cmd)}\`: ${why}`, help: "the checker let through what the planner cannot do; please report it with the script" });
    return null;
  }
}

/**
 * The op kinds the plan-wide diagnostics read, kept by planDiagnostics in plan order:
 * `unshare`, `idmap` (completeIdMaps), the `user` names' check (features/security/user.ts
 * userNameProblems) and the teaching note (features/security/note.ts, read from `sketch`).
 */
const KEPT_KINDS = new Set<Op["kind"]>(["unshare", "idmap", "cap", "seccomp", "user", "rootfs", "run", "exec", "join", "mount", "volume"]);

/**
 * What `makePlan` reports, without making the plan (`ctr check`): every plan
 * function still runs, since one that throws is reported, but no op is built
 * (no source text, no explain lines) beyond those of KEPT_KINDS. With `sketch`,
 * those ops and the namespaces are handed back.
 */
export function planDiagnostics(commands: readonly Command[], lookup: (name: string) => PlannerEntry | undefined, base: Omit<PlanContext, "namespaces">, sketch?: Plan): Diagnostic[] {
  // `join`'s rules (features/ns/join.ts) read every op with its source text: the whole plan then.
  let joins = false;
  for (let i = 0; i < commands.length && !joins; i++) joins = commands[i]!.name === "join";
  if (joins) {
    const made = makePlan([...commands], lookup, base);
    if (sketch) Object.assign(sketch, made.plan);
    return made.diagnostics;
  }
  const diagnostics: Diagnostic[] = [];
  const ns = new Set<NsName>();
  addNamespaces(ns, commands);
  const ctx: PlanContext = { ...base, namespaces: ns };
  orderNamespaces(ns);
  const kept: Op[] = [];
  for (const cmd of commands) {
    const planned = planCommand(lookup, cmd, ctx, diagnostics);
    if (planned === null) continue;
    for (const p of planned) {
      // As in Planner.add: an op kind without traits is a bug, and fails the same way.
      if (traitsOf(p.kind).afterMounts) continue;
      if (KEPT_KINDS.has(p.kind)) kept.push({ ...p, span: cmd.span } as Op);
    }
  }
  if (ns.has("user") && kept.some((o) => o.kind === "unshare")) diagnostics.push(...completeIdMaps(kept));
  diagnostics.push(...userNameProblems(kept, base.defaultRootfs, base.readHost));
  if (sketch) {
    sketch.ops = kept;
    sketch.namespaces = orderNamespaces(ns);
  }
  return diagnostics;
}

export function makePlan(commands: Command[], lookup: (name: string) => PlannerEntry | undefined, base: Omit<PlanContext, "namespaces">): PlanResult {
  const planner = new Planner(lookup, base);
  const { ops, diagnostics } = planner.add(commands);
  ops.push(...planner.takeHeld());
  return { plan: { namespaces: orderNamespaces(planner.namespaces), ops, needsDefaultRootfs: planner.needsDefaultRootfs }, diagnostics };
}

/**
 * The id maps of a new user namespace: refuse overlapping lines (the kernel
 * would say EINVAL with no hint of which), and without `map uid` / `map gid`,
 * map the caller's own id to root inside, as `unshare --map-root-user` does.
 */
function completeIdMaps(ops: Op[]): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const unshareAt = ops.findIndex((o) => o.kind === "unshare");
  for (const which of ["uid", "gid"] as const) {
    const maps = ops.filter((o): o is Extract<Op, { kind: "idmap" }> => o.kind === "idmap" && o.which === which);
    for (let i = 0; i < maps.length; i++) {
      for (let j = 0; j < i; j++) {
        const overlap = findOverlap([maps[j]!.line, maps[i]!.line]);
        if (overlap) {
          const span = maps[j]!.span;
          diagnostics.push({ severity: "error", span: maps[i]!.span, message: `this ${which} map overlaps the one on line ${span.line} (${overlap[2]} ids)`, help: "each id may be mapped once: make the ranges disjoint" });
        }
      }
    }
    if (maps.length > 0 && !maps.some((m) => m.line.inside === 0)) {
      diagnostics.push({
        severity: "warning",
        span: maps[0]!.span,
        message: `no ${which} is mapped to 0 inside: the container's processes are not root there and have no capabilities`,
        help: `statements such as \`hostname\`, \`mount\` and \`rootfs\` will fail with EPERM; map 0 too, e.g. map ${which} 0 ${maps[0]!.line.outside} 1`,
      });
    }
    if (maps.length === 0 && unshareAt >= 0) {
      const line = defaultMaps()[which][0]!;
      const u = ops[unshareAt]!;
      const op = { kind: "idmap", which, line, side: "host", span: u.span, source: u.source } as Op;
      setExplain(op);
      ops.splice(unshareAt + 1, 0, op);
    }
  }
  return diagnostics;
}

/** PID 1 keeps a copy of the host's mount tree before the script's first mount: runtime/features/mount/hostmount.ts. */
function hostTreeOp(span: Span, source: string): Op {
  const op = { kind: "host-tree", side: "pid1", span, source } as Op;
  setExplain(op);
  return op;
}

function enterRootOp(mode: "pivot" | "chroot", span: Span, source: string): Op {
  const op = { kind: "enter-root", mode, side: "pid1", span, source } as Op;
  setExplain(op);
  return op;
}

/**
 * A statement as ctr prints it (explain, errors): each argument written so
 * that pasting the line back gives the same arguments (`run sh -c 'echo $PPID'`).
 */
export function sourceText(cmd: Command): string {
  return [cmd.name, ...cmd.args.map(argText)].join(" ");
}

// A bare word is printed as it is; anything the lexer would split or
// interpret is quoted: raw '...' when it has no single quote, else "..." with escapes.
const BARE = /^[A-Za-z0-9_@%+=:,./~^-]+$/;

export function quoteWord(text: string): string {
  if (text !== "" && BARE.test(text) && !text.startsWith("#")) return text;
  if (!text.includes("'") && !/[\n\r\t]/.test(text)) return `'${text}'`;
  return `"${text.replace(/[\\"$\n\r\t]/g, (c) => ({ "\n": "\\n", "\r": "\\r", "\t": "\\t" })[c] ?? `\\${c}`)}"`;
}

function argText(a: Arg): string {
  if (a.kind === "option" && a.key) return `${a.key}=${a.value ? argText(a.value) : ""}`;
  if (a.kind === "list" && a.items) return a.items.map(argText).join(", ");
  if (a.kind === "number") return a.text;
  return quoteWord(a.text);
}

export function mountOp(what: string, m: MountSpec, remountRo: boolean): PlannedOp {
  return { kind: "mount", what, mount: m, remountRo, side: "pid1" };
}
