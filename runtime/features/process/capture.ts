// What `run` keeps of its output for `expect output`: bounded, whatever the size.
//
// PID 1 passes the command's output through to the user as it comes and keeps
// only this: the first and the last KEEP_HALF bytes, the total size, and one
// running state per `expect output` test that follows the `run` (the plan puts
// the tests on the run op). The tests see the output with one trailing newline
// removed; that newline is held back while the stream is going, so a test never
// sees it when it turns out to be the last byte.
//   ==, !=     compared byte by byte against the expected text as it streams:
//              exact at any size;
//   contains   searched as it streams, each chunk together with the last
//              len(TEXT)-1 bytes before it: exact at any size;
//   matches    the regular expression is tried on the kept text: all of it up
//              to 2 * KEEP_HALF bytes, else the first and the last KEEP_HALF
//              bytes, each on its own (a match across the middle is not seen).
// The registry's help of `expect` says the same for users.

import type { CapturedOutput, OutputTest } from "../../ops.ts";

/** Bytes kept at each end of a long output (1 MiB in all). */
export const KEEP_HALF = 512 * 1024;

const NL = 10;

interface Running {
  feed(b: Uint8Array): void;
  result(): boolean;
}

/** == and !=: does the stream equal `text` exactly? */
function equality(text: string): Running {
  const want = Buffer.from(text);
  let at = 0;
  let same = true;
  return {
    feed(b) {
      if (!same) return;
      if (at + b.length > want.length || !want.subarray(at, at + b.length).equals(b)) same = false;
      at += b.length;
    },
    result: () => same && at === want.length,
  };
}

/** contains: does `text` occur in the stream? Keeps len(text)-1 bytes between chunks. */
function containment(text: string): Running {
  const needle = Buffer.from(text);
  let carry: Uint8Array = Buffer.alloc(0);
  let found = needle.length === 0;
  return {
    feed(b) {
      if (found) return;
      const hay = carry.length === 0 ? Buffer.from(b.buffer, b.byteOffset, b.length) : Buffer.concat([carry, b]);
      if (hay.indexOf(needle) >= 0) found = true;
      else carry = Buffer.from(hay.subarray(Math.max(0, hay.length - (needle.length - 1))));
    },
    result: () => found,
  };
}

/** Does a test hold for a text held whole (a run without capture, the kept text of `matches`)? */
export function judge(test: OutputTest["test"], value: string, text: string): boolean {
  switch (test) {
    case "==":
      return text === value;
    case "!=":
      return text !== value;
    case "contains":
      return text.includes(value);
    case "matches":
      return new RegExp(value, "m").test(text);
  }
}

/** UTF-8 text of bytes cut out of a longer stream: a character split at either cut is left out. */
function cutText(b: Uint8Array, cutStart: boolean, cutEnd: boolean): string {
  let start = 0;
  let end = b.length;
  if (cutStart) while (start < end && start < 3 && (b[start]! & 0xc0) === 0x80) start++;
  if (cutEnd) {
    // Back up over an incomplete last character: its lead byte and continuations.
    let i = end - 1;
    while (i > start && end - i < 4 && (b[i]! & 0xc0) === 0x80) i--;
    const lead = b[i]!;
    const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    if (end - i < need) end = i;
  }
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString("utf8");
}

/** The kept output of one `run`, fed chunk by chunk. */
export class OutputCapture {
  private bytes = 0;
  private head = Buffer.alloc(KEEP_HALF);
  private headLen = 0;
  /** The last KEEP_HALF bytes, as a ring. */
  private ring = Buffer.alloc(KEEP_HALF);
  private ringAt = 0;
  private heldNewline = false;
  private readonly running: Running[];

  constructor(private readonly tests: readonly OutputTest[]) {
    this.running = tests.map((t) => (t.test === "contains" ? containment(t.value) : t.test === "matches" ? { feed() {}, result: () => false } : equality(t.value)));
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.heldNewline) this.feed(Buffer.from([NL]));
    this.heldNewline = chunk[chunk.length - 1] === NL;
    this.feed(this.heldNewline ? chunk.subarray(0, chunk.length - 1) : chunk);
  }

  private feed(b: Uint8Array): void {
    if (b.length === 0) return;
    this.bytes += b.length;
    if (this.headLen < KEEP_HALF) {
      const n = Math.min(b.length, KEEP_HALF - this.headLen);
      this.head.set(b.subarray(0, n), this.headLen);
      this.headLen += n;
    }
    // The ring takes at most its size from the end of b.
    const take = b.subarray(Math.max(0, b.length - KEEP_HALF));
    const first = Math.min(take.length, KEEP_HALF - this.ringAt);
    this.ring.set(take.subarray(0, first), this.ringAt);
    this.ring.set(take.subarray(first), 0);
    this.ringAt = (this.ringAt + take.length) % KEEP_HALF;
    for (const r of this.running) r.feed(b);
  }

  /** The last n bytes fed (n <= KEEP_HALF). */
  private last(n: number): Buffer {
    const start = (this.ringAt - n + KEEP_HALF) % KEEP_HALF;
    return start + n <= KEEP_HALF ? this.ring.subarray(start, start + n) : Buffer.concat([this.ring.subarray(start), this.ring.subarray(0, this.ringAt)]);
  }

  /** What is kept, with each test's outcome; call once the stream has ended. */
  finish(): CapturedOutput {
    // Everything fits: the head and what the ring holds beyond it.
    const whole = this.bytes <= 2 * KEEP_HALF;
    const head = whole ? cutText(Buffer.concat([this.head.subarray(0, this.headLen), this.last(this.bytes - this.headLen)]), false, false) : cutText(this.head, false, true);
    const tail = whole ? undefined : cutText(this.last(KEEP_HALF), true, false);
    const checks = this.tests.map((t, i) => {
      const ok = t.test === "matches" ? judge("matches", t.value, head) || (tail !== undefined && judge("matches", t.value, tail)) : this.running[i]!.result();
      return { test: t.test, value: t.value, ok: t.test === "!=" ? !ok : ok };
    });
    return { bytes: this.bytes, head, ...(tail === undefined ? {} : { tail }), checks };
  }
}
