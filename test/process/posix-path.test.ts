// runtime/posix-path.ts against node:path, which it stands in for on PID 1's path.
import { describe, expect, test } from "bun:test";
import { posix } from "node:path";
import { basenameOf, dirnameOf, joinPath, resolvePath } from "../../runtime/posix-path.ts";

const PARTS = ["", "/", "a", "b", ".", "..", "//", "a/", "/a", "../b", "./c", "a/./b", "x/../..", "bin", "usr/local/bin/"];

/** Every string of up to three parts, and a seeded random sample of longer ones. */
function inputs(): string[] {
  const out = new Set<string>();
  for (const a of PARTS) for (const b of PARTS) for (const c of PARTS) out.add(a + b + c);
  let seed = 17;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 2000; i++) out.add(Array.from({ length: 2 + Math.floor(next() * 5) }, () => PARTS[Math.floor(next() * PARTS.length)]).join(""));
  return [...out];
}

describe("posix-path", () => {
  const all = inputs();
  test("joinPath(dir, name) is posix.join(dir, name)", () => {
    const wrong: string[] = [];
    for (const dir of all) for (const name of PARTS) if (joinPath(dir, name) !== posix.join(dir, name)) wrong.push(`${JSON.stringify([dir, name])}: ${joinPath(dir, name)} != ${posix.join(dir, name)}`);
    expect(wrong.slice(0, 5)).toEqual([]);
  });
  test("dirnameOf and basenameOf are posix.dirname and posix.basename", () => {
    const wrong: string[] = [];
    for (const path of all) {
      if (dirnameOf(path) !== posix.dirname(path)) wrong.push(`dirname ${JSON.stringify(path)}: ${dirnameOf(path)} != ${posix.dirname(path)}`);
      if (basenameOf(path) !== posix.basename(path)) wrong.push(`basename ${JSON.stringify(path)}: ${basenameOf(path)} != ${posix.basename(path)}`);
    }
    expect(wrong.slice(0, 5)).toEqual([]);
  });
  test("resolvePath(base, path) is posix.resolve(base, path), absolute bases and relative ones", () => {
    const wrong: string[] = [];
    for (const base of ["/", "/a/b", "/a/../..", "/x/", "rel/dir", ""]) {
      for (const path of all) if (resolvePath(base, path) !== posix.resolve(base, path)) wrong.push(`${JSON.stringify([base, path])}: ${resolvePath(base, path)} != ${posix.resolve(base, path)}`);
    }
    expect(wrong.slice(0, 5)).toEqual([]);
  });
});
