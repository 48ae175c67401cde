// The statement table: one entry per statement of the language.
//
// This is the single source of truth the checker (lang/checker.ts), `ctr
// explain`, the REPL's completion and `:help`, and the README's language
// reference (runtime/reference.ts) are derived from. Each entry is a plain
// object literal passed through `defineStatement`.
//
// Each entry lives with its kernel concept (runtime/features/<concept>/statements.ts)
// and holds the statement's `plan`: the operations it compiles to (runtime/ops.ts),
// with the syscalls behind them for `explain`. This file is the index: one explicit
// list, in the order of the language reference (no registration by import side effects).

import type { Command } from "../lang/spec.ts";
import { didYouMean } from "../lang/suggest.ts";
import { namespacesOf } from "../lang/values.ts";
import type { StatementDef } from "./statement.ts";
import { nsStatement, joinStatement } from "./features/ns/statements.ts";
import { hostnameStatement, domainnameStatement } from "./features/uts/statements.ts";
import { mapStatement } from "./features/userns/statements.ts";
import { rootfsStatement, chrootStatement } from "./features/rootfs/statements.ts";
import { mountStatement, volumeStatement, readonlyStatement, maskStatement } from "./features/mount/statements.ts";
import { limitStatement } from "./features/cgroup/statements.ts";
import { deviceStatement } from "./features/devices/statements.ts";
import { netStatement } from "./features/net/statements.ts";
import { sysctlStatement } from "./features/sysctl/statements.ts";
import { envStatement, cwdStatement, userStatement, capStatement, seccompStatement, rlimitStatement, noNewPrivsStatement, runStatement, execStatement } from "./features/process/statements.ts";
import { showStatement } from "./features/show/statements.ts";
import { echoStatement, expectStatement, sleepStatement } from "./features/front/statements.ts";

export { defineStatement, type StatementDef } from "./statement.ts";

export const statements: StatementDef[] = [
  nsStatement,
  hostnameStatement,
  domainnameStatement,
  mapStatement,
  rootfsStatement,
  chrootStatement,
  mountStatement,
  volumeStatement,
  limitStatement,
  deviceStatement,
  netStatement,
  sysctlStatement,
  joinStatement,
  envStatement,
  cwdStatement,
  userStatement,
  capStatement,
  seccompStatement,
  rlimitStatement,
  noNewPrivsStatement,
  readonlyStatement,
  maskStatement,
  runStatement,
  execStatement,
  showStatement,
  echoStatement,
  expectStatement,
  sleepStatement,
];
const byName = new Map<string, StatementDef>(statements.map((s) => [s.name, s]));

/** The registry entry of a statement, by name. */
export function findStatement(name: string): StatementDef | undefined {
  return byName.get(name);
}

/** Statement names, for completion and "did you mean". */
export function statementNames(): string[] {
  return [...byName.keys()];
}

/** "did you mean" for a statement name (used by the REPL's :help). */
export function suggestStatement(name: string): string | undefined {
  return didYouMean(name, byName.keys());
}

/** All namespace names given to `ns`/`join` commands (lists flattened, `none` left out). */
export function requestedNamespaces(cmds: readonly Command[]): string[] {
  const out: string[] = [];
  for (const c of cmds) if (byName.get(c.name)?.createsNamespaces || byName.get(c.name)?.joinsNamespaces) out.push(...namespacesOf(c.name === "join" ? c.args.slice(1) : c.args).filter((n) => n !== "none"));
  return out;
}


