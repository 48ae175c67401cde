// What a registry entry is: a statement's spec (lang/spec.ts) with its plan, and
// the helpers entries of several features share.

import type { Arg, CheckContext, Command, StatementSpec } from "../lang/spec.ts";
import { bound, type PlanFn } from "./plan.ts";

/** A registry entry. Extend this interface (e.g. with `plan`) to add per-statement behaviour. */
export interface StatementDef extends StatementSpec {
  /** The statement's operations (runtime/plan.ts); absent for the scripting statements. */
  plan?: PlanFn;
  /** Set while the statement is registered but not performed yet: ctr refuses the script, saying why. */
  unsupported?: string;
  /** The same for single forms, keyed by the form word ("overlay"). */
  unsupportedForms?: Record<string, string>;
}

/** Identity helper: keeps each entry an object literal checked against StatementDef. */
export function defineStatement<T extends StatementDef>(def: T): T {
  return def;
}

/**
 * A host path that must exist when the script runs (a rootfs, a bind source,
 * an overlay layer): checked on the host now, when the caller lets the checker
 * look, so that `ctr check` and the REPL refuse what the run would.
 */
export function checkHostPath(ctx: CheckContext, arg: Arg, path: string, what: string, dir: boolean, help: string): void {
  const kind = ctx.host?.kind(path);
  if (kind === undefined) return;
  if (kind === null) ctx.error(arg.span, `${what} "${path}" does not exist on the host`, help);
  else if (dir && kind !== "dir") ctx.error(arg.span, `${what} "${path}" is not a directory on the host`, help);
}

/** A command and its arguments (`run`, `exec`): the rest argument, everything after the statement's name. */
export function argv(cmd: Command): string[] {
  return bound(cmd).rest.map((a) => a.text);
}
