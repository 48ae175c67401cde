// A bundle (a directory with config.json and, usually, its rootfs) compiled
// to a plan: config.json parsed with the places of its values (json.ts),
// translated into commands (translate.ts), checked by the language's own
// checker (lang/checker.ts: the same binding and rules as a script's) and
// planned by the same planner (runtime/plan.ts). `ctr check BUNDLE`, `ctr
// explain BUNDLE` and `ctr create` all start here.

import { existsSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { Checker } from "../../../lang/checker.ts";
import type { Command, Diagnostic, HostView, Span } from "../../../lang/spec.ts";
import type { Op } from "../../ops.ts";
import type { Profile } from "../security/profile.ts";
import { makePlan, setExplain, type PlanResult } from "../../plan.ts";
import { findStatement, statements } from "../../registry.ts";
import { JsonError, parseLocated } from "./json.ts";
import { translateConfig, type HostFacts } from "./translate.ts";
import type { NsPath } from "../../channel/messages.ts";
import { noHooks, type Hooks } from "./hooks.ts";
import { callerDir, hierarchyOf, machineCgroups } from "../cgroup/detect.ts";
import { realFs } from "../cgroup/fs.ts";
import { weightFile } from "../cgroup/io.ts";

/** The largest config.json read (podman's, with a seccomp profile, is some 30 KiB). */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** True when `arg` names a bundle: a directory holding config.json, or a config.json itself. */
export function isBundle(arg: string): boolean {
  try {
    if (path.basename(arg) === "config.json" && statSync(arg).isFile()) return true;
    return statSync(arg).isDirectory() && existsSync(path.join(arg, "config.json"));
  } catch {
    return false;
  }
}

export interface CompiledBundle {
  /** The bundle directory (absolute) and its config.json as diagnostics name it. */
  dir: string;
  file: string;
  text: string;
  /** The config as parsed (annotations and all), or null when it did not parse. */
  config: Record<string, unknown> | null;
  commands: Command[];
  result: PlanResult;
  diagnostics: Diagnostic[];
  /** The file names diagnostics use (config.json:POINTER), each with the text. */
  sources: Map<string, string>;
  /** `linux.cgroupsPath`, checked (translate.ts): where the container's cgroups go. */
  cgroupsPath?: string;
  /** The namespaces given by a path (translate.ts): joined by stage 1 rather than made. */
  nsPaths: NsPath[];
  /** `process.terminal`: the command needs a console socket (create --console-socket). */
  terminal: boolean;
  /** The hooks ctr runs (hooks.ts); none when the config has none. */
  hooks: Hooks;
  /** `process.oomScoreAdj` (translate.ts): what the command's /proc/PID/oom_score_adj is set to before it runs. */
  oomScoreAdj?: number;
  ok: boolean;
}

export interface CompileOptions {
  /** Where the state of planning lives (runtime/plan.ts PlanContext). */
  stateDir: string;
  defaultRootfs: string;
  cpus: number;
  host?: HostView;
  /** The host's facts the translation reads (translate.ts HostFacts); hostFacts() gives this machine's. */
  facts?: HostFacts;
}

/** This process's umask and mount table, as the container's process would inherit and see them. */
export function hostFacts(): HostFacts {
  const umask = process.umask();
  let points: string[] | null = null;
  return {
    umask,
    hasSubmounts(p: string): boolean {
      points ??= readFileSync("/proc/self/mountinfo", "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split(" ")[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
      const dir = p.endsWith("/") ? p : `${p}/`;
      return points.some((m) => m.startsWith(dir));
    },
    ioWeightProblem(device: boolean): string | null {
      const h = hierarchyOf(machineCgroups(), "io");
      if (!h) return "this host has no blkio (v1) or io (v2) cgroup controller";
      // v2: the files of a controller not enabled for ctr's cgroup yet cannot be told (the manager says at the write).
      if (h.version === "v2" && !existsSync(`${callerDir(h)}/io.max`)) return null;
      try {
        weightFile(realFs, h.version, callerDir(h), device);
        return null;
      } catch (e) {
        return e instanceof Error ? e.message.replace(/^limit io weight=: /, "") : String(e);
      }
    },
    blockDevice: (major, minor) => existsSync(`/sys/dev/block/${major}:${minor}`),
    isOwnMountNs: (p) => isOwnMountNs(p),
  };
}

/** The namespace file at `p` is this process's mount namespace or the host init's (false when it cannot be read: setns says why). */
export function isOwnMountNs(p: string): boolean {
  const inode = (f: string) => {
    try {
      const s = statSync(f);
      return `${s.dev}:${s.ino}`;
    } catch {
      return null; // the host init's may be out of reach (EACCES)
    }
  };
  const ns = inode(p);
  return ns !== null && ["/proc/self/ns/mnt", "/proc/1/ns/mnt"].some((own) => inode(own) === ns);
}

/**
 * Read, translate, check and plan a bundle; throws only when config.json cannot be read.
 * `given`: the config's text instead of the file's (`exec`'s process in the bundle's config: exec.ts).
 */
export function compileBundle(arg: string, opts: CompileOptions, given?: string): CompiledBundle {
  const isFile = path.basename(arg) === "config.json" && !statSync(arg).isDirectory();
  const dir = path.resolve(isFile ? path.dirname(arg) : arg);
  const file = isFile ? arg : path.join(arg, "config.json");
  const size = given !== undefined ? given.length : statSync(file).size;
  if (size > MAX_CONFIG_BYTES) throw new Error(`"${file}" is larger than ${MAX_CONFIG_BYTES >> 20} MiB`);
  const text = given ?? readFileSync(file, "utf8");
  const empty: PlanResult = { plan: { namespaces: [], ops: [], needsDefaultRootfs: false }, diagnostics: [] };
  let doc;
  try {
    doc = parseLocated(text);
  } catch (e) {
    if (!(e instanceof JsonError)) throw e;
    const before = text.slice(0, e.offset);
    const line = before.split("\n").length;
    const column = e.offset - before.lastIndexOf("\n");
    const d: Diagnostic = { severity: "error", span: { file, line, column, offset: e.offset, length: 1 }, message: `config.json is not valid JSON: ${e.message}`, help: "see the OCI runtime spec, config.md" };
    return { dir, file, text, config: null, commands: [], result: empty, diagnostics: [d], sources: new Map([[file, text]]), nsPaths: [], terminal: false, hooks: noHooks(), ok: false };
  }
  const t = translateConfig(doc, text, file, dir, opts.facts);
  const checker = new Checker(statements, { cpus: opts.cpus, ...(opts.host ? { host: opts.host } : {}) });
  const diagnostics = [...t.diagnostics];
  for (const cmd of t.commands) diagnostics.push(...checker.check(cmd));
  const clean = !diagnostics.some((d) => d.severity === "error");
  const result = clean ? makePlan(t.commands, findStatement, { stateDir: opts.stateDir, defaultRootfs: opts.defaultRootfs }) : empty;
  if (t.seccomp && clean) insertSeccomp(result, t.seccomp.profile, t.seccomp.span);
  // process.terminal: made at enter-root (the caller waits for the master during create), taken at exec.
  const exec = result.plan.ops.find((o) => o.kind === "exec");
  const enter = result.plan.ops.find((o) => o.kind === "enter-root");
  if (t.terminal && exec?.kind === "exec" && enter?.kind === "enter-root") {
    exec.terminal = true;
    enter.console = true;
    if (t.consoleSize) enter.consoleSize = t.consoleSize; // process.consoleSize: the window size the pty starts with
  }
  // The namespaces given by path: stage 1 joins them instead of making them (runtime/init.ts), and explain says so.
  const unshare = result.plan.ops.find((o) => o.kind === "unshare");
  if (unshare?.kind === "unshare" && t.nsPaths.length > 0) unshare.paths = t.nsPaths.map(({ ns, path }) => ({ ns, path }));
  // A PID namespace joined is not the container's own: PID 1 is not its init, and the
  // kernel does not end the container's processes with it. Off the plan's namespaces, the
  // session treats it as a container without `ns pid` (a tracking cgroup ends them:
  // runtime/features/cgroup/when.ts) and stage 1 joins it by its path.
  if (t.nsPaths.some((p) => p.ns === "pid")) result.plan.namespaces = result.plan.namespaces.filter((n) => n !== "pid");
  // A user namespace joined has its maps: neither made nor mapped by the host (the planner's default maps go).
  if (t.nsPaths.some((p) => p.ns === "user")) {
    result.plan.namespaces = result.plan.namespaces.filter((n) => n !== "user");
    result.plan.ops = result.plan.ops.filter((o) => o.kind !== "idmap");
  }
  diagnostics.push(...result.diagnostics);
  diagnostics.sort((a, b) => a.span.offset - b.span.offset);
  return {
    dir,
    file,
    text,
    config: doc.value as Record<string, unknown>,
    commands: t.commands,
    result,
    diagnostics,
    sources: t.sources,
    ...(t.cgroupsPath ? { cgroupsPath: t.cgroupsPath.path } : {}),
    nsPaths: t.nsPaths.map(({ ns, path }) => ({ ns, path })),
    terminal: t.terminal !== undefined,
    hooks: t.hooks ?? noHooks(),
    ...(t.oomScoreAdj !== undefined ? { oomScoreAdj: t.oomScoreAdj } : {}),
    ok: !diagnostics.some((d) => d.severity === "error"),
  };
}

/**
 * `linux.seccomp` as the op a `seccomp FILE` plans, placed just before the
 * root is entered for the command (`enter-root`, else `exec`), where a
 * script's `seccomp` line before its `exec` puts it: the process spec reads
 * the last one before its command (runtime/features/lifecycle/supervise.ts),
 * and before the root is entered PID 1 still reaches libseccomp on the
 * host's tree directly (runtime/features/security/security.ts).
 */
function insertSeccomp(result: PlanResult, profile: Profile, span: Span): void {
  const ops = result.plan.ops;
  const i = ops.findIndex((op) => op.kind === "enter-root" || op.kind === "exec");
  if (i < 0) return;
  const op = { kind: "seccomp", profile, side: "pid1", span, source: `seccomp ${profile.source}` } as Op; // as explain heads the statement it stands for
  setExplain(op);
  ops.splice(i, 0, op);
}
