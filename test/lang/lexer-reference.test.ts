// The hand-written lexer (tokenize) must produce exactly what the chevrotain
// Lexer over the same token definitions (referenceTokenize) produces.

import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { referenceTokenize, tokenize, type LexResult } from "../../lang/lexer.ts";

function view(r: LexResult): unknown {
  const t = (x: { image: string; startOffset: number; tokenType: { name: string }; tokenTypeIdx: number }) => [x.tokenType.name, x.tokenTypeIdx, x.startOffset, x.image];
  return { tokens: r.tokens.map(t), comments: r.comments.map(t), errors: r.errors };
}

function same(src: string): void {
  const got = view(tokenize(src));
  const want = view(referenceTokenize(src));
  if (JSON.stringify(got) !== JSON.stringify(want)) expect({ src, got }).toEqual({ src, got: want });
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  " ", "  ", "\t", "\r", "\f", "\v", "\n", "\r\n", "\\\n", "\\\r\n", "\\", "\\x", ";", ",", "{", "}", "(", ")", "#", "# c\n",
  '"', '"a b"', '"x\\"y"', '"${a}"', "'", "'raw'", "`", "``", "\u00a0", "\u2028", "\u3000", "\ufeff", "é", "日本", "\ud83d\ude00",
  "=", "==", "!=", "!", "!x", "$", "${", "${a}", "${a:-b}", "${ x}", "}", "let", "fn", "import", "if", "else", "for", "in", "inx",
  "letter", "key=", "a.b-c=", "a==", "k=v", "=x", "x=", "64m", "1.5g", "500ms", "20%", "10.0.0.1/24", "64q", "0", "12", ".5",
  "_", "a", "Z9", "/tmp/x", "-", "--flag=1", "@", "%", "~", ":", "a#b", "x$y", "a\\b", "\x01", "\x7f", "\u0085", "`\x01", "\x00",
];

test("tokenize agrees with the chevrotain lexer on random inputs", () => {
  const rnd = mulberry32(7);
  for (let c = 0; c < 4000; c++) {
    let s = "";
    const n = 1 + Math.floor(rnd() * 12);
    for (let k = 0; k < n; k++) s += PIECES[Math.floor(rnd() * PIECES.length)];
    same(s);
  }
});

test("tokenize agrees with the chevrotain lexer on every character", () => {
  for (let c = 0; c < 0x3100; c++) {
    const ch = String.fromCharCode(c);
    same(ch);
    same(`a${ch}b ${ch}x`);
  }
  same("\ufeff\ufeffx");
});

test("tokenize agrees with the chevrotain lexer on the golden files and examples", () => {
  const dirs = [path.join(import.meta.dir, "golden"), path.join(import.meta.dir, "..", "..", "examples")];
  let files = 0;
  for (const dir of dirs) {
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names) {
      if (!n.endsWith(".ctr")) continue;
      same(readFileSync(path.join(dir, n), "utf8"));
      files++;
    }
  }
  expect(files).toBeGreaterThan(10);
});
