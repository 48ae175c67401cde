/**
 * The tests of id ranges written by newuidmap/newgidmap skip, saying why, on
 * a machine without the uidmap package, instead of failing on its absence.
 */
import { expect, test } from "bun:test";
import { uidmapSkipReason } from "./helpers.ts";

test("without newuidmap and newgidmap, the range tests have a printed reason to skip", () => {
  expect(uidmapSkipReason(() => null)).toBe("newuidmap and newgidmap not installed (package uidmap): ranges beyond your own id are not tested");
  expect(uidmapSkipReason((h) => (h === "newgidmap" ? "/usr/bin/newgidmap" : null))).toContain("newuidmap not installed (package uidmap)");
});

test("with both helpers installed, they run", () => {
  expect(uidmapSkipReason((h) => `/usr/bin/${h}`)).toBeNull();
});
