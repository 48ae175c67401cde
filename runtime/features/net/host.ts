// The host's side of `net veth` and `net bridge` (chapter 10): what ctr makes in the
// host's network namespace, and how it finds and removes exactly that again.
//
// Between stage 1's unshare and PID 1 (runtime/session.ts, afterUnshare), ctr makes a
// veth pair whose peer is created directly in the container's network namespace
// (IFLA_NET_NS_PID = stage 1's pid, in the same RTM_NEWLINK), so there is no moment
// when both ends are on the host. The host end gets its address and IFF_UP here, or
// joins a bridge; PID 1 addresses and raises its own end (container.ts).
//
// Ownership, so that teardown removes only what ctr made, on every path:
//  * every link ctr makes carries an alias (IFLA_IFALIAS): "ctr ID" on a veth's host
//    end, "ctr bridge" on a bridge ctr created. A link without ctr's alias is never
//    removed: a bridge that existed before stays, whoever uses it.
//  * before anything is made, the container's state directory (runtime/statedir.ts)
//    gets a file `net` naming the host ends and bridges the container is to use. The
//    directory goes last, once all it names is gone (runtime/session.ts, teardown).
// At the end (teardown) the file is renamed `net.leaving` (the container no longer
// holds its bridges), the host end is deleted (the kernel frees a dead namespace's
// links asynchronously, later), and each bridge of ctr's is deleted once no link is
// attached to it and no living container's `net` file names it. Two containers
// leaving one bridge at once each rename, delete their end, then look at the other:
// whichever looks last sees the other's file renamed and its end gone, and deletes the
// bridge (checking first would let both see the other still there, and both keep it).
// A ctr killed outright (SIGKILL), at any moment, leaves its state directory and that
// file behind: the next ctr reads it and does the same (sweepStaleNet) before the
// directory is swept. Whoever else removes an ended container's directory in its
// place (a killed supervisor's: the record sweep and the shared monitor,
// runtime/features/lifecycle/) removes its links first (releaseNetOf), and a detached
// container with a host end is never handed to the monitor, which removes no links
// (lifecycle/adopt.ts). So no bridge of ctr's is left that no file names, and the
// sweep reads the host's links only for a file a killed ctr left: the start of every
// run looks at the state root alone. A bridge is made and marked in two requests (the
// kernel ignores IFLA_IFALIAS in the RTM_NEWLINK that creates a link): one killed
// between them stays, unmarked, as any bridge ctr did not make.
//
// Before anything is made (NetHost.check, and the checker through lang/spec.ts's
// HostView.net, runtime/hostview.ts), the host's links and addresses are read with one
// RTM_GETLINK and one RTM_GETADDR dump: a host end's name that is taken, a bridge name
// that is another kind of link, or an address the host has already is refused
// (hostConflicts).

import { readlinkSync, renameSync, writeFileSync } from "node:fs";
import { realFiles } from "../../../native/files.ts";
import type { HostNetView, Span } from "../../../lang/spec.ts";
import { realSys, SysError, type Sys, type TraceFn } from "../../../native/index.ts";
import type { Op } from "../../ops.ts";
import { stateRoot } from "../../paths.ts";
import { isRunning } from "../../statedir.ts";
import { hostShow, netnsOf } from "./show.ts";
import { addrRequest, bridgeRequest, cidrText, delLinkRequest, network, Rtnl, setLinkRequest, vethRequest, type Cidr } from "./rtnl.ts";

/** What one `net veth` or `net bridge` asks of the host (the plan's "net-host" op). */
export interface HostLinkSpec {
  /** The host end's name; null: ctr names it after the container ("v" and the id's tag). */
  hostName: string | null;
  /** The container end's name. */
  peer: string;
  /** `net veth`: the host end's address. */
  host: Cidr | null;
  /** `net bridge`: the bridge the host end joins, and its address if ctr creates it. */
  bridge: { name: string; addr: Cidr | null } | null;
  /** The container end's address (checked against the host's). */
  ctr: Cidr;
  mtu: number | null;
}

export const BRIDGE_ALIAS = "ctr bridge";
export const vethAlias = (id: string): string => `ctr ${id}`;
const NET_FILE = "net";
/** The same file once its container is leaving (teardown): no longer a user of its bridges. */
const LEAVING_FILE = "net.leaving";
const ID_PATTERN = /^ctr-([a-z0-9]+)-(\d+)$/;

/** The host end's default name: "v", the random part of the container id, the statement's number. */
export function hostEndName(id: string, n: number): string {
  return `v${ID_PATTERN.exec(id)?.[1] ?? id.slice(-6)}${n}`;
}

type HostOp = Extract<Op, { kind: "net-host" }>;

/** Refuse `net veth`/`net bridge` without root, before anything is made. */
export function checkNetPrivileges(ops: readonly Op[]): void {
  const op = ops.find((o) => o.kind === "net-host");
  if (!op || (process.geteuid?.() ?? 0) === 0) return;
  throw new SysError({
    code: "EPERM",
    message: `\`${op.source.split(/\s+/).slice(0, 2).join(" ")}\` needs root: making a link on the host and moving it into the container needs CAP_NET_ADMIN in the host's network namespace`,
    hint: "run ctr as root; without root, `ns user, net` with `net lo up` gives the container its own loopback, and rootless tools reach the outside through a user-space stack (slirp4netns or pasta)",
    span: op.span,
    status: 125,
  });
}

function withSpan<T>(span: Span, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof SysError && !e.span) e.span = span;
    throw e;
  }
}

/** The host links of one container: made after unshare, removed at its end. */
export class NetHost {
  private readonly rt: Rtnl;
  private readonly links: { spec: HostLinkSpec; hostName: string; span: Span }[];
  /** Host ends this container may have made (deleted at the end if they carry its alias). */
  private readonly veths: string[] = [];
  /** Bridges it used (deleted at the end if ctr made them and nothing uses them). */
  private readonly bridges: string[] = [];
  /** Where record() wrote the `net` file. */
  private stateDir: string | null = null;

  constructor(
    readonly id: string,
    ops: readonly HostOp[],
    sys: Sys = realSys,
    trace: TraceFn | null = null,
  ) {
    this.rt = new Rtnl(sys, trace);
    this.links = ops.map((o, n) => ({ spec: o.link, hostName: o.link.hostName ?? hostEndName(id, n), span: o.span }));
  }

  /** The host ends, as named on the host. */
  get hostNames(): string[] {
    return this.links.map((l) => l.hostName);
  }

  /** Before anything is made: a taken host name, a bridge name of another kind of link, or an address the host has already is refused. */
  check(): void {
    const host = readHostNet(this.rt);
    for (const { spec, hostName, span } of this.links) {
      const c = hostConflicts(host, { ...spec, hostName })[0];
      if (c) throw new SysError({ code: c.code, message: c.message, hint: c.hint, span, status: 125 });
    }
  }

  /** `show net`'s host half: this container's host ends, its bridges and their ports (show.ts). */
  show(): string[] {
    return hostShow(this.rt, netnsOf(readlinkSync), this.hostNames, this.links.flatMap((l) => (l.spec.bridge ? [l.spec.bridge.name] : [])));
  }

  /** The container's `net` file, before anything is made: what a later sweep must look at. */
  record(stateDir: string): void {
    this.stateDir = stateDir;
    const lines = this.links.flatMap(({ spec, hostName }) => [`veth ${hostName}`, ...(spec.bridge ? [`bridge ${spec.bridge.name}`] : [])]);
    writeFileSync(`${stateDir}/${NET_FILE}`, lines.join("\n") + "\n", { mode: 0o600 });
  }

  /** Stage 1 has unshared: each veth pair, its peer in stage 1's network namespace, the host end set up. */
  setUp(stage1Pid: number): void {
    for (const { spec, hostName, span } of this.links) {
      withSpan(span, () => {
        let master: number | undefined;
        if (spec.bridge) {
          master = this.ensureBridge(spec.bridge.name, spec.bridge.addr);
        }
        this.veths.push(hostName);
        this.rt.ack(vethRequest(hostName, spec.peer, stage1Pid, spec.mtu), hostName);
        this.rt.ack(setLinkRequest(hostName, { alias: vethAlias(this.id), ...(master === undefined ? {} : { master }) }), hostName);
        if (spec.host) this.rt.ack(addrRequest(this.rt.index(hostName), spec.host), `${hostName} ${cidrText(spec.host)}`);
        this.rt.ack(setLinkRequest(hostName, { up: true }), hostName);
      });
    }
  }

  /** The bridge `name`'s index: made (with ctr's alias, `addr` and IFF_UP) if missing. */
  private ensureBridge(name: string, addr: Cidr | null): number {
    this.bridges.push(name);
    const have = this.rt.link(name);
    if (have) {
      if (have.kind !== "bridge") throw new SysError({ code: "EEXIST", message: notBridge(name, have.kind), hint: NOT_BRIDGE_HINT, status: 125 });
      return have.index;
    }
    try {
      this.rt.ack(bridgeRequest(name), name);
    } catch (e) {
      // Another ctr made it meanwhile: use it.
      if (!(e instanceof SysError && e.code === "EEXIST")) throw e;
      return this.rt.index(name);
    }
    this.rt.ack(setLinkRequest(name, { alias: BRIDGE_ALIAS }), name);
    const index = this.rt.index(name);
    if (addr) this.rt.ack(addrRequest(index, addr), `${name} ${cidrText(addr)}`);
    this.rt.ack(setLinkRequest(name, { up: true }), name);
    return index;
  }

  /** Remove what this container made; returns the problems (said, never hidden). */
  teardown(): string[] {
    const problems: string[] = [];
    // Before the bridges are looked at (see the header); the file stays for a sweep if ctr dies from here on.
    if (this.stateDir) {
      try {
        renameSync(`${this.stateDir}/${NET_FILE}`, `${this.stateDir}/${LEAVING_FILE}`);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") problems.push(`net cleanup: ${this.stateDir}/${NET_FILE}: ${(e as Error).message}`);
      }
    }
    return [...problems, ...removeOwned(this.rt, this.id, this.veths, this.bridges)];
  }
}

/**
 * Delete the host ends in `veths` that carry `id`'s alias, then the bridges in
 * `bridges` that ctr made and that nothing uses any more. Returns the problems.
 */
function removeOwned(rt: Rtnl, id: string, veths: readonly string[], bridges: readonly string[]): string[] {
  const problems: string[] = [];
  const attempt = (what: string, f: () => void) => {
    try {
      f();
    } catch (e) {
      if (!(e instanceof SysError && e.code === "ENODEV")) problems.push(`net cleanup: ${what}: ${(e as Error).message}`);
    }
  };
  for (const name of veths) {
    attempt(name, () => {
      const l = rt.link(name);
      if (l?.alias === vethAlias(id)) rt.ack(delLinkRequest(name), name);
      if (rt.link(name)?.alias === vethAlias(id)) problems.push(`net cleanup: the host link "${name}" is still there`);
    });
  }
  const users = bridgeUsers(id);
  for (const name of new Set(bridges)) {
    attempt(name, () => {
      const b = rt.link(name);
      if (!b || b.alias !== BRIDGE_ALIAS || users.has(name)) return;
      if (rt.links().some((l) => l.master === b.index)) return; // another container's link, or the host's own
      rt.ack(delLinkRequest(name), name);
    });
  }
  return problems;
}

/** The `net` files of the state root's containers, with whether their owner still runs and is not leaving. */
function netRecords(): { id: string; alive: boolean; leaving: boolean; veths: string[]; bridges: string[] }[] {
  const root = stateRoot();
  // Through libc: a run's host loads no node: module for this sweep (runtime/lazy-builtins.ts).
  if (!realFiles.exists(root)) return [];
  const out: { id: string; alive: boolean; leaving: boolean; veths: string[]; bridges: string[] }[] = [];
  for (const { name: id } of realFiles.readdir(root)) {
    const m = ID_PATTERN.exec(id);
    if (!m) continue;
    let text: string | null = null;
    let leaving = false;
    for (const file of [NET_FILE, LEAVING_FILE]) {
      try {
        text = realFiles.readFile(`${root}/${id}/${file}`);
        leaving = file === LEAVING_FILE;
        break;
      } catch {
        // no network of its own, renamed meanwhile (the next name is tried), or removed
      }
    }
    if (text === null) continue;
    const lines = text.split("\n").map((l) => l.split(" "));
    const pid = Number(m[2]);
    out.push({ id, alive: pid === process.pid || isRunning(pid), leaving, veths: lines.filter((l) => l[0] === "veth").map((l) => l[1]!), bridges: lines.filter((l) => l[0] === "bridge").map((l) => l[1]!) });
  }
  return out;
}

/** Bridges named by living containers other than `id` that are not leaving (one may be about to attach). */
function bridgeUsers(id: string): Set<string> {
  return new Set(netRecords().filter((r) => r.alive && !r.leaving && r.id !== id).flatMap((r) => r.bridges));
}

/**
 * What containers of a ctr killed outright left on the host (their state
 * directories are swept right after, runtime/statedir.ts). Returns the problems.
 */
export function sweepStaleNet(sys: Sys = realSys, trace: TraceFn | null = null): string[] {
  if ((process.geteuid?.() ?? 0) !== 0) return []; // only root makes host links
  const dead = netRecords().filter((r) => !r.alive);
  if (dead.length === 0) return []; // the common case: no link to look at (see the header)
  const rt = new Rtnl(sys, trace);
  return dead.flatMap((r) => removeOwned(rt, r.id, r.veths, r.bridges));
}

/**
 * What the ended container `id` made on the host, removed by whoever removes its
 * state directory in its place (a killed supervisor's, runtime/features/lifecycle/):
 * the directory's `net` file is the only record of its bridges (see the header).
 */
export function releaseNetOf(id: string, sys: Sys = realSys): string[] {
  if ((process.geteuid?.() ?? 0) !== 0) return [];
  const r = netRecords().find((x) => x.id === id);
  return r ? removeOwned(new Rtnl(sys, null), r.id, r.veths, r.bridges) : [];
}

/** The host's links and IPv4 addresses, each address with its link's name: one dump each. */
export function readHostNet(rt: Rtnl): HostNetView {
  const links = rt.links();
  const name = (i: number) => links.find((l) => l.index === i)?.name ?? `#${i}`;
  return { links: links.map((l) => ({ name: l.name, kind: l.kind })), addrs: rt.addrs().map((a) => ({ address: a.address, prefix: a.prefix, link: name(a.index) })) };
}

/** What one `net veth`/`net bridge` would collide with on the host: which of its parts, what, the fix. */
export interface HostConflict {
  /** The statement's part: its host_name=, the bridge's NAME, or the option holding the address. */
  part: "host_name" | "NAME" | "host" | "ctr" | "addr";
  code: "EEXIST" | "EADDRINUSE";
  message: string;
  hint: string;
}

const notBridge = (name: string, kind: string | null): string => `the host's link "${name}" is not a bridge (its kind is ${kind ?? "none"})`;
const NOT_BRIDGE_HINT = "name a bridge, or a name the host does not use (ctr then creates the bridge)";

/**
 * The collisions of one link with the host's `host` tables, in the statement's order.
 * `hostName` null: ctr names the end itself (after the container's id: not taken).
 */
export function hostConflicts(host: HostNetView, link: { hostName: string | null; host: Cidr | null; ctr: Cidr; bridge: { name: string; addr: Cidr | null } | null }): HostConflict[] {
  const out: HostConflict[] = [];
  if (link.bridge) {
    const have = host.links.find((l) => l.name === link.bridge!.name);
    if (have && have.kind !== "bridge") out.push({ part: "NAME", code: "EEXIST", message: notBridge(have.name, have.kind), hint: NOT_BRIDGE_HINT });
  }
  if (link.hostName !== null && host.links.some((l) => l.name === link.hostName)) {
    out.push({ part: "host_name", code: "EEXIST", message: `the host has a link named "${link.hostName}" already`, hint: "choose another host_name=, or leave it out: ctr names the host end after the container" });
  }
  // A bridge that exists keeps its addresses: addr= is made only with the bridge.
  const bridgeExists = link.bridge !== null && host.links.some((l) => l.name === link.bridge!.name);
  const parts: [HostConflict["part"], Cidr | null][] = [["host", link.host], ["addr", bridgeExists ? null : (link.bridge?.addr ?? null)], ["ctr", link.ctr]];
  for (const [part, c] of parts) {
    const used = c && host.addrs.find((a) => a.address === c.address);
    if (!used) continue;
    out.push({
      part,
      code: "EADDRINUSE",
      message: `the address ${c.address} is in use on the host already (${used.address}/${used.prefix} on its link "${used.link}")`,
      hint: "choose an address of a network the host does not use (169.254.0.0/16 for tests; `ip -o addr` lists the host's)",
    });
  }
  return out;
}

/** Two CIDRs whose networks overlap. */
export function overlaps(a: Cidr, b: Cidr): boolean {
  const x = network(a);
  const y = network(b);
  const mask = (x.mask & y.mask) >>> 0;
  return ((x.net & mask) >>> 0) === ((y.net & mask) >>> 0);
}

/** `ctr explain`'s comments on a `net veth`/`net bridge` host part (runtime/explain-host.ts runs setUp). */
export function netHostNotes(op: Op): { before?: string[]; after?: string[] } {
  if (op.kind !== "net-host") return {};
  return {
    before: ["on the host's NETLINK_ROUTE socket, after stage 1 unshares and before PID 1 starts"],
    after: [
      "net_ns_pid=STAGE1: the peer is made in stage 1's network namespace, the container's",
      ...(op.link.bridge ? [`unless the host has a bridge "${op.link.bridge.name}" already: then it is used as it is, and only the veth is made`] : []),
    ],
  };
}
