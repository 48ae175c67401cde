// runtime/lazy-builtins.ts: in a bundle, node:fs, node:path and node:os are
// stand-ins that load the real module on the first call, and behave like it.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { constants } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { lazyBuiltins } from "../../runtime/lazy-builtins.ts";

const dir = mkdtempSync(join(tmpdir(), "ctr-lazy-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Every way ctr's sources name these modules: named, namespace and default imports, require(), both spellings.
const FIXTURE = `
import { readFileSync, constants } from "node:fs";
import * as path from "path";
import os from "node:os";
export const untouched = () => "no call";
export function calls(file: string) {
  const { hostname } = require("node:os") as typeof import("node:os");
  return { text: readFileSync(file, "utf8"), rdonly: constants.O_RDONLY, joined: path.join("/a", "b/../c"), sep: path.sep, posix: path.posix.resolve("/x", "y"), host: hostname(), eol: os.EOL };
}
`;

async function bundle(): Promise<string> {
  writeFileSync(join(dir, "fixture.ts"), FIXTURE);
  const r = await Bun.build({ entrypoints: [join(dir, "fixture.ts")], outdir: join(dir, "out"), target: "bun", format: "cjs", plugins: [lazyBuiltins] });
  expect(r.success).toBe(true);
  return join(dir, "out", "fixture.js");
}

describe("lazy builtins", () => {
  test("the bundle requires none of the three at load; each import is a stand-in", async () => {
    const text = readFileSync(await bundle(), "utf8");
    expect(text).not.toMatch(/require\(["'](node:)?(fs|path|os)["']\)/);
    expect(text).toContain('process.getBuiltinModule("node:fs")');
    expect(text).toContain('process.getBuiltinModule("node:path")');
    expect(text).toContain('process.getBuiltinModule("node:os")');
  });

  test("a stand-in answers as the real module does, in a fresh process", async () => {
    const out = await bundle();
    writeFileSync(join(dir, "data.txt"), "hello\n");
    const script = `const m = require(${JSON.stringify(out)}); console.log(JSON.stringify({ u: m.untouched(), ...m.calls(${JSON.stringify(join(dir, "data.txt"))}) }));`;
    const r = Bun.spawnSync({ cmd: [process.execPath, "-e", script], stdout: "pipe", stderr: "pipe" });
    expect(r.stderr.toString()).toBe("");
    expect(JSON.parse(r.stdout.toString())).toEqual({
      u: "no call",
      text: "hello\n",
      rdonly: constants.O_RDONLY,
      joined: posix.join("/a", "b/../c"),
      sep: "/",
      posix: posix.resolve("/x", "y"),
      host: require("node:os").hostname(),
      eol: "\n",
    });
  });
});
