// native/trace.ts — the trace hook, and the helpers every wrapper is built from.
//
// Conventions, for every wrapper (ns.ts, proc.ts, fd.ts, caps.ts):
//  * a failing call (-1 with errno) throws SysError with errno, code ("EPERM"), the call's
//    C name (`syscall`) and its arguments; nothing is retried (EINTR surfaces as a SysError);
//  * strings are passed as NUL-terminated UTF-8; buffers are Uint8Array (Buffer works);
//  * ids are unsigned 32-bit (-1, "leave unchanged", works where C allows it);
//  * when a trace function is set (setTrace), each call is reported after it returns,
//    with its raw arguments; with no trace function the cost is one null check.
// No policy in the wrappers: they do what the C call does, nothing more.
//
// The helpers below (t0/emit/fail/en/int/sysno, C-string and variadic-argument helpers)
// are for native/ only; index.ts exports just setTrace, getTrace, formatTraceEvent and
// the event types.

import { SYS, type SyscallName } from "./constants.ts";
import { SysError, errnoNumber, strerror } from "./error.ts";
import { formatCall } from "./format.ts";
import { errno } from "./libc.ts";

// ---------------------------------------------------------------------------
// Trace hook

/** One traced call. `args` are the wrapper's raw arguments (render with formatCall). */
export interface TraceEvent {
  /** C name of the call: "mount", "pivot_root", "waitpid"… */
  syscall: string;
  args: unknown[];
  /** The C return value, or a rendered string for calls whose result is data ("\"host\"", "[3, 4]"). */
  result: number | string;
  /** Set when the call failed: "ENOENT". */
  errno?: string;
  /** Time spent in the call, in milliseconds. */
  ms: number;
}
export type TraceFn = (e: TraceEvent) => void;

/** The trace function, or null (a live binding: wrappers test `tracer !== null`). */
export let tracer: TraceFn | null = null;

/**
 * Report every call to `fn` after it returns (success or failure); `null` turns tracing off.
 * `fn` should write synchronously (an execve that succeeds never returns to flush a buffer)
 * and must not throw: exceptions from it are swallowed so they cannot turn a successful
 * call into a failure. execve is reported *before* the call, with result "?", and once
 * more if it fails.
 */
export function setTrace(fn: TraceFn | null): void {
  tracer = fn;
}

/** The current trace function, or null. */
export function getTrace(): TraceFn | null {
  return tracer;
}

/** strace-like line for an event: `chdir("/x") = -1 ENOENT (no such file or directory) <0.010 ms>`. */
export function formatTraceEvent(e: TraceEvent): string {
  const call = formatCall(e.syscall, e.args);
  let res = String(e.result);
  if (e.errno) {
    const n = errnoNumber(e.errno);
    res += ` ${e.errno}` + (n ? ` (${strerror(n)})` : "");
  }
  return `${call} = ${res} <${e.ms.toFixed(3)} ms>`;
}

export const now = (): number => performance.now();

// ---------------------------------------------------------------------------
// Helpers for the wrappers

/** Report a finished call to the tracer, if any (never throws). */
export function emit(syscall: string, args: unknown[], result: number | string, t0: number, code?: string): void {
  const fn = tracer;
  if (fn === null) return;
  const e: TraceEvent = { syscall, args, result, ms: now() - t0 };
  if (code !== undefined) e.errno = code;
  try {
    fn(e);
  } catch {
    // a broken tracer must not change the outcome of the call
  }
}

/** Throw the SysError for a failed call (reporting it to the tracer first). `err` is read first by the caller. */
export function fail(err: number, syscall: string, args: unknown[], t0: number): never {
  const e = SysError.fromErrno(syscall, args, err);
  if (tracer !== null) emit(syscall, args, -1, t0, e.code);
  throw e;
}

// Start time for a traced call: 0 when not tracing (one null check).
export function t0(): number {
  return tracer === null ? 0 : now();
}

/** errno if `r` is -1, else 0. Call it right after the C call, before allocating anything. */
export function en(r: number): number {
  return r === -1 ? errno() : 0;
}

/**
 * Common shape: `int f(...)` returning -1 on error. `err` is `en(r)`, evaluated before the
 * `args` array is allocated (arguments are evaluated left to right). Returns `r`.
 */
export function int(syscall: string, r: number, err: number, args: unknown[], start: number): number {
  if (r === -1) fail(err, syscall, args, start);
  if (tracer !== null) emit(syscall, args, r, start);
  return r;
}

/** The syscall number for this architecture, or a SysError ENOSYS. */
export function sysno(name: SyscallName): number {
  const n = SYS[name];
  if (n === undefined) {
    throw new SysError({ syscall: name, errno: 38 /* ENOSYS */, message: `${name}: no syscall number known for ${process.arch}` });
  }
  return n;
}

export const enc = new TextEncoder();
const dec = new TextDecoder();

/** UTF-8 length of a string, without the NUL. */
export function byteLength(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

/** The string in a NUL-terminated buffer. */
export function cString(buf: Uint8Array): string {
  const end = buf.indexOf(0);
  return dec.decode(end < 0 ? buf : buf.subarray(0, end));
}

// Variadic argument: (type, value) pair for koffi.
export type VarArg = number | bigint | string | Uint8Array | null;
export function pushVarArg(out: unknown[], a: VarArg): void {
  if (typeof a === "string") out.push("const char *", a);
  else if (a === null) out.push("void *", null);
  else if (a instanceof Uint8Array) out.push("void *", a);
  else if (typeof a === "bigint") out.push("uint64_t", BigInt.asUintN(64, a));
  else out.push("long", a);
}
