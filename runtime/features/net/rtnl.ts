// The rtnetlink requests of `net veth`, `net bridge` and `net route`, and a small client
// that sends them through the seam (native/seam.ts Sys.netlink, Sys.netlinkDump). The
// socket acts in the network namespace of the process that makes it: the host's for
// ctr itself, the container's for PID 1 (native/netlink.ts).
//
// Each request is one message of codec.ts and has an explain line naming its type,
// flags and attributes, as `ctr explain` prints them. With a trace function (`--trace`:
// PID 1's, set by the init stages; the host's, given by the session), each exchange is
// reported as one "rtnetlink" event: the request as sent and the kernel's answer, read
// back from their bytes (describe.ts). That event stands for the socket's own calls
// (socket, setsockopt, bind, send, recv, close: native/netlink.ts), which are not
// reported one by one.

import { getTrace, NETLINK_ROUTE, setTrace, SysError, type Sys, type TraceFn } from "../../../native/index.ts";
import { answerTrace, requestTrace } from "./describe.ts";
import {
  AF_INET, decode, encode, encodeAttrs, expectAck, IFA_ADDRESS, IFA_LOCAL, IFF_UP, ifaddrmsg, IFLA_IFALIAS, IFLA_IFNAME, IFLA_INFO_DATA, IFLA_INFO_KIND,
  IFLA_LINKINFO, IFLA_MASTER, IFLA_MTU, IFLA_NET_NS_PID, ifinfomsg, ipv4Attr, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NLMSG_ERROR,
  parseAttrs, parseError, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, RTA_DST, RTA_GATEWAY, RTM_DELLINK, RTM_GETADDR, RTM_GETLINK, RTM_GETROUTE, RTM_NEWADDR, RTM_NEWLINK,
  RTM_NEWROUTE, rtmsg, RTN_UNICAST, RTPROT_BOOT, strAttr, u32Attr, VETH_INFO_PEER, NLM_F_CAPPED, RTM_NAMES, type Attr, type Request,
} from "./codec.ts";

let seq = 1000;
const next = (): number => ++seq;
const CREATE = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;

/** An IPv4 address with its prefix length (lang/values.ts parseCidr). */
export interface Cidr {
  address: string;
  prefix: number;
}

export const cidrText = (c: Cidr): string => `${c.address}/${c.prefix}`;

/** The network of `c` as a 32-bit number, and its mask. */
export function network(c: Cidr): { net: number; mask: number } {
  const n = c.address.split(".").reduce((a, o) => ((a << 8) | Number(o)) >>> 0, 0);
  const mask = c.prefix === 0 ? 0 : (0xffffffff << (32 - c.prefix)) >>> 0;
  return { net: (n & mask) >>> 0, mask };
}

/** A veth pair: `host` here, its peer `peer` made directly in the network namespace of `pid`. */
export function vethRequest(host: string, peer: string, pid: number, mtu: number | null): Request {
  const mtuAttr = mtu === null ? [] : [u32Attr(IFLA_MTU, mtu)];
  // VETH_INFO_PEER holds an ifinfomsg and the peer's attributes (drivers/net/veth.c), not nested attributes.
  const peerInfo = new Uint8Array([...ifinfomsg({ index: 0, flags: 0, change: 0 }), ...encodeAttrs([strAttr(IFLA_IFNAME, peer), u32Attr(IFLA_NET_NS_PID, pid), ...mtuAttr])]);
  const linkinfo: Attr = { type: IFLA_LINKINFO, value: [strAttr(IFLA_INFO_KIND, "veth"), { type: IFLA_INFO_DATA, value: [{ type: VETH_INFO_PEER, value: peerInfo }] }] };
  return { type: RTM_NEWLINK, flags: CREATE, seq: next(), body: ifinfomsg({ index: 0, flags: 0, change: 0 }), attrs: [strAttr(IFLA_IFNAME, host), ...mtuAttr, linkinfo] };
}


/** A bridge `name` on the host. */
export function bridgeRequest(name: string): Request {
  return { type: RTM_NEWLINK, flags: CREATE, seq: next(), body: ifinfomsg({ index: 0, flags: 0, change: 0 }), attrs: [strAttr(IFLA_IFNAME, name), { type: IFLA_LINKINFO, value: [strAttr(IFLA_INFO_KIND, "bridge")] }] };
}


/** Changes to the link `name`: IFF_UP, its alias (ctr's ownership mark), its bridge. */
export function setLinkRequest(name: string, change: { up?: boolean; alias?: string; master?: number }): Request {
  const attrs = [strAttr(IFLA_IFNAME, name)];
  if (change.alias !== undefined) attrs.push(strAttr(IFLA_IFALIAS, change.alias));
  if (change.master !== undefined) attrs.push(u32Attr(IFLA_MASTER, change.master));
  const up = change.up === undefined ? {} : { flags: change.up ? IFF_UP : 0, change: IFF_UP };
  return { type: RTM_NEWLINK, flags: NLM_F_REQUEST | NLM_F_ACK, seq: next(), body: ifinfomsg({ index: 0, flags: 0, change: 0, ...up }), attrs };
}


export function delLinkRequest(name: string): Request {
  return { type: RTM_DELLINK, flags: NLM_F_REQUEST | NLM_F_ACK, seq: next(), body: ifinfomsg({ index: 0, flags: 0, change: 0 }), attrs: [strAttr(IFLA_IFNAME, name)] };
}

/** An IPv4 address on the link of index `index`. */
export function addrRequest(index: number, c: Cidr): Request {
  return {
    type: RTM_NEWADDR,
    flags: CREATE,
    seq: next(),
    body: ifaddrmsg({ family: AF_INET, prefixlen: c.prefix, index, scope: RT_SCOPE_UNIVERSE }),
    attrs: [ipv4Attr(IFA_LOCAL, c.address), ipv4Attr(IFA_ADDRESS, c.address)],
  };
}


/** A route in the main table: `dst` null for the default route. */
export function routeRequest(dst: Cidr | null, via: string): Request {
  const attrs = [ipv4Attr(RTA_GATEWAY, via)];
  if (dst) attrs.unshift(ipv4Attr(RTA_DST, dst.address));
  return {
    type: RTM_NEWROUTE,
    flags: CREATE,
    seq: next(),
    body: rtmsg({ family: AF_INET, dstLen: dst?.prefix ?? 0, table: RT_TABLE_MAIN, protocol: RTPROT_BOOT, scope: RT_SCOPE_UNIVERSE, type: RTN_UNICAST }),
    attrs,
  };
}

/** A link as RTM_GETLINK answers it. */
export interface LinkInfo {
  index: number;
  name: string;
  flags: number;
  master: number | null;
  alias: string | null;
  kind: string | null;
  /** A veth's peer (IFLA_LINK): its index, in another network namespace when `peerElsewhere`. */
  peer: number | null;
  peerElsewhere: boolean;
}

/** An IPv4 address as RTM_GETADDR answers it. */
export interface AddrInfo {
  index: number;
  address: string;
  prefix: number;
}

/** A route of the main table as RTM_GETROUTE answers it. */
export interface RouteInfo {
  dst: string;
  gateway: string | null;
  oif: number | null;
  scope: number;
}

const str = (b: Uint8Array): string => new TextDecoder().decode(b).replace(/\0.*$/s, "");
const ipv4 = (b: Uint8Array): string => [...b.subarray(0, 4)].join(".");
const u32 = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);

function parseLink(payload: Uint8Array): LinkInfo {
  const v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const link: LinkInfo = { index: v.getInt32(4, true), flags: v.getUint32(8, true), name: "", master: null, alias: null, kind: null, peer: null, peerElsewhere: false };
  for (const a of parseAttrs(payload.subarray(16))) {
    if (a.type === IFLA_IFNAME) link.name = str(a.value);
    else if (a.type === 5) link.peer = u32(a.value); // IFLA_LINK
    else if (a.type === 37) link.peerElsewhere = true; // IFLA_LINK_NETNSID: the peer's namespace, as this one numbers it
    else if (a.type === IFLA_MASTER) link.master = u32(a.value);
    else if (a.type === IFLA_IFALIAS) link.alias = str(a.value);
    else if (a.type === IFLA_LINKINFO) for (const i of parseAttrs(a.value)) if (i.type === IFLA_INFO_KIND) link.kind = str(i.value);
  }
  return link;
}

/** rtnetlink through `sys`, in the network namespace of the calling process. */
export class Rtnl {
  /** `trace`: where exchanges are reported; without one, the native layer's trace function if set. */
  constructor(
    readonly sys: Sys,
    private readonly trace: TraceFn | null = null,
  ) {}

  /** One request and the kernel's answer (every datagram of it for a dump), reported when tracing. */
  exchange(req: Request, dump = false): Uint8Array {
    const bytes = encode(req);
    const send = () => (dump ? this.sys.netlinkDump(NETLINK_ROUTE, bytes) : this.sys.netlink(NETLINK_ROUTE, bytes));
    const report = this.trace ?? getTrace();
    if (!report) return send();
    const outer = getTrace();
    setTrace(null); // the socket's own calls are reported as this exchange
    const start = performance.now();
    let answer: Uint8Array;
    try {
      answer = send();
    } catch (e) {
      setTrace(outer);
      const code = e instanceof SysError ? e.code : undefined;
      emitTrace(report, { syscall: "rtnetlink", args: [requestTrace(bytes)], result: `-1 ${code ?? ""} (${(e as Error).message})`, ms: performance.now() - start, ...(code ? { errno: code } : {}) });
      throw e;
    }
    setTrace(outer);
    const a = answerTrace(answer, req.seq);
    emitTrace(report, { syscall: "rtnetlink", args: [requestTrace(bytes)], result: a.text, ms: performance.now() - start, ...(a.errno ? { errno: a.errno } : {}) });
    return answer;
  }

  /** Send `req`; the kernel's refusal is thrown as the project's error (what: the object, "veth0"). */
  ack(req: Request, what: string): void {
    expectAck(this.exchange(req), req, what);
  }

  /** The link called `name`, or null when there is none (ENODEV). */
  link(name: string): LinkInfo | null {
    const req: Request = { type: RTM_GETLINK, flags: NLM_F_REQUEST, seq: next(), body: ifinfomsg({ index: 0, flags: 0, change: 0 }), attrs: [strAttr(IFLA_IFNAME, name)] };
    const answer = this.exchange(req);
    for (const m of decode(answer)) {
      if (m.type === RTM_NEWLINK) return parseLink(m.payload);
      if (m.type === NLMSG_ERROR) {
        const e = parseError(m);
        if (e.errno === 19) return null; // ENODEV
        expectAck(answer, req, name);
      }
    }
    return null;
  }

  /** The index of `name`; refused with the kernel's ENODEV when there is no such link. */
  index(name: string): number {
    const l = this.link(name);
    if (!l) throw new SysError({ errno: 19, syscall: "rtnetlink", args: ["RTM_GETLINK", name], message: `rtnetlink RTM_GETLINK ${name}: ENODEV (no such device)` });
    return l.index;
  }

  private dump(type: number, body: Uint8Array): Uint8Array[] {
    const req: Request = { type, flags: NLM_F_REQUEST | NLM_F_DUMP, seq: next(), body, attrs: [] };
    const out: Uint8Array[] = [];
    const answer = this.exchange(req, true);
    for (const m of decode(answer)) {
      if (m.type === NLMSG_ERROR && parseError(m).errno !== 0) expectAck(answer, req, "dump");
      if (m.type === type - 2) out.push(m.payload); // RTM_GETx is answered with RTM_NEWx
    }
    return out;
  }

  links(): LinkInfo[] {
    return this.dump(RTM_GETLINK, ifinfomsg({ index: 0, flags: 0, change: 0 })).map(parseLink);
  }

  addrs(): AddrInfo[] {
    return this.dump(RTM_GETADDR, ifaddrmsg({ family: AF_INET, prefixlen: 0, index: 0 })).map((p) => {
      const a: AddrInfo = { index: new DataView(p.buffer, p.byteOffset).getUint32(4, true), prefix: p[1]!, address: "" };
      for (const at of parseAttrs(p.subarray(8))) if (at.type === IFA_LOCAL || (at.type === IFA_ADDRESS && !a.address)) a.address = ipv4(at.value);
      return a;
    });
  }

  routes(): RouteInfo[] {
    const out: RouteInfo[] = [];
    for (const p of this.dump(RTM_GETROUTE, rtmsg({ family: AF_INET, dstLen: 0, table: 0, protocol: 0, scope: 0, type: 0 }))) {
      if (p[4] !== RT_TABLE_MAIN) continue;
      const r: RouteInfo = { dst: p[1] === 0 ? "default" : "", gateway: null, oif: null, scope: p[6]! };
      for (const at of parseAttrs(p.subarray(12))) {
        if (at.type === RTA_DST) r.dst = `${ipv4(at.value)}/${p[1]}`;
        else if (at.type === RTA_GATEWAY) r.gateway = ipv4(at.value);
        else if (at.type === 4) r.oif = u32(at.value); // RTA_OIF
      }
      out.push(r);
    }
    return out;
  }
}

/** A trace function must not change the outcome of the call it reports (native/trace.ts). */
function emitTrace(fn: TraceFn, e: Parameters<TraceFn>[0]): void {
  try {
    fn(e);
  } catch {
    // a broken tracer is not the exchange's failure
  }
}

const named = (names: Record<number, string>, n: number): string => names[n] ?? String(n);
const ipText = (b: Uint8Array | undefined): string => (b ? [...b.subarray(0, 4)].join(".") : "?");

/**
 * `ctr explain`'s text of an rtnetlink request other than RTM_NEWLINK (link.ts writes
 * those), read back from its bytes (runtime/explain.ts): its type, the fixed part's
 * fields, its attributes and header flags. `linkName`: the name of a link index, when
 * the request before it looked the link up.
 */
export function requestText(bytes: Uint8Array, linkName?: (index: number) => string | undefined): string {
  const m = decode(bytes)[0];
  if (!m) return "netlink(empty request)";
  const v = new DataView(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength);
  const flags = [[NLM_F_REQUEST, "NLM_F_REQUEST"], [NLM_F_ACK, "NLM_F_ACK"], [NLM_F_CREATE, "NLM_F_CREATE"], [NLM_F_EXCL, "NLM_F_EXCL"]].filter(([b]) => m.flags & (b as number)).map(([, n]) => n).join("|");
  const family = (f: number) => (f === AF_INET ? "AF_INET" : String(f));
  let fields: string;
  if (m.type === RTM_NEWADDR) {
    const a = parseAttrs(m.payload.subarray(8));
    const index = v.getUint32(4, true);
    const name = linkName?.(index);
    fields = `family=${family(m.payload[0]!)} prefixlen=${m.payload[1]} index=${name ? `<index of ${name}>` : index} local=${ipText(a.find((x) => x.type === IFA_LOCAL)?.value)} address=${ipText(a.find((x) => x.type === IFA_ADDRESS)?.value)}`;
  } else if (m.type === RTM_NEWROUTE) {
    const a = parseAttrs(m.payload.subarray(12));
    const dst = a.find((x) => x.type === RTA_DST)?.value;
    const p = m.payload;
    fields = `family=${family(p[0]!)} dst=${dst ? ipText(dst) : "0.0.0.0"}/${p[1]} gateway=${ipText(a.find((x) => x.type === RTA_GATEWAY)?.value)} table=${named({ [RT_TABLE_MAIN]: "RT_TABLE_MAIN" }, p[4]!)} protocol=${named({ [RTPROT_BOOT]: "RTPROT_BOOT" }, p[5]!)} scope=${named({ [RT_SCOPE_UNIVERSE]: "RT_SCOPE_UNIVERSE" }, p[6]!)} type=${named({ [RTN_UNICAST]: "RTN_UNICAST" }, p[7]!)}`;
  } else {
    const name = parseAttrs(m.payload.subarray(16)).find((x) => x.type === IFLA_IFNAME);
    fields = name ? `ifname=${JSON.stringify(new TextDecoder().decode(name.value).replace(/\0+$/, ""))}` : "";
  }
  return `${RTM_NAMES[m.type] ?? m.type}${fields ? ` ${fields}` : ""} (${flags})`;
}

/** The link an RTM_NEWLINK answer describes (an RTM_GETLINK's answer), if it is one. */
export function answeredLink(answer: unknown): { index: number; name: string } | null {
  if (!(answer instanceof Uint8Array)) return null;
  const m = decode(answer)[0];
  if (!m || m.type !== RTM_NEWLINK) return null;
  const l = parseLink(m.payload);
  return { index: l.index, name: l.name };
}

/**
 * What the kernel answers `request` with when a link of every name exists, with index
 * `index`: RTM_GETLINK gets the link's RTM_NEWLINK, anything else a plain ack. For
 * `ctr explain`'s recorder (runtime/explain.ts), where a container's links are not known.
 */
export function answerAsIfLinked(request: Uint8Array, index: number): Uint8Array {
  const m = decode(request)[0];
  if (m && m.type === RTM_GETLINK) {
    const name = parseAttrs(m.payload.subarray(16)).find((a) => a.type === IFLA_IFNAME);
    return encode({ type: RTM_NEWLINK, flags: 0, seq: m.seq, body: ifinfomsg({ index, flags: 0, change: 0 }), attrs: name ? [{ type: IFLA_IFNAME, value: name.value }] : [] });
  }
  const body = new Uint8Array(20);
  body.set(request.subarray(0, 16), 4);
  return encode({ type: NLMSG_ERROR, flags: NLM_F_CAPPED, seq: m?.seq ?? 0, body, attrs: [] });
}

