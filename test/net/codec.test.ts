// The rtnetlink codec (runtime/features/net/codec.ts) against bytes, without root.
//
// Two sources of bytes, said per test:
//  * captured: the request ctr's `net lo up` encodes and the kernel's answer to it, read
//    from a NETLINK_ROUTE socket in a fresh network namespace (`unshare -n`, this machine,
//    kernel with NETLINK_EXT_ACK) on 2026-12-02, printed as hex;
//  * by hand: from the struct layouts in the codec's header (rtnetlink(7)).

import { describe, expect, test } from "bun:test";
import { SysError } from "../../native/index.ts";
import {
  decode, encode, expectAck, ifaddrmsg, ifinfomsg, NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_REQUEST, NLMSG_ERROR,
  parseAttrs, parseError, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWROUTE, rtmsg, strAttr, u32Attr,
} from "../../runtime/features/net/codec.ts";
import { linkUpRequest } from "../../runtime/features/net/link.ts";

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

// captured: `net lo up` (seq 7) and the kernel's plain ack (NLM_F_CAPPED: only the header echoed).
const LO_UP = "28000000 1000 0500 07000000 00000000" + "00 00 0000 00000000 01000000 01000000" + "0700 0300 6c6f00 00";
const LO_UP_ACK = "24000000 0200 0001 07000000 654e0000" + "00000000" + "28000000 1000 0500 07000000 00000000";
// captured: the same for a link that does not exist: ENODEV (-19), the whole request echoed, no text.
const NOSUCH_REQ = "2c000000100005000700000000000000000000000000000001000000010000000c0003006e6f737563683000";
const NOSUCH_ANSWER = "40000000 0200 0000 07000000 654e0000" + "edffffff" + NOSUCH_REQ;
// captured: a 26-byte name, over IFNAMSIZ: ERANGE (-34) with
// the extended ack: NLMSGERR_ATTR_MSG, then NLMSGERR_ATTR_OFFS (8 bytes) and a nested NLMSGERR_ATTR_POLICY.
const LONG_REQ = "40000000100005000700000000000000000000000000000001000000010000001f000300612d766572792d6c6f6e672d696e746572666163652d6e616d650000";
const LONG_ANSWER =
  "98000000 0200 0002 07000000 654e0000" + "deffffff" + LONG_REQ +
  "2700 0100 417474726962757465206661696c656420706f6c6963792076616c69646174696f6e00 00" +
  "0800 0200 20000000" +
  "1400 0480 0800 0700 0f000000 0800 0100 0b000000";

describe("encode", () => {
  test("net lo up: the captured RTM_NEWLINK, byte for byte (IFLA_IFNAME \"lo\\0\" is 7 bytes, padded to 8)", () => {
    const req = linkUpRequest("lo", true, 7);
    expect(toHex(encode(req))).toBe(LO_UP.replace(/\s+/g, ""));
    expect(req.flags).toBe(NLM_F_REQUEST | NLM_F_ACK);
  });

  test("net lo down clears IFF_UP: ifi_flags 0, ifi_change still IFF_UP", () => {
    const b = encode(linkUpRequest("lo", false, 7));
    const v = new DataView(b.buffer);
    expect([v.getUint32(16 + 8, true), v.getUint32(16 + 12, true)]).toEqual([0, 1]);
  });

  test("nested attributes carry NLA_F_NESTED, rta_len without its padding, every attribute padded to 4 (by hand)", () => {
    // IFLA_LINKINFO (18) { IFLA_INFO_KIND (1) "veth\0" } then IFLA_MTU (4) 1500
    const b = encode({
      type: RTM_NEWLINK, flags: NLM_F_REQUEST | NLM_F_ACK, seq: 1,
      body: ifinfomsg({ index: 0, flags: 0, change: 0 }),
      attrs: [{ type: 18, value: [strAttr(1, "veth")] }, u32Attr(4, 1500)],
    });
    expect(toHex(b)).toBe(
      ("38000000 1000 0500 01000000 00000000" + "00 00 0000 00000000 00000000 00000000" +
        "1000 1280" + "0900 0100 7665746800 000000" + "0800 0400 dc050000").replace(/\s+/g, ""),
    );
    const attrs = parseAttrs(b.subarray(32));
    expect(attrs.map((a) => [a.type, a.nested, a.value.length])).toEqual([[18, true, 12], [4, false, 4]]);
    expect(parseAttrs(attrs[0]!.value).map((a) => [a.type, new TextDecoder().decode(a.value)])).toEqual([[1, "veth\0"]]);
  });

  test("ifaddrmsg and rtmsg: 8 and 12 bytes in the kernel's field order (by hand)", () => {
    // 169.254.1.2/30 on ifindex 5: AF_INET, prefixlen 30, scope universe; IFA_LOCAL (2)
    const addr = encode({ type: RTM_NEWADDR, flags: NLM_F_REQUEST | NLM_F_ACK, seq: 2, body: ifaddrmsg({ family: 2, prefixlen: 30, index: 5 }), attrs: [{ type: 2, value: new Uint8Array([169, 254, 1, 2]) }] });
    expect(toHex(addr)).toBe("20000000140005000200000000000000021e0000050000000800020" + "0a9fe0102");
    // default route: AF_INET, dst_len 0, RT_TABLE_MAIN 254, RTPROT_BOOT 3, RT_SCOPE_UNIVERSE 0, RTN_UNICAST 1; RTA_GATEWAY (5)
    const route = encode({ type: RTM_NEWROUTE, flags: NLM_F_REQUEST | NLM_F_ACK, seq: 3, body: rtmsg({ family: 2, dstLen: 0, table: 254, protocol: 3, scope: 0, type: 1 }), attrs: [{ type: 5, value: new Uint8Array([169, 254, 1, 1]) }] });
    expect(toHex(route)).toBe("2400000018000500030000000000000002000000fe0300010000000008000500a9fe0101");
  });
});

describe("decode", () => {
  test("the captured ack: NLMSG_ERROR, error 0, NLM_F_CAPPED", () => {
    const [m, ...rest] = decode(hex(LO_UP_ACK));
    expect(rest).toEqual([]);
    expect([m!.type, m!.flags, m!.seq, m!.pid]).toEqual([NLMSG_ERROR, NLM_F_CAPPED, 7, 0x4e65]);
    expect(parseError(m!)).toEqual({ errno: 0, text: null, requestType: RTM_NEWLINK });
    expect(() => expectAck(hex(LO_UP_ACK), linkUpRequest("lo", true, 7), "lo")).not.toThrow();
  });

  test("a captured refusal without text: ENODEV as the project's error, naming the message and the link", () => {
    let err: unknown;
    try {
      expectAck(hex(NOSUCH_ANSWER), linkUpRequest("nosuch0", true, 7), "nosuch0");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SysError);
    expect((err as SysError).code).toBe("ENODEV");
    expect((err as SysError).syscall).toBe("rtnetlink");
    expect((err as SysError).message).toBe("rtnetlink RTM_NEWLINK nosuch0: ENODEV (no such device)");
  });

  test("a captured extended ack: the kernel's text after the echoed request (no NLM_F_CAPPED), other attributes skipped", () => {
    const [m] = decode(hex(LONG_ANSWER.replace(/\s+/g, "")));
    expect(m!.flags).toBe(NLM_F_ACK_TLVS);
    expect(parseError(m!)).toEqual({ errno: 34, text: "Attribute failed policy validation", requestType: RTM_NEWLINK });
    expect(() => expectAck(hex(LONG_ANSWER), linkUpRequest("a-very-long-interface-name", true, 7), "a-very-long-interface-name")).toThrow(
      "rtnetlink RTM_NEWLINK a-very-long-interface-name: ERANGE (numerical result out of range): Attribute failed policy validation",
    );
  });

  test("an answer to another sequence number is not taken for the ack", () => {
    expect(() => expectAck(hex(LO_UP_ACK), linkUpRequest("lo", true, 8), "lo")).toThrow(/no acknowledgement for RTM_NEWLINK lo/);
  });

  test("truncated bytes are refused, not read past", () => {
    expect(() => decode(hex(LO_UP_ACK).subarray(0, 30))).toThrow(/overruns/);
    expect(() => parseAttrs(hex("0800 0300 6c6f"))).toThrow(/overruns/);
  });
});
