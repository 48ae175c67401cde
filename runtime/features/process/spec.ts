// The process spec: how a container's command starts, applied by one function
// right before execve(2).
//
// A command starts in one of two ways: `exec` replaces PID 1 (stage 2) with it,
// and `run` starts it as a child of PID 1. Either way everything about the new
// process — its executable, argv, environment, working directory, and (with
// the hardening statements) its limits, privileges and system-call filter — is
// one ProcessSpec, built by processSpec() from PID 1's state and applied by
// applyAndExec() in the process that is about to become the command. The order
// of the steps is fixed by the kernel's rules, as in runc's and crun's init:
//   1. the working directory, while every path of the container is reachable;
//   2. resource limits (setrlimit), which need no privilege to lower;
//   3. no_new_privs (prctl), which must precede a seccomp filter installed
//      without CAP_SYS_ADMIN;
//   4. a seccomp filter, when there is no no_new_privs, while the process
//      still has CAP_SYS_ADMIN;
//   5. user and group ids, then capabilities (dropped last: setresuid needs
//      CAP_SETUID);
//   6. a seccomp filter, when there is no_new_privs: last, so that it also
//      filters the calls of the steps above;
//   then the terminal (exec), signal dispositions and mask back to defaults
//   (handlers are reset by execve, ignored signals and the mask are not), the
//   OOM score the command is meant to have, and execve.
// Steps 2 (`rlimit`) and 3 (`no_new_privs`) are applied here; steps 4 to 6
// (`seccomp`, `user`, `cap`) by runtime/features/security/security.ts, through
// the seam (native/seam.ts), so that a test can record them.
//
// `run` and the hook that Bun.spawn lacks: Bun.spawn offers no code between
// fork and exec, and JavaScript cannot run in a forked child (the Bun heaps
// are not copied). So a `run` whose spec needs a step only the new process can
// take goes through the exec stage: PID 1 spawns a fresh init process
// (runtime/init.ts "exec"), hands it the spec over a socket, and that process
// calls applyAndExec(), so it becomes the command under the same PID. Without
// such a step (no `rlimit`, `no_new_privs`, `cap`, `seccomp` or `user`) Bun.spawn applies argv, environment and working
// directory itself, which is the same result without a second process; the
// exec stage costs a Bun start per `run`: 24 ms here, inside a new root as
// before one (node_modules/.bin/bun bench/exec-stage.ts). Inside a new root the
// host's files the stage is made of are out of reach: how it is started then
// is in runtime/features/process/stage.ts. CTR_EXEC_STAGE=always sends every
// `run` through it (test/integration/procspec.test.ts, the benchmark).

import { accessible, realFiles } from "../../../native/files.ts";
import { joinPath, resolvePath } from "../../posix-path.ts";
import { PR_SET_NO_NEW_PRIVS, RLIM_INFINITY, RLIMIT_NAMES, realSys, SysError, type Sys } from "../../../native/index.ts";
import type { AgentState, Op, RlimitSetting } from "../../ops.ts";
import { summary } from "../security/profile.ts";
import { applySeccomp, applyUserAndCaps, hasSecuritySteps, securitySpec, type SecuritySpec } from "../security/security.ts";
import { takeStartOomScore } from "../cgroup/oomscore.ts";

/** The calls applying a spec makes go through the seam (native/seam.ts): test/executors records them. */
export type SpecCalls = Sys;

export interface ApplyOptions {
  /** Runs after the steps, right before the signals are reset (exec: the terminal's foreground). */
  beforeExec?: () => void;
  sys?: SpecCalls;
  /** Gives this process the OOM score the command is meant to start with (runtime/features/cgroup/oomscore.ts). */
  takeScore?: () => void;
}

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface ProcessSpec {
  /** The executable, resolved through the container's PATH. */
  path: string;
  /** argv, argv[0] as the script gave it. */
  argv: string[];
  env: Record<string, string>;
  /** The working directory (checked to exist when the spec is made). */
  cwd: string;
  /** Step 2: `rlimit` statements, by name, values as decimal strings or "unlimited". */
  rlimits: RlimitSetting[];
  /** Step 3: `no_new_privs`. */
  noNewPrivs: boolean;
  /** Steps 4 to 6: `seccomp`, `user`, `cap`. */
  security: SecuritySpec;
}

function notFound(cmd: string): SysError {
  return new SysError({ errno: 2, code: "ENOENT", syscall: "execve", args: [cmd], message: `command not found: "${cmd}"`, status: 127 });
}

/** Find a command like execvp does, in the container's view of the filesystem. */
export function resolveCommand(st: Pick<AgentState, "cwd" | "env">, cmd: string): string {
  const candidates = cmd.includes("/")
    ? [resolvePath(st.cwd || "/", cmd)]
    : (st.env.PATH ?? DEFAULT_PATH).split(":").filter(Boolean).map((d) => joinPath(d, cmd));
  let denied: string | null = null;
  for (const path of candidates) {
    let isFile: boolean;
    try {
      isFile = realFiles.stat(path).isFile();
    } catch {
      continue;
    }
    if (!isFile) {
      denied ??= path;
      continue;
    }
    if (accessible(path, 1 /* X_OK */)) return path;
    denied ??= path;
  }
  if (denied) {
    throw new SysError({ errno: 13, code: "EACCES", syscall: "execve", args: [denied], message: `command not executable: "${denied}"`, status: 126 });
  }
  throw notFound(cmd);
}

/** The working directory of the next command, checked: a clear error rather than a failed chdir or spawn. */
function workingDirectory(st: Pick<AgentState, "cwd">): string {
  const dir = st.cwd || "/";
  let isDir: boolean;
  try {
    isDir = realFiles.stat(dir).isDirectory();
  } catch {
    throw new SysError({ errno: 2, code: "ENOENT", syscall: "chdir", args: [dir], message: `working directory "${dir}" does not exist`, hint: "create it first (e.g. with a mount), or change `cwd`" });
  }
  if (!isDir) throw new SysError({ errno: 20, code: "ENOTDIR", syscall: "chdir", args: [dir], message: `working directory "${dir}" is not a directory` });
  return dir;
}

/** The spec of a command started now from PID 1's state. Throws 127/126/ENOENT errors as execvp would. */
export function processSpec(st: Pick<AgentState, "cwd" | "env" | "rlimits" | "noNewPrivs" | "caps" | "seccomp" | "user">, argv: string[]): ProcessSpec {
  const path = resolveCommand(st, argv[0]!);
  return { path, argv: [...argv], env: { ...st.env }, cwd: workingDirectory(st), rlimits: [...(st.rlimits ?? [])], noNewPrivs: st.noNewPrivs ?? false, security: securitySpec(st) };
}

/** Whether a `run` of this spec must go through the exec stage (see the header). */
export function needsExecStage(spec: ProcessSpec): boolean {
  return spec.rlimits.length > 0 || spec.noNewPrivs || hasSecuritySteps(spec.security) || process.env.CTR_EXEC_STAGE === "always";
}

function rlimitNumber(name: string): number {
  const entry = RLIMIT_NAMES.find(([n]) => n === `RLIMIT_${name.toUpperCase()}`);
  if (!entry) throw new SysError({ errno: 22, code: "EINVAL", syscall: "setrlimit", args: [name], message: `unknown resource limit "${name}"` });
  return entry[1];
}

const limitValue = (v: string): bigint => (v === "unlimited" ? RLIM_INFINITY : BigInt(v));

function applyRlimit(sys: SpecCalls, r: RlimitSetting): void {
  try {
    sys.setrlimit(rlimitNumber(r.name), limitValue(r.soft), limitValue(r.hard));
  } catch (e) {
    if (!(e instanceof SysError)) throw e;
    // The native error's arguments are bigints, which the channel (JSON) cannot carry.
    const hint = e.code === "EPERM" ? "raising a hard limit needs CAP_SYS_RESOURCE" : e.code === "EINVAL" ? "the soft limit is above the hard one, or nofile above fs.nr_open" : undefined;
    throw new SysError({ errno: e.errno, code: e.code, syscall: "setrlimit", args: [`RLIMIT_${r.name.toUpperCase()}`, r.soft, r.hard], message: `setrlimit(RLIMIT_${r.name.toUpperCase()}, ${r.soft}:${r.hard}) failed: ${e.code}`, hint, status: 126 });
  }
}

/**
 * The steps of the spec that this process keeps across posix_spawn and execve:
 * applyAndExec's, and `ctr exec`'s before it spawns the command inside the
 * container's PID namespace (runtime/features/lifecycle/enter.ts).
 */
export function applySteps(spec: ProcessSpec, sys: SpecCalls = realSys): void {
  process.chdir(spec.cwd); // step 1
  for (const r of spec.rlimits) applyRlimit(sys, r); // step 2
  if (spec.noNewPrivs) sys.prctl(PR_SET_NO_NEW_PRIVS, 1); // step 3
  applySeccomp(sys, spec.security, spec.noNewPrivs, "before-ids"); // step 4
  applyUserAndCaps(sys, spec.security); // step 5
  applySeccomp(sys, spec.security, spec.noNewPrivs, "last"); // step 6
}

/**
 * Apply the spec to this process and execve the command: the one place where a
 * command's process is set up. Returns only by throwing (126/127 as a shell
 * would say). Step 1 stays process.chdir, so Node's idea of the working
 * directory follows (and a trace shows what it showed before the seam).
 */
export function applyAndExec(spec: ProcessSpec, opts: ApplyOptions = {}): never {
  const sys = opts.sys ?? realSys;
  applySteps(spec, sys);
  opts.beforeExec?.();
  // Bun ignores SIGPIPE and has handlers installed; the command must start clean.
  sys.resetSignals();
  (opts.takeScore ?? takeStartOomScore)(); // not PID 1's own OOM score: runtime/features/cgroup/oomscore.ts
  try {
    return sys.execve(spec.path, spec.argv, Object.entries(spec.env).map(([k, v]) => `${k}=${v}`));
  } catch (e) {
    if (e instanceof SysError && e.code === "ENOENT") throw notFound(spec.argv[0]!);
    if (e instanceof SysError) e.status = 126;
    throw e;
  }
}

/**
 * The spec steps the process-spec ops (`rlimit`, `no_new_privs`, `cap`, `seccomp`, `user`)
 * leave in `st`, applied alone through `sys` (a recorder: runtime/explain.ts writes its
 * calls as the op's explain lines); `read` gives the container's /etc/passwd and /etc/group
 * (explain's stand-ins). The working directory is this process's own, so step 1 changes
 * nothing here.
 */
export function applyStateSteps(st: Pick<AgentState, "rlimits" | "noNewPrivs" | "caps" | "seccomp" | "user">, sys: SpecCalls, read?: Parameters<typeof securitySpec>[1]): void {
  applySteps({ path: "", argv: [], env: {}, cwd: process.cwd(), rlimits: [...(st.rlimits ?? [])], noNewPrivs: st.noNewPrivs ?? false, security: securitySpec(st, read) }, sys);
}

/**
 * `exec`'s calls on `sys` (a recorder): the spec PID 1's state gives, applied, and the
 * execve (the recorder's throws ExecveCalled). The command is not looked up (the root
 * does not exist yet): a name without a slash is written `<NAME in PATH>`.
 */
export function execStateSteps(st: AgentState, argv: string[], sys: SpecCalls, read?: Parameters<typeof securitySpec>[1]): never {
  const cmd = argv[0]!;
  const path = cmd.includes("/") ? resolvePath(st.cwd || "/", cmd) : `<${cmd} in PATH>`;
  return applyAndExec({ path, argv: [...argv], env: { ...st.env }, cwd: process.cwd(), rlimits: [...(st.rlimits ?? [])], noNewPrivs: st.noNewPrivs ?? false, security: securitySpec(st, read) }, { sys, takeScore: () => {} });
}

/** Whether a `run` from PID 1's state `st` goes through the exec stage (needsExecStage, names read with `read`). */
export function runNeedsExecStage(st: AgentState, read?: Parameters<typeof securitySpec>[1]): boolean {
  return needsExecStage({ path: "", argv: [], env: {}, cwd: "/", rlimits: [...(st.rlimits ?? [])], noNewPrivs: st.noNewPrivs ?? false, security: securitySpec(st, read) });
}

/** `ctr explain`'s comments on the process spec's ops (runtime/explain.ts). */
export function specNotes(op: Op): { before?: string[]; calls?: Record<string, string>; after?: string[] } {
  const later = "in the process of every later command, right before its execve (the process spec)";
  switch (op.kind) {
    case "env":
      return { after: Object.entries(op.vars).map(([k, v]) => `environment of later commands: ${k}=${JSON.stringify(v)} (execve's envp)`) };
    case "cwd":
      return { after: [`working directory of later commands: ${JSON.stringify(op.dir)} (chdir before execve)`] };
    case "seccomp":
      return op.profile === null ? { after: ["no seccomp filter for later commands"] } : { after: [...summary(op.profile, null).map((l) => l.trim()), `${later}: last with no_new_privs, else before the ids`] };
    case "user":
      return { after: [`${later}; names are looked up in the container's /etc/passwd and /etc/group when the command starts`] };
    default:
      return { after: [later] };
  }
}

/** `ctr explain`'s comments on `exec`. */
export function execNotes(): { calls?: Record<string, string>; after?: string[] } {
  return { calls: { resetSignals: "every signal's action back to SIG_DFL, the mask emptied", execve: "the command replaces PID 1" } };
}
