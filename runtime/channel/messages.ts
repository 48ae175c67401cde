// The control channel's messages: who sends what, what answers it, and the
// check of each message's shape on arrival.
//
//   from     message    fields                         sent                      answered by
//   -------  ---------  -----------------------------  ------------------------  ----------------------
//   host     plan       v, namespaces, trace, wait,    first                     unshared, or error
//                       interactive?, cgroups?, join?,
//                       enter?, release?, paths?, console?
//   stage 1  unshared   pid                            for plan                  go (plan.wait only)
//   host     go         uid?, gid?                     for unshared, plan.wait   spawned, or error
//   stage 1  spawned    pid                            for go, or unasked after  -
//                                                      unshared without wait
//   stage 2  ready      -                              unasked: PID 1 is up      -
//   host     op         id, op, batch?                 after spawned             done or error (its id);
//                                                                                a successful exec: EOF
//   stage 2  done       id, result?                    for op                    -
//   stage    error      id?, error                     for plan, go or op        - (stage 1 then exits)
//   host     interrupt  signal                         during a run              - (the run's op ends)
//   host     exit       -                              last                      EOF (PID 1 exits)
//   host     detach     -                              REPL `:detach`            done (PID 1 waits on, the
//                                                                                host's EOF no longer ends it)
//   stage    trace      event, stage                   unasked, with --trace     -
//
// The channel is one stream socket: stage 1 has it first (plan, go), then
// hands it to stage 2 (ready, ops); runtime/init.ts tells the stages' side,
// runtime/host.ts the host's, runtime/channel/stream.ts how lines travel.
//
// Protocol version. The host's first message, `plan`, carries PROTOCOL as `v`,
// and stage 1 answers a plan of another version with an error naming both
// (a stale init bundle run by a newer ctr, or the other way round) before it
// does anything. For that to work across versions, two things never change:
// a plan of another version is checked for nothing but `t` and `v`, and the
// `error` message keeps its shape. Raise PROTOCOL with any other change to a
// message, in either direction. A plan without `v` is from before versions
// were sent: protocol 0.
//
// Trust. The host does not trust what comes up the channel: PID 1 runs inside
// the container, where root may ptrace it and write anything to its end. Each
// message arrives as one bounded line (codec.ts) and is checked here field by
// field before any of it is used; one that does not fit breaks the channel,
// never a crash or a value of the wrong type further on. The stages check the
// host's messages the same way, more cheaply (the host is ctr itself, so only
// the envelope and the op's kind are checked).

import { SysError } from "../../native/error.ts";
import type { Op, RunResult } from "../ops.ts";
import type { NsName } from "../../lang/spec.ts";
import type { TraceEvent } from "../../native/sys.ts";

export type { TraceEvent };

/** The version of the messages below; see "Protocol version" above. */
export const PROTOCOL = 4;

/** An error crossing the channel: the fields of SysError, without the class. */
export interface WireError {
  errno: number;
  code: string;
  syscall: string;
  args: unknown[];
  message: string;
  hint?: string;
  /** Exit status the host should use (125 setup, 126 not executable, 127 not found). */
  status?: number;
}

/** A running container's PID 1 (host pid and start time, runtime/features/lifecycle/procstat.ts) and the namespaces of it to join. */
export interface JoinTarget {
  name: string;
  pid: number;
  start: number;
  namespaces: NsName[];
}

/** A namespace joined by the path of its file (/proc/PID/ns/net, /run/netns/NAME). */
export interface NsPath {
  ns: NsName;
  path: string;
}

export type HostMessage =
  /**
   * The namespaces to create, in protocol `v`. `wait`: wait for "go" after
   * unsharing, because the host has work to do first (id maps); without it
   * stage 1 goes straight on. `interactive`: a REPL on a terminal; PID 1 must
   * survive the terminal's SIGINT and SIGQUIT, which reach every process of
   * the foreground group. `cgroups`: the container's cgroup directories, which
   * stage 1 removes if ctr dies first (runtime/features/cgroup/leave.ts). `join`:
   * cgroups stage 1 moves itself into before it unshares (runtime/features/cgroup/track.ts).
   * `enter`: namespaces of a running container's PID 1 that stage 1 joins before it
   * unshares (`join`, runtime/features/ns/join.ts). `release`: an OCI
   * container's PID 1 outlives stage 1 (no parent-death signal), which the host
   * kills once the container is created, so that PID 1 becomes the child of the
   * caller's subreaper (runtime/features/oci/supervise.ts). `adopted`, with
   * `release`: that subreaper is ctr's own supervisor, and the command dies
   * with it (runtime/features/lifecycle/adopt.ts). `paths`: namespaces
   * of `namespaces` that stage 1 joins by a path (setns) instead of making
   * them: an OCI config's namespace with a `path` (podman's network namespace).
   * `console`: stage 1's fd 4 is an OCI console socket, for PID 1
   * (runtime/features/process/console.ts). `detachable`: a REPL's container, which
   * `:detach` may hand to stage 1: stage 1's fd 4 is the REPL's socket for it
   * (runtime/features/lifecycle/repl-detach.ts).
   */
  | { t: "plan"; v: number; namespaces: NsName[]; trace: boolean; wait: boolean; interactive?: boolean; cgroups?: string[]; join?: string[]; enter?: JoinTarget; release?: boolean; adopted?: boolean; paths?: NsPath[]; console?: boolean; detachable?: boolean }
  /** Go on; in a new user namespace, first become these ids (inside ids, mapped by then). */
  | { t: "go"; uid?: number; gid?: number }
  /**
   * One operation. Ops of one `batch` are sent without waiting for each
   * reply; after one of them fails, PID 1 skips the rest of its batch.
   */
  | { t: "op"; id: number; op: Op; batch?: number }
  /** Signal the processes of the `run` in progress (not PID 1). */
  | { t: "interrupt"; signal: NodeJS.Signals }
  | { t: "exit" }
  /** `:detach`: the log over PID 1's stdio, a session of its own, and the host's EOF no longer ends it (repl-detach.ts). */
  | { t: "detach" };

export type StageMessage =
  | { t: "unshared"; pid: number }
  | { t: "spawned"; pid: number }
  | { t: "ready" }
  | { t: "done"; id: number; result?: RunResult | ShowResult }
  | { t: "error"; id?: number; error: WireError }
  | { t: "trace"; event: TraceEvent; stage: 1 | 2 };

export type ShowResult =
  | { what: "ns"; container: Record<string, string>; }
  | { what: "mounts"; lines: string[] }
  | { what: "procs"; procs: { pid: number; ppid: number; state: string; cmd: string }[] }
  | { what: "security"; lines: string[] }
  | { what: "net"; lines: string[] };

/**
 * Stage 1's answer to a plan of protocol `theirs` (not PROTOCOL): it runs the
 * init bundle `bundle`, which was built from other sources than the ctr that
 * started it.
 */
export function protocolMismatch(theirs: number, bundle: string): SysError {
  // A build directory of runtime/bundle.ts is safe to remove: the next run makes it again.
  const build = /^(.*\/dist\/\d+)\/init\.js$/.exec(bundle)?.[1];
  return new SysError({
    message: `ctr's init stage speaks protocol ${PROTOCOL}, this ctr ${theirs}: the init stage "${bundle}" is not from this ctr's sources`,
    hint: build ? `remove the stale build "${build}": ctr builds it again on its next run` : "start the init stage of the same sources as ctr",
    status: 125,
  });
}

// ---------------------------------------------------------------------------
// Shape checks

type Check = (v: unknown) => boolean;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isStr: Check = (v) => typeof v === "string";
const isInt: Check = (v) => Number.isSafeInteger(v);
const isPid: Check = (v) => Number.isSafeInteger(v) && (v as number) > 0;
const optional = (c: Check): Check => (v) => v === undefined || c(v);
const nullable = (c: Check): Check => (v) => v === null || c(v);
const arrayOf = (c: Check): Check => (v) => Array.isArray(v) && v.every(c);
const oneOf = (...vals: unknown[]): Check => (v) => vals.includes(v);

/** An object with exactly these fields (absent optional ones allowed, unknown ones refused). */
function shape(fields: Record<string, Check>): Check {
  return (v) => {
    if (!isObj(v)) return false;
    for (const k of Object.keys(v)) if (!(k in fields)) return false;
    for (const [k, c] of Object.entries(fields)) if (!c(v[k])) return false;
    return true;
  };
}

const wireError = shape({
  errno: isInt,
  code: isStr,
  syscall: isStr,
  args: Array.isArray,
  message: isStr,
  hint: optional(isStr),
  status: optional(isInt),
});

const traceEvent = shape({
  syscall: isStr,
  args: Array.isArray,
  result: (v) => typeof v === "number" || typeof v === "string",
  errno: optional(isStr),
  ms: (v) => typeof v === "number",
});

const capture = shape({
  bytes: (v) => isInt(v) && (v as number) >= 0,
  head: isStr,
  tail: optional(isStr),
  checks: arrayOf(shape({ test: oneOf("==", "!=", "contains", "matches"), value: isStr, ok: (v) => typeof v === "boolean" })),
});

const runResult = shape({
  exitCode: nullable(isInt),
  signal: nullable(isStr),
  output: optional(capture),
  error: optional(isStr),
});

const showResult: Check = (v) =>
  isObj(v) &&
  ((v.what === "ns" && shape({ what: isStr, container: (c) => isObj(c) && Object.values(c).every(isStr) })(v)) ||
    (v.what === "mounts" && shape({ what: isStr, lines: arrayOf(isStr) })(v)) ||
    (v.what === "procs" && shape({ what: isStr, procs: arrayOf(shape({ pid: isInt, ppid: isInt, state: isStr, cmd: isStr })) })(v)) ||
    (v.what === "security" && shape({ what: isStr, lines: arrayOf(isStr) })(v)) ||
    (v.what === "net" && shape({ what: isStr, lines: arrayOf(isStr) })(v)));

/** The checks of what the stages send, by `t` (the table above, from a stage). */
export const STAGE_MESSAGES: Readonly<Record<StageMessage["t"], Check>> = {
  unshared: shape({ t: isStr, pid: isPid }),
  spawned: shape({ t: isStr, pid: isPid }),
  ready: shape({ t: isStr }),
  done: shape({ t: isStr, id: isInt, result: optional((r) => runResult(r) || showResult(r)) }),
  error: shape({ t: isStr, id: optional(isInt), error: wireError }),
  trace: shape({ t: isStr, event: traceEvent, stage: oneOf(1, 2) }),
};

/** The plan's fields in this protocol; unknown fields are let through. */
const currentPlan: Check = (v) =>
  isObj(v) && arrayOf(isStr)(v.namespaces) && [v.trace, v.wait, v.interactive, v.release, v.adopted, v.console, v.detachable].every(optional((b) => typeof b === "boolean")) && optional(arrayOf(isStr))(v.cgroups) && optional(arrayOf(isStr))(v.join) && optional(joinTarget)(v.enter) && optional(arrayOf((p) => isObj(p) && isStr(p.ns) && isStr(p.path)))(v.paths);

const joinTarget: Check = (v) => isObj(v) && isInt(v.pid) && isInt(v.start) && arrayOf(isStr)(v.namespaces) && isStr(v.name);

/** The checks of what the host sends, by `t` (the table above, from the host). */
export const HOST_MESSAGES: Readonly<Record<HostMessage["t"], Check>> = {
  // Of another version, only `v` is looked at: stage 1 answers with protocolMismatch.
  plan: (v) => isObj(v) && optional(isInt)(v.v) && ((v.v ?? 0) !== PROTOCOL || currentPlan(v)),
  go: shape({ t: isStr, uid: optional(isInt), gid: optional(isInt) }),
  op: (v) => isObj(v) && isInt(v.id) && isObj(v.op) && isStr(v.op.kind) && optional(isInt)(v.batch),
  interrupt: shape({ t: isStr, signal: isStr }),
  exit: shape({ t: isStr }),
  detach: shape({ t: isStr }),
};

function checker<T>(table: Readonly<Record<string, Check>>): (v: unknown) => v is T {
  return (v): v is T => isObj(v) && typeof v.t === "string" && Object.hasOwn(table, v.t) && table[v.t]!(v);
}

/** Is this a well-formed message from a stage to the host? */
export const isStageMessage = checker<StageMessage>(STAGE_MESSAGES);
/** Is this a well-formed message from the host to a stage? */
export const isHostMessage = checker<HostMessage>(HOST_MESSAGES);
