// The manifest check that lets runtime/main.ts start a cached plan from the
// build dist/current names before it has listed the sources (runtime/sources.ts).
// The sources here are a table of times, not files.

import { describe, expect, test } from "bun:test";
import { parseManifest, SOURCE_TREES, unchangedStamp, type SourcesManifest } from "../../runtime/sources.ts";

const UNSTATABLE = 2 ** 52 - 1;

function tree(): { m: SourcesManifest; times: Map<string, number> } {
  const times = new Map<string, number>([
    ["/r/runtime", 500],
    ["/r/runtime/features", 400],
    ["/r/runtime/a.ts", 900],
    ["/r/runtime/features/b.ts", 1000],
  ]);
  const m: SourcesManifest = { stamp: 1000, files: ["runtime/a.ts", "runtime/features/b.ts"], dirs: [["runtime", 500], ["runtime/features", 400]] };
  return { m, times };
}
const mtimeOf = (times: Map<string, number>) => (p: string) => times.get(p) ?? UNSTATABLE;

describe("unchangedStamp", () => {
  // Each case: what changed in the table of times since the build, and the answer.
  const cases: [string, (times: Map<string, number>) => void, number][] = [
    ["the sources as the manifest says: the stamp", () => {}, 1000],
    ["a file edited since (newer than the stamp): 0", (t) => t.set("/r/runtime/a.ts", 1001), 0],
    ["a file added, removed or renamed (its directory's time changed): 0, whatever the files' times", (t) => t.set("/r/runtime/features", 401), 0],
    ["a tree gone altogether: 0", (t) => t.delete("/r/runtime"), 0],
    ["the newest file's time set back: another stamp, so 0", (t) => t.set("/r/runtime/features/b.ts", 950), 0],
    ["a file that cannot be stat'ed counts for nothing (its directory tells whether it went)", (t) => t.delete("/r/runtime/a.ts"), 1000],
  ];
  for (const [what, change, want] of cases) {
    test(what, () => {
      const { m, times } = tree();
      change(times);
      expect(unchangedStamp(m, "/r", mtimeOf(times))).toBe(want);
    });
  }
});

describe("parseManifest", () => {
  test("a manifest round-trips; anything else is none", () => {
    const { m } = tree();
    expect(parseManifest(JSON.stringify(m))).toEqual(m);
    for (const bad of ["", "{", "null", "[]", '{"stamp":1.5,"files":[],"dirs":[["a",1]]}', '{"stamp":1,"files":[2],"dirs":[["a",1]]}', '{"stamp":1,"files":[],"dirs":[]}', '{"stamp":1,"files":[],"dirs":[["a","1"]]}']) {
      expect(parseManifest(bad)).toBeNull();
    }
  });
});

test("runtime/main.ts scans the same source trees as the build's manifest names (SOURCE_TREES)", async () => {
  // main.ts imports nothing (it runs before any bundle is chosen), so it holds its own copy of the list.
  const main = await Bun.file(new URL("../../runtime/main.ts", import.meta.url)).text();
  const list = /for \(const \[d, p\] of (\[\[.*?\]\]) as const\)/.exec(main)?.[1];
  expect(list).toBeDefined();
  expect(JSON.parse(list!)).toEqual(SOURCE_TREES.map((t) => [...t]));
});
