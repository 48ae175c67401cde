// `show net` (chapter 10): the container's network next to the host's side of it, both
// read over rtnetlink, each labelled with the network namespace that holds it.
//
// A link belongs to exactly one network namespace; a socket's requests see only its
// own namespace's links. So the two halves are read by two processes: PID 1 dumps the
// container's links, addresses and main-table routes (showNet, in PID 1's namespace),
// ctr dumps the host's and keeps the links of this container (hostShow: the host ends
// carrying its alias "ctr ID", the bridges it uses and their ports, runtime/features/net/host.ts).
// A veth end names its peer by index (IFLA_LINK); with IFLA_LINK_NETNSID the peer is in
// another namespace, and that index is the other namespace's: the container's eth0 says
// "#41, another namespace" and the host's link 41 says "#2": each half shows where the
// other end is. The namespaces are told apart by their inode (readlink /proc/self/ns/net,
// as `show ns` and `ip netns identify` do).

import type { AgentState } from "../../ops.ts";
import { table } from "../show/show.ts";
import { IFF_UP } from "./codec.ts";
import { Rtnl, type AddrInfo, type LinkInfo } from "./rtnl.ts";

const IFF_LOOPBACK = 0x8;
const IFF_LOWER_UP = 0x10000;
const SCOPES: Record<number, string> = { 0: "global", 200: "site", 253: "link", 254: "host" };

const state = (l: LinkInfo): string => (l.flags & IFF_UP ? "UP" : "DOWN") + (l.flags & IFF_LOWER_UP ? ",LOWER_UP" : "");
const peer = (l: LinkInfo): string => (l.peer === null || l.peer === l.index ? "-" : `#${l.peer}${l.peerElsewhere ? ", another namespace" : ""}`);

function block(title: string, rows: string[][]): string[] {
  return [title, ...(rows.length > 1 ? table(rows).trimEnd().split("\n").map((l) => `  ${l}`) : ["  (none)"])];
}

function nameOf(links: readonly LinkInfo[]) {
  return (index: number | null): string => links.find((l) => l.index === index)?.name ?? (index === null ? "-" : `#${index}`);
}

function addrRows(addrs: readonly AddrInfo[], name: (i: number) => string): string[][] {
  return [["link", "address"], ...addrs.map((a) => [name(a.index), `${a.address}/${a.prefix}`])];
}

/** The inode of the caller's network namespace, as readlink shows it: "net:[4026531840]". */
export function netnsOf(readlink: (p: string) => string): string {
  try {
    return readlink("/proc/self/ns/net");
  } catch {
    return "net:[?] (/proc/self/ns/net unreadable)";
  }
}

/**
 * The container's half, by PID 1 in its network namespace: one RTM_GETLINK, RTM_GETADDR
 * and RTM_GETROUTE dump each.
 */
export function showNet(st: AgentState): string[] {
  const rt = new Rtnl(st.sys);
  const links = rt.links();
  const name = nameOf(links);
  const rows: string[][] = [["index", "link", "state", "kind", "peer"]];
  for (const l of links) rows.push([String(l.index), l.name, state(l), l.flags & IFF_LOOPBACK ? "loopback" : (l.kind ?? "-"), peer(l)]);
  const routes: string[][] = [["destination", "via", "link", "scope"]];
  for (const r of rt.routes()) routes.push([r.dst, r.gateway ?? "-", name(r.oif), SCOPES[r.scope] ?? String(r.scope)]);
  return [
    `container: PID 1's network namespace ${netnsOf((p) => st.sys.readlink(p))}`,
    ...block("links (RTM_GETLINK):", rows),
    ...block("addresses (RTM_GETADDR, IPv4):", addrRows(rt.addrs(), name)),
    ...block("routes (RTM_GETROUTE, main table):", routes),
  ];
}

/**
 * The host's half, by ctr in its own namespace: the links among `linkNames` and `bridges`
 * that exist (the host ends of this container's veths, the bridges they joined) and every
 * port of those bridges, with their addresses. Read-only: one RTM_GETLINK and one
 * RTM_GETADDR dump.
 */
export function hostShow(rt: Rtnl, hostNs: string, linkNames: readonly string[], bridges: readonly string[]): string[] {
  const all = rt.links();
  const bridgeIndexes = new Set(all.filter((l) => bridges.includes(l.name)).map((l) => l.index));
  const mine = all.filter((l) => linkNames.includes(l.name) || bridgeIndexes.has(l.index) || (l.master !== null && bridgeIndexes.has(l.master)));
  const name = nameOf(all);
  const rows: string[][] = [["index", "link", "state", "kind", "bridge", "peer", "alias"]];
  for (const l of mine) rows.push([String(l.index), l.name, state(l), l.kind ?? "-", l.master === null ? "-" : name(l.master), peer(l), l.alias ?? "-"]);
  const indexes = new Set(mine.map((l) => l.index));
  return [
    `host: ctr's network namespace ${hostNs}, this container's links there`,
    ...block("links (RTM_GETLINK):", rows),
    ...block("addresses (RTM_GETADDR, IPv4):", addrRows(rt.addrs().filter((a) => indexes.has(a.index)), name)),
  ];
}
