// native/sys.ts — typed wrappers over the libc calls ctr makes, and the trace hook.
//
// Conventions, for every wrapper:
//  * a failing call (-1 with errno) throws SysError with errno, code ("EPERM"), the call's
//    C name (`syscall`) and its arguments; nothing is retried (EINTR surfaces as a SysError);
//  * strings are passed as NUL-terminated UTF-8; buffers are Uint8Array (Buffer works);
//  * ids are unsigned 32-bit (-1, "leave unchanged", works where C allows it);
//  * when a trace function is set (setTrace), each call is reported after it returns,
//    with its raw arguments; with no trace function the cost is one null check.
// No policy here: these do what the C call does, nothing more.

import {
  AF_UNIX, AT_FDCWD, FD_CLOEXEC, F_GETFD, F_SETFD, LINUX_CAPABILITY_VERSION_3, P_ALL,
  PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, PR_CAP_AMBIENT_IS_SET, PR_CAP_AMBIENT_LOWER,
  PR_CAP_AMBIENT_RAISE, PR_CAPBSET_DROP, PR_CAPBSET_READ, PR_GET_NAME, PR_GET_NO_NEW_PRIVS,
  PR_SET_CHILD_SUBREAPER, PR_SET_KEEPCAPS, PR_SET_NAME, PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG,
  RLIM_INFINITY, SECCOMP_SET_MODE_FILTER, SOCK_CLOEXEC, SOCK_STREAM, SYS, TIOCSCTTY, WEXITED,
  WNOHANG, WNOWAIT, type SyscallName,
} from "./constants.ts";
import { SysError, errnoNumber, strerror } from "./error.ts";
import { formatCall, formatCapMask, formatOctal, formatValue } from "./format.ts";
import { C, errno, sockFprogPtr } from "./libc.ts";

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

let tracer: TraceFn | null = null;

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
const now = () => performance.now();

function emit(syscall: string, args: unknown[], result: number | string, t0: number, code?: string): void {
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
function fail(err: number, syscall: string, args: unknown[], t0: number): never {
  const e = SysError.fromErrno(syscall, args, err);
  if (tracer !== null) emit(syscall, args, -1, t0, e.code);
  throw e;
}

// Start time for a traced call: 0 when not tracing (one null check).
function t0(): number {
  return tracer === null ? 0 : now();
}

/** errno if `r` is -1, else 0. Call it right after the C call, before allocating anything. */
function en(r: number): number {
  return r === -1 ? errno() : 0;
}

/**
 * Common shape: `int f(...)` returning -1 on error. `err` is `en(r)`, evaluated before the
 * `args` array is allocated (arguments are evaluated left to right). Returns `r`.
 */
function int(syscall: string, r: number, err: number, args: unknown[], start: number): number {
  if (r === -1) fail(err, syscall, args, start);
  if (tracer !== null) emit(syscall, args, r, start);
  return r;
}

function sysno(name: SyscallName): number {
  const n = SYS[name];
  if (n === undefined) {
    throw new SysError({ syscall: name, errno: 38 /* ENOSYS */, message: `${name}: no syscall number known for ${process.arch}` });
  }
  return n;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function byteLength(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

function cString(buf: Uint8Array): string {
  const end = buf.indexOf(0);
  return dec.decode(end < 0 ? buf : buf.subarray(0, end));
}

// Variadic argument: (type, value) pair for koffi.
type VarArg = number | bigint | string | Uint8Array | null;
function pushVarArg(out: unknown[], a: VarArg): void {
  if (typeof a === "string") out.push("const char *", a);
  else if (a === null) out.push("void *", null);
  else if (a instanceof Uint8Array) out.push("void *", a);
  else if (typeof a === "bigint") out.push("uint64_t", BigInt.asUintN(64, a));
  else out.push("long", a);
}

// ---------------------------------------------------------------------------
// Namespaces, mounts, root

/** unshare(2): move the calling thread (the process, for CLONE_NEWUSER) into new namespaces. */
export function unshare(flags: number): void {
  const s = t0();
  const r: number = C.unshare(flags);
  int("unshare", r, en(r), [flags], s);
}

/** setns(2): join the namespace `fd` refers to (an open /proc/PID/ns/* file). `nstype` 0 = any. */
export function setns(fd: number, nstype = 0): void {
  const s = t0();
  const r: number = C.setns(fd, nstype);
  int("setns", r, en(r), [fd, nstype], s);
}

/** mount(2). `source`, `fstype` and `data` may be null. */
export function mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null = null): void {
  const s = t0();
  const r: number = C.mount(source, target, fstype, flags, data);
  int("mount", r, en(r), [source, target, fstype, flags, data], s);
}

/** umount2(2) with MNT_* / UMOUNT_NOFOLLOW flags. */
export function umount2(target: string, flags = 0): void {
  const s = t0();
  const r: number = C.umount2(target, flags);
  int("umount2", r, en(r), [target, flags], s);
}

/** pivot_root(2), through syscall(2) (glibc wraps it only in recent versions). */
export function pivotRoot(newRoot: string, putOld: string): void {
  const s = t0();
  const r = Number(C.syscall(sysno("pivot_root"), "const char *", newRoot, "const char *", putOld));
  int("pivot_root", r, en(r), [newRoot, putOld], s);
}

/** chroot(2). */
export function chroot(path: string): void {
  const s = t0();
  const r: number = C.chroot(path);
  int("chroot", r, en(r), [path], s);
}

/** chdir(2). */
export function chdir(path: string): void {
  const s = t0();
  const r: number = C.chdir(path);
  int("chdir", r, en(r), [path], s);
}

/** fchdir(2). */
export function fchdir(fd: number): void {
  const s = t0();
  const r: number = C.fchdir(fd);
  int("fchdir", r, en(r), [fd], s);
}

/** mknod(2) (as mknodat(AT_FDCWD, …) through syscall(2), which every glibc has). */
export function mknod(path: string, mode: number, dev: number | bigint = 0): void {
  const s = t0();
  const d = BigInt(dev);
  if (d < 0n || d > 0xffffffffn) fail(75 /* EOVERFLOW */, "mknod", [path, mode, dev], s);
  const r = Number(C.syscall(sysno("mknodat"), "int", AT_FDCWD, "const char *", path, "uint32_t", mode >>> 0, "uint32_t", Number(d)));
  int("mknod", r, en(r), [path, mode, dev], s);
}

/** Device number as glibc's makedev(3) builds it. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return ((ma & 0xfffn) << 8n) | ((ma & 0xfffff000n) << 32n) | (mi & 0xffn) | ((mi & 0xffffff00n) << 12n);
}

/** Major number of a device number (glibc's major(3)). */
export function major(dev: number | bigint): number {
  const d = BigInt(dev);
  return Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & 0xfffff000n));
}

/** Minor number of a device number (glibc's minor(3)). */
export function minor(dev: number | bigint): number {
  const d = BigInt(dev);
  return Number((d & 0xffn) | ((d >> 12n) & 0xffffff00n));
}

// ---------------------------------------------------------------------------
// UTS names

/** sethostname(2). */
export function sethostname(name: string): void {
  const s = t0();
  const n = byteLength(name);
  const r: number = C.sethostname(name, n);
  int("sethostname", r, en(r), [name, n], s);
}

/** setdomainname(2). */
export function setdomainname(name: string): void {
  const s = t0();
  const n = byteLength(name);
  const r: number = C.setdomainname(name, n);
  int("setdomainname", r, en(r), [name, n], s);
}

/** gethostname(2): the UTS hostname of the calling thread's namespace. */
export function gethostname(): string {
  const s = t0();
  const buf = new Uint8Array(257);
  const r: number = C.gethostname(buf, 256);
  if (r === -1) fail(errno(), "gethostname", [], s);
  const name = cString(buf);
  if (tracer !== null) emit("gethostname", [], formatValue(name), s);
  return name;
}

/** getdomainname(2): the NIS domain name of the UTS namespace. */
export function getdomainname(): string {
  const s = t0();
  const buf = new Uint8Array(257);
  const r: number = C.getdomainname(buf, 256);
  if (r === -1) fail(errno(), "getdomainname", [], s);
  const name = cString(buf);
  if (tracer !== null) emit("getdomainname", [], formatValue(name), s);
  return name;
}

// ---------------------------------------------------------------------------
// Processes

/**
 * execve(2): replace this process with `path`. Never returns; on failure throws SysError
 * (code ENOENT: no such file, EACCES: not executable/permission, ENOEXEC: bad format…).
 * `path` is used as is: the caller resolves PATH.
 */
export function execve(path: string, argv: readonly string[], envp: readonly string[]): never {
  const args = [path, argv, envp];
  if (tracer !== null) emit("execve", args, "?", now());
  const s = t0();
  C.execve(path, [...argv, null], [...envp, null]);
  return fail(errno(), "execve", args, s);
}

/** Decoded waitpid(2) status. `pid` 0 (WNOHANG, nothing to report) has every flag false. */
export interface WaitResult {
  pid: number;
  /** The raw status word. */
  status: number;
  exited: boolean;
  /** exit status when `exited`, else null. */
  exitCode: number | null;
  signaled: boolean;
  /** terminating signal when `signaled`, else null. */
  signal: number | null;
  coreDumped: boolean;
  stopped: boolean;
  /** stop signal when `stopped`, else null. */
  stopSignal: number | null;
  continued: boolean;
}

/** Decode a wait status word like the W* macros of <sys/wait.h>. */
export function decodeWaitStatus(pid: number, status: number): WaitResult {
  const low = status & 0x7f;
  const none = pid === 0;
  const exited = !none && low === 0;
  const stopped = !none && (status & 0xff) === 0x7f;
  const continued = !none && status === 0xffff;
  const signaled = !none && low !== 0 && low !== 0x7f;
  return {
    pid,
    status,
    exited,
    exitCode: exited ? (status >> 8) & 0xff : null,
    signaled,
    signal: signaled ? low : null,
    coreDumped: signaled && (status & 0x80) !== 0,
    stopped,
    stopSignal: stopped ? (status >> 8) & 0xff : null,
    continued,
  };
}

/**
 * waitpid(2): blocks (the whole JS thread) unless WNOHANG. Only for children this code
 * forked/spawned itself and Bun is not also reaping (Bun.spawn children are Bun's).
 */
export function waitpid(pid: number, flags = 0): WaitResult {
  const s = t0();
  const st = new Int32Array(1);
  const r: number = C.waitpid(pid, st, flags);
  if (r === -1) fail(errno(), "waitpid", [pid, flags], s);
  if (tracer !== null) emit("waitpid", [pid, flags], r, s);
  return decodeWaitStatus(r, st[0]!);
}

/** What waitid(2) reports (from its siginfo_t). `pid` 0: nothing to report (WNOHANG). */
export interface WaitidResult {
  pid: number;
  uid: number;
  /** si_code: CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_STOPPED, CLD_CONTINUED… */
  code: number;
  /** exit status (CLD_EXITED) or signal number (the others). */
  status: number;
}

/** waitid(2). Options must include WEXITED/WSTOPPED/WCONTINUED; WNOWAIT leaves the child waitable. */
export function waitid(idtype: number, id: number, options: number): WaitidResult {
  const s = t0();
  const info = new Int32Array(32); // siginfo_t, 128 bytes; must be zeroed for WNOHANG
  const r: number = C.waitid(idtype, id >>> 0, info, options);
  if (r === -1) fail(errno(), "waitid", [idtype, id, options], s);
  // si_signo, si_errno, si_code, (pad), si_pid, si_uid, si_status — same on x86_64 and aarch64
  const out = { pid: info[4]!, uid: info[5]! >>> 0, code: info[2]!, status: info[6]! };
  if (tracer !== null) emit("waitid", [idtype, id, options], `{si_pid=${out.pid}, si_code=${out.code}, si_status=${out.status}}`, s);
  return out;
}

/**
 * Pid of some child that has exited and is not reaped yet, without reaping it
 * (waitid(P_ALL, 0, WEXITED|WNOHANG|WNOWAIT)); 0 when there is none or no child at all.
 */
export function zombieChild(): number {
  try {
    return waitid(P_ALL, 0, WEXITED | WNOHANG | WNOWAIT).pid;
  } catch (e) {
    if (e instanceof SysError && e.code === "ECHILD") return 0;
    throw e;
  }
}

/** kill(2). */
export function kill(pid: number, sig: number): void {
  const s = t0();
  const r: number = C.kill(pid, sig);
  int("kill", r, en(r), [pid, sig], s);
}

/** getpid(2). */
export function getpid(): number {
  const s = t0();
  const r: number = C.getpid();
  if (tracer !== null) emit("getpid", [], r, s);
  return r;
}

/** getppid(2). */
export function getppid(): number {
  const s = t0();
  const r: number = C.getppid();
  if (tracer !== null) emit("getppid", [], r, s);
  return r;
}

/** gettid(2), through syscall(2). */
export function gettid(): number {
  const s = t0();
  const r: number = Number(C.syscall(sysno("gettid")));
  return int("gettid", r, en(r), [], s);
}

function idGetter(name: "getuid" | "geteuid" | "getgid" | "getegid"): () => number {
  return () => {
    const s = t0();
    const r: number = C[name]();
    if (tracer !== null) emit(name, [], r, s);
    return r;
  };
}
/** getuid(2). */
export const getuid: () => number = idGetter("getuid");
/** geteuid(2). */
export const geteuid: () => number = idGetter("geteuid");
/** getgid(2). */
export const getgid: () => number = idGetter("getgid");
/** getegid(2). */
export const getegid: () => number = idGetter("getegid");

/** setuid(2) (glibc applies it to every thread of the process). */
export function setuid(uid: number): void {
  const s = t0();
  const r: number = C.setuid(uid >>> 0);
  int("setuid", r, en(r), [uid], s);
}

/** setgid(2) (all threads). */
export function setgid(gid: number): void {
  const s = t0();
  const r: number = C.setgid(gid >>> 0);
  int("setgid", r, en(r), [gid], s);
}

/** setgroups(2): replace the supplementary groups; [] clears them. */
export function setgroups(groups: readonly number[]): void {
  const s = t0();
  const list = groups.length ? Uint32Array.from(groups, (g) => g >>> 0) : null;
  const r: number = C.setgroups(groups.length, list);
  int("setgroups", r, en(r), [groups.length, groups], s);
}

/** setresuid(2); -1 leaves an id unchanged. */
export function setresuid(ruid: number, euid: number, suid: number): void {
  const s = t0();
  const r: number = C.setresuid(ruid >>> 0, euid >>> 0, suid >>> 0);
  int("setresuid", r, en(r), [ruid, euid, suid], s);
}

/** setresgid(2); -1 leaves an id unchanged. */
export function setresgid(rgid: number, egid: number, sgid: number): void {
  const s = t0();
  const r: number = C.setresgid(rgid >>> 0, egid >>> 0, sgid >>> 0);
  int("setresgid", r, en(r), [rgid, egid, sgid], s);
}

/** setsid(2): returns the new session id. */
export function setsid(): number {
  const s = t0();
  const r: number = C.setsid();
  return int("setsid", r, en(r), [], s);
}

/** setpgid(2). */
export function setpgid(pid: number, pgid: number): void {
  const s = t0();
  const r: number = C.setpgid(pid, pgid);
  int("setpgid", r, en(r), [pid, pgid], s);
}

/** getpgid(2). */
export function getpgid(pid = 0): number {
  const s = t0();
  const r: number = C.getpgid(pid);
  return int("getpgid", r, en(r), [pid], s);
}

/** tcsetpgrp(3): make `pgrp` the foreground process group of the terminal `fd`. */
export function tcsetpgrp(fd: number, pgrp: number): void {
  const s = t0();
  const r: number = C.tcsetpgrp(fd, pgrp);
  int("tcsetpgrp", r, en(r), [fd, pgrp], s);
}

/** tcgetpgrp(3). */
export function tcgetpgrp(fd: number): number {
  const s = t0();
  const r: number = C.tcgetpgrp(fd);
  return int("tcgetpgrp", r, en(r), [fd], s);
}

/** ioctl(2) with one optional integer, string or buffer argument. Returns the C result. */
export function ioctl(fd: number, request: number, arg: VarArg = 0): number {
  const s = t0();
  const va: unknown[] = [];
  pushVarArg(va, arg);
  const r: number = C.ioctl(fd, request, ...va);
  return int("ioctl", r, en(r), [fd, request, arg], s);
}

/** ioctl(fd, TIOCSCTTY, force): make the terminal `fd` the controlling terminal (after setsid). */
export function setControllingTerminal(fd: number, force = false): void {
  ioctl(fd, TIOCSCTTY, force ? 1 : 0);
}

/** isatty(3): never throws. */
export function isatty(fd: number): boolean {
  const s = t0();
  const r: number = C.isatty(fd);
  if (tracer !== null) emit("isatty", [fd], r, s);
  return r === 1;
}

// ---------------------------------------------------------------------------
// Resource limits

/** setrlimit(2). A number or Infinity, or a bigint; RLIM_INFINITY (or Infinity) = unlimited. */
export function setrlimit(resource: number, soft: bigint | number, hard: bigint | number): void {
  const s = t0();
  const lim = new BigUint64Array([toRlim(soft), toRlim(hard)]);
  const r: number = C.setrlimit(resource, lim);
  int("setrlimit", r, en(r), [resource, lim[0], lim[1]], s);
}

function toRlim(v: bigint | number): bigint {
  if (typeof v === "bigint") return BigInt.asUintN(64, v);
  if (v === Infinity) return RLIM_INFINITY;
  return BigInt(Math.trunc(v));
}

/** getrlimit(2): the limits as bigints (RLIM_INFINITY when unlimited). */
export function getrlimit(resource: number): { soft: bigint; hard: bigint } {
  const s = t0();
  const lim = new BigUint64Array(2);
  const r: number = C.getrlimit(resource, lim);
  if (r === -1) fail(errno(), "getrlimit", [resource], s);
  const out = { soft: lim[0]!, hard: lim[1]! };
  if (tracer !== null) emit("getrlimit", [resource], `{rlim_cur=${formatValue(out.soft)}, rlim_max=${formatValue(out.hard)}}`, s);
  return out;
}

// ---------------------------------------------------------------------------
// File descriptors

/** close(2). */
export function close(fd: number): void {
  const s = t0();
  const r: number = C.close(fd);
  int("close", r, en(r), [fd], s);
}

/** Alias of close(), for modules where `close` would shadow something else. */
export const closeFd: (fd: number) => void = close;

/** dup2(2): returns `newFd`. */
export function dup2(oldFd: number, newFd: number): number {
  const s = t0();
  const r: number = C.dup2(oldFd, newFd);
  return int("dup2", r, en(r), [oldFd, newFd], s);
}

/** dup3(2) (flags: O_CLOEXEC). Returns `newFd`. */
export function dup3(oldFd: number, newFd: number, flags: number): number {
  const s = t0();
  const r: number = C.dup3(oldFd, newFd, flags);
  return int("dup3", r, en(r), [oldFd, newFd, flags], s);
}

/** pipe2(2): [readEnd, writeEnd]. Flags: O_CLOEXEC, O_NONBLOCK. */
export function pipe2(flags = 0): [number, number] {
  const s = t0();
  const fds = new Int32Array(2);
  const r: number = C.pipe2(fds, flags);
  if (r === -1) fail(errno(), "pipe2", [flags], s);
  if (tracer !== null) emit("pipe2", [flags], `[${fds[0]}, ${fds[1]}]`, s);
  return [fds[0]!, fds[1]!];
}

/** socketpair(2): two connected sockets, by default AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC. */
export function socketpair(domain = AF_UNIX, type = SOCK_STREAM | SOCK_CLOEXEC, protocol = 0): [number, number] {
  const s = t0();
  const sv = new Int32Array(2);
  const r: number = C.socketpair(domain, type, protocol, sv);
  if (r === -1) fail(errno(), "socketpair", [domain, type, protocol], s);
  if (tracer !== null) emit("socketpair", [domain, type, protocol], `[${sv[0]}, ${sv[1]}]`, s);
  return [sv[0]!, sv[1]!];
}

/** socket(2). */
export function socket(domain: number, type: number, protocol = 0): number {
  const s = t0();
  const r: number = C.socket(domain, type, protocol);
  return int("socket", r, en(r), [domain, type, protocol], s);
}

/** bind(2) with a raw socket address (e.g. a 12-byte sockaddr_nl). */
export function bind(fd: number, addr: Uint8Array): void {
  const s = t0();
  const r: number = C.bind(fd, addr, addr.byteLength);
  int("bind", r, en(r), [fd, addr, addr.byteLength], s);
}

/** send(2): bytes sent. */
export function send(fd: number, buf: Uint8Array, flags = 0): number {
  const s = t0();
  const r: number = Number(C.send(fd, buf, buf.byteLength, flags));
  return int("send", r, en(r), [fd, buf, buf.byteLength, flags], s);
}

/** recv(2) into `buf`: bytes received (with MSG_TRUNC, the real length). */
export function recv(fd: number, buf: Uint8Array, flags = 0): number {
  const s = t0();
  const r = Number(C.recv(fd, buf, buf.byteLength, flags));
  if (r === -1) fail(errno(), "recv", [fd, buf.byteLength, flags], s);
  if (tracer !== null) emit("recv", [fd, buf.subarray(0, r), buf.byteLength, flags], r, s);
  return r;
}

/** fcntl(2) with an optional integer argument. Returns the C result. */
export function fcntl(fd: number, cmd: number, arg?: number): number {
  const s = t0();
  const r: number = arg === undefined ? C.fcntl(fd, cmd) : C.fcntl(fd, cmd, "int", arg);
  return int("fcntl", r, en(r), arg === undefined ? [fd, cmd] : [fd, cmd, arg], s);
}

/** Set or clear FD_CLOEXEC on `fd`. */
export function setCloexec(fd: number, on: boolean): void {
  fcntl(fd, F_SETFD, on ? FD_CLOEXEC : 0);
}

/** Whether FD_CLOEXEC is set on `fd`. */
export function getCloexec(fd: number): boolean {
  return (fcntl(fd, F_GETFD) & FD_CLOEXEC) !== 0;
}

/** read(2) into `buf` (blocking unless the fd is non-blocking): bytes read, 0 at EOF. */
export function read(fd: number, buf: Uint8Array): number {
  const s = t0();
  const r = Number(C.read(fd, buf, buf.byteLength));
  if (r === -1) fail(errno(), "read", [fd, buf.byteLength], s);
  if (tracer !== null) emit("read", [fd, buf.subarray(0, r), buf.byteLength], r, s);
  return r;
}

/** write(2) of a buffer or a UTF-8 string: bytes written (may be short). */
export function write(fd: number, data: Uint8Array | string): number {
  const s = t0();
  const buf = typeof data === "string" ? enc.encode(data) : data;
  const r: number = Number(C.write(fd, buf, buf.byteLength));
  return int("write", r, en(r), [fd, buf, buf.byteLength], s);
}

/** open(2): a new fd. `mode` matters with O_CREAT/O_TMPFILE. */
export function open(path: string, flags: number, mode = 0): number {
  const s = t0();
  const r: number = C.open(path, flags, "uint32_t", mode >>> 0);
  return int("open", r, en(r), [path, flags, mode], s);
}

/** umask(2): sets the mask, returns the previous one. Never fails. */
export function umask(mask: number): number {
  const s = t0();
  const r: number = C.umask(mask >>> 0);
  if (tracer !== null) emit("umask", [mask], formatOctal(r), s);
  return r;
}

// ---------------------------------------------------------------------------
// prctl and capabilities

/** prctl(2) with up to four further arguments (numbers, bigints, strings or buffers). */
export function prctl(option: number, arg2: VarArg = 0, arg3: VarArg = 0, arg4: VarArg = 0, arg5: VarArg = 0): number {
  const s = t0();
  const va: unknown[] = [];
  pushVarArg(va, arg2);
  pushVarArg(va, arg3);
  pushVarArg(va, arg4);
  pushVarArg(va, arg5);
  const r: number = C.prctl(option, ...va);
  return int("prctl", r, en(r), trimZeros([option, arg2, arg3, arg4, arg5]), s);
}

// prctl's unused trailing zero arguments are noise in traces and messages.
function trimZeros(a: unknown[]): unknown[] {
  let n = a.length;
  while (n > 1 && a[n - 1] === 0) n--;
  return n === a.length ? a : a.slice(0, n);
}

/** PR_SET_NO_NEW_PRIVS: execve can no longer grant privileges (needed for seccomp without CAP_SYS_ADMIN). */
export function setNoNewPrivs(): void {
  prctl(PR_SET_NO_NEW_PRIVS, 1);
}

/** PR_GET_NO_NEW_PRIVS. */
export function getNoNewPrivs(): boolean {
  return prctl(PR_GET_NO_NEW_PRIVS) === 1;
}

/** PR_SET_PDEATHSIG: signal this process gets when its parent *thread* exits (0 = none). */
export function setPdeathsig(sig: number): void {
  prctl(PR_SET_PDEATHSIG, sig);
}

/** PR_SET_CHILD_SUBREAPER: adopt orphaned descendants. */
export function setChildSubreaper(on = true): void {
  prctl(PR_SET_CHILD_SUBREAPER, on ? 1 : 0);
}

/** PR_SET_KEEPCAPS: keep permitted capabilities across a setuid away from 0. */
export function setKeepCaps(on: boolean): void {
  prctl(PR_SET_KEEPCAPS, on ? 1 : 0);
}

/** PR_SET_NAME: the calling thread's name (comm), truncated by the kernel to 15 bytes. */
export function setName(name: string): void {
  prctl(PR_SET_NAME, name);
}

/** PR_GET_NAME: the calling thread's name. */
export function getName(): string {
  const buf = new Uint8Array(17);
  prctl(PR_GET_NAME, buf);
  return cString(buf);
}

/** PR_CAPBSET_DROP: remove `cap` from the bounding set (needs CAP_SETPCAP). */
export function capBsetDrop(cap: number): void {
  prctl(PR_CAPBSET_DROP, cap);
}

/** PR_CAPBSET_READ: whether `cap` is in the bounding set. */
export function capBsetRead(cap: number): boolean {
  return prctl(PR_CAPBSET_READ, cap) === 1;
}

/** PR_CAP_AMBIENT_CLEAR_ALL: empty the ambient set. */
export function capAmbientClearAll(): void {
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL);
}

/** PR_CAP_AMBIENT_RAISE (the cap must be permitted and inheritable). */
export function capAmbientRaise(cap: number): void {
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap);
}

/** PR_CAP_AMBIENT_LOWER. */
export function capAmbientLower(cap: number): void {
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, cap);
}

/** PR_CAP_AMBIENT_IS_SET. */
export function capAmbientIsSet(cap: number): boolean {
  return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap) === 1;
}

/** The three capability sets of a thread, as 64-bit masks (bit n = capability n). */
export interface CapSets {
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
}

/** capget(2) (version 3 header): the sets of `pid` (0 = the calling thread). */
export function capget(pid = 0): CapSets {
  const s = t0();
  const hdr = new Uint32Array([LINUX_CAPABILITY_VERSION_3, pid >>> 0]);
  const d = new Uint32Array(6); // [eff0, perm0, inh0, eff1, perm1, inh1]
  const r: number = C.capget(hdr, d);
  if (r === -1) fail(errno(), "capget", [pid], s);
  const sets = {
    effective: join64(d[0]!, d[3]!),
    permitted: join64(d[1]!, d[4]!),
    inheritable: join64(d[2]!, d[5]!),
  };
  if (tracer !== null) {
    emit("capget", [pid], `{effective=${formatCapMask(sets.effective)}, permitted=${formatCapMask(sets.permitted)}, inheritable=${formatCapMask(sets.inheritable)}}`, s);
  }
  return sets;
}

/** capset(2) (version 3 header): set the calling thread's sets (glibc: this thread only). */
export function capset(sets: CapSets): void {
  const s = t0();
  const hdr = new Uint32Array([LINUX_CAPABILITY_VERSION_3, 0]);
  const d = new Uint32Array([
    lo32(sets.effective), lo32(sets.permitted), lo32(sets.inheritable),
    hi32(sets.effective), hi32(sets.permitted), hi32(sets.inheritable),
  ]);
  const r: number = C.capset(hdr, d);
  int("capset", r, en(r), [sets], s);
}

/** capget, replace the given sets, capset. */
export function capUpdate(change: Partial<CapSets>): void {
  capset({ ...capget(), ...change });
}

/** Mask with the given capabilities set: capMask([CAP_CHOWN, CAP_KILL]) -> 0x21n. */
export function capMask(caps: readonly number[]): bigint {
  let m = 0n;
  for (const c of caps) m |= 1n << BigInt(c);
  return m;
}

function join64(lo: number, hi: number): bigint {
  return (BigInt(hi) << 32n) | BigInt(lo);
}
function lo32(m: bigint): number {
  return Number(m & 0xffffffffn);
}
function hi32(m: bigint): number {
  return Number((m >> 32n) & 0xffffffffn);
}

// ---------------------------------------------------------------------------
// seccomp

/**
 * seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog): install a classic BPF program, given as
 * its raw `struct sock_filter` array (8 bytes per instruction, native endian). Needs
 * no_new_privs or CAP_SYS_ADMIN. Building the filter is the runtime's business.
 */
export function seccompSetFilter(filter: Uint8Array, flags = 0): void {
  const s = t0();
  if (filter.byteLength % 8 !== 0 || filter.byteLength === 0 || filter.byteLength / 8 > 0xffff) {
    fail(22 /* EINVAL */, "seccomp", [SECCOMP_SET_MODE_FILTER, flags, filter], s);
  }
  const prog = { len: filter.byteLength / 8, filter };
  const r = Number(C.syscall(sysno("seccomp"), "unsigned int", SECCOMP_SET_MODE_FILTER, "unsigned int", flags, sockFprogPtr(), prog));
  int("seccomp", r, en(r), [SECCOMP_SET_MODE_FILTER, flags, `{len=${prog.len}, filter=...}`], s);
}

// ---------------------------------------------------------------------------
// Starting processes without the JavaScript runtime, and signal state.
//
// After unshare(CLONE_NEWPID) a process may no longer create threads (the kernel
// refuses CLONE_THREAD while pid_ns_for_children differs from its own), so the
// runtime's own spawn machinery cannot be used there. posix_spawn(3) starts the
// child with clone(CLONE_VM|CLONE_VFORK): only libc code runs in the child, up to
// its execve.

/** A sigset_t (glibc: 1024 bits) with the given signals set; all 1..64 when `sigs` is "all". */
function sigset(sigs: readonly number[] | "all"): Uint8Array {
  const set = new Uint8Array(128);
  const list = sigs === "all" ? Array.from({ length: 64 }, (_, i) => i + 1) : sigs;
  for (const sig of list) set[(sig - 1) >> 3]! |= 1 << ((sig - 1) & 7);
  return set;
}

const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSIGDEF = 0x04;

/**
 * posix_spawn(3) with every signal reset to its default action and none blocked in
 * the child. Inherits the caller's file descriptors that are not close-on-exec.
 */
export function spawnProcess(path: string, argv: readonly string[], envp: readonly string[]): number {
  const args = [path, argv];
  const start = t0();
  const attr = new Uint8Array(512); // posix_spawnattr_t is 336 bytes in glibc
  C.posix_spawnattr_init(attr);
  try {
    C.posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    C.posix_spawnattr_setsigdefault(attr, sigset("all"));
    C.posix_spawnattr_setsigmask(attr, sigset([]));
    const pid = [0];
    const r = C.posix_spawn(pid, path, null, attr, [...argv, null], [...envp, null]) as number;
    if (r !== 0) fail(r, "posix_spawn", args, start);
    if (tracer !== null) emit("posix_spawn", args, pid[0]!, start);
    return pid[0]!;
  } finally {
    C.posix_spawnattr_destroy(attr);
  }
}

const SIG_BLOCK = 0;
const SIG_SETMASK = 2;

/** Block signals for the calling thread (they stay pending; not inherited across posix_spawn above). */
export function blockSignals(sigs: readonly number[]): void {
  const args = [sigs];
  const start = t0();
  const r = C.sigprocmask(SIG_BLOCK, sigset(sigs), null) as number;
  int("sigprocmask", r, en(r), args, start);
}

/** Unblock signals for the calling thread. */
export function unblockSignals(sigs: readonly number[]): void {
  const args = [sigs];
  const start = t0();
  const r = C.sigprocmask(1 /* SIG_UNBLOCK */, sigset(sigs), null) as number;
  int("sigprocmask", r, en(r), args, start);
}

/**
 * Reset every catchable signal to its default action and unblock all: what a
 * process should do right before execve of a program that must start clean
 * (handled signals are reset by execve anyway; ignored ones and the mask are not).
 */
export function resetSignals(): void {
  for (let sig = 1; sig <= 64; sig++) {
    if (sig === 9 || sig === 19 || sig === 32 || sig === 33) continue; // SIGKILL, SIGSTOP, glibc-internal
    C.signal(sig, null);
  }
  const r = C.sigprocmask(SIG_SETMASK, sigset([]), null) as number;
  int("sigprocmask", r, en(r), [[]], t0());
}

// ---------------------------------------------------------------------------
// Waiting on processes that are not our children.

/** pidfd_open(2): a file descriptor that becomes readable when process `pid` exits. */
export function pidfdOpen(pid: number): number {
  const s = t0();
  const r = Number(C.syscall(sysno("pidfd_open"), "int", pid, "unsigned int", 0));
  return int("pidfd_open", r, en(r), [pid], s);
}

const POLLIN = 0x001;

/**
 * poll(2) for readability: blocks until one of `fds` is readable (or hung up),
 * or `timeoutMs` passes (-1: no timeout). Returns the fds that are ready.
 */
export function pollReadable(fds: readonly number[], timeoutMs = -1): number[] {
  const s = t0();
  // struct pollfd { int fd; short events; short revents; }: 8 bytes each.
  const buf = new Int32Array(fds.length * 2);
  const halves = new Int16Array(buf.buffer);
  fds.forEach((fd, i) => {
    buf[i * 2] = fd;
    halves[i * 4 + 2] = POLLIN;
  });
  for (;;) {
    const r: number = C.poll(buf, fds.length, timeoutMs);
    const err = en(r);
    if (r === -1 && err === 4 /* EINTR */) continue;
    int("poll", r, err, [fds, timeoutMs], s);
    return fds.filter((_, i) => halves[i * 4 + 3]! !== 0);
  }
}
