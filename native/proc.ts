// native/proc.ts — processes: exec, wait, signals, ids, sessions, spawning without threads.
//
// A process's credentials (uids, gids, groups) are per thread in the kernel; glibc's
// setuid/setgid/setgroups/setres*id apply them to every thread of the process. waitpid and
// waitid only see the caller's own children; pidfd_open + poll wait on any process.
// Conventions (errors, tracing) are in trace.ts.

import { O_RDWR, P_ALL, WEXITED, WNOHANG, WNOWAIT } from "./constants.ts";
import { SysError } from "./error.ts";
import { C, errno } from "./libc.ts";
import { emit, en, fail, int, now, sysno, t0, tracer } from "./trace.ts";

// ---------------------------------------------------------------------------
// exec, wait, ids, sessions

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
const POSIX_SPAWN_SETSID = 0x80; // glibc 2.26

/** What spawnProcess may do in the child before its execve. */
export interface SpawnOptions {
  /**
   * A terminal for the child (`ctr exec -t`): setsid(2) (glibc does it before the
   * file actions), then this path opened as fd 0 without O_NOCTTY, which makes it
   * the new session's controlling terminal (a session leader with none acquires
   * the first terminal it opens, as TIOCSCTTY would), and dup2'd to 1 and 2.
   */
  terminal?: string;
  /** dup2(from, to) in the child, after the terminal: the new descriptor is not close-on-exec, so the program gets it. */
  dup2?: readonly (readonly [from: number, to: number])[];
}

/**
 * posix_spawn(3) with every signal reset to its default action and none blocked in
 * the child. Inherits the caller's file descriptors that are not close-on-exec.
 */
export function spawnProcess(path: string, argv: readonly string[], envp: readonly string[], opts: SpawnOptions = {}): number {
  const args = [path, argv];
  const start = t0();
  const dup2 = opts.dup2 ?? [];
  const attr = new Uint8Array(512); // posix_spawnattr_t is 336 bytes in glibc
  const actions = opts.terminal === undefined && dup2.length === 0 ? null : new Uint8Array(256); // posix_spawn_file_actions_t is 80 bytes in glibc
  C.posix_spawnattr_init(attr);
  if (actions) C.posix_spawn_file_actions_init(actions);
  try {
    C.posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | (actions ? POSIX_SPAWN_SETSID : 0));
    C.posix_spawnattr_setsigdefault(attr, sigset("all"));
    C.posix_spawnattr_setsigmask(attr, sigset([]));
    if (opts.terminal !== undefined) {
      for (const r of [C.posix_spawn_file_actions_addopen(actions, 0, opts.terminal, O_RDWR, 0), C.posix_spawn_file_actions_adddup2(actions, 0, 1), C.posix_spawn_file_actions_adddup2(actions, 0, 2)] as number[]) {
        if (r !== 0) fail(r, "posix_spawn", args, start);
      }
    }
    for (const [from, to] of dup2) {
      const r = C.posix_spawn_file_actions_adddup2(actions, from, to) as number;
      if (r !== 0) fail(r, "posix_spawn_file_actions_adddup2", [from, to], start);
    }
    const pid = [0];
    const r = C.posix_spawn(pid, path, actions, attr, [...argv, null], [...envp, null]) as number;
    if (r !== 0) fail(r, "posix_spawn", args, start);
    if (tracer !== null) emit("posix_spawn", args, pid[0]!, start);
    return pid[0]!;
  } finally {
    C.posix_spawnattr_destroy(attr);
    if (actions) C.posix_spawn_file_actions_destroy(actions);
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
 * signalfd(2), close-on-exec: a descriptor that reads as readable while one of
 * `sigs` is pending (block them first: blockSignals); readSignal takes one.
 */
export function signalFd(sigs: readonly number[]): number {
  const args = [sigs];
  const start = t0();
  const r = C.signalfd(-1, sigset(sigs), 0x80000 /* SFD_CLOEXEC */) as number;
  return int("signalfd", r, en(r), args, start);
}

/** The number of the next signal queued on signalfd `fd` (its struct signalfd_siginfo starts with ssi_signo); blocks until there is one. */
export function readSignal(fd: number): number {
  const info = new Uint8Array(128);
  for (;;) {
    const start = t0();
    const r = Number(C.read(fd, info, info.length));
    const err = en(r);
    if (r === -1 && err === 4 /* EINTR */) continue;
    int("read", r, err, [fd], start);
    return new DataView(info.buffer).getUint32(0, true);
  }
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

/** pidfd_send_signal(2): signal the process `pidfd` refers to (never a later one with its PID). */
export function pidfdSendSignal(pidfd: number, sig: number): void {
  const s = t0();
  const r = Number(C.syscall(sysno("pidfd_send_signal"), "int", pidfd, "int", sig, "void *", null, "unsigned int", 0));
  int("pidfd_send_signal", r, en(r), [pidfd, sig], s);
}

const POLLIN = 0x001;
const POLLHUP = 0x010;
const POLLRDHUP = 0x2000;

/**
 * Whether the peer of socket `fd` has hung up (its last holder closed it or
 * died): poll(2) for POLLRDHUP with no wait, whatever is still queued to read.
 */
export function peerHungUp(fd: number): boolean {
  const s = t0();
  const buf = new Int32Array(2);
  const halves = new Int16Array(buf.buffer);
  buf[0] = fd;
  halves[2] = POLLRDHUP;
  for (;;) {
    const r: number = C.poll(buf, 1, 0);
    const err = en(r);
    if (r === -1 && err === 4 /* EINTR */) continue;
    int("poll", r, err, [[fd], 0], s);
    return (halves[3]! & (POLLRDHUP | POLLHUP)) !== 0;
  }
}

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
