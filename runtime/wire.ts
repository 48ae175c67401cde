// The shapes of the control channel's messages, checked on arrival.
//
// The host does not trust what comes up the channel: PID 1 runs inside the
// container, where root may ptrace it and write anything to its end. Every
// message is parsed from one bounded line (runtime/channel.ts) and then checked
// here field by field before any of it is used; a message that does not fit is
// a broken channel, never a crash or a value of the wrong type further on.
// The stages check the host's messages the same way (cheaper: the host is ctr
// itself, so only the envelope and the op's kind are checked).

import type { HostMessage, StageMessage } from "./channel.ts";

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
    (v.what === "procs" && shape({ what: isStr, procs: arrayOf(shape({ pid: isInt, ppid: isInt, state: isStr, cmd: isStr })) })(v)));

const stageMessages: Record<string, Check> = {
  unshared: shape({ t: isStr, pid: isPid }),
  spawned: shape({ t: isStr, pid: isPid }),
  ready: shape({ t: isStr }),
  done: shape({ t: isStr, id: isInt, result: optional((r) => runResult(r) || showResult(r)) }),
  error: shape({ t: isStr, id: optional(isInt), error: wireError }),
  trace: shape({ t: isStr, event: traceEvent, stage: oneOf(1, 2) }),
};

const hostMessages: Record<string, Check> = {
  plan: (v) => isObj(v) && arrayOf(isStr)(v.namespaces) && [v.trace, v.wait, v.interactive].every(optional((b) => typeof b === "boolean")) && optional(arrayOf(isStr))(v.cgroups) && optional(arrayOf(isStr))(v.join),
  go: shape({ t: isStr, uid: optional(isInt), gid: optional(isInt) }),
  op: (v) => isObj(v) && isInt(v.id) && isObj(v.op) && isStr(v.op.kind) && optional(isInt)(v.batch),
  interrupt: shape({ t: isStr, signal: isStr }),
  exit: shape({ t: isStr }),
};

function checker<T>(table: Record<string, Check>): (v: unknown) => v is T {
  return (v): v is T => isObj(v) && typeof v.t === "string" && Object.hasOwn(table, v.t) && table[v.t]!(v);
}

/** Is this a well-formed message from a stage to the host? */
export const isStageMessage = checker<StageMessage>(stageMessages);
/** Is this a well-formed message from the host to a stage? */
export const isHostMessage = checker<HostMessage>(hostMessages);
