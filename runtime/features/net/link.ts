// Links of the container's network namespace: `net lo up|down`.
//
// A new network namespace has one link, the loopback "lo", and it is down: nothing
// answers on 127.0.0.1 until it is brought up. PID 1 lives in the container's network
// namespace, so its NETLINK_ROUTE socket speaks to that namespace's links. One
// RTM_NEWLINK with NLM_F_REQUEST|NLM_F_ACK changes the link's flags: ifi_change says
// which flags to change (IFF_UP), ifi_flags their new values; ifi_index 0 with
// IFLA_IFNAME lets the kernel find the link by its name. The kernel answers with an
// NLMSG_ERROR, error 0 for done (codec.ts).

import type { AgentState } from "../../ops.ts";
import type { ExplainNotes } from "../../explain.ts";
import { decode, IFF_UP, ifinfomsg, IFLA_IFALIAS, IFLA_IFNAME, IFLA_INFO_DATA, IFLA_INFO_KIND, IFLA_LINKINFO, IFLA_MASTER, IFLA_MTU, IFLA_NET_NS_PID, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, parseAttrs, type Request, RTM_NAMES, RTM_NEWLINK, strAttr, VETH_INFO_PEER } from "./codec.ts";
import { Rtnl, requestText } from "./rtnl.ts";

let seq = 0;

/** The RTM_NEWLINK that sets or clears IFF_UP on the link called `name`. */
export function linkUpRequest(name: string, up: boolean, sequence = ++seq): Request {
  return {
    type: RTM_NEWLINK,
    flags: NLM_F_REQUEST | NLM_F_ACK,
    seq: sequence,
    body: ifinfomsg({ index: 0, flags: up ? IFF_UP : 0, change: IFF_UP }),
    attrs: [strAttr(IFLA_IFNAME, name)],
  };
}

/** `ctr explain`'s line for a netlink call (runtime/explain.ts): the link request it sends, read back from its bytes. */
export function NETLINK_TEXT(args: readonly unknown[], linkName?: (index: number) => string | undefined): string {
  const m = decode(args[1] as Uint8Array)[0];
  if (!m) return "netlink(empty request)";
  if (m.type !== RTM_NEWLINK) return requestText(args[1] as Uint8Array, linkName);
  const v = new DataView(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength);
  const bits = (n: number) => (n & IFF_UP ? "IFF_UP" : String(n));
  const attrs = parseAttrs(m.payload.subarray(16));
  const text = (type: number, from = attrs) => {
    const a = from.find((x) => x.type === type);
    return a ? JSON.stringify(new TextDecoder().decode(a.value).replace(/\0+$/, "")) : null;
  };
  const u32 = (type: number, from = attrs) => {
    const a = from.find((x) => x.type === type);
    return a ? new DataView(a.value.buffer, a.value.byteOffset).getUint32(0, true) : null;
  };
  const flags = [[NLM_F_REQUEST, "NLM_F_REQUEST"], [NLM_F_ACK, "NLM_F_ACK"], [NLM_F_CREATE, "NLM_F_CREATE"], [NLM_F_EXCL, "NLM_F_EXCL"]].filter(([b]) => m.flags & (b as number)).map(([, n]) => n).join("|");
  const change = v.getUint32(12, true);
  const parts = [`ifname=${text(IFLA_IFNAME) ?? "?"}`];
  if (change !== 0) parts.push(`flags=${bits(v.getUint32(8, true))} change=${bits(change)}`);
  const mtu = u32(IFLA_MTU);
  if (mtu !== null) parts.push(`mtu=${mtu}`);
  const alias = text(IFLA_IFALIAS);
  if (alias !== null) parts.push(`ifalias=${alias}`);
  const master = u32(IFLA_MASTER);
  if (master !== null) parts.push(`master=${linkName?.(master) ? `<index of ${linkName(master)}>` : master}`);
  // The link's kind, and a veth's peer (an ifinfomsg, then its attributes: rtnl.ts vethRequest).
  const info = attrs.find((a) => a.type === IFLA_LINKINFO);
  if (info) {
    const inner = parseAttrs(info.value);
    parts.push(`kind=${(text(IFLA_INFO_KIND, inner) ?? "?").slice(1, -1)}`);
    const peer = parseAttrs(inner.find((a) => a.type === IFLA_INFO_DATA)?.value ?? new Uint8Array()).find((a) => a.type === VETH_INFO_PEER);
    if (peer) {
      const p = parseAttrs(peer.value.subarray(16));
      const pm = u32(IFLA_MTU, p);
      parts.push(`peer={ifname=${text(IFLA_IFNAME, p) ?? "?"}${pm !== null ? ` mtu=${pm}` : ""} net_ns_pid=${u32(IFLA_NET_NS_PID, p)}}`);
    }
  }
  return `${RTM_NAMES[m.type] ?? m.type} ${parts.join(" ")} (${flags})`;
}

/** `ctr explain`'s comment on the request. */
export function linkNotes(): ExplainNotes {
  return { calls: { netlink: "on a NETLINK_ROUTE socket of the container's network namespace" } };
}

export function setLinkUp(st: AgentState, name: string, up: boolean): void {
  new Rtnl(st.sys).ack(linkUpRequest(name, up), name);
}
