// examples/11-layers.ctr and examples/12-volumes.ctr, for real: each runs to the
// end (its `expect`s pass), with a store of the test's own (CTR_STORE), and the
// host is unchanged after (onHost). 12 twice: its named volume counts the runs.

import { afterAll, beforeAll, describe, expect } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { example, IS_ROOT, itest, onHost } from "./host-state.ts";

let store = "";
beforeAll(() => {
  if (IS_ROOT) store = mkdtempSync(join(tmpdir(), "ctr-it-examples-store-"));
});
afterAll(() => {
  if (store) rmSync(store, { recursive: true, force: true });
});

describe("examples of chapters 11 and 12", () => {
  itest("11-layers: A and B joined at C, a whiteout for a deleted lower file, show layers", () =>
    onHost(async (h) => {
      const r = await h.ctr([example("11-layers.ctr"), "true"], { env: { CTR_STORE: store } });
      expect({ code: r.code, err: r.stderr }).toEqual({ code: 0, err: "" });
      expect(r.stdout).toContain("/lab/upper/b character special file 0:0");
      expect(r.stdout).toMatch(/^lower 1 \(top\)\s/m);
    }), 60_000);

  itest("12-volumes: run twice, the named volume keeps its count and the anonymous one starts empty", () =>
    onHost(async (h) => {
      for (const n of [1, 2]) {
        const r = await h.ctr([example("12-volumes.ctr"), "true"], { env: { CTR_STORE: store } });
        expect({ code: r.code, err: r.stderr }).toEqual({ code: 0, err: "" });
        expect(readFileSync(join(store, "volumes/ctr-example-12/_data/runs"), "utf8")).toBe(`${n}\n`);
      }
      const ls = await h.ctr(["volume", "ls"], { env: { CTR_STORE: store } });
      expect(ls.stdout.match(/anonymous/g)?.length).toBe(2);
    }), 60_000);
});
