/**
 * The pure parts of runtime/features/userns/userns.ts, on made-up input: overlaps, the id
 * stage 1 becomes, /etc/subuid and /etc/passwd parsing. No kernel, no root.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findOverlap, initialId, subordinateRanges, userName } from "../../runtime/features/userns/userns.ts";

const dir = mkdtempSync(join(tmpdir(), "ctr-userns-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const line = (inside: number, outside: number, count: number) => ({ inside, outside, count });

describe("findOverlap", () => {
  test("disjoint lines, touching ends included, do not overlap", () => {
    expect(findOverlap([line(0, 100000, 10), line(10, 100010, 10)])).toBeNull();
    expect(findOverlap([line(0, 1000, 1), line(1, 100000, 65536)])).toBeNull();
  });
  test("the same inside id twice is an inside overlap", () => {
    expect(findOverlap([line(0, 100000, 10), line(9, 200000, 1)])?.[2]).toBe("inside");
  });
  test("the same outside id twice is an outside overlap", () => {
    expect(findOverlap([line(0, 100000, 10), line(20, 100009, 5)])?.[2]).toBe("outside");
  });
  test("the pair is named, in order", () => {
    const a = line(0, 100000, 10);
    const b = line(50, 300000, 1);
    const c = line(5, 400000, 1);
    expect(findOverlap([a, b, c])?.slice(0, 2)).toEqual([a, c]);
  });
});

describe("initialId", () => {
  test("root inside when 0 is mapped, wherever its line is", () => {
    expect(initialId([line(1000, 5000, 10), line(0, 100000, 1)])).toBe(0);
  });
  test("else the lowest mapped inside id", () => {
    expect(initialId([line(1000, 5000, 10), line(500, 100000, 1)])).toBe(500);
  });
});

describe("subordinateRanges", () => {
  const subuid = file("subuid", "alice:100000:65536\nbob:165536:65536\n1001:231072:1000\n  alice:300000:10  \n\nmalformed\n");
  test("every line of the user, by name or by uid", () => {
    expect(subordinateRanges(subuid, "alice", 1000)).toEqual([
      { start: 100000, count: 65536 },
      { start: 300000, count: 10 },
    ]);
    expect(subordinateRanges(subuid, "carol", 1001)).toEqual([{ start: 231072, count: 1000 }]);
  });
  test("nothing for others, or without the file", () => {
    expect(subordinateRanges(subuid, "dave", 1002)).toEqual([]);
    expect(subordinateRanges(join(dir, "absent"), "alice", 1000)).toEqual([]);
  });
});

describe("userName", () => {
  const passwd = file("passwd", "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nbroken\nodd::\n");
  test("the login name of a uid", () => {
    expect(userName(65534, passwd)).toBe("nobody");
    expect(userName(0, passwd)).toBe("root");
  });
  test("the number when no line names the uid (or the file is missing)", () => {
    expect(userName(4242, passwd)).toBe("4242");
    expect(userName(0, join(dir, "absent"))).toBe("0");
  });
});
