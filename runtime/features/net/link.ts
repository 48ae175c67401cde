// Links of the container's network namespace: `net lo up|down`.
//
// A new network namespace has one link, the loopback "lo", and it is down: nothing
// answers on 127.0.0.1 until it is brought up. PID 1 lives in the container's network
// namespace, so its NETLINK_ROUTE socket speaks to that namespace's links. One
// RTM_NEWLINK with NLM_F_REQUEST|NLM_F_ACK changes the link's flags: ifi_change says
// which flags to change (IFF_UP), ifi_flags their new values; ifi_index 0 with
// IFLA_IFNAME lets the kernel find the link by its name. The kernel answers with an
// NLMSG_ERROR, error 0 for done (codec.ts).

import { NETLINK_ROUTE } from "../../../native/index.ts";
import type { AgentState } from "../../ops.ts";
import { encode, expectAck, IFF_UP, IFLA_IFNAME, ifinfomsg, NLM_F_ACK, NLM_F_REQUEST, RTM_NEWLINK, strAttr, type Request } from "./codec.ts";

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

/** The explain line of linkUpRequest. */
export function explainLinkUp(name: string, up: boolean): string {
  return `RTM_NEWLINK ifname=${JSON.stringify(name)} flags=${up ? "IFF_UP" : "0"} change=IFF_UP (NLM_F_REQUEST|NLM_F_ACK, on a NETLINK_ROUTE socket of the container's network namespace)`;
}

export function setLinkUp(st: AgentState, name: string, up: boolean): void {
  const req = linkUpRequest(name, up);
  expectAck(st.sys.netlink(NETLINK_ROUTE, encode(req)), req, name);
}
