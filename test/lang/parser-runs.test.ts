// The parser takes a statement's closing argument run, a body's separators and
// a body's plain commands by hand (lang/parser.ts argRun, sepRun, commandRun)
// instead of through the grammar's MANY, OR and SUBRULE: it must build the same
// script, with the same diagnostics, as
// the grammar alone (fastRuns off). Compared on the golden scripts, the
// examples and the standard library, mutations of them, and random soups of
// the tokens where recovery happens.

import { afterAll, expect, test } from "bun:test";
import * as path from "node:path";
import { parseSource } from "../../lang/build.ts";
import { getParser } from "../../lang/parser.ts";
import { corpus, mulberry32, mutate } from "../cli/fuzz-gen.ts";

const SEED = Number(process.env.CTR_FUZZ_SEED ?? 20261202);
const ROOT = path.join(import.meta.dir, "..", "..");

const files = (): string[] => corpus(ROOT, true).map((s) => s.text);

const PIECES = ["\n", "\n\n", ";", ";;", "{", "}", "(", ")", ",", "if", "else", "for", "in", "fn", "let", "import", "x", "a=", "=", "==", "!", '"s"', '"s', "'", "#c\n", "\\\n", "mount", "tmpfs", "/t", "f(x)", "size=1m", " "];

function parsed(src: string, fast: boolean): string {
  getParser().fastRuns = fast;
  return JSON.stringify(parseSource(src, "t.ctr"));
}

afterAll(() => {
  getParser().fastRuns = true;
});

test("by hand or by the grammar, the same scripts and diagnostics", () => {
  const rnd = mulberry32(SEED);
  const srcs = files();
  const cases = [...srcs];
  for (let k = 0; k < 1500; k++) cases.push(mutate(srcs[Math.floor(rnd() * srcs.length)]!, rnd));
  for (let k = 0; k < 1500; k++) {
    let s = "";
    const n = 1 + Math.floor(rnd() * 30);
    for (let i = 0; i < n; i++) s += PIECES[Math.floor(rnd() * PIECES.length)] + (rnd() < 0.5 ? " " : "");
    cases.push(s);
  }
  for (const src of cases) {
    const fast = parsed(src, true);
    const grammar = parsed(src, false);
    if (fast !== grammar) expect({ src, fast }).toEqual({ src, fast: grammar });
  }
  // Some 3,000 scripts parsed twice: a few seconds on a loaded machine, over bun test's default 5 s.
}, 60_000);
