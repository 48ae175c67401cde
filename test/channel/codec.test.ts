/**
 * The control channel's codec and message checks, without a peer: lines of
 * JSON split anywhere, the size bound on both sides, errors across the wire,
 * and the table of message pairs at the top of runtime/channel/messages.ts
 * naming exactly the messages that are checked.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SysError } from "../../native/error.ts";
import { brokenChannel, Decoder, encode, errorToWire, MAX_MESSAGE, wireToError } from "../../runtime/channel/codec.ts";
import { HOST_MESSAGES, isHostMessage, isStageMessage, PROTOCOL, STAGE_MESSAGES, type HostMessage, type StageMessage } from "../../runtime/channel/messages.ts";

const MESSAGES = join(import.meta.dir, "..", "..", "runtime", "channel", "messages.ts");

const sample: StageMessage[] = [
  { t: "unshared", pid: 42 },
  { t: "trace", stage: 2, event: { syscall: "sethostname", args: ["h\u00e9\u{1F600}", 7], result: 0, ms: 0.01 } },
  { t: "done", id: 3, result: { exitCode: 0, signal: null, output: { bytes: 5, head: "h\u00e9llo", checks: [] } } },
  { t: "error", id: 4, error: { errno: 2, code: "ENOENT", syscall: "chdir", args: ["/x"], message: "no such file", status: 125 } },
];

function decodeAll(chunks: Uint8Array[]): unknown[] {
  const d = new Decoder(isStageMessage);
  return chunks.flatMap((c) => d.push(c).map((m) => m.msg));
}

describe("lines of JSON", () => {
  const stream = Buffer.concat(sample.map(encode));

  test("messages come back whole however the stream is split, one byte at a time included (split characters too)", () => {
    expect(decodeAll([stream])).toEqual(sample);
    const bytes = [...stream].map((b) => Uint8Array.of(b));
    expect(decodeAll(bytes)).toEqual(sample);
    for (const at of [1, 17, 40, 77, stream.length - 1]) expect(decodeAll([stream.subarray(0, at), stream.subarray(at)])).toEqual(sample);
  });

  test("a message is not complete before its newline", () => {
    const d = new Decoder(isStageMessage);
    const one = encode(sample[0]!);
    expect(d.push(one.subarray(0, one.length - 1))).toEqual([]);
    expect(d.partial).toBe(one.length - 1);
    expect(d.push(one.subarray(one.length - 1)).map((m) => m.msg)).toEqual([sample[0]]);
    expect(d.partial).toBe(0);
  });

  test("the reader refuses a line past the bound before it ends, the writer one it would refuse", () => {
    const d = new Decoder(isStageMessage);
    const mib = new Uint8Array(1 << 20).fill(120);
    let refused = "";
    try {
      for (let i = 0; i <= MAX_MESSAGE >> 20; i++) d.push(mib);
    } catch (e) {
      refused = (e as Error).message;
    }
    expect(refused).toBe(`a message longer than ${MAX_MESSAGE >> 20} MiB`);
    const big = { t: "op", id: 1, op: { kind: "hostname", name: "x".repeat(MAX_MESSAGE) } } as unknown as HostMessage;
    expect(() => encode(big)).toThrow(`too large for PID 1's channel: 16.0 MiB, at most 16 MiB`);
  });

  test("not JSON, or JSON of the wrong shape, is a reason to break the channel", () => {
    expect(() => decodeAll([Buffer.from("nope\n")])).toThrow('a message that is not JSON: "nope"');
    expect(() => decodeAll([Buffer.from('{"t":"unshared","pid":0}\n')])).toThrow("a message of an unexpected shape");
    expect(brokenChannel("why").message).toBe("PID 1's channel was closed or corrupted: why");
  });
});

describe("errors across the channel", () => {
  test("a SysError keeps its fields, and lands on the statement it came from", () => {
    const e = new SysError({ errno: 1, code: "EPERM", syscall: "mount", args: ["a", "/b"], message: "mount failed", hint: "be root", status: 125 });
    const w = errorToWire(e);
    expect(isStageMessage({ t: "error", error: w })).toBe(true);
    const span = { file: "f.ctr", line: 2, column: 1, offset: 9, length: 5 };
    const back = wireToError(JSON.parse(JSON.stringify(w)), { span } as never);
    expect(back).toBeInstanceOf(SysError);
    expect([back.errno, back.code, back.syscall, back.args, back.message, back.hint, back.status, back.span]).toEqual([1, "EPERM", "mount", ["a", "/b"], "mount failed", "be root", 125, span]);
    expect(errorToWire(new Error("plain"))).toEqual({ errno: 0, code: "", syscall: "", args: [], message: "plain" });
  });
});

describe("the messages", () => {
  test("the table of message pairs names every message checked, by its sender", () => {
    const header = readFileSync(MESSAGES, "utf8").split("\n\n")[0]!;
    const rows = [...header.matchAll(/^\/\/   (host|stage 1|stage 2|stage)\s+([a-z]+)\s/gm)].map((m) => [m[1]!.startsWith("stage") ? "stage" : "host", m[2]!]);
    const table = (side: string) => rows.filter((r) => r[0] === side).map((r) => r[1]).sort();
    expect(table("host")).toEqual(Object.keys(HOST_MESSAGES).sort());
    expect(table("stage")).toEqual(Object.keys(STAGE_MESSAGES).sort());
  });

  test("a plan of this protocol is checked in full; of another, only its version is read", () => {
    const plan = { t: "plan", v: PROTOCOL, namespaces: ["uts"], trace: false, wait: false };
    expect(isHostMessage(plan)).toBe(true);
    expect(isHostMessage({ ...plan, namespaces: "uts" })).toBe(false);
    expect(isHostMessage({ ...plan, v: PROTOCOL + 1, namespaces: "uts" })).toBe(true);
    expect(isHostMessage({ ...plan, v: "1" })).toBe(false);
  });
});
