// The README against the checkout: what a new user reads first must hold.

import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { statements } from "../../runtime/registry.ts";

const REPO = join(import.meta.dir, "..", "..");
const README = readFileSync(join(REPO, "README.md"), "utf8");
const section = (title: string): string => {
  const start = README.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`README has no section "${title}"`);
  const end = README.indexOf("\n## ", start + 1);
  return README.slice(start, end < 0 ? undefined : end);
};

describe("README", () => {
  test("the quick start puts `ctr` on PATH, as the examples' usage lines and #!/usr/bin/env ctr expect, and says what npx costs", () => {
    const quick = section("Quick start");
    expect(quick).toContain('sudo ln -s "$PWD/bin/ctr" /usr/local/bin/ctr');
    expect(quick).toMatch(/npx ctr.*0\.45 s/s);
    expect(quick).toMatch(/containerd.*`ctr`/s);
  });

  test("the Node version it states is the one the dependencies ask for; the apt packages are CI's", () => {
    const engines = JSON.parse(readFileSync(join(REPO, "node_modules/chevrotain/package.json"), "utf8")).engines?.node as string;
    const major = engines.match(/(\d+)/)![1]!;
    expect(section("Quick start")).toContain(`Node.js ${major} or later`);
    const ci = readFileSync(join(REPO, ".ci/run"), "utf8");
    const packages = ci.match(/packages=\(([^)]*)\)/)![1]!.trim().split(/\s+/);
    for (const p of packages) expect({ p, named: section("Quick start").includes(p) }).toEqual({ p, named: true });
  });

  test("one story about the terminal during a `run` (it gets it), and one set of REPL latency figures", () => {
    expect(README).not.toContain("`run` does not get the terminal");
    expect(README).toContain("while a statement runs the terminal is the `run`'s");
    expect(README.match(/ms through a pipe/g) ?? []).toHaveLength(1);
  });

  test("the test folder list names every folder under test/", () => {
    const layout = section("Project layout");
    const row = layout.split("\n").find((l) => l.startsWith("| `test/` |"))!;
    for (const d of readdirSync(join(REPO, "test")).filter((n) => statSync(join(REPO, "test", n)).isDirectory())) {
      expect({ d, listed: row.includes(`\`${d}/\``) }).toEqual({ d, listed: true });
    }
  });

  test("every chapter a message points to is one the README's Examples section accounts for; every example is listed", () => {
    const examples = section("Examples");
    for (const f of readdirSync(join(REPO, "examples")).filter((n) => n.endsWith(".ctr"))) expect(examples).toContain(`\`${f.replace(/\.ctr$/, "")}\``);
    const messages = statements.flatMap((s) => [s.unsupported ?? "", ...Object.values(s.unsupportedForms ?? {})]);
    expect(messages.join("\n")).not.toMatch(/the \w+ chapter/); // a chapter by a name no list has
    for (const m of messages) for (const [, n] of m.matchAll(/chapter (\d+)/g)) expect(examples).toMatch(new RegExp(`\\b${n}\\b`));
  });
});
