// native/fd.ts — file descriptors: open/close/dup, pipes and sockets, read/write, fcntl,
// flock, ioctl and the controlling terminal.
//
// An fd is an index into the process's file table; dup'd fds share one open file (offset,
// status flags) but FD_CLOEXEC is per fd. Every fd ctr opens should be close-on-exec
// unless it is meant for the next program. Conventions (errors, tracing) are in trace.ts.

import { AF_UNIX, FD_CLOEXEC, F_GETFD, F_SETFD, SOCK_CLOEXEC, SOCK_STREAM, TIOCSCTTY } from "./constants.ts";
import { formatOctal } from "./format.ts";
import { C, errno } from "./libc.ts";
import { emit, en, enc, fail, int, pushVarArg, t0, tracer, type VarArg } from "./trace.ts";

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

/** connect(2) with a raw socket address. */
export function connect(fd: number, addr: Uint8Array): void {
  const s = t0();
  const r: number = C.connect(fd, addr, addr.byteLength);
  int("connect", r, en(r), [fd, addr, addr.byteLength], s);
}

/** listen(2). */
export function listen(fd: number, backlog = 1): void {
  const s = t0();
  const r: number = C.listen(fd, backlog);
  int("listen", r, en(r), [fd, backlog], s);
}

/** accept4(2), the peer's address not asked for: the connected socket. */
export function accept(fd: number, flags = SOCK_CLOEXEC): number {
  const s = t0();
  const r: number = C.accept4(fd, null, null, flags);
  return int("accept4", r, en(r), [fd, flags], s);
}

/** A sockaddr_un for `path` (AF_UNIX, the path NUL-terminated; at most 107 bytes). */
export function unixAddress(path: string): Uint8Array {
  const bytes = new TextEncoder().encode(path);
  if (bytes.length > 107) fail(36, "connect", [path], 0); // ENAMETOOLONG: sun_path is 108 bytes with its NUL
  const addr = new Uint8Array(2 + bytes.length + 1);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
  addr.set(bytes, 2);
  return addr;
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

/**
 * flock(2): LOCK_SH or LOCK_EX, with LOCK_NB not to wait (EWOULDBLOCK then), or
 * LOCK_UN. The lock belongs to the open file: dup'd and inherited fds share it,
 * and it goes when the last of them is closed.
 */
export function flock(fd: number, operation: number): void {
  const s = t0();
  const r: number = C.flock(fd, operation);
  int("flock", r, en(r), [fd, operation], s);
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
// Terminals

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
