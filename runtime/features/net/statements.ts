// Networking: `net` (chapter 10). `net lo up|down` is performed by PID 1 over rtnetlink
// (link.ts, codec.ts). `net veth` and `net bridge` are a host-side step between stage 1's
// unshare and PID 1 (host.ts: the pair, its peer made in the container's namespace, the
// host end set up) and a PID 1 step for the container's end (container.ts); `net route`
// is PID 1's.
// Each statement is one registry entry (runtime/statement.ts): schema, checks, plan;
// runtime/registry.ts lists them.

import type { Arg, CheckContext, Command } from "../../../lang/spec.ts";
import { parseCidr, parseInt10 } from "../../../lang/index.ts";
import { bound, type PlannedOp } from "../../plan.ts";
import { defineStatement } from "../../statement.ts";
import { hostConflicts, overlaps, type HostLinkSpec } from "./host.ts";
import { cidrText, type Cidr } from "./rtnl.ts";

/** IFNAMSIZ is 16 with the terminating NUL. */
const IFNAME_MAX = 15;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** What the earlier `net` statements of a script (or REPL session) named: links and networks. */
interface Seen {
  names: Map<string, Arg>;
  nets: { cidr: Cidr; arg: Arg }[];
}
const seen = new WeakMap<CheckContext, Seen>();

function checkName(ctx: CheckContext, arg: Arg | undefined): void {
  if (!arg) return;
  if (new TextEncoder().encode(arg.text).length > IFNAME_MAX) ctx.error(arg.span, `interface name \`${arg.text}\` is longer than ${IFNAME_MAX} bytes`, "the kernel's IFNAMSIZ is 16 bytes with the terminating NUL");
  else if (!/^[^\s/:]+$/.test(arg.text) || arg.text === "." || arg.text === "..") ctx.error(arg.span, `\`${arg.text}\` is not a valid interface name`, "no spaces, `/` or `:`");
}

/** The veth and bridge forms: names and addresses, against each other and the statements before. */
function checkLink(cmd: Command, ctx: CheckContext): void {
  const b = bound(cmd);
  const o = b.options;
  checkName(ctx, o.host_name);
  if (b.form === "bridge") checkName(ctx, b.positional[0]);
  const s: Seen = seen.get(ctx) ?? { names: new Map(), nets: [] };
  seen.set(ctx, s);
  const peer = o.name?.text ?? "eth0";
  if (peer === "lo") ctx.error((o.name ?? cmd).span, "`lo` is the container's loopback: name the veth's end otherwise");
  else if (s.names.has(peer)) ctx.error((o.name ?? cmd).span, `a link named \`${peer}\` is made by an earlier \`net\` statement`, o.name ? "give each link its own name=" : "give this one name=, e.g. name=eth1");
  else s.names.set(peer, o.name ?? cmd);
  const hostName = o.host_name?.text;
  if (hostName !== undefined) {
    if (s.names.has(`host:${hostName}`)) ctx.error(o.host_name!.span, `a host link named \`${hostName}\` is made by an earlier \`net\` statement`);
    else if (s.names.has(`bridge:${hostName}`)) ctx.error(o.host_name!.span, `\`${hostName}\` is the bridge of an earlier \`net bridge\``, "give the host end another name");
    s.names.set(`host:${hostName}`, o.host_name!);
  }
  const bridgeName = b.form === "bridge" ? b.positional[0] : undefined;
  if (bridgeName) {
    if (s.names.has(`host:${bridgeName.text}`)) ctx.error(bridgeName.span, `\`${bridgeName.text}\` is the host end of an earlier \`net\` statement, not a bridge`, "name the bridge otherwise");
    s.names.set(`bridge:${bridgeName.text}`, bridgeName);
  }
  if (o.mtu) {
    const mtu = parseInt10(o.mtu.text);
    if (mtu === undefined || mtu < 68 || mtu > 65535) ctx.error(o.mtu.span, `mtu \`${o.mtu.text}\` is out of range`, "an IPv4 link's MTU is 68 to 65535");
  }
  const ctr = o.ctr && parseCidr(o.ctr.text);
  const other = b.form === "veth" ? o.host : o.addr;
  const host = other && parseCidr(other.text);
  if (ctr && host) {
    if (ctr.address === host.address) ctx.error(o.ctr!.span, `the container's address ${ctr.address} is the host end's too`);
    else if (!overlaps(ctr, host)) ctx.error(o.ctr!.span, `${cidrText(ctr)} and ${cidrText(host)} are not on one network`, "give both ends addresses of the same network, e.g. 169.254.1.1/30 and 169.254.1.2/30");
  }
  if (ctr && b.form === "veth") {
    const clash = s.nets.find((n) => overlaps(n.cidr, ctr));
    if (clash) ctx.error(o.ctr!.span, `${cidrText(ctr)} overlaps ${clash.arg.text} of an earlier \`net\` statement`, "each veth pair needs a network of its own");
    else s.nets.push({ cidr: ctr, arg: o.ctr! });
  }
  checkAgainstHost(cmd, ctx);
}

/** The host's links and addresses (read-only dumps, runtime/hostview.ts): what the link would collide with. */
function checkAgainstHost(cmd: Command, ctx: CheckContext): void {
  const host = ctx.host?.net?.();
  const b = bound(cmd);
  const o = b.options;
  const ctr = o.ctr && parseCidr(o.ctr.text);
  if (!host || !ctr) return;
  const cidr = (a: Arg | undefined) => (a && parseCidr(a.text)) || null;
  const bridge = b.form === "bridge" && b.positional[0] ? { name: b.positional[0].text, addr: cidr(o.addr) } : null;
  const link = { hostName: o.host_name?.text ?? null, host: b.form === "veth" ? cidr(o.host) : null, ctr, bridge };
  for (const c of hostConflicts(host, link)) ctx.error((c.part === "NAME" ? b.positional[0] : o[c.part])?.span ?? cmd.span, c.message, c.hint);
}

function checkRoute(cmd: Command, ctx: CheckContext): void {
  const b = bound(cmd);
  const dst = b.positional[0];
  if (dst && dst.text !== "default" && parseCidr(dst.text) === undefined) ctx.error(dst.span, `malformed destination \`${dst.text}\``, "`default` or a network with its prefix length: 169.254.2.0/24");
  const via = b.options.via;
  const m = via && IPV4.exec(via.text);
  if (via && (!m || m.slice(1).some((x) => Number(x) > 255))) ctx.error(via.span, `malformed gateway \`${via.text}\``, "an IPv4 address: 169.254.1.1");
}

const cidrOf = (a: Arg | undefined): Cidr | null => (a ? parseCidr(a.text)! : null);

function planLink(cmd: Command): PlannedOp[] {
  const b = bound(cmd);
  const o = b.options;
  const peer = o.name?.text ?? "eth0";
  const ctr = cidrOf(o.ctr)!;
  const bridge = b.form === "bridge" ? { name: b.positional[0]!.text, addr: cidrOf(o.addr) } : null;
  const link: HostLinkSpec = { hostName: o.host_name?.text ?? null, peer, host: b.form === "veth" ? cidrOf(o.host) : null, bridge, ctr, mtu: o.mtu ? parseInt10(o.mtu.text)! : null };
  return [
    { kind: "net-host", link, side: "host" },
    // net-addr's and net-route's explain lines are derived from container.ts's requests (runtime/explain.ts).
    { kind: "net-addr", name: peer, cidr: ctr, side: "pid1" },
  ];
}

export const netStatement = defineStatement({
  name: "net",
  summary: "Network: bring up loopback, connect the container to the host with a veth pair or a bridge, add routes.",
  syntax: "net lo up | net veth host=CIDR ctr=CIDR | net bridge NAME ctr=CIDR | net route default|CIDR via=IP",
  example: "net lo up",
  side: "host",
  plan: (cmd) => {
    const b = bound(cmd);
    if (b.form === "veth" || b.form === "bridge") return planLink(cmd);
    if (b.form === "route") {
      const t = b.positional[0]!.text;
      const dst = t === "default" ? null : parseCidr(t)!;
      const via = b.options.via!.text;
      return [{ kind: "net-route", dst, via, side: "pid1" }];
    }
    const up = b.args.STATE!.text === "up";
    return [{ kind: "link-up", name: "lo", up, side: "pid1" }];
  },
  requires: ["net"],
  affects: "the host's network",
  container: true,
  forms: {
    lo: {
      summary: "Bring the container's loopback interface up (or down).",
      syntax: "net lo up|down",
      example: "net lo up",
      side: "pid1",
      args: [{ name: "STATE", kind: { oneOf: ["up", "down"] } }],
    },
    veth: {
      summary: "A veth pair: one end on the host with address host=, the other (name=, eth0 by default) in the container with ctr=. Needs root.",
      syntax: "net veth host=CIDR ctr=CIDR [name=IFNAME] [host_name=IFNAME] [mtu=N]",
      example: "net veth host=169.254.1.1/30 ctr=169.254.1.2/30",
      options: { host: "cidr", ctr: "cidr", name: "word", host_name: "word", mtu: "int" },
      requiredOptions: ["host", "ctr"],
      check: checkLink,
    },
    bridge: {
      summary: "Attach the container to bridge NAME on the host through a veth pair (the bridge is created if missing, with address addr=, and removed when ctr's last container leaves it). Needs root.",
      syntax: "net bridge NAME ctr=CIDR [addr=CIDR] [name=IFNAME] [host_name=IFNAME] [mtu=N]",
      example: "net bridge ctr0 ctr=169.254.2.2/24 addr=169.254.2.1/24",
      args: [{ name: "NAME", kind: "word" }],
      options: { ctr: "cidr", addr: "cidr", name: "word", host_name: "word", mtu: "int" },
      requiredOptions: ["ctr"],
      check: checkLink,
    },
    route: {
      summary: "A route inside the container: to `default` or a network, through the gateway via=.",
      syntax: "net route default|CIDR via=IP",
      example: "net route default via=169.254.1.1",
      side: "pid1",
      args: [{ name: "DEST", kind: "word" }],
      options: { via: "word" },
      requiredOptions: ["via"],
      check: checkRoute,
    },
  },
  check: (cmd, ctx) => checkName(ctx, bound(cmd).options.name),
});
