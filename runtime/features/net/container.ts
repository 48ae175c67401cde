// The container's end of a veth pair and its routes, performed by PID 1 in the
// container's network namespace: the peer ctr made there (host.ts) gets its address
// and IFF_UP; `net route` adds a route through the host end.

import type { AgentState } from "../../ops.ts";
import { addrRequest, cidrText, Rtnl, routeRequest, setLinkRequest, type Cidr } from "./rtnl.ts";
import { IFF_UP } from "./codec.ts";
import { table } from "../show/show.ts";

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

const IFF_LOOPBACK = 0x8;
const IFF_LOWER_UP = 0x10000;
const SCOPES: Record<number, string> = { 0: "global", 200: "site", 253: "link", 254: "host" };

/**
 * `show net`: the links, IPv4 addresses and main-table routes of PID 1's network
 * namespace, from one RTM_GETLINK, RTM_GETADDR and RTM_GETROUTE dump each. A veth's
 * end here says so; its other end is on the host (alias `ctr ID`) or on a bridge.
 */
export function showNet(st: AgentState): string[] {
  const rt = new Rtnl(st.sys);
  const links = rt.links();
  const name = (index: number | null): string => links.find((l) => l.index === index)?.name ?? (index === null ? "-" : `#${index}`);
  const rows: string[][] = [["index", "link", "state", "kind"]];
  for (const l of links) {
    const state = (l.flags & IFF_UP ? "UP" : "DOWN") + (l.flags & IFF_LOWER_UP ? ",LOWER_UP" : "");
    rows.push([String(l.index), l.name, state, l.flags & IFF_LOOPBACK ? "loopback" : l.kind ?? "-"]);
  }
  const addrs: string[][] = [["link", "address"], ...rt.addrs().map((a) => [name(a.index), `${a.address}/${a.prefix}`])];
  const routes: string[][] = [["destination", "via", "link", "scope"]];
  for (const r of rt.routes()) routes.push([r.dst, r.gateway ?? "-", name(r.oif), SCOPES[r.scope] ?? String(r.scope)]);
  const block = (title: string, rows: string[][]) => [title, ...(rows.length > 1 ? table(rows).trimEnd().split("\n").map((l) => `  ${l}`) : ["  (none)"])];
  return [
    ...block("links (RTM_GETLINK, PID 1's network namespace):", rows),
    ...block("addresses (RTM_GETADDR, IPv4):", addrs),
    ...block("routes (RTM_GETROUTE, main table):", routes),
  ];
}
