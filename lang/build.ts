// Source text -> AST (lang/ast.ts), with every syntax diagnostic. Never
// throws on any input. The steps, each in its own file:
//
//   lexer.ts         tokens (and lexer errors, already worded)
//   parser.ts        the grammar: a CST, and its errors as SyntaxProblem data
//   statements.ts    CST -> statements, blocks, separators between statements
//   arguments.ts     a statement's flat argument tokens -> lists and options
//   strings.ts       one value token -> number, word or string, `${...}` parts
//   syntax-errors.ts the wording of syntax errors
//
// build-context.ts holds what the steps share (diagnostics, recovery state).

import type { IToken } from "chevrotain";
import type { Script } from "./ast.ts";
import { BuildContext } from "./build-context.ts";
import { tokenize } from "./lexer.ts";
import * as T from "./lexer.ts";
import { parseTokens } from "./parser.ts";
import { SourceText } from "./source.ts";
import type { Diagnostic } from "./spec.ts";
import { body } from "./statements.ts";
import { reportProblems } from "./syntax-errors.ts";

export { parseNumber } from "./strings.ts";

export interface BuildResult {
  script: Script;
  diagnostics: Diagnostic[];
}

/** Blocks (and `!` chains) nested deeper than this are refused before parsing (the parser recurses). */
export const MAX_NESTING = 100;

/** Lexes, parses and builds one file. Never throws on any input. */
export function parseSource(text: string, file: string): BuildResult {
  const src = new SourceText(file, text);
  const lexed = tokenize(text);
  // Fewer `{` and `!` than the bound cannot nest past it: the common case skips the walk.
  const tooDeep = lexed.opens > MAX_NESTING ? nestingProblem(lexed.tokens) : undefined;
  if (tooDeep) {
    const d: Diagnostic = { severity: "error", span: src.span(tooDeep.startOffset, tooDeep.image.length), message: `blocks nest more than ${MAX_NESTING} deep`, help: "flatten the script, e.g. with functions" };
    if (tooDeep.tokenType === T.Bang) d.message = `more than ${MAX_NESTING} \`!\` in a row`;
    return { script: { kind: "script", file, body: [], span: src.span(0, text.length) }, diagnostics: [d] };
  }
  const parsed = parseTokens(lexed.tokens);
  const ctx = new BuildContext(src, lexed.tokens);
  for (const e of lexed.errors) ctx.error(src.span(e.offset, e.length), e.message, undefined, true);
  reportProblems(ctx, parsed.problems);
  const script: Script = { kind: "script", file, body: body(ctx, parsed.cst), span: src.span(0, text.length) };
  return { script, diagnostics: ctx.diagnostics };
}

/** The first `{` (or `!`) past MAX_NESTING, if any. */
function nestingProblem(tokens: IToken[]): IToken | undefined {
  let depth = 0;
  let bangs = 0;
  for (const t of tokens) {
    const tt = t.tokenType;
    if (tt === T.LBrace) {
      if (++depth > MAX_NESTING) return t;
    } else if (tt === T.RBrace) {
      if (depth > 0) depth--;
    }
    if (tt === T.Bang) {
      if (++bangs > MAX_NESTING) return t;
    } else bangs = 0;
  }
  return undefined;
}
