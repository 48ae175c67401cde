// The manifest check that lets runtime/main.ts start a cached plan from the
// build dist/current names before it has listed the sources (runtime/sources.ts).
// The sources here are a table of times, not files.

import { describe, expect, test } from "bun:test";
import { parseManifest, unchangedStamp, type SourcesManifest } from "../../runtime/sources.ts";

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
  test("the sources as the manifest says: the stamp", () => {
    const { m, times } = tree();
    expect(unchangedStamp(m, "/r", mtimeOf(times))).toBe(1000);
  });

  test("a file edited since (newer than the stamp): 0", () => {
    const { m, times } = tree();
    times.set("/r/runtime/a.ts", 1001);
    expect(unchangedStamp(m, "/r", mtimeOf(times))).toBe(0);
  });

  test("a file added, removed or renamed (its directory's time changed): 0, whatever the files' times", () => {
    const { m, times } = tree();
    times.set("/r/runtime/features", 401);
    expect(unchangedStamp(m, "/r", mtimeOf(times))).toBe(0);
    times.set("/r/runtime/features", 400);
    times.delete("/r/runtime"); // the tree gone altogether
    expect(unchangedStamp(m, "/r", mtimeOf(times))).toBe(0);
  });

  test("the newest file's time set back: another stamp, so 0", () => {
    const { m, times } = tree();
    times.set("/r/runtime/features/b.ts", 950);
    expect(unchangedStamp(m, "/r", mtimeOf(times))).toBe(0);
  });

  test("a file that cannot be stat'ed counts for nothing (its directory tells whether it went)", () => {
    const { m, times } = tree();
    times.delete("/r/runtime/a.ts");
    expect(unchangedStamp(m, "/r", mtimeOf(times))).toBe(1000);
  });
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
