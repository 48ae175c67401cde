/**
 * The bounded capture of `run` output (runtime/features/process/capture.ts): ==, != and
 * contains decided on the stream agree with the same tests on the whole text,
 * however the stream is cut into chunks and however long it is; matches sees
 * the kept head and tail; nothing kept grows past the bound.
 */
import { describe, expect, test } from "bun:test";
import { judge, KEEP_HALF, OutputCapture } from "../../runtime/features/process/capture.ts";
import type { OutputTest } from "../../runtime/ops.ts";

/** A small seeded generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function feed(text: Buffer, tests: OutputTest[], rand: () => number, maxChunk: number) {
  const c = new OutputCapture(tests);
  for (let at = 0; at < text.length; ) {
    const n = Math.max(1, Math.floor(rand() * maxChunk));
    c.push(text.subarray(at, at + n));
    at += n;
  }
  return c.finish();
}

describe("bounded capture of run output", () => {
  test("stream outcomes equal the same tests on the whole text (trailing newline removed)", () => {
    const rand = rng(7);
    const alphabet = ["a", "b", "\n", "é", "ab"];
    for (let round = 0; round < 400; round++) {
      const len = Math.floor(rand() * 40);
      let s = "";
      for (let i = 0; i < len; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
      const actual = s.replace(/\n$/, "");
      const start = Math.floor(rand() * (actual.length + 1));
      const needles = [actual, actual + "\n", actual.slice(start, start + Math.floor(rand() * 6)), "b\n", "\n", "", "zz", s];
      const tests: OutputTest[] = needles.flatMap((v) => [
        { test: "==", value: v },
        { test: "!=", value: v },
        { test: "contains", value: v },
      ]);
      tests.push({ test: "matches", value: "^a" }, { test: "matches", value: "b$" });
      const out = feed(Buffer.from(s), tests, rand, 5);
      expect(out.bytes).toBe(Buffer.byteLength(actual));
      expect(out.head).toBe(actual);
      expect(out.tail).toBeUndefined();
      for (const c of out.checks) expect([c.test, c.value, c.ok]).toEqual([c.test, c.value, judge(c.test, c.value, actual)]);
    }
  });

  test("a 40 MB output: exact ==, != and contains, bounded head and tail, matches on both ends", () => {
    const line = Buffer.from("line of text 0123456789\n");
    const big = Buffer.concat([Buffer.from("FIRST\n"), Buffer.alloc(line.length * 1_750_000, line), Buffer.from("MIDDLE\n"), Buffer.alloc(line.length * 50_000, line), Buffer.from("LAST\n")]);
    const whole = big.toString("utf8").replace(/\n$/, "");
    const tests: OutputTest[] = [
      { test: "==", value: whole },
      { test: "!=", value: whole },
      { test: "==", value: whole.slice(0, -1) },
      { test: "contains", value: "MIDDLE\nline" },
      { test: "contains", value: "LAST\n" },
      { test: "contains", value: "nowhere" },
      { test: "matches", value: "^FIRST$" },
      { test: "matches", value: "^LAST$" },
      { test: "matches", value: "MIDDLE" },
    ];
    const out = feed(big, tests, rng(3), 200_000);
    expect(out.bytes).toBe(big.length - 1);
    expect(out.head.length).toBeLessThanOrEqual(KEEP_HALF);
    expect(out.tail!.length).toBeLessThanOrEqual(KEEP_HALF);
    expect(out.head.startsWith("FIRST\nline")).toBe(true);
    expect(out.tail!.endsWith("0123456789\nLAST")).toBe(true);
    // The middle is beyond the kept text: `matches` does not see it (the reference says so).
    expect(out.checks.map((c) => c.ok)).toEqual([true, false, false, true, false, false, true, true, false]);
  });

  test("a character split where the kept head or tail is cut is left out, not mangled", () => {
    const big = Buffer.from("é".repeat(KEEP_HALF)); // 2 bytes each: 1 MiB, then one more byte
    const out = feed(Buffer.concat([Buffer.from("x"), big, Buffer.from("y")]), [], rng(1), 65536);
    expect(out.tail).toBeDefined();
    expect(out.head).not.toContain("\ufffd");
    expect(out.tail!).not.toContain("\ufffd");
    expect(out.tail!.endsWith("éy")).toBe(true);
  });
});
