// native/netlink.ts — a netlink socket (netlink(7)): socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC,
// protocol), bind to a kernel-assigned port, one request sent and its answer received.
//
// No policy here: what the bytes mean (rtnetlink messages, NLM_F_ACK, NLMSG_ERROR) is the
// codec's, runtime/features/net/codec.ts. The socket lives for one exchange and acts in the
// network namespace of the calling thread at socket() time, so PID 1 calling this speaks to
// the container's namespace.
//
// NETLINK_EXT_ACK (setsockopt level SOL_NETLINK) asks the kernel to append its text
// explaining a refusal (NLMSGERR_ATTR_MSG) to the error message; kernels without it
// refuse the option, which is not an error for us (the answer then has no text).
//
// struct sockaddr_nl { sa_family_t nl_family; unsigned short nl_pad; __u32 nl_pid; __u32 nl_groups; }
// is 12 bytes; nl_pid 0 lets the kernel pick the port, nl_pid 0 in sendto means the kernel.

import { getKoffi, errno, type CFunction } from "./libc.ts";
import { bind, close, recv, send, socket } from "./fd.ts";
import { emit, fail, t0, tracer } from "./trace.ts";
import { AF_NETLINK, SOCK_CLOEXEC, SOCK_RAW } from "./constants.ts";

export const SOL_NETLINK = 270;
export const NETLINK_EXT_ACK = 11;

let setsockoptFn: CFunction | null = null;

/** setsockopt(2) with an int value. */
export function setsockoptInt(fd: number, level: number, name: number, value: number): void {
  const s = t0();
  setsockoptFn ??= getKoffi().load("libc.so.6").func("setsockopt", "int", ["int", "int", "int", "void *", "uint32_t"]) as CFunction;
  const v = new Int32Array([value]);
  const r: number = setsockoptFn(fd, level, name, v, 4);
  if (r === -1) fail(errno(), "setsockopt", [fd, level, name, value], s);
  if (tracer !== null) emit("setsockopt", [fd, level, name, value], r, s);
}

/** A 12-byte sockaddr_nl with nl_pid 0 (the kernel picks the port) and no groups. */
function sockaddrNl(): Uint8Array {
  const a = new Uint8Array(12);
  new DataView(a.buffer).setUint16(0, AF_NETLINK, true);
  return a;
}

/** A new netlink socket of `protocol`, extended acks asked for, bound, `request` sent on it. */
function openAndSend(protocol: number, request: Uint8Array): number {
  const fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  try {
    try {
      setsockoptInt(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1);
    } catch {
      // an older kernel: errors come without the kernel's text
    }
    bind(fd, sockaddrNl());
    send(fd, request);
    return fd;
  } catch (e) {
    close(fd);
    throw e;
  }
}

/**
 * One exchange on a new netlink socket of `protocol`: send `request` (one or more
 * messages in one datagram) and return the first datagram the kernel answers with.
 * A request with NLM_F_ACK and no dump is answered by one datagram.
 */
export function netlinkExchange(protocol: number, request: Uint8Array, answerSize = 65536): Uint8Array {
  const fd = openAndSend(protocol, request);
  try {
    const buf = new Uint8Array(answerSize);
    const n = recv(fd, buf);
    return buf.slice(0, n);
  } finally {
    close(fd);
  }
}

/**
 * A dump on a new netlink socket of `protocol`: send `request` (NLM_F_DUMP) and return
 * every datagram of the answer, joined, up to the one holding NLMSG_DONE (type 3) or an
 * NLMSG_ERROR (type 2). Messages are 4-byte aligned, so the joined bytes parse as one.
 */
export function netlinkDump(protocol: number, request: Uint8Array, answerSize = 65536): Uint8Array {
  const fd = openAndSend(protocol, request);
  try {
    const parts: Uint8Array[] = [];
    for (let done = false; !done; ) {
      const buf = new Uint8Array(answerSize);
      const n = recv(fd, buf);
      if (n <= 0) break;
      parts.push(buf.slice(0, n));
      const v = new DataView(buf.buffer, 0, n);
      for (let at = 0; at + 16 <= n; ) {
        const len = v.getUint32(at, true);
        const type = v.getUint16(at + 4, true);
        if (type === 2 || type === 3) done = true;
        if (len < 16) break;
        at += (len + 3) & ~3;
      }
    }
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  } finally {
    close(fd);
  }
}
