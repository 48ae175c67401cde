// The parser's errors as data (lang/parser.ts SyntaxProblem) and their
// wording (lang/syntax-errors.ts): the help line follows the rule the error
// is in, never text that happens to appear in the offending token.

import { describe, expect, test } from "bun:test";
import { parseSource } from "../../lang/build.ts";
import { Equals, KEYWORDS, RParen, STATEMENT_KEYWORDS, tokenize } from "../../lang/lexer.ts";
import { parseTokens } from "../../lang/parser.ts";

function problems(src: string) {
  return parseTokens(tokenize(src).tokens).problems;
}

describe("syntax problems", () => {
  test("a mismatch carries its rule, the expected token type and the token found", () => {
    const [p, ...rest] = problems("let x 5\n");
    expect(rest).toEqual([]);
    expect(p?.kind).toBe("mismatch");
    expect(p?.rule).toBe("letStmt");
    if (p?.kind !== "mismatch") throw new Error("not a mismatch");
    expect(p.expected).toBe(Equals);
    expect(p.found.image).toBe("5");
  });

  test("no matching alternative lists the first token of each alternative", () => {
    const [p] = problems("f(a, )\n");
    expect(p?.kind).toBe("no-alternative");
    expect(p?.rule).toBe("callArg");
    if (p?.kind !== "no-alternative") throw new Error("not a no-alternative");
    expect(p.expected.map((t) => t.name)).toEqual(["OptKey", "Atom"]);
    expect(p.found?.tokenType).toBe(RParen);
  });

  test("a valid script has none", () => {
    expect(problems("ns uts\nif a == b { echo x } else { echo y }\nf(a, k=v)\n")).toEqual([]);
  });
});

describe("syntax-error wording", () => {
  test("the help does not come from text inside the token found", () => {
    // The found token is a string containing "in `for`": an error in a call
    // gets no `for` syntax help (matching the message text once gave it).
    const d = parseSource("f(a '`in `for``'\n", "t.ctr").diagnostics;
    expect(d[0]?.message).toBe("expected `)` in the call, found `'`in `for``'`");
    expect(d[0]?.help).toBeUndefined();
    const e = parseSource("let \"`if` condition\"\n", "t.ctr").diagnostics;
    expect(e[0]?.message).toBe("expected a variable name after `let`, found `\"`if` condition\"`");
    expect(e[0]?.help).toBeUndefined();
  });

  test("the help names the statement the error is in", () => {
    expect(parseSource("for x y { }\n", "t.ctr").diagnostics[0]?.help).toBe("syntax: for NAME in ITEMS... { ... }");
    expect(parseSource("fn f( { }\n", "t.ctr").diagnostics[0]?.help).toBe("syntax: fn NAME(PARAM, ...) { ... }");
  });
});

describe("keywords", () => {
  test("exactly the statement keywords begin a statement", () => {
    const texts = KEYWORDS.map((t) => String(t.PATTERN));
    expect(texts).toEqual(["let", "fn", "import", "if", "else", "for", "in"]);
    for (const k of texts) {
      const d = parseSource(`${k} x\n`, "t.ctr").diagnostics.map((x) => x.message);
      const stray = d.some((m) => m === "`else` without `if`" || m.startsWith("expected a statement"));
      expect({ k, stray }).toEqual({ k, stray: !STATEMENT_KEYWORDS.includes(k) });
    }
  });
});
