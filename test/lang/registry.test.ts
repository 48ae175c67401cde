import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { compile, formatDiagnostic } from "../../lang/index.ts";
import type { StatementSpec } from "../../lang/spec.ts";
import { extractReference, README_PATH, referenceMarkdown } from "../../runtime/reference.ts";
import { findStatement, statements } from "../../runtime/registry.ts";

const NAMES = [
  "ns", "hostname", "domainname", "map", "rootfs", "chroot", "mount", "volume", "limit", "net", "sysctl", "join", "env", "cwd",
  "user", "cap", "seccomp", "rlimit", "no_new_privs", "readonly", "mask", "device", "run", "exec", "show", "echo", "expect", "sleep",
];

/** A script in which `example` should pass: the namespaces it needs, and a `run` when it checks one. */
function context(spec: StatementSpec, form?: string): string {
  const req = new Set([...(spec.requires ?? []), ...((form && spec.forms?.[form]?.requires) ?? [])]);
  const lines: string[] = [];
  if (spec.name !== "ns") lines.push(`ns ${req.size ? [...req].join(", ") : "uts"}`);
  if (spec.after) lines.push(`${spec.after[0]} /bin/true`);
  return lines.join("\n") + "\n";
}

function clean(src: string): void {
  const r = compile(src, { file: "example.ctr", specs: statements, cpus: 4, env: {} });
  if (r.diagnostics.length) throw new Error(`${src}\n` + r.diagnostics.map((d) => formatDiagnostic(d, () => src)).join("\n"));
}

describe("registry", () => {
  test("has every statement of the design, with the exact spellings", () => {
    expect(statements.map((s) => s.name).sort()).toEqual([...NAMES].sort());
    for (const n of NAMES) expect(findStatement(n)?.name).toBe(n);
    expect(findStatement("nope")).toBeUndefined();
  });

  test("forms with the exact spellings", () => {
    expect(Object.keys(findStatement("mount")!.forms!)).toEqual(["proc", "sysfs", "tmpfs", "dev", "devpts", "mqueue", "cgroup", "bind", "overlay"]);
    expect(Object.keys(findStatement("limit")!.forms!)).toEqual(["cpu", "memory", "pids", "cpuset", "io"]);
    expect(Object.keys(findStatement("map")!.forms!)).toEqual(["uid", "gid"]);
    expect(Object.keys(findStatement("net")!.forms!)).toEqual(["lo", "veth", "bridge", "route"]);
    expect(Object.keys(findStatement("show")!.forms!)).toEqual(["ns", "mounts", "procs", "cgroup", "ids", "layers", "security", "net"]);
    expect(Object.keys(findStatement("expect")!.forms!)).toEqual(["exit", "output"]);
    expect(Object.keys(findStatement("cap")!.forms!)).toEqual(["drop", "add"]);
  });

  test("host-changing statements declare the namespace that protects the host", () => {
    const req = (n: string) => findStatement(n)!.requires;
    expect(req("hostname")).toEqual(["uts"]);
    expect(req("domainname")).toEqual(["uts"]);
    for (const n of ["mount", "rootfs", "chroot", "volume", "readonly"]) expect(req(n)).toEqual(["mnt"]);
    expect(req("map")).toEqual(["user"]);
    expect(req("net")).toEqual(["net"]);
  });

  test("every entry has a one-line summary, a syntax and an example", () => {
    for (const s of statements) {
      for (const text of [s.summary, s.syntax, s.example]) {
        expect(text.length).toBeGreaterThan(0);
        expect(text).not.toContain("\n");
      }
      expect(s.syntax.startsWith(s.name)).toBe(true);
      expect(s.example.startsWith(s.name)).toBe(true);
      for (const [name, f] of Object.entries(s.forms ?? {})) {
        expect(f.syntax.startsWith(`${s.name} ${name}`)).toBe(true);
        expect(f.example.startsWith(`${s.name} ${name}`)).toBe(true);
      }
    }
  });

  for (const s of statements) {
    test(`the examples of \`${s.name}\` pass the checker`, () => {
      clean(context(s) + s.example);
      for (const [name, f] of Object.entries(s.forms ?? {})) clean(context(s, name) + f.example);
    });
  }
});

describe("README language reference", () => {
  test("the section between the markers is the generated reference", () => {
    const readme = readFileSync(README_PATH, "utf8");
    const section = extractReference(readme);
    expect(section).toBeDefined();
    if (section !== referenceMarkdown()) {
      throw new Error("README.md's language reference is stale: run `bun run runtime/reference.ts --write`");
    }
  });

  test("mentions every statement and form", () => {
    const ref = referenceMarkdown();
    for (const s of statements) {
      expect(ref).toContain(`#### \`${s.name}\``);
      for (const f of Object.values(s.forms ?? {})) expect(ref).toContain(f.syntax.replace(/\|/g, "\\|"));
    }
  });
});
