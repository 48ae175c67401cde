import { describe, expect, test } from "bun:test";
import { tokenize } from "../../lang/lexer.ts";
import { parseSource } from "../../lang/build.ts";
import type { ArgNode, CommandStmt } from "../../lang/ast.ts";

function kinds(src: string): string[] {
  return tokenize(src).tokens.map((t) => `${t.tokenType.name}:${t.image}`);
}

describe("lexer", () => {
  test("bare words keep paths, flags, addresses and ranges whole", () => {
    expect(kinds("run /bin/bash -c 10.0.0.1/24 0-1 SRC:DST 1000:1000")).toEqual([
      "Word:run",
      "Word:/bin/bash",
      "Word:-c",
      "Word:10.0.0.1/24",
      "Word:0-1",
      "Word:SRC:DST",
      "Word:1000:1000",
    ]);
  });

  test("numbers with units are numbers; longer words win", () => {
    expect(kinds("20% 64m 1g 4k 500ms 2s 1.5g 0 100 64q 1.2.3")).toEqual([
      "Number:20%",
      "Number:64m",
      "Number:1g",
      "Number:4k",
      "Number:500ms",
      "Number:2s",
      "Number:1.5g",
      "Number:0",
      "Number:100",
      "Word:64q",
      "Word:1.2.3",
    ]);
  });

  test("# starts a comment only at the start of a token", () => {
    expect(kinds("#!/usr/bin/env ctr\na#b # comment")).toEqual(["Newline:\n", "Word:a#b"]);
  });

  test("a backslash at the end of a line continues the statement", () => {
    expect(kinds("ns uts, \\\n  pid")).toEqual(["Word:ns", "Word:uts", "Comma:,", "Word:pid"]);
  });

  test("strings, raw strings and unterminated ones", () => {
    expect(kinds(`"a \\" b" 'c' "open`)).toEqual(['DString:"a \\" b"', "SString:'c'", 'DStringOpen:"open']);
  });

  test("option keys end at `=`; the value follows glued", () => {
    expect(kinds("size=64m A=b=c a==b x =y")).toEqual(["OptKey:size=", "Number:64m", "OptKey:A=", "Word:b=c", "Word:a==b", "Word:x", "Equals:=", "Word:y"]);
  });

  test("${...} stays inside a word, even with :- defaults", () => {
    expect(kinds("/tmp/${name} ${1:-/bin/sh}")).toEqual(["Word:/tmp/${name}", "Word:${1:-/bin/sh}"]);
  });

  test("keywords, and words that start like keywords", () => {
    expect(kinds("let letter if iffy for in index")).toEqual(["KwLet:let", "Word:letter", "KwIf:if", "Word:iffy", "KwFor:for", "KwIn:in", "Word:index"]);
  });

  test("operators", () => {
    expect(kinds("! a == b != c !d")).toEqual(["Bang:!", "Word:a", "EqEq:==", "Word:b", "NotEq:!=", "Word:c", "Word:!d"]);
  });

  test("an unknown character is a lexer error, and lexing goes on", () => {
    const r = tokenize("echo `x` y");
    expect(r.errors.length).toBe(2);
    expect(r.tokens.map((t) => t.image)).toEqual(["echo", "x", "y"]);
  });
});

function args(src: string): ArgNode[] {
  const r = parseSource(src, "t.ctr");
  expect(r.diagnostics).toEqual([]);
  return (r.script.body[0] as CommandStmt).args;
}

describe("argument forms in the AST", () => {
  test("word, string, raw string, number", () => {
    const [w, s, r, n] = args(`x word "str \${v}" 'raw \${v}' 64m`);
    expect(w).toMatchObject({ kind: "word", text: "word" });
    expect(w!.dynamic).toBeUndefined();
    expect(s).toMatchObject({ kind: "string", single: false, dynamic: true, parts: ["str ", { name: "v" }] });
    expect(r).toMatchObject({ kind: "string", single: true, text: "raw ${v}" });
    expect(n).toMatchObject({ kind: "number", text: "64m", number: { value: 64, unit: "m" } });
  });

  test("plain numbers have an empty unit; decimals keep their value", () => {
    expect(args("x 100 1.5g")).toMatchObject([
      { kind: "number", number: { value: 100, unit: "" } },
      { kind: "number", number: { value: 1.5, unit: "g" } },
    ]);
  });

  test("options, with word, string, number and list values", () => {
    const a = args(`x size=64m name="a b" mode=0755 mems=0,1 empty=`);
    expect(a).toMatchObject([
      { kind: "option", key: "size", text: "size=64m", value: { kind: "number", number: { value: 64 } } },
      { kind: "option", key: "name", text: "name=a b", value: { kind: "string", text: "a b" } },
      { kind: "option", key: "mode", value: { kind: "number", text: "0755" } },
      { kind: "option", key: "mems", text: "mems=0,1", value: { kind: "list", text: "0,1", items: [{ raw: "0" }, { raw: "1" }] } },
      { kind: "option", key: "empty", text: "empty=", value: { kind: "word", text: "" } },
    ]);
  });

  test("comma lists with optional spaces", () => {
    const [l] = args("ns uts, pid,mnt ,ipc");
    expect(l).toMatchObject({ kind: "list", items: [{ raw: "uts" }, { raw: "pid" }, { raw: "mnt" }, { raw: "ipc" }] });
  });

  test("escapes in strings", () => {
    const [s] = args(String.raw`x "a\tb\nc\"d\\e\$f"`);
    expect(s).toMatchObject({ text: 'a\tb\nc"d\\e$f' });
  });

  test("interpolation inside bare words, with defaults", () => {
    const [w] = args("x /tmp/${name}/x ${1:-def}");
    expect(w).toMatchObject({ kind: "word", parts: ["/tmp/", { name: "name" }, "/x"] });
    const [, d] = args("x a ${1:-def}");
    expect(d).toMatchObject({ parts: [{ name: "1", fallback: "def" }] });
  });

  test("every node has a span with line and column", () => {
    const r = parseSource("ns uts\n  hostname \"c\"", "f.ctr");
    const st = r.script.body[1] as CommandStmt;
    expect(st.nameSpan).toEqual({ file: "f.ctr", line: 2, column: 3, offset: 9, length: 8 });
    expect(st.args[0]!.span).toMatchObject({ line: 2, column: 12, length: 3 });
    expect(st.span).toMatchObject({ line: 2, column: 3, length: 12 });
  });
});
