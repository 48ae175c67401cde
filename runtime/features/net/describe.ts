// `--trace`'s text of an rtnetlink exchange, read back from its bytes with the codec:
// the request as sent (message type, header flags, the fixed part's fields, every
// attribute, nested ones inside braces) and the kernel's answer (ACK; the refusal with
// its errno and the extended ack's text, NLMSGERR_ATTR_MSG; the object a RTM_GETLINK
// returns; a dump's messages up to NLMSG_DONE). Nothing is taken from what ctr meant to
// send: an attribute the codec does not name is written by its number and length.
//
// Header flags share bits by request kind (netlink(7)): 0x100 and 0x200 are NLM_F_ROOT and
// NLM_F_MATCH (together NLM_F_DUMP) on a RTM_GETx, NLM_F_REPLACE and NLM_F_EXCL on a RTM_NEWx.

import { errnoName, strerror } from "../../../native/index.ts";
import {
  AF_INET, decode, IFA_ADDRESS, IFA_LABEL, IFA_LOCAL, IFF_UP, IFLA_IFALIAS, IFLA_IFNAME, IFLA_INFO_DATA, IFLA_INFO_KIND, IFLA_LINKINFO, IFLA_MASTER, IFLA_MTU,
  IFLA_NET_NS_PID, NLM_F_ACK, NLM_F_CREATE, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, parseAttrs, parseError, RTA_DST, RTA_GATEWAY, RTA_OIF, RTM_NAMES, VETH_INFO_PEER,
  type Message,
} from "./codec.ts";

const IFF_NAMES: [number, string][] = [[IFF_UP, "IFF_UP"], [0x2, "IFF_BROADCAST"], [0x8, "IFF_LOOPBACK"], [0x40, "IFF_RUNNING"], [0x80, "IFF_NOARP"], [0x1000, "IFF_MULTICAST"], [0x10000, "IFF_LOWER_UP"]];
const IFLA_LINK = 5;
const IFLA_LINK_NETNSID = 37;

const dec = new TextDecoder();
const str = (b: Uint8Array): string => JSON.stringify(dec.decode(b).replace(/\0.*$/s, ""));
const ip = (b: Uint8Array): string => (b.length >= 4 ? [...b.subarray(0, 4)].join(".") : `<${b.length} bytes>`);
const u32 = (b: Uint8Array): number => (b.length >= 4 ? new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true) : -1);
const bits = (n: number): string => {
  if (n === 0) return "0";
  const names = IFF_NAMES.filter(([b]) => n & b).map(([, s]) => s);
  const rest = IFF_NAMES.reduce((r, [b]) => r & ~b, n) >>> 0;
  return [...names, ...(rest ? [`0x${rest.toString(16)}`] : [])].join("|");
};
const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

function headerFlags(type: number, flags: number): string {
  const get = type % 4 === 2; // RTM_GETLINK 18, RTM_GETADDR 22, RTM_GETROUTE 26
  const table: [number, string][] = [[NLM_F_REQUEST, "NLM_F_REQUEST"], [NLM_F_ACK, "NLM_F_ACK"]];
  if (get && (flags & 0x300) === 0x300) table.push([0x300, "NLM_F_DUMP"]);
  else if (get) table.push([0x100, "NLM_F_ROOT"], [0x200, "NLM_F_MATCH"]);
  else table.push([0x100, "NLM_F_REPLACE"], [NLM_F_CREATE, "NLM_F_CREATE"], [0x200, "NLM_F_EXCL"], [0x800, "NLM_F_APPEND"]);
  const names = table.filter(([b]) => (flags & b) === b).map(([, s]) => s);
  const rest = table.reduce((r, [b]) => r & ~b, flags);
  return [...names, ...(rest ? [`0x${rest.toString(16)}`] : [])].join("|") || "0";
}

/** A link's ifinfomsg fields (those set) and attributes: `ifname="eth0" kind=veth peer={...}`. */
function linkFields(body: Uint8Array): string[] {
  const v = view(body);
  const out: string[] = [];
  const index = v.getInt32(4, true);
  const flags = v.getUint32(8, true);
  const change = v.getUint32(12, true);
  if (index !== 0) out.push(`index=${index}`);
  if (flags !== 0 || change !== 0) out.push(`flags=${bits(flags)}`);
  if (change !== 0) out.push(`change=${bits(change)}`);
  for (const a of parseAttrs(body.subarray(16))) {
    if (a.type === IFLA_IFNAME) out.push(`ifname=${str(a.value)}`);
    else if (a.type === IFLA_MTU) out.push(`mtu=${u32(a.value)}`);
    else if (a.type === IFLA_MASTER) out.push(`master=${u32(a.value)}`);
    else if (a.type === IFLA_IFALIAS) out.push(`ifalias=${str(a.value)}`);
    else if (a.type === IFLA_NET_NS_PID) out.push(`net_ns_pid=${u32(a.value)}`);
    else if (a.type === IFLA_LINK) out.push(`link=${u32(a.value)}`);
    else if (a.type === IFLA_LINK_NETNSID) out.push(`link_netnsid=${new DataView(a.value.buffer, a.value.byteOffset, 4).getInt32(0, true)}`);
    else if (a.type === IFLA_LINKINFO) {
      for (const i of parseAttrs(a.value)) {
        if (i.type === IFLA_INFO_KIND) out.push(`kind=${dec.decode(i.value).replace(/\0.*$/s, "")}`);
        else if (i.type === IFLA_INFO_DATA) {
          for (const d of parseAttrs(i.value)) {
            // VETH_INFO_PEER: an ifinfomsg and the peer's attributes (drivers/net/veth.c); only a veth has it.
            if (d.type === VETH_INFO_PEER && d.value.length >= 16) out.push(`peer={${linkFields(d.value).join(" ")}}`);
          }
        }
      }
    }
  }
  return out;
}

function addrFields(body: Uint8Array): string[] {
  const out = [`family=${body[0] === AF_INET ? "AF_INET" : body[0]}`, `prefixlen=${body[1]}`];
  const index = view(body).getUint32(4, true);
  if (index !== 0) out.push(`index=${index}`);
  for (const a of parseAttrs(body.subarray(8))) {
    if (a.type === IFA_LOCAL) out.push(`local=${ip(a.value)}`);
    else if (a.type === IFA_ADDRESS) out.push(`address=${ip(a.value)}`);
    else if (a.type === IFA_LABEL) out.push(`label=${str(a.value)}`);
  }
  return out;
}

const TABLES: Record<number, string> = { 254: "RT_TABLE_MAIN", 255: "RT_TABLE_LOCAL" };
const PROTOCOLS: Record<number, string> = { 2: "RTPROT_KERNEL", 3: "RTPROT_BOOT" };
const SCOPES: Record<number, string> = { 0: "RT_SCOPE_UNIVERSE", 253: "RT_SCOPE_LINK", 254: "RT_SCOPE_HOST" };
const TYPES: Record<number, string> = { 1: "RTN_UNICAST", 2: "RTN_LOCAL", 3: "RTN_BROADCAST" };

function routeFields(body: Uint8Array, request: boolean): string[] {
  const attrs = parseAttrs(body.subarray(12));
  const dst = attrs.find((a) => a.type === RTA_DST);
  const out = [`family=${body[0] === AF_INET ? "AF_INET" : body[0]}`];
  if (request && body[1] === 0 && !dst && body[4] === 0) return out; // a dump's filter: nothing set
  out.push(`dst=${dst ? ip(dst.value) : "0.0.0.0"}/${body[1]}`);
  for (const a of attrs) {
    if (a.type === RTA_GATEWAY) out.push(`gateway=${ip(a.value)}`);
    else if (a.type === RTA_OIF) out.push(`oif=${u32(a.value)}`);
  }
  const name = (t: Record<number, string>, n: number) => t[n] ?? String(n);
  out.push(`table=${name(TABLES, body[4]!)}`, `protocol=${name(PROTOCOLS, body[5]!)}`, `scope=${name(SCOPES, body[6]!)}`, `type=${name(TYPES, body[7]!)}`);
  return out;
}

/** The fields of one message's body, by its type. */
function fields(m: Message, request: boolean): string[] {
  const group = Math.floor((m.type - 16) / 4); // 16..19 links, 20..23 addresses, 24..27 routes
  const minimum = [16, 8, 12][group];
  if (minimum === undefined || m.payload.length < minimum) return [`<${m.payload.length} bytes>`];
  if (group === 0) return linkFields(m.payload);
  if (group === 1) return addrFields(m.payload);
  return routeFields(m.payload, request);
}

/** The request as sent: `RTM_NEWLINK ifname="veth0" kind=veth peer={...} (NLM_F_REQUEST|NLM_F_ACK|...)`. */
export function requestTrace(bytes: Uint8Array): string {
  const m = decode(bytes)[0];
  if (!m) return "(empty request)";
  const f = fields(m, true).join(" ");
  return `${RTM_NAMES[m.type] ?? `type ${m.type}`}${f ? ` ${f}` : ""} (${headerFlags(m.type, m.flags)})`;
}

/** A short name for one object of a dump: the link's name, the address, the route. */
function summary(m: Message): string {
  const f = fields(m, false);
  const pick = (key: string) => f.find((x) => x.startsWith(`${key}=`))?.slice(key.length + 1);
  if (m.type === 16) return `${pick("index")}:${JSON.parse(pick("ifname") ?? '"?"')}`;
  if (m.type === 20) return `${pick("local") ?? pick("address")}/${pick("prefixlen")}@${pick("index")}`;
  const gw = pick("gateway");
  return `${pick("dst")}${gw ? ` via ${gw}` : ""}`;
}

const MAX_LISTED = 8;

/**
 * The kernel's answer to the request of sequence `seq`: `ACK`, `-1 EEXIST (file exists): TEXT`,
 * the object returned (`RTM_NEWLINK index=2 ifname="eth0" ...`), or a dump's count and objects.
 * `errno` is the refusal's name, for the trace event.
 */
export function answerTrace(answer: Uint8Array, seq: number): { text: string; errno?: string } {
  let messages: Message[];
  try {
    messages = decode(answer).filter((m) => m.seq === seq);
  } catch (e) {
    return { text: `(${(e as Error).message})` };
  }
  const objects = messages.filter((m) => m.type !== NLMSG_ERROR && m.type !== NLMSG_DONE);
  const err = messages.find((m) => m.type === NLMSG_ERROR);
  if (err) {
    const e = parseError(err);
    if (e.errno !== 0) {
      const code = errnoName(e.errno);
      return { text: `-1 ${code} (${strerror(e.errno)})${e.text ? `: ${e.text}` : ""}`, errno: code };
    }
    if (objects.length === 0) return { text: "ACK" };
  }
  const done = messages.some((m) => m.type === NLMSG_DONE);
  if (!done && objects.length === 1) return { text: `${RTM_NAMES[objects[0]!.type] ?? objects[0]!.type} ${fields(objects[0]!, false).join(" ")}` };
  if (objects.length === 0) return { text: done ? "NLMSG_DONE (nothing)" : "(no answer for this request)" };
  const type = RTM_NAMES[objects[0]!.type] ?? String(objects[0]!.type);
  const listed = objects.slice(0, MAX_LISTED).map(summary);
  const more = objects.length > MAX_LISTED ? `, +${objects.length - MAX_LISTED}` : "";
  return { text: `${objects.length} x ${type} [${listed.join(", ")}${more}]${done ? ", NLMSG_DONE" : ""}` };
}
