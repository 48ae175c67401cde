import { describe, expect, test } from "bun:test";
import * as path from "node:path";
import { compile, formatDiagnostic, isIncomplete, Session, type Command, type FrontEndOptions } from "../../lang/index.ts";
import { statements } from "../../runtime/registry.ts";

const ROOT = "/virtual";
function files(map: Record<string, string>): (p: string) => string {
  return (p) => {
    const v = map[path.resolve(p)];
    if (v === undefined) throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
    return v;
  };
}

function run(src: string, opts: Partial<FrontEndOptions> = {}) {
  return compile(src, { file: "t.ctr", specs: statements, cpus: 4, env: {}, ...opts });
}

function ok(src: string, opts: Partial<FrontEndOptions> = {}): Command[] {
  const r = run(src, opts);
  if (r.diagnostics.length) throw new Error(r.diagnostics.map((d) => formatDiagnostic(d, (f) => r.sources.get(f))).join("\n"));
  return r.commands;
}

/** Each command as "name arg arg" with kinds: w:word s:string n:number o:option l:list. */
function show(cmds: Command[]): string[] {
  const k = { word: "w", string: "s", number: "n", option: "o", list: "l" } as const;
  return cmds.map((c) => [c.name, ...c.args.map((a) => `${k[a.kind]}:${a.text}`)].join(" "));
}

describe("interpolation", () => {
  test("variables in words and strings; a lone ${x} keeps its kind", () => {
    const cmds = ok(`ns uts, mnt
let size = 64m
let dir = /tmp
let nss = uts, pid
mount tmpfs \${dir}/x size=\${size}
echo "\${dir} is \${size}" \${size} \${nss} x\${size}`);
    expect(show(cmds).slice(1)).toEqual(["mount w:tmpfs w:/tmp/x o:size=64m", "echo s:/tmp is 64m n:64m l:uts,pid w:x64m"]);
  });

  test("a word that becomes a number after interpolation is a number", () => {
    const [, limit] = ok(`ns uts\nlet n = 64\nlimit memory \${n}m`);
    expect(limit!.args[1]).toMatchObject({ kind: "number", text: "64m", number: { value: 64, unit: "m" } });
  });

  test("${args} alone splices; in a string it joins with spaces", () => {
    const cmds = ok(`ns uts\nrun /bin/echo \${args} "\${args}" \${#}`, { args: ["a", "b c", "64m"] });
    expect(show(cmds)[1]).toBe("run w:/bin/echo w:a w:b c n:64m s:a b c 64m n:3");
  });

  test("${1}, defaults, ${0} and ${env.X}", () => {
    const cmds = ok(`echo \${1} \${2:-two} \${env.HOME} \${env.NONE:-x} \${0}`, { args: ["one"], env: { HOME: "/root" } });
    expect(show(cmds)).toEqual(["echo w:one w:two w:/root w:x w:t.ctr"]);
  });

  test("an interpolated value's span is the token that produced it", () => {
    const [, host] = ok(`ns uts\nlet name = box\nhostname   \${name}`);
    expect(host!.args[0]!.span).toMatchObject({ line: 3, column: 12, length: 7 });
  });

  test("undefined variables are errors, with a suggestion", () => {
    const r = run(`let hostname_x = 1\necho \${hostname_y}`);
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]).toMatchObject({ message: "undefined variable `hostname_y`", help: "did you mean `hostname_x`?" });
  });
});

describe("control flow", () => {
  test("for over words, lists and ${args}", () => {
    const cmds = ok(`let l = x, y\nfor a in p q { echo \${a} }\nfor a in \${l} { echo \${a} }\nfor a in \${args} { echo \${a} }`, { args: ["z"] });
    expect(show(cmds)).toEqual(["echo w:p", "echo w:q", "echo w:x", "echo w:y", "echo w:z"]);
  });

  test("if / else if / else, ==, !=, !, truthiness", () => {
    const src = `if \${1} == a { echo A } else if \${1} != b { echo notB } else { echo B }
if ! \${2:-} { echo no2 }
if 0 { echo zero }
if false { echo false }
if yes { echo yes }`;
    expect(show(ok(src, { args: ["a"] }))).toEqual(["echo w:A", "echo w:no2", "echo w:yes"]);
    expect(show(ok(src, { args: ["b", "x"] }))).toEqual(["echo w:B", "echo w:yes"]);
    expect(show(ok(src, { args: ["c", "0"] }))).toEqual(["echo w:notB", "echo w:no2", "echo w:yes"]);
  });

  test("let inside if assigns in the enclosing scope; the loop variable does not leak", () => {
    const r = run(`if 1 { let x = set }\necho \${x}\nfor i in a { }\necho \${i}`);
    expect(show(r.commands)).toEqual(["echo w:set"]);
    expect(r.diagnostics.map((d) => d.message)).toEqual(["undefined variable `i`"]);
  });
});

describe("functions", () => {
  test("both call forms, nested calls, via chain outermost first", () => {
    const cmds = ok(`ns uts, mnt
fn inner(d) { mount tmpfs \${d} }
fn outer(a, b) { inner \${a}; inner(\${b}) }
outer /x /y`);
    expect(show(cmds).slice(1)).toEqual(["mount w:tmpfs w:/x", "mount w:tmpfs w:/y"]);
    const via = cmds[1]!.via!;
    expect(via.map((s) => s.line)).toEqual([4, 3]);
  });

  test("parameters shadow globals; functions see globals", () => {
    const cmds = ok(`let a = global\nlet g = seen\nfn f(a) { echo \${a} \${g} }\nf local`);
    expect(show(cmds)).toEqual(["echo w:local w:seen"]);
  });

  test("${args} in a call splices into the parameters", () => {
    expect(show(ok(`fn f(a, b) { echo \${b} \${a} }\nf \${args}`, { args: ["1", "2"] }))).toEqual(["echo n:2 n:1"]);
  });

  test("runaway recursion is an error, not a crash", () => {
    const r = run(`fn f() { f; f }\nf\necho after`);
    expect(r.diagnostics.map((d) => d.message)).toEqual(["calls nest more than 64 deep (runaway recursion in `f`?)"]);
    expect(show(r.commands)).toEqual(["echo w:after"]);
  });

  test("a function's errors are reported once, at the statement, with the call in a note", () => {
    const r = run(`ns uts\nfn f() { mount proc }\nf\nf`);
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]!.span.line).toBe(2);
    expect(r.diagnostics[0]!.notes?.[0]?.span.line).toBe(3);
  });
});

describe("imports", () => {
  const lib = {
    [path.resolve(ROOT, "lib/util.ctr")]: `let size = 8m\nfn tmp(d) { mount tmpfs \${d} size=\${size} }\necho util-loaded`,
    [path.resolve(ROOT, "std/base.ctr")]: `import "./helper.ctr"\nfn base() { helper }`,
    [path.resolve(ROOT, "std/helper.ctr")]: `fn helper() { mount proc }`,
    [path.resolve(ROOT, "a.ctr")]: `import "./b.ctr"`,
    [path.resolve(ROOT, "b.ctr")]: `import "./a.ctr"`,
  };
  const opts = { file: path.join(ROOT, "main.ctr"), readFile: files(lib), stdlibDir: path.join(ROOT, "std") };

  test("imported fn and let are visible; a file imported twice runs once", () => {
    const cmds = ok(`ns mnt\nimport "./lib/util.ctr"\nimport "./lib/util.ctr"\ntmp /t\nimport "std/base"\nbase`, opts);
    expect(show(cmds)).toEqual(["ns w:mnt", "echo w:util-loaded", "mount w:tmpfs w:/t o:size=8m", "mount w:proc"]);
    expect(cmds[1]!.via?.[0]?.line).toBe(2);
  });

  test("an import cycle points at the import that closes it", () => {
    const r = run(`import "./a.ctr"`, opts);
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]!.message).toMatch(/^import cycle: .*a\.ctr -> .*b\.ctr -> .*a\.ctr$/);
    expect(r.diagnostics[0]!.span.file).toMatch(/b\.ctr$/);
  });

  test("a missing file is an error at the import", () => {
    const r = run(`import "./nope.ctr"`, opts);
    expect(r.diagnostics[0]).toMatchObject({ message: "cannot import `./nope.ctr`: no such file", span: { line: 1, column: 8 } });
  });
});

describe("REPL support", () => {
  test("isIncomplete: open braces, parentheses and trailing backslashes", () => {
    expect(isIncomplete("fn f() {")).toBe(true);
    expect(isIncomplete("if a {\n echo x\n")).toBe(true);
    expect(isIncomplete("if a {\n echo x\n}")).toBe(false);
    expect(isIncomplete("ns uts, \\")).toBe(true);
    expect(isIncomplete("ns uts, \\\n")).toBe(true);
    expect(isIncomplete("echo '{'")).toBe(false);
    expect(isIncomplete("echo x # \\")).toBe(false);
    expect(isIncomplete("f(a,")).toBe(true);
    expect(isIncomplete("echo }")).toBe(false);
  });

  test("a Session keeps let, fn and namespaces across inputs; bad input changes nothing", () => {
    const s = new Session({ specs: statements, cpus: 4, env: {} });
    expect(s.compile("ns uts").diagnostics).toEqual([]);
    expect([...s.namespaces]).toEqual(["uts"]);
    expect(s.compile("let name = box").committed).toBe(true);
    expect(s.compile("fn host(n) { hostname ${n} }").committed).toBe(true);
    const r = s.compile("host ${name}");
    expect(r.diagnostics).toEqual([]);
    expect(show(r.commands)).toEqual(["hostname w:box"]);
    // An input with an error is not kept.
    const bad = s.compile("let other = x\nmount procc");
    expect(bad.committed).toBe(false);
    expect(s.compile("echo ${other}").diagnostics[0]?.message).toBe("undefined variable `other`");
    // The REPL may add namespaces later.
    expect(s.compile("ns mnt").diagnostics).toEqual([]);
    expect([...s.namespaces].sort()).toEqual(["mnt", "uts"]);
    expect(s.variables()).toContain("name");
    expect(s.functions()).toEqual(["host"]);
  });

  test("a session started with namespaces accepts container statements at once", () => {
    const s = new Session({ specs: statements, cpus: 4, namespaces: new Set(["uts"]) });
    expect(s.compile("hostname x").diagnostics).toEqual([]);
    expect(s.compile("mount proc").diagnostics[0]?.message).toContain("needs `ns mnt`");
  });
});

describe("diagnostics format", () => {
  test("file:line:col: error: message, the line, a caret, help", () => {
    const src = "ns uts\nns pid, utss\n";
    const r = run(src, { file: "script.ctr" });
    const d = r.diagnostics.find((x) => x.message.startsWith("unknown namespace"))!;
    expect(formatDiagnostic(d, () => src)).toBe(
      ["script.ctr:2:9: error: unknown namespace `utss`", "  2 | ns pid, utss", "    |         ^^^^", "help: did you mean `uts`?"].join("\n"),
    );
  });

  test("color is off by default and on when asked", () => {
    const r = run("hostnme x");
    expect(formatDiagnostic(r.diagnostics[0]!, () => "hostnme x")).not.toContain("\x1b[");
    expect(formatDiagnostic(r.diagnostics[0]!, () => "hostnme x", true)).toContain("\x1b[");
  });

  test("tabs are kept in the caret padding; spans past the end are clamped", () => {
    const src = "\thostnme x";
    const r = run(src);
    expect(formatDiagnostic(r.diagnostics[0]!, () => src).split("\n")[2]).toBe("    | \t^^^^^^^");
    const open = "fn f() {";
    const r2 = run(open);
    expect(r2.diagnostics[0]!.message).toBe("this `{` is never closed");
    expect(formatDiagnostic(r2.diagnostics[0]!, () => open)).toContain("  1 | fn f() {\n    |        ^");
  });
});
