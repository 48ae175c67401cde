// The checker binds each command's arguments to its statement's syntax
// (lang/spec.ts Bound): what check and plan functions read instead of parsing
// the raw arguments again.

import { describe, expect, test } from "bun:test";
import { compile } from "../../lang/index.ts";
import { statements } from "../../runtime/registry.ts";

function commands(src: string) {
  return compile(src, { file: "t.ctr", specs: statements, cpus: 4, env: {} }).commands;
}

describe("bound arguments", () => {
  test("form, named positionals and flags: mount bind SRC DST ro nosuid", () => {
    const b = commands("ns mnt\nmount bind /a /b ro nosuid")[1]!.bound!;
    expect(b.form).toBe("bind");
    expect(b.args.SRC!.text).toBe("/a");
    expect(b.args.DST!.text).toBe("/b");
    expect([...b.flags].sort()).toEqual(["nosuid", "ro"]);
    expect(b.positional.map((a) => a.text)).toEqual(["/a", "/b"]);
  });

  test("options by key, their values and where they are written", () => {
    const b = commands("ns uts\nlimit cpu 20% period=50ms")[1]!.bound!;
    expect(b.args.PERCENT!.text).toBe("20%");
    expect(b.options.period!.text).toBe("50ms");
    expect(b.optionSpans.period!.column).toBe(15);
  });

  test("a rest argument takes the command and all its arguments", () => {
    const b = commands('ns uts\nrun sh -c "echo a b" x=1')[1]!.bound!;
    expect(b.rest.map((a) => a.text)).toEqual(["sh", "-c", "echo a b", "x=1"]);
    const ns = commands("ns uts, pid,mnt")[0]!.bound!;
    expect(ns.rest.flatMap((a) => (a.items ?? [a]).map((i) => i.text))).toEqual(["uts", "pid", "mnt"]);
  });

  test("a command whose shape does not check is not bound", () => {
    const [, bad] = commands("ns mnt\nmount tmpfs");
    expect(bad!.bound).toBeUndefined();
  });
});
