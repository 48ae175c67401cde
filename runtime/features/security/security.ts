// The security steps of a command's ProcessSpec (runtime/features/process/spec.ts):
// what `cap`, `seccomp` and `user` leave in PID 1's state, the part of the spec
// they make when a command starts, applying it, and `show security`.
//
// PID 1 itself keeps every privilege (it must mount, pivot and spawn); only the
// commands it starts get the spec. The order of the steps and why is in
// spec.ts's header: seccomp before the ids when there is no no_new_privs (it
// then needs CAP_SYS_ADMIN), else last; ids before capabilities.

import { CAP_NAMES, capBsetRead, getNoNewPrivs, PR_GET_SECCOMP, RLIMIT_NAMES, SysError, capget, getrlimit, prctl, RLIM_INFINITY, type Sys } from "../../../native/index.ts";
import { loadSeccomp, type SeccompRules } from "../../../native/seccomp.ts";
import type { AgentState } from "../../ops.ts";
import { ALL_CAPS, capMaskOf, dropBounding, keepCapsAcrossSetuid, setCapSets, type CapSetting } from "./caps.ts";
import { rulesFor, summary, type Profile } from "./profile.ts";
import { applyIds, resolveUser, type ResolvedUser } from "./user.ts";
import { fromHostRoot } from "../process/stage.ts";

/** Steps 4 to 6 of a ProcessSpec. Plain JSON (the exec stage gets it over a socket). */
export interface SecuritySpec {
  caps?: CapSetting;
  user?: ResolvedUser & { groupsAsked: boolean };
  /** The filter's rules for this command's capabilities, and where they came from. */
  seccomp?: { rules: SeccompRules; source: string };
}

/**
 * `seccomp PROFILE`: libseccomp is opened now, from the host's files: once the
 * root is entered, with the host's tree as PID 1's root for the dlopen alone
 * (runtime/features/process/stage.ts).
 */
export function noteSeccomp(st: AgentState, profile: Profile | null): void {
  if (profile) {
    if (st.entered) fromHostRoot(st.sys, st.hostTree, () => loadSeccomp());
    else loadSeccomp();
  }
  st.seccomp = profile;
}

/** The capabilities a command keeps, as CAP_* names (all of them without `cap`). */
function keptCaps(st: Pick<AgentState, "caps">): ReadonlySet<string> {
  return new Set(st.caps?.keep ?? ALL_CAPS);
}

/** The security part of the spec of a command started now (names looked up in the container's files). */
export function securitySpec(st: Pick<AgentState, "caps" | "seccomp" | "user">, read?: Parameters<typeof resolveUser>[1]): SecuritySpec {
  const out: SecuritySpec = {};
  if (st.caps) out.caps = st.caps;
  if (st.user) out.user = { ...resolveUser(st.user, read), groupsAsked: (st.user.groups ?? []).length > 0 };
  if (st.seccomp) out.seccomp = { rules: rulesFor(st.seccomp, keptCaps(st)), source: st.seccomp.source };
  return out;
}

/** Whether a `run` needs the exec stage for these steps. */
export function hasSecuritySteps(s: SecuritySpec): boolean {
  return s.caps !== undefined || s.user !== undefined || s.seccomp !== undefined;
}

function stepError(e: unknown, what: string, hint: string): never {
  if (!(e instanceof SysError)) throw e;
  throw new SysError({ errno: e.errno, code: e.code, syscall: e.syscall, args: [], message: `${what}: ${e.syscall} failed: ${e.code}`, hint, status: 126 });
}

/** Steps 4 and 6: the filter, at `when` (see the header). */
export function applySeccomp(sys: Sys, s: SecuritySpec, noNewPrivs: boolean, when: "before-ids" | "last"): void {
  if (!s.seccomp || (when === "last") !== noNewPrivs) return;
  try {
    sys.seccompLoad(s.seccomp.rules);
  } catch (e) {
    stepError(e, `seccomp ${s.seccomp.source}`, noNewPrivs ? "the profile may deny a call ctr makes before execve" : "loading a filter without no_new_privs needs CAP_SYS_ADMIN");
  }
}

/** Step 5: the bounding set, the user and group ids, then the other capability sets. */
export function applyUserAndCaps(sys: Sys, s: SecuritySpec): void {
  try {
    if (s.caps) dropBounding(sys, s.caps);
  } catch (e) {
    stepError(e, "cap", "changing the bounding set needs CAP_SETPCAP");
  }
  try {
    if (s.user) {
      if (s.caps) keepCapsAcrossSetuid(sys, true);
      applyIds(sys, s.user, s.user.groupsAsked);
      if (s.caps) keepCapsAcrossSetuid(sys, false);
    }
  } catch (e) {
    stepError(e, `user ${s.user!.uid}:${s.user!.gid}`, "changing ids needs CAP_SETUID and CAP_SETGID, and the ids mapped in a user namespace");
  }
  try {
    if (s.caps) setCapSets(sys, s.caps, s.user?.uid ?? 0);
  } catch (e) {
    stepError(e, "cap", "capset can only keep capabilities that are permitted");
  }
}

// ---------------------------------------------------------------------------
// show security

const hex = (m: bigint) => m.toString(16).padStart(16, "0");

function capList(m: bigint): string {
  if (m === 0n) return "(none)";
  const all = capMaskOf(ALL_CAPS);
  if ((m & all) === all) return "(all)";
  const names: string[] = [];
  for (let i = 0; i < 64; i++) if ((m >> BigInt(i)) & 1n) names.push((CAP_NAMES[i] ?? `CAP_${i}`).slice(4).toLowerCase());
  return names.join(", ");
}

/** One `show security` line: a label and what it says. */
export type SecurityLine = [label: string, value: string];

/**
 * What goes into `show security`, one function per part, in order; a feature
 * with more to say (masked or read-only paths) adds its own function here.
 */
export const SECURITY_PARTS: ((st: AgentState) => SecurityLine[])[] = [idsPart, capsPart, nnpPart, seccompPart, rlimitPart];

function idsPart(st: AgentState): SecurityLine[] {
  if (!st.user) return [["ids", `uid=${process.getuid?.() ?? 0} gid=${process.getgid?.() ?? 0} (PID 1's, no \`user\`)`]];
  const u = resolveUser(st.user);
  return [["ids", `uid=${u.uid} gid=${u.gid} groups=${u.groups.join(",") || "(none)"}`]];
}

/** The sets after execve, by the rules in caps.ts's header. */
function capsPart(st: AgentState): SecurityLine[] {
  const uid = st.user ? resolveUser(st.user).uid : (process.getuid?.() ?? 0);
  const own = capget();
  let bnd = 0n;
  for (let i = 0; i < 64; i++) {
    try {
      if (capBsetRead(i)) bnd |= 1n << BigInt(i);
    } catch {
      break;
    }
  }
  const keep = st.caps ? capMaskOf(st.caps.keep) & own.permitted : null;
  const b = keep ?? bnd;
  const amb = st.caps && uid !== 0 ? capMaskOf(st.caps.added) & b : 0n;
  const eff = uid === 0 ? b : amb;
  return [
    ["CapBnd", `${hex(b)}  ${capList(b)}`],
    ["CapEff", `${hex(eff)}  ${uid === 0 ? "(uid 0: the bounding set)" : capList(eff)}`],
    ["CapAmb", `${hex(amb)}  ${capList(amb)}`],
  ];
}

function nnpPart(st: AgentState): SecurityLine[] {
  return [["NoNewPrivs", st.noNewPrivs || getNoNewPrivs() ? "1" : "0"]];
}

function seccompPart(st: AgentState): SecurityLine[] {
  const inherited = prctl(PR_GET_SECCOMP) === 2 ? 1 : 0;
  if (!st.seccomp) return [["Seccomp", inherited ? "2 (filter: PID 1's own, inherited)" : "0 (no filter)"]];
  const lines = summary(st.seccomp, keptCaps(st));
  return [["Seccomp", `2 (filter), ${inherited + 1} filter${inherited ? "s" : ""}`], ...lines.map((l): SecurityLine => ["", l.trim()])];
}

/** The limits `rlimit` set, and the few a learner looks for first as PID 1 has them. */
function rlimitPart(st: AgentState): SecurityLine[] {
  const set = new Map((st.rlimits ?? []).map((r) => [r.name, `${r.soft}:${r.hard}`]));
  const show = (v: bigint) => (v === RLIM_INFINITY ? "unlimited" : String(v));
  const parts: string[] = [];
  for (const [cname, n] of RLIMIT_NAMES) {
    const name = cname.replace(/^RLIMIT_/, "").toLowerCase();
    const mine = set.get(name);
    if (mine !== undefined) parts.push(`${name} ${mine} (rlimit)`);
    else if (["nofile", "nproc", "core"].includes(name)) {
      const l = getrlimit(n);
      parts.push(`${name} ${show(l.soft)}:${show(l.hard)}`);
    }
  }
  return [["rlimits", parts.join(", ")]];
}

/** `show security`: what the next command started in the container gets. */
export function showSecurity(st: AgentState): string[] {
  const rows = SECURITY_PARTS.flatMap((p) => p(st));
  const width = Math.max(...rows.map(([l]) => l.length));
  return ["the next command's process spec:", ...rows.map(([l, v]) => `  ${l.padEnd(width)}  ${v}`)];
}
