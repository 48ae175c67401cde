// native/scm.ts — passing file descriptors over an AF_UNIX socket: sendmsg(2) and
// recvmsg(2) with one SCM_RIGHTS control message (unix(7), cmsg(3)).
//
// The kernel installs a new fd in the receiver for each fd sent, referring to the same
// open file (offset and status flags shared, as after dup). The fds travel with the
// data bytes they are sent with: on a stream socket, send at least one byte with them,
// and the receiver gets them with the read that returns that byte. If the receiver's
// control buffer is too small for all of them, the kernel closes the rest and sets
// MSG_CTRUNC (reported as `truncated`). At most SCM_MAX_FD (253) fds per message.
//
// Layout of the control buffer (LP64 and ILP32 alike, with W = sizeof(size_t)):
//   struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; } then the data,
//   each header aligned to W: CMSG_LEN(n) = hdr + n, CMSG_SPACE(n) = hdr + align(n).
// Conventions (errors, tracing, no retries on EINTR) are those of trace.ts.

import { getKoffi, errno, type CFunction } from "./libc.ts";
import { emit, fail, t0, tracer } from "./trace.ts";

export const SOL_SOCKET = 1;
export const SCM_RIGHTS = 1;
/** recvmsg flag: set FD_CLOEXEC on the received fds (the default of recvFds). */
export const MSG_CMSG_CLOEXEC = 0x40000000;
/** recvmsg result flag: some control data (fds) did not fit and was discarded. */
export const MSG_CTRUNC = 0x8;
/** sendmsg flag: a peer that closed its end is EPIPE, never SIGPIPE. */
export const MSG_NOSIGNAL = 0x4000;

interface Scm {
  sendmsg: CFunction;
  recvmsg: CFunction;
  /** sizeof(size_t), the alignment of control messages. */
  word: number;
}

let scm: Scm | null = null;

/** Declared on first use, like the functions of libc.ts. */
function calls(): Scm {
  if (scm !== null) return scm;
  const k = getKoffi();
  const lib = k.load("libc.so.6");
  const iovec = k.struct({ iov_base: "void *", iov_len: "size_t" });
  const msghdr = k.struct({
    msg_name: "void *",
    msg_namelen: "uint32_t",
    msg_iov: k.pointer(iovec),
    msg_iovlen: "size_t",
    msg_control: "void *",
    msg_controllen: "size_t",
    msg_flags: "int",
  });
  return (scm = {
    sendmsg: lib.func("sendmsg", "long", ["int", k.pointer(msghdr), "int"]) as CFunction,
    // In-out: the kernel writes back msg_controllen and msg_flags.
    recvmsg: lib.func("recvmsg", "long", ["int", k.inout(k.pointer(msghdr)), "int"]) as CFunction,
    word: k.sizeof("size_t"),
  });
}

const align = (n: number, w: number): number => (n + w - 1) & ~(w - 1);
/** Size of struct cmsghdr, aligned. */
const header = (w: number): number => align(w + 8, w);

function putSize(view: DataView, at: number, v: number, w: number): void {
  if (w === 8) view.setBigUint64(at, BigInt(v), true);
  else view.setUint32(at, v, true);
}

function getSize(view: DataView, at: number, w: number): number {
  return w === 8 ? Number(view.getBigUint64(at, true)) : view.getUint32(at, true);
}

interface MsgHdr {
  msg_name: null;
  msg_namelen: number;
  msg_iov: { iov_base: Uint8Array; iov_len: number }[];
  msg_iovlen: number;
  msg_control: Uint8Array | null;
  msg_controllen: number;
  msg_flags: number;
}

function msghdr(data: Uint8Array, control: Uint8Array | null): MsgHdr {
  return {
    msg_name: null,
    msg_namelen: 0,
    msg_iov: [{ iov_base: data, iov_len: data.byteLength }],
    msg_iovlen: 1,
    msg_control: control,
    msg_controllen: control?.byteLength ?? 0,
    msg_flags: 0,
  };
}

/** sendmsg(2): `data` with `fds` attached as one SCM_RIGHTS message (none: plain data). Bytes sent (may be short). */
export function sendFds(sock: number, data: Uint8Array, fds: readonly number[], flags = 0): number {
  const s = t0();
  const { sendmsg, word } = calls();
  let control: Uint8Array | null = null;
  if (fds.length > 0) {
    const hdr = header(word);
    control = new Uint8Array(hdr + align(4 * fds.length, word));
    const view = new DataView(control.buffer);
    putSize(view, 0, hdr + 4 * fds.length, word);
    view.setInt32(word, SOL_SOCKET, true);
    view.setInt32(word + 4, SCM_RIGHTS, true);
    fds.forEach((fd, i) => view.setInt32(hdr + 4 * i, fd, true));
  }
  const r = Number(sendmsg(sock, msghdr(data, control), flags));
  if (r === -1) fail(errno(), "sendmsg", [sock, data, fds, flags], s);
  if (tracer !== null) emit("sendmsg", [sock, data, fds, flags], r, s);
  return r;
}

/** What recvFds received. */
export interface Received {
  /** Bytes read into the buffer; 0 at end of stream. */
  bytes: number;
  /** The new fds, in the order sent. */
  fds: number[];
  /** MSG_CTRUNC: more fds were sent than `maxFds`; the kernel closed the others. */
  truncated: boolean;
}

/**
 * recvmsg(2) into `buf`, taking up to `maxFds` passed fds. `flags` defaults to
 * MSG_CMSG_CLOEXEC, so that the new fds are close-on-exec like every fd ctr opens.
 */
export function recvFds(sock: number, buf: Uint8Array, maxFds: number, flags = MSG_CMSG_CLOEXEC): Received {
  const s = t0();
  const { recvmsg, word } = calls();
  const hdr = header(word);
  // CMSG_LEN, not CMSG_SPACE: the kernel fills whatever fits, and the padding of
  // CMSG_SPACE would take one more fd than asked for when maxFds is odd.
  const control = maxFds > 0 ? new Uint8Array(hdr + 4 * maxFds) : null;
  const msg = msghdr(buf, control);
  const r = Number(recvmsg(sock, msg, flags));
  if (r === -1) fail(errno(), "recvmsg", [sock, buf.byteLength, maxFds, flags], s);
  const fds: number[] = [];
  if (control !== null) {
    const view = new DataView(control.buffer);
    const end = Math.min(msg.msg_controllen, control.byteLength);
    for (let at = 0; at + hdr <= end; ) {
      const len = getSize(view, at, word);
      if (len < hdr || at + len > end) break;
      if (view.getInt32(at + word, true) === SOL_SOCKET && view.getInt32(at + word + 4, true) === SCM_RIGHTS) {
        for (let i = at + hdr; i + 4 <= at + len; i += 4) fds.push(view.getInt32(i, true));
      }
      at += align(len, word);
    }
  }
  if (tracer !== null) emit("recvmsg", [sock, buf.subarray(0, r), maxFds, flags], fds.length ? `${r} [fds ${fds.join(", ")}]` : r, s);
  return { bytes: r, fds, truncated: (msg.msg_flags & MSG_CTRUNC) !== 0 };
}
