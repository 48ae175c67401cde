// `--trace`'s text of rtnetlink exchanges (runtime/features/net/describe.ts) and the host
// collisions the checker refuses (runtime/features/net/host.ts hostConflicts, the `net`
// statement's check through a HostView), without root.
//
// captured: ctr's own requests and the kernel's answers in a fresh network namespace
// (`unshare -n`, this machine, kernel with NETLINK_EXT_ACK) on 2026-12-02, printed as hex.

import { describe, expect, test } from "bun:test";
import { compile } from "../../lang/index.ts";
import type { HostNetView, HostView } from "../../lang/spec.ts";
import { answerTrace, requestTrace } from "../../runtime/features/net/describe.ts";
import { hostConflicts } from "../../runtime/features/net/host.ts";
import { encode } from "../../runtime/features/net/codec.ts";
import { addrRequest, bridgeRequest, setLinkRequest, vethRequest } from "../../runtime/features/net/rtnl.ts";
import { linkUpRequest } from "../../runtime/features/net/link.ts";
import { statements } from "../../runtime/registry.ts";

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ""), "hex"));

// captured: `net route 169.254.95.0/24 via=169.254.200.1` with no link on that network
// (seq 9): ENETUNREACH (-101), the request echoed, then NLMSGERR_ATTR_MSG.
const ROUTE_REQ = "2c00000018000506090000000000000002180000fe0300010000000008000100a9fe5f0008000500a9fec801";
const ROUTE_ANS = "600000000200000209000000434400009bffffff" + ROUTE_REQ + "200001004e657874686f702068617320696e76616c6964206761746577617900";
// captured: RTM_GETADDR dump (seq 10) with lo up: one RTM_NEWADDR, then NLMSG_DONE.
const DUMP_REQ = "18000000160001030a000000000000000200000000000000";
const DUMP_ANS =
  "4c000000140002000a00000043440000020880fe01000000080001007f000001080002007f000001070003006c6f0000080008008000000014000600ffffffffffffffffdcd50400dcd50400" +
  "14000000030002000a0000004344000000000000";
// captured: the plain ack of `net lo up` (seq 7, NLM_F_CAPPED).
const LO_UP_ACK = "24000000 0200 0001 07000000 654e0000" + "00000000" + "28000000 1000 0500 07000000 00000000";

describe("requestTrace: the request as sent, from its bytes", () => {
  test("the veth pair: kind, the nested peer with its namespace's pid, mtu on both ends, the create flags", () => {
    const r = vethRequest("vabc0", "eth0", 4242, 1400);
    expect(requestTrace(encode(r))).toBe(
      'RTM_NEWLINK ifname="vabc0" mtu=1400 kind=veth peer={ifname="eth0" net_ns_pid=4242 mtu=1400} (NLM_F_REQUEST|NLM_F_ACK|NLM_F_CREATE|NLM_F_EXCL)',
    );
  });

  test("a bridge, an alias and a master, an address, IFF_UP", () => {
    expect(requestTrace(encode(bridgeRequest("br0")))).toBe('RTM_NEWLINK ifname="br0" kind=bridge (NLM_F_REQUEST|NLM_F_ACK|NLM_F_CREATE|NLM_F_EXCL)');
    expect(requestTrace(encode(setLinkRequest("v0", { alias: "ctr x", master: 9 })))).toBe('RTM_NEWLINK ifname="v0" ifalias="ctr x" master=9 (NLM_F_REQUEST|NLM_F_ACK)');
    expect(requestTrace(encode(addrRequest(5, { address: "169.254.1.1", prefix: 30 })))).toBe(
      "RTM_NEWADDR family=AF_INET prefixlen=30 index=5 local=169.254.1.1 address=169.254.1.1 (NLM_F_REQUEST|NLM_F_ACK|NLM_F_CREATE|NLM_F_EXCL)",
    );
    expect(requestTrace(encode(linkUpRequest("lo", true, 7)))).toBe('RTM_NEWLINK flags=IFF_UP change=IFF_UP ifname="lo" (NLM_F_REQUEST|NLM_F_ACK)');
  });

  test("captured: a route and a dump (0x300 is NLM_F_DUMP on a RTM_GETx, not NLM_F_EXCL)", () => {
    expect(requestTrace(hex(ROUTE_REQ))).toBe(
      "RTM_NEWROUTE family=AF_INET dst=169.254.95.0/24 gateway=169.254.200.1 table=RT_TABLE_MAIN protocol=RTPROT_BOOT scope=RT_SCOPE_UNIVERSE type=RTN_UNICAST (NLM_F_REQUEST|NLM_F_ACK|NLM_F_CREATE|NLM_F_EXCL)",
    );
    expect(requestTrace(hex(DUMP_REQ))).toBe("RTM_GETADDR family=AF_INET prefixlen=0 (NLM_F_REQUEST|NLM_F_DUMP)");
  });
});

describe("answerTrace: the kernel's answer", () => {
  test("captured: an ack", () => {
    expect(answerTrace(hex(LO_UP_ACK), 7)).toEqual({ text: "ACK" });
  });

  test("captured: a refusal with the extended ack's text", () => {
    expect(answerTrace(hex(ROUTE_ANS), 9)).toEqual({ text: "-1 ENETUNREACH (network is unreachable): Nexthop has invalid gateway", errno: "ENETUNREACH" });
  });

  test("captured: a dump, its objects up to NLMSG_DONE", () => {
    expect(answerTrace(hex(DUMP_ANS), 10).text).toBe("1 x RTM_NEWADDR [127.0.0.1/8@1], NLMSG_DONE");
  });

  test("an answer to another request is not taken for this one's", () => {
    expect(answerTrace(hex(LO_UP_ACK), 8).text).toBe("(no answer for this request)");
  });
});

const HOST: HostNetView = {
  links: [{ name: "lo", kind: null }, { name: "eth0", kind: null }, { name: "br9", kind: "bridge" }, { name: "v9", kind: "veth" }],
  addrs: [{ address: "127.0.0.1", prefix: 8, link: "lo" }, { address: "169.254.9.1", prefix: 24, link: "br9" }, { address: "169.254.8.1", prefix: 30, link: "v9" }],
};

describe("hostConflicts", () => {
  test("a taken host_name, a name of another kind than bridge, an address the host has: each named", () => {
    const c = hostConflicts(HOST, { hostName: "v9", host: { address: "169.254.8.1", prefix: 30 }, ctr: { address: "169.254.8.2", prefix: 30 }, bridge: null });
    expect(c.map((x) => [x.part, x.code, x.message])).toEqual([
      ["host_name", "EEXIST", 'the host has a link named "v9" already'],
      ["host", "EADDRINUSE", 'the address 169.254.8.1 is in use on the host already (169.254.8.1/30 on its link "v9")'],
    ]);
    expect(hostConflicts(HOST, { hostName: null, host: null, ctr: { address: "169.254.7.2", prefix: 24 }, bridge: { name: "v9", addr: null } }).map((x) => x.message)).toEqual([
      'the host\'s link "v9" is not a bridge (its kind is veth)',
    ]);
  });

  test("a bridge that exists keeps its address: addr= is not a collision then, and nothing else is", () => {
    expect(hostConflicts(HOST, { hostName: null, host: null, ctr: { address: "169.254.9.2", prefix: 24 }, bridge: { name: "br9", addr: { address: "169.254.9.1", prefix: 24 } } })).toEqual([]);
    expect(hostConflicts(HOST, { hostName: null, host: null, ctr: { address: "169.254.6.2", prefix: 24 }, bridge: { name: "br6", addr: { address: "169.254.9.1", prefix: 24 } } }).map((x) => x.part)).toEqual(["addr"]);
  });
});

describe("the checker against the host's tables (a HostView)", () => {
  const host: HostView = { kind: () => "dir", net: () => HOST };
  const check = (src: string, view: HostView | null = host) => compile(src, { file: "t.ctr", specs: statements, cpus: 4, env: {}, ...(view ? { host: view } : {}) }).diagnostics;

  test("file:line:col at the option that collides, what, and the fix", () => {
    const d = check("ns net\nnet veth host=169.254.8.1/30 ctr=169.254.8.2/30 host_name=eth0\nnet bridge v9 ctr=169.254.7.2/24 name=eth1");
    expect(d.map((x) => [x.span.line, x.span.column, x.message])).toEqual([
      [2, 15, 'the address 169.254.8.1 is in use on the host already (169.254.8.1/30 on its link "v9")'],
      [2, 59, 'the host has a link named "eth0" already'],
      [3, 12, 'the host\'s link "v9" is not a bridge (its kind is veth)'],
    ]);
    expect(d.every((x) => x.severity === "error" && (x.help ?? "").length > 0)).toBe(true);
  });

  test("a bridge named like an earlier statement's host end, or the reverse, is refused without looking at the host", () => {
    const d = check("ns net\nnet veth host=169.254.5.1/30 ctr=169.254.5.2/30 host_name=v5\nnet bridge v5 ctr=169.254.4.2/24 name=eth1\nnet bridge br3 ctr=169.254.3.2/24 name=eth2\nnet veth host=169.254.2.1/30 ctr=169.254.2.2/30 host_name=br3 name=eth3", null);
    expect(d.map((x) => [x.span.line, x.span.column, x.message])).toEqual([
      [3, 12, "`v5` is the host end of an earlier `net` statement, not a bridge"],
      [5, 59, "`br3` is the bridge of an earlier `net bridge`"],
    ]);
  });

  test("free names and addresses pass; without a view of the host (the language alone) nothing is looked at", () => {
    expect(check("ns net\nnet veth host=169.254.5.1/30 ctr=169.254.5.2/30 host_name=v5\nnet bridge br9 ctr=169.254.9.2/24 addr=169.254.9.1/24 name=eth1")).toEqual([]);
    expect(check("ns net\nnet veth host=169.254.8.1/30 ctr=169.254.8.2/30 host_name=v9", null)).toEqual([]);
  });
});
