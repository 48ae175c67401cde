// The container's end of a veth pair and its routes, performed by PID 1 in the
// container's network namespace: the peer ctr made there (host.ts) gets its address
// and IFF_UP; `net route` adds a route through the host end. `show net` is show.ts.

import type { AgentState } from "../../ops.ts";
import { addrRequest, cidrText, Rtnl, routeRequest, setLinkRequest, type Cidr } from "./rtnl.ts";

/** Address the link `name` with `cidr` and bring it up. */
export function addressLink(st: AgentState, name: string, cidr: Cidr): void {
  const rt = new Rtnl(st.sys);
  rt.ack(addrRequest(rt.index(name), cidr), `${name} ${cidrText(cidr)}`);
  rt.ack(setLinkRequest(name, { up: true }), name);
}

/** A route to `dst` (null: the default route) through the gateway `via`. */
export function addRoute(st: AgentState, dst: Cidr | null, via: string): void {
  new Rtnl(st.sys).ack(routeRequest(dst, via), dst ? cidrText(dst) : "default");
}
