// lang/scan.ts must find exactly the tokens chevrotain's Lexer finds from the
// token definitions of lang/lexer.ts (referenceTokenize): same types, images,
// offsets, comments, error runs, and count of `{` and `!`. Compared on the
// golden scripts, the examples, the standard library and mutations of them,
// every single character, and random soups of the characters and fragments
// where the rules are subtle.

import { describe, expect, test } from "bun:test";
import * as path from "node:path";
import { referenceTokenize, tokenize, type LexResult } from "../../lang/lexer.ts";
import { corpus, mulberry32, mutate } from "../cli/fuzz-gen.ts";

const SEED = Number(process.env.CTR_FUZZ_SEED ?? 20261202);

function shape(r: LexResult): unknown {
  const tok = (t: { tokenType: { name: string }; image: string; startOffset: number }) => `${t.tokenType.name}@${t.startOffset}:${JSON.stringify(t.image)}`;
  return { tokens: r.tokens.map(tok), comments: r.comments.map(tok), errors: r.errors, opens: r.opens };
}

function same(src: string): void {
  const want = shape(referenceTokenize(src));
  const got = shape(tokenize(src));
  if (JSON.stringify(got) !== JSON.stringify(want)) expect({ src, got }).toEqual({ src, got: want });
}

const ROOT = path.join(import.meta.dir, "..", "..");

const files = (): string[] => corpus(ROOT, true).map((s) => s.text);

/** Characters and fragments at the edges of the token rules. */
const PIECES = [
  " ", "\t", "\r", "\f", "\v", "\n", "\r\n", "\\", "\\\n", "\\\r\n", "\\\r", "#", "# c", ";", ",", "{", "}", "(", ")",
  '"', "'", "`", "=", "==", "!", "!=", "$", "${", "}", "${a", "${a}", "${a b}", "${'", '${"', "${a:-b}", "${{}", "$x",
  "let", "fn", "import", "if", "else", "for", "in", "letx", "iff", "inx", "ifs", "a", "_", "Z", "k=", "k.v-1=", "k==", "a=b",
  "0", "12", "1.5", "1.", ".5", "5m", "5ms", "5mx", "5%", "5%x", "5k", "5K", "5M", "5g", "5G", "5t", "5T", "5s", "5h", "5q",
  "/bin/sh", "-x", "é", "🙂", "\u00a0", "\u2028", "\u3000", "\ufeff", "\u0000", "\u0001", "\u007f", "\u0085", "\u180e",
  "\ud800", '"a\\"b"', '"a\\', '"a\\\n', "'x'", "'x", "\\$", "\\\\",
];

describe("the scanner gives chevrotain's tokens", () => {
  test("the golden scripts, the examples and the standard library", () => {
    for (const src of files()) same(src);
  });

  test("2,000 mutations of those files", () => {
    const rnd = mulberry32(SEED);
    const srcs = files();
    for (let k = 0; k < 2000; k++) same(mutate(srcs[Math.floor(rnd() * srcs.length)]!, rnd));
  }, 60_000); // ~1 s alone; past bun's 5 s default on a loaded 2-core machine

  test("every character on its own, at the start and after a word", () => {
    for (let c = 0; c < 0x10000; c++) {
      const ch = String.fromCharCode(c);
      same(ch);
      same(`a${ch}b ${ch}=`);
    }
  });

  test("20,000 random soups of the edge pieces", () => {
    const rnd = mulberry32(SEED);
    for (let k = 0; k < 20_000; k++) {
      let s = "";
      const n = 1 + Math.floor(rnd() * 12);
      for (let i = 0; i < n; i++) s += PIECES[Math.floor(rnd() * PIECES.length)];
      same(s);
    }
  });
});
