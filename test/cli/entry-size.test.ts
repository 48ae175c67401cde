// runtime/main.ts, the entry bin/ctr runs, is the one source file Bun
// transpiles at every ctr start; above 4 KiB Bun caches the result in
// $HOME/.bun, and ctr must write nothing to the home of the user who runs it
// (test/userns/statedir.test.ts looks at a victim's home after a ctr run).

import { expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";

test("runtime/main.ts stays under Bun's 4 KiB threshold for caching a transpiled file", () => {
  expect(statSync(join(import.meta.dir, "..", "..", "runtime", "main.ts")).size).toBeLessThan(4096);
});
