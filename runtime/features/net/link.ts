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
import { decode, IFF_UP, IFLA_IFNAME, ifinfomsg, NLM_F_ACK, NLM_F_REQUEST, parseAttrs, RTM_NAMES, RTM_NEWLINK, strAttr, type Request } from "./codec.ts";
import { requestText, Rtnl } from "./rtnl.ts";

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
  const name = parseAttrs(m.payload.subarray(16)).find((a) => a.type === IFLA_IFNAME);
  const ifname = name ? JSON.stringify(new TextDecoder().decode(name.value).replace(/\0+$/, "")) : "?";
  const flags = [m.flags & NLM_F_REQUEST ? "NLM_F_REQUEST" : "", m.flags & NLM_F_ACK ? "NLM_F_ACK" : ""].filter(Boolean).join("|");
  return `${RTM_NAMES[m.type] ?? m.type} ifname=${ifname} flags=${bits(v.getUint32(8, true))} change=${bits(v.getUint32(12, true))} (${flags})`;
}

/** `ctr explain`'s comment on the request. */
export function linkNotes(): ExplainNotes {
  return { calls: { netlink: "on a NETLINK_ROUTE socket of the container's network namespace" } };
}

export function setLinkUp(st: AgentState, name: string, up: boolean): void {
  new Rtnl(st.sys).ack(linkUpRequest(name, up), name);
}
