// seccomp profiles: the OCI / Docker JSON format, checked, and turned into the
// rules a container's commands get.
//
// A profile has a `defaultAction` (with `defaultErrnoRet`), the architectures
// to filter besides the native one (`architectures`, or Docker's `archMap`:
// the native one's sub-architectures, e.g. x86 and x32 next to x86_64, so that
// a 32-bit call cannot get round the filter), and `syscalls`: each `names`, an
// `action` (`errnoRet` for SCMP_ACT_ERRNO) and `args` conditions (`index`,
// `value`, `valueTwo`, `op`). A rule may hold only `includes` or unless
// `excludes` matches: `caps` (the container keeps those capabilities),
// `arches`, `minKernel`. Which rules hold is decided for each command, from the
// capabilities its spec gives it (runtime/features/security/apply.ts).
//
// Several conditions on one argument cannot be one libseccomp rule (it ANDs
// them, and one argument can hold one value): like runc, such a rule becomes one
// rule per condition, which ORs them. Every problem is reported before anything
// runs, with the JSON path of the value and, for a name, the syscall named.

import { readFileSync } from "node:fs";
import { CAP_NAMES, SysError } from "../../../native/index.ts";
import {
  SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_LOG, SCMP_ACT_TRACE, SCMP_ACT_TRAP,
  SCMP_CMP, syscallNumber, type ScmpCompare, type SeccompRules,
} from "../../../native/seccomp.ts";

export interface ProfileArg {
  index: number;
  op: ScmpCompare;
  value: number;
  valueTwo: number;
}

interface Condition {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}

export interface ProfileRule {
  names: string[];
  /** The action's name (SCMP_ACT_ALLOW...). */
  action: string;
  errnoRet?: number;
  args: ProfileArg[];
  includes: Condition;
  excludes: Condition;
}

/** A checked profile: what a `seccomp` op carries (plain JSON). */
export interface Profile {
  /** Where it came from: "default" or the file's path. */
  source: string;
  defaultAction: string;
  defaultErrnoRet?: number;
  archs: string[];
  rules: ProfileRule[];
}

const ACTIONS = ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_TRACE", "SCMP_ACT_LOG"];
const EPERM = 1;

/** A problem in a profile: `path` is the JSON path of the value at fault. */
export class ProfileError extends Error {
  constructor(readonly path: string, message: string, readonly help?: string) {
    super(message);
  }
}

/** The Go architecture names Docker's `arches` conditions use, for this machine. */
function nativeArches(): string[] {
  return process.arch === "x64" ? ["amd64", "x86_64"] : process.arch === "arm64" ? ["arm64", "aarch64"] : [process.arch];
}

/** libseccomp's name of an SCMP_ARCH_* (SCMP_ARCH_X86_64 -> x86_64). */
function archName(scmp: string): string {
  return scmp.replace(/^SCMP_ARCH_/, "").toLowerCase();
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function stringList(v: unknown, path: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw new ProfileError(path, "expected a list of strings");
  return v as string[];
}

function action(v: unknown, path: string): string {
  if (typeof v !== "string" || !ACTIONS.includes(v)) {
    throw new ProfileError(path, `unknown action ${JSON.stringify(v)}`, `one of ${ACTIONS.join(", ")}`);
  }
  return v;
}

function errnoRet(v: unknown, path: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 4095) throw new ProfileError(path, "expected an errno number (0 to 4095)");
  return v;
}

function condition(v: unknown, path: string): Condition {
  if (v === undefined) return {};
  if (!isObject(v)) throw new ProfileError(path, "expected an object");
  const out: Condition = {};
  if (v.caps !== undefined) {
    out.caps = stringList(v.caps, `${path}.caps`);
    out.caps.forEach((c, i) => {
      if (!CAP_NAMES.includes(c.toUpperCase())) throw new ProfileError(`${path}.caps[${i}]`, `unknown capability ${JSON.stringify(c)}`, "write names like CAP_SYS_ADMIN");
    });
  }
  if (v.arches !== undefined) out.arches = stringList(v.arches, `${path}.arches`);
  if (v.minKernel !== undefined) {
    if (typeof v.minKernel !== "string" || !/^\d+\.\d+/.test(v.minKernel)) throw new ProfileError(`${path}.minKernel`, "expected a kernel version such as \"4.8\"");
    out.minKernel = v.minKernel;
  }
  return out;
}

function arg(v: unknown, path: string): ProfileArg {
  if (!isObject(v)) throw new ProfileError(path, "expected an object with index, value, op");
  const { index, value, valueTwo = 0, op } = v;
  if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index > 5) throw new ProfileError(`${path}.index`, "expected an argument index from 0 to 5");
  for (const [k, x] of [["value", value], ["valueTwo", valueTwo]] as const) {
    if (typeof x !== "number" || !Number.isInteger(x) || x < 0 || x > Number.MAX_SAFE_INTEGER) throw new ProfileError(`${path}.${k}`, "expected a non-negative integer");
  }
  if (typeof op !== "string" || !(op in SCMP_CMP)) throw new ProfileError(`${path}.op`, `unknown comparison ${JSON.stringify(op)}`, `one of ${Object.keys(SCMP_CMP).join(", ")}`);
  return { index, value: value as number, valueTwo: valueTwo as number, op: op as ScmpCompare };
}

/**
 * Check a profile's text and return it as a Profile. `knows` says whether a
 * system call name exists (libseccomp's table, on any architecture).
 */
export function parseProfile(text: string, source: string, knows: (name: string) => boolean = (n) => syscallNumber(n) !== null): Profile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ProfileError("$", `not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(json)) throw new ProfileError("$", "expected an object with defaultAction and syscalls");
  const defaultAction = action(json.defaultAction, "$.defaultAction");
  const defaultErrnoRet = errnoRet(json.defaultErrnoRet, "$.defaultErrnoRet");
  let archs: string[] = [];
  if (json.architectures !== undefined) archs = stringList(json.architectures, "$.architectures").map(archName);
  if (json.archMap !== undefined) {
    if (!Array.isArray(json.archMap)) throw new ProfileError("$.archMap", "expected a list");
    json.archMap.forEach((m, i) => {
      if (!isObject(m) || typeof m.architecture !== "string") throw new ProfileError(`$.archMap[${i}]`, "expected an object with architecture and subArchitectures");
      const subs = m.subArchitectures === undefined ? [] : stringList(m.subArchitectures, `$.archMap[${i}].subArchitectures`);
      if (nativeArches().includes(archName(m.architecture))) archs.push(...subs.map(archName));
    });
  }
  const rules: ProfileRule[] = [];
  const list = json.syscalls ?? [];
  if (!Array.isArray(list)) throw new ProfileError("$.syscalls", "expected a list");
  list.forEach((r, i) => {
    const path = `$.syscalls[${i}]`;
    if (!isObject(r)) throw new ProfileError(path, "expected an object with names and action");
    const names = r.names !== undefined ? stringList(r.names, `${path}.names`) : typeof r.name === "string" ? [r.name] : null;
    if (!names) throw new ProfileError(`${path}.names`, "missing: each rule names its system calls");
    names.forEach((n, j) => {
      if (!knows(n)) throw new ProfileError(`${path}.names[${j}]`, `unknown system call "${n}"`, "see syscalls(2) for the names");
    });
    const args = r.args === undefined || r.args === null ? [] : Array.isArray(r.args) ? r.args.map((a, j) => arg(a, `${path}.args[${j}]`)) : [arg(r.args, `${path}.args`)];
    rules.push({ names, action: action(r.action, `${path}.action`), errnoRet: errnoRet(r.errnoRet, `${path}.errnoRet`), args, includes: condition(r.includes, `${path}.includes`), excludes: condition(r.excludes, `${path}.excludes`) });
  });
  return { source, defaultAction, defaultErrnoRet, archs: [...new Set(archs)], rules };
}

/** The default profile (default-seccomp.json: Docker's, as ctr's own data). */
export function defaultProfile(knows?: (name: string) => boolean): Profile {
  // Names of other architectures' calls are known to libseccomp too, so checking them costs nothing but time.
  // Loaded here, not at import: PID 1 imports this module, and parsing the data costs it ~1.3 ms at start (issue 17).
  const data: unknown = require("./default-seccomp.json");
  return parseProfile(JSON.stringify(data), "default", knows ?? (() => true));
}

/** Read and check a profile file; errors as SysError-free ProfileErrors. */
export function readProfile(file: string): Profile {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ProfileError("$", `cannot read the profile: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseProfile(text, file);
}

function actionNumber(name: string, errno: number | undefined): number {
  switch (name) {
    case "SCMP_ACT_ALLOW": return SCMP_ACT_ALLOW;
    case "SCMP_ACT_ERRNO": return SCMP_ACT_ERRNO(errno ?? EPERM);
    case "SCMP_ACT_KILL":
    case "SCMP_ACT_KILL_THREAD": return SCMP_ACT_KILL_THREAD;
    case "SCMP_ACT_KILL_PROCESS": return SCMP_ACT_KILL_PROCESS;
    case "SCMP_ACT_TRAP": return SCMP_ACT_TRAP;
    case "SCMP_ACT_TRACE": return SCMP_ACT_TRACE(errno ?? EPERM);
    case "SCMP_ACT_LOG": return SCMP_ACT_LOG;
  }
  throw new SysError({ errno: 22, code: "EINVAL", syscall: "seccomp", args: [name], message: `unknown seccomp action ${name}` });
}

function kernelAtLeast(min: string): boolean {
  // node:os on first use: its module costs a stage ~1 ms at start (issue 17).
  const [a = 0, b = 0] = (require("node:os") as typeof import("node:os")).release().split(/[.-]/).map(Number);
  const [x = 0, y = 0] = min.split(".").map(Number);
  return a > x || (a === x && b >= y);
}

function matches(c: Condition, caps: ReadonlySet<string>): boolean {
  if (c.caps && !c.caps.every((cap) => caps.has(cap.toUpperCase()))) return false;
  if (c.arches && !c.arches.some((a) => nativeArches().includes(a))) return false;
  if (c.minKernel && !kernelAtLeast(c.minKernel)) return false;
  return true;
}

const isEmpty = (c: Condition) => !c.caps && !c.arches && !c.minKernel;

/** The rules that hold for a command keeping `caps` (CAP_* names), for libseccomp. */
export function rulesFor(p: Profile, caps: ReadonlySet<string>): SeccompRules {
  const defaultAction = actionNumber(p.defaultAction, p.defaultErrnoRet);
  const rules: SeccompRules["rules"] = [];
  for (const r of p.rules) {
    if (!isEmpty(r.includes) && !matches(r.includes, caps)) continue;
    if (!isEmpty(r.excludes) && matches(r.excludes, caps)) continue;
    const act = actionNumber(r.action, r.errnoRet);
    if (act === defaultAction) continue; // libseccomp refuses a rule that does what the default does
    const byIndex = new Set(r.args.map((a) => a.index));
    if (byIndex.size < r.args.length) for (const a of r.args) rules.push({ action: act, names: r.names, args: [a] });
    else rules.push({ action: act, names: r.names, args: r.args });
  }
  return { defaultAction, archs: p.archs, rules };
}

function actionText(name: string, errno: number | undefined): string {
  const short = name.replace(/^SCMP_ACT_/, "").toLowerCase();
  return short === "errno" ? `errno ${errno ?? EPERM}` : short;
}

/** What the filter does, for `ctr explain` and `show security`: a few lines. */
export function summary(p: Profile, caps: ReadonlySet<string> | null): string[] {
  const allows = (r: ProfileRule) => r.action === "SCMP_ACT_ALLOW";
  const held = p.rules.filter((r) => caps === null ? isEmpty(r.includes) && isEmpty(r.excludes) : (isEmpty(r.includes) || matches(r.includes, caps)) && (isEmpty(r.excludes) || !matches(r.excludes, caps)));
  const count = (rs: ProfileRule[], withArgs: boolean) => new Set(rs.filter((r) => (r.args.length > 0) === withArgs).flatMap((r) => r.names)).size;
  const lines = [`seccomp ${p.source}: a call no rule names gets ${actionText(p.defaultAction, p.defaultErrnoRet)}${p.archs.length ? `; also filters ${p.archs.join(", ")} calls` : ""}`];
  const allowed = held.filter(allows);
  const other = held.filter((r) => !allows(r));
  if (allowed.length) lines.push(`  allows ${count(allowed, false)} calls${count(allowed, true) ? `, ${count(allowed, true)} more for some arguments only` : ""}`);
  for (const r of other.slice(0, 8)) lines.push(`  ${actionText(r.action, r.errnoRet)}: ${r.names.slice(0, 8).join(", ")}${r.names.length > 8 ? `, ... (${r.names.length})` : ""}${r.args.length ? " (for some arguments)" : ""}`);
  const gated = p.rules.filter((r) => r.includes.caps && allows(r));
  if (caps === null && gated.length) {
    lines.push(`  with a capability only: ${gated.map((r) => `${r.includes.caps!.map((c) => c.replace(/^CAP_/, "").toLowerCase()).join("+")} (${r.names.length})`).join(", ")}`);
  }
  return lines;
}
