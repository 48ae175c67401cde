// The rtnetlink message codec (netlink(7), rtnetlink(7)): requests PID 1 sends on a
// NETLINK_ROUTE socket and the kernel's answers, as bytes. No socket here (native/netlink.ts).
//
// Layouts (host byte order, little-endian on x86_64 and aarch64), each aligned to 4 bytes:
//   struct nlmsghdr  { u32 nlmsg_len; u16 nlmsg_type; u16 nlmsg_flags; u32 nlmsg_seq; u32 nlmsg_pid; }   16
//   struct ifinfomsg { u8 ifi_family; u8 pad; u16 ifi_type; s32 ifi_index; u32 ifi_flags; u32 ifi_change; } 16
//   struct ifaddrmsg { u8 ifa_family; u8 ifa_prefixlen; u8 ifa_flags; u8 ifa_scope; u32 ifa_index; }       8
//   struct rtmsg     { u8 family, dst_len, src_len, tos, table, protocol, scope, type; u32 rtm_flags; }  12
//   struct rtattr    { u16 rta_len; u16 rta_type; } then the payload, padded to 4; a nested
//                    attribute's payload is attributes (NLA_F_NESTED set in rta_type).
//   struct nlmsgerr  { s32 error; struct nlmsghdr msg; } then, without NLM_F_CAPPED, the rest of
//                    the request; with NLM_F_ACK_TLVS, attributes (NLMSGERR_ATTR_MSG: the text).
// rta_len counts an attribute's header and payload, not the padding after it; nlmsg_len and a
// nested attribute's rta_len count the attributes inside with their padding.
// An answer's error 0 is the acknowledgement NLM_F_ACK asked for; -errno is a refusal.

import { SysError, errnoName, strerror } from "../../../native/index.ts";

export const NLMSG_HDRLEN = 16;
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLM_F_REQUEST = 0x1;
export const NLM_F_ACK = 0x4;
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;
export const NLMSGERR_ATTR_MSG = 1;
export const NLA_F_NESTED = 0x8000;
export const NLA_TYPE_MASK = 0x3fff;

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_NEWROUTE = 24;
export const RTM_GETADDR = 22;
export const RTM_GETROUTE = 26;
export const RTM_NAMES: Record<number, string> = { 16: "RTM_NEWLINK", 17: "RTM_DELLINK", 18: "RTM_GETLINK", 20: "RTM_NEWADDR", 22: "RTM_GETADDR", 24: "RTM_NEWROUTE", 26: "RTM_GETROUTE" };

export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;

export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_MASTER = 10;
export const IFLA_LINKINFO = 18;
export const IFLA_NET_NS_PID = 19;
export const IFLA_IFALIAS = 20;
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const VETH_INFO_PEER = 1;
export const IFF_UP = 0x1;

export const AF_INET = 2;
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_LABEL = 3;
export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RT_TABLE_MAIN = 254;
export const RTPROT_BOOT = 3;
export const RT_SCOPE_UNIVERSE = 0;
export const RTN_UNICAST = 1;

export const align4 = (n: number): number => (n + 3) & ~3;

/** One attribute: a type and either bytes or nested attributes. */
export interface Attr {
  type: number;
  value: Uint8Array | Attr[];
}

/** An attribute holding a NUL-terminated string (IFLA_IFNAME). */
export function strAttr(type: number, s: string): Attr {
  const b = new TextEncoder().encode(s);
  const v = new Uint8Array(b.length + 1);
  v.set(b);
  return { type, value: v };
}

/** An attribute holding a u32 in host order. */
export function u32Attr(type: number, n: number): Attr {
  const v = new Uint8Array(4);
  new DataView(v.buffer).setUint32(0, n, true);
  return { type, value: v };
}

function attrsLength(attrs: readonly Attr[]): number {
  return attrs.reduce((n, a) => n + align4(attrLength(a)), 0);
}

function attrLength(a: Attr): number {
  return 4 + (a.value instanceof Uint8Array ? a.value.length : attrsLength(a.value));
}

/** Attributes alone, as bytes (the payload of VETH_INFO_PEER: an ifinfomsg, then these). */
export function encodeAttrs(attrs: readonly Attr[]): Uint8Array {
  const out = new Uint8Array(attrsLength(attrs));
  putAttrs(out, 0, attrs);
  return out;
}

/** An attribute holding an IPv4 address (network byte order). */
export function ipv4Attr(type: number, address: string): Attr {
  return { type, value: Uint8Array.from(address.split(".").map(Number)) };
}

/** Writes `attrs` at `at`; returns the offset after them. */
function putAttrs(out: Uint8Array, at: number, attrs: readonly Attr[]): number {
  const v = new DataView(out.buffer, out.byteOffset);
  for (const a of attrs) {
    const len = attrLength(a);
    v.setUint16(at, len, true);
    if (a.value instanceof Uint8Array) {
      v.setUint16(at + 2, a.type, true);
      out.set(a.value, at + 4);
    } else {
      v.setUint16(at + 2, a.type | NLA_F_NESTED, true);
      putAttrs(out, at + 4, a.value);
    }
    at += align4(len);
  }
  return at;
}

/** Attributes from `bytes` (nested ones stay bytes: parse them with parseAttrs again). */
export function parseAttrs(bytes: Uint8Array): { type: number; nested: boolean; value: Uint8Array }[] {
  const out: { type: number; nested: boolean; value: Uint8Array }[] = [];
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at + 4 <= bytes.length) {
    const len = v.getUint16(at, true);
    const type = v.getUint16(at + 2, true);
    if (len < 4 || at + len > bytes.length) throw codecError(`attribute of length ${len} at byte ${at} overruns its message`);
    out.push({ type: type & NLA_TYPE_MASK, nested: (type & NLA_F_NESTED) !== 0, value: bytes.subarray(at + 4, at + len) });
    at += align4(len);
  }
  return out;
}

/** struct ifinfomsg. */
export interface IfInfo {
  family?: number;
  type?: number;
  index: number;
  flags: number;
  change: number;
}

export function ifinfomsg(m: IfInfo): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  b[0] = m.family ?? 0;
  v.setUint16(2, m.type ?? 0, true);
  v.setInt32(4, m.index, true);
  v.setUint32(8, m.flags, true);
  v.setUint32(12, m.change, true);
  return b;
}

/** struct ifaddrmsg. */
export function ifaddrmsg(m: { family: number; prefixlen: number; flags?: number; scope?: number; index: number }): Uint8Array {
  const b = new Uint8Array(8);
  b[0] = m.family;
  b[1] = m.prefixlen;
  b[2] = m.flags ?? 0;
  b[3] = m.scope ?? 0;
  new DataView(b.buffer).setUint32(4, m.index, true);
  return b;
}

/** struct rtmsg. */
export function rtmsg(m: { family: number; dstLen: number; srcLen?: number; tos?: number; table: number; protocol: number; scope: number; type: number; flags?: number }): Uint8Array {
  const b = new Uint8Array(12);
  b.set([m.family, m.dstLen, m.srcLen ?? 0, m.tos ?? 0, m.table, m.protocol, m.scope, m.type]);
  new DataView(b.buffer).setUint32(8, m.flags ?? 0, true);
  return b;
}

/** A request message: header, the fixed part of its type (ifinfomsg...), attributes. */
export interface Request {
  type: number;
  flags: number;
  seq: number;
  body: Uint8Array;
  attrs: readonly Attr[];
}

/** The bytes of one netlink message (nlmsg_pid 0: the kernel fills in the sender's port). */
export function encode(r: Request): Uint8Array {
  const bodyEnd = NLMSG_HDRLEN + align4(r.body.length);
  const len = bodyEnd + attrsLength(r.attrs);
  const out = new Uint8Array(len);
  const v = new DataView(out.buffer);
  v.setUint32(0, len, true);
  v.setUint16(4, r.type, true);
  v.setUint16(6, r.flags, true);
  v.setUint32(8, r.seq, true);
  v.setUint32(12, 0, true);
  out.set(r.body, NLMSG_HDRLEN);
  putAttrs(out, bodyEnd, r.attrs);
  return out;
}

/** One message of an answer. */
export interface Message {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** The bytes after the header, up to nlmsg_len. */
  payload: Uint8Array;
}

/** The messages of one datagram. */
export function decode(bytes: Uint8Array): Message[] {
  const out: Message[] = [];
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at + NLMSG_HDRLEN <= bytes.length) {
    const len = v.getUint32(at, true);
    if (len < NLMSG_HDRLEN || at + len > bytes.length) throw codecError(`message of length ${len} at byte ${at} overruns the answer of ${bytes.length} bytes`);
    out.push({ type: v.getUint16(at + 4, true), flags: v.getUint16(at + 6, true), seq: v.getUint32(at + 8, true), pid: v.getUint32(at + 12, true), payload: bytes.subarray(at + NLMSG_HDRLEN, at + len) });
    at += align4(len);
  }
  return out;
}

/** What an NLMSG_ERROR says: errno (0 for an ack), the kernel's text if any. */
export interface NlError {
  errno: number;
  /** NLMSGERR_ATTR_MSG, the extended ack's explanation. */
  text: string | null;
  /** The type of the request it answers. */
  requestType: number;
}

export function parseError(m: Message): NlError {
  if (m.payload.length < 4 + NLMSG_HDRLEN) throw codecError(`NLMSG_ERROR of ${m.payload.length} bytes is shorter than struct nlmsgerr`);
  const v = new DataView(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength);
  const errno = -v.getInt32(0, true) | 0;
  const requestType = v.getUint16(4 + 4, true);
  let text: string | null = null;
  if (m.flags & NLM_F_ACK_TLVS) {
    // Without NLM_F_CAPPED the whole request is echoed before the attributes.
    const echoed = m.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : v.getUint32(4, true);
    for (const a of parseAttrs(m.payload.subarray(4 + align4(echoed)))) {
      if (a.type === NLMSGERR_ATTR_MSG) text = new TextDecoder().decode(a.value).replace(/\0.*$/s, "");
    }
  }
  return { errno, text, requestType };
}

/**
 * The answer to a request made with NLM_F_ACK: returns when the kernel acknowledged it,
 * throws the project's one error type when it refused (`what` names the object, "lo").
 */
export function expectAck(answer: Uint8Array, request: Request, what: string): void {
  const name = RTM_NAMES[request.type] ?? `type ${request.type}`;
  for (const m of decode(answer)) {
    if (m.type !== NLMSG_ERROR || m.seq !== request.seq) continue;
    const e = parseError(m);
    if (e.errno === 0) return;
    const code = errnoName(e.errno);
    throw new SysError({
      errno: e.errno,
      code,
      syscall: "rtnetlink",
      args: [name, what],
      message: `rtnetlink ${name} ${what}: ${code} (${strerror(e.errno)})${e.text ? `: ${e.text}` : ""}`,
    });
  }
  throw codecError(`no acknowledgement for ${name} ${what} in the kernel's answer of ${answer.length} bytes`);
}

function codecError(message: string): SysError {
  return new SysError({ syscall: "rtnetlink", message: `rtnetlink: ${message}` });
}
