// The wording of syntax errors: what the parser reports (as SyntaxProblem
// data, lang/parser.ts), tokens that cannot start a statement, unterminated
// strings and missing statement separators. Each message names what was
// expected and what was found; the help line gives the syntax of the
// statement the error is in, or the fix for a common slip (a `{` or a
// call's arguments on the next line).

import { EOF, type IToken, type TokenType } from "chevrotain";
import type { Stmt } from "./ast.ts";
import { BuildContext, real } from "./build-context.ts";
import * as T from "./lexer.ts";
import type { SyntaxProblem } from "./parser.ts";

// ---- naming tokens -----------------------------------------------------------

/** A found token as the message shows it: its text (shortened), or "end of line/file". */
function describe(tok: IToken): string {
  if (tok.tokenType === EOF) return "end of file";
  if (tok.tokenType === T.Newline) return "end of line";
  const img = tok.image.length > 24 ? tok.image.slice(0, 24) + "…" : tok.image;
  return "`" + img + "`";
}

/** An expected token type as the message shows it (its LABEL in lang/lexer.ts). */
function label(t: TokenType): string {
  if (t === EOF) return "end of file";
  return t.LABEL ?? t.name;
}

/** "a, b or c", each label once. */
function joinAlts(labels: string[]): string {
  const uniq = [...new Set(labels)];
  if (uniq.length <= 1) return uniq[0] ?? "something else";
  return uniq.slice(0, -1).join(", ") + " or " + uniq[uniq.length - 1];
}

// ---- parser problems ----------------------------------------------------------

/** Where a problem is, by grammar rule, as a message says it ("expected `=` in `let`"). */
const RULE_CONTEXT = new Map<string, string>([
  ["letStmt", "in `let`"],
  ["fnStmt", "in `fn`"],
  ["forStmt", "in `for`"],
  ["ifStmt", "in `if`"],
  ["cond", "in the `if` condition"],
  ["block", "in the block"],
  ["command", "in the call"],
]);

/** The syntax of a statement, as the help of an error inside it. */
const RULE_SYNTAX = new Map<string, string>([
  ["cond", "syntax: if VALUE { ... }, if VALUE == VALUE { ... }, if ! COND { ... }"],
  ["forStmt", "syntax: for NAME in ITEMS... { ... }"],
  ["letStmt", "syntax: let NAME = VALUE"],
  ["fnStmt", "syntax: fn NAME(PARAM, ...) { ... }"],
]);

/**
 * How a problem is worded: the message, the rule it names (if it names one)
 * and the token its "expected ..." starts with (if it lists tokens).
 */
interface Wording {
  message: string;
  rule?: string;
  lead?: TokenType;
}

function word(p: SyntaxProblem): Wording {
  const context = RULE_CONTEXT.get(p.rule);
  const where = context ? " " + context : "";
  const rule = context ? p.rule : undefined;
  const found = p.found ? describe(p.found) : "nothing";
  const named = (w: Wording): Wording => {
    if (rule) w.rule = rule;
    return w;
  };
  switch (p.kind) {
    case "not-all-input":
      return { message: `unexpected ${found}` };
    case "mismatch":
      if (p.expected === T.LBrace) return { message: `expected \`{\` to start the block, found ${found}`, lead: T.LBrace };
      return named({ message: `expected ${label(p.expected)}${where}, found ${found}`, lead: p.expected });
    case "no-alternative":
    case "early-exit": {
      if (p.kind === "no-alternative" && p.rule === "letStmt") return { message: `expected a variable name after \`let\`, found ${found}` };
      if (p.kind === "no-alternative" && p.rule === "cond") return named({ message: `expected a value${where}, found ${found}` });
      const w = named({ message: `expected ${joinAlts(p.expected.map(label))}${where}, found ${found}` });
      if (p.expected[0]) w.lead = p.expected[0];
      return w;
    }
  }
}

/** The `{` of each block that has no `}`, innermost last. */
function unclosedBraces(tokens: IToken[]): IToken[] {
  const open: IToken[] = [];
  for (const t of tokens) {
    if (t.tokenType === T.LBrace) open.push(t);
    else if (t.tokenType === T.RBrace) open.pop();
  }
  return open;
}

/** Reports the parser's problems, in the order the parser found them. */
export function reportProblems(ctx: BuildContext, problems: SyntaxProblem[]): void {
  if (problems.length === 0) return;
  // Unclosed braces: point at the `{` rather than at the end of the file.
  const open = unclosedBraces(ctx.tokens);
  for (const p of problems) {
    const t = p.found;
    const atEof = !real(t);
    if (atEof && p.kind === "mismatch" && p.expected === T.RBrace && open.length > 0) {
      const brace = open.pop()!;
      ctx.error(ctx.tokSpan(brace), "this `{` is never closed", "add a `}` to close the block", true);
      continue;
    }
    const span = atEof ? ctx.src.span(ctx.src.text.length, 0) : ctx.tokSpan(t);
    const w = word(p);
    const atNewline = t?.tokenType === T.Newline;
    let help: string | undefined;
    if (w.lead === T.RParen && atNewline) {
      help = "arguments of a call stay on one line (or end the line with `\\` to continue it)";
    } else if (w.rule && RULE_SYNTAX.has(w.rule)) {
      help = RULE_SYNTAX.get(w.rule);
    } else if (w.lead === T.LBrace && atNewline) {
      help = "the `{` of a block goes on the same line";
      // A `{` on the next line would be reported again as unexpected.
      ctx.errorLines.add(span.line + 1);
    }
    ctx.error(span, w.message, help, true);
  }
}

// ---- tokens the builder finds out of place --------------------------------------

/** Reports a token out of place, unless its line already has a syntax error. */
export function strayToken(ctx: BuildContext, t: IToken, message: string, help?: string): void {
  const span = ctx.tokSpan(t);
  if (ctx.errorLines.has(span.line)) return;
  ctx.error(span, message, help, true);
}

export function unterminated(ctx: BuildContext, t: IToken): void {
  const q = t.image[0] === "'" ? "'" : '"';
  ctx.error(ctx.tokSpan(t), "unterminated string", `add the closing \`${q}\` (a string cannot span lines; use \\n)`, true);
}

/** Tokens that cannot start a statement, collected by the grammar's `stray` alternative. */
export function reportStray(ctx: BuildContext, list: IToken[]): void {
  for (const t of list) {
    if (!real(t)) continue;
    const tt = t.tokenType;
    if (tt === T.Else) strayToken(ctx, t, "`else` without `if`", "write `else` on the same line as the `}` that closes the `if` block: } else {");
    else if (tt === T.RParen) strayToken(ctx, t, "unexpected `)`");
    else if (tt === T.LParen) strayToken(ctx, t, "unexpected `(`", "a call is written `name(a, b)` with no space before `(`");
    else if (tt === T.LBrace) strayToken(ctx, t, "unexpected `{`", "blocks follow `fn`, `if`, `else` and `for`");
    else if (tt === T.Comma) strayToken(ctx, t, "unexpected `,`");
    else if (tt === T.DStringOpen || tt === T.SStringOpen) unterminated(ctx, t);
    else {
      const what = tt === T.DString || tt === T.SString ? "a string" : tt === T.NumberTok ? "a number" : tt === T.OptKey ? "an option" : "`" + t.image + "`";
      strayToken(ctx, t, `expected a statement, found ${what}`, "a statement starts with its name, e.g. `mount proc`");
    }
  }
}

/** A `}` at script level: one with no `{`. */
export function reportUnmatchedBrace(ctx: BuildContext, t: IToken): void {
  strayToken(ctx, t, "unmatched `}`", "remove it, or add the `{` it should close");
}

/** Two statements on one line with no `;` between them: points at the second one's first word. */
export function reportMissingSeparator(ctx: BuildContext, cur: Stmt): void {
  const startsWith = ctx.src.text.slice(cur.span.offset, cur.span.offset + Math.min(cur.span.length, 20)).split(/\s/)[0];
  ctx.error(
    ctx.src.span(cur.span.offset, startsWith?.length ?? 1),
    `expected a newline or \`;\` before \`${startsWith}\``,
    "put each statement on its own line, or separate them with `;`",
    true,
  );
}
