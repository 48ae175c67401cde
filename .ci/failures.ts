// The failed tests of a `bun test` log, each with the error bun printed for it,
// gathered for the end of CI's output. bun prints a test's error where the test
// ran, above its "(fail)" line, and only the failures' names in its closing
// summary: a reader who sees just the tail of a long run would learn which
// tests failed but not why. Usage: bun .ci/failures.ts LOG

import { readFileSync } from "node:fs";

const MAX_LINES_EACH = 60;
const MAX_FAILURES = 8;

const lines = readFileSync(process.argv[2]!, "utf8").split("\n");
// The closing summary repeats every "(fail)" line: only those above it are the tests' own.
const summary = lines.findIndex((l) => /^\d+ tests? failed:$/.test(l.trim()));
const body = summary < 0 ? lines : lines.slice(0, summary);
/** A line that ends a test's output, or starts a file's. */
const boundary = (l: string): boolean => /^\((pass|fail|skip|todo)\) /.test(l) || /^\S.*\.test\.ts:$/.test(l);

let shown = 0;
let from = 0;
for (let i = 0; i < body.length; i++) {
  if (!boundary(body[i]!)) continue;
  if (body[i]!.startsWith("(fail) ")) {
    if (shown === MAX_FAILURES) {
      console.log(`(more failures: see the log above)`);
      break;
    }
    const block = body.slice(from, i).filter((l) => l.trim() !== "");
    const cut = block.length > MAX_LINES_EACH ? [`  ... (${block.length - MAX_LINES_EACH} lines above)`, ...block.slice(-MAX_LINES_EACH)] : block;
    console.log(body[i]);
    for (const l of cut) console.log(`  | ${l}`);
    console.log("");
    shown++;
  }
  from = i + 1;
}
if (shown === 0) console.log("(no failed test in the log: the run itself failed; see above)");
