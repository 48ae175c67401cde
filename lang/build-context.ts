// What every step of the CST -> AST build shares: the source, the token list,
// the diagnostics found so far, and two pieces of recovery state:
//
//   errorLines  lines that already carry a syntax error; a second complaint
//               about the same line (a stray token, a missing separator) is
//               noise, so the steps look here before reporting
//   broken      set while one statement is built when recovery touched it
//               (a token was invented, a node is partial); the statement is
//               then marked broken and later stages skip it
//
// Also the helpers for reading chevrotain's CST, whose children are keyed by
// rule or token name.

import { EOF, type CstNode, type IToken } from "chevrotain";
import type { SourceText } from "./source.ts";
import type { Diagnostic, Span } from "./spec.ts";

type Child = CstNode | IToken;
type Children = Record<string, Child[] | undefined>;

function kids(n: CstNode): Children {
  return n.children as Children;
}
export function toks(n: CstNode, name: string): IToken[] {
  return (kids(n)[name] as IToken[] | undefined) ?? [];
}
export function tok(n: CstNode, name: string, i = 0): IToken | undefined {
  return (kids(n)[name] as IToken[] | undefined)?.[i];
}
export function subs(n: CstNode, name: string): CstNode[] {
  return (kids(n)[name] as CstNode[] | undefined) ?? [];
}
export function sub(n: CstNode, name: string, i = 0): CstNode | undefined {
  return (kids(n)[name] as CstNode[] | undefined)?.[i];
}
/** A token that really is in the source (not inserted by error recovery). */
export function real(t: IToken | undefined): t is IToken {
  return t !== undefined && !t.isInsertedInRecovery && t.startOffset >= 0 && t.tokenType !== EOF;
}

export class BuildContext {
  readonly diagnostics: Diagnostic[] = [];
  /** Lines (1-based) that already carry a syntax error: stray tokens there are not reported again. */
  readonly errorLines = new Set<number>();
  /** Set while building a statement when recovery touched it. */
  broken = false;

  constructor(
    readonly src: SourceText,
    readonly tokens: IToken[],
  ) {}

  /** Records an error; `syntax` marks its line as already reported. */
  error(span: Span, message: string, help?: string, syntax = false): void {
    const d: Diagnostic = { severity: "error", span, message };
    if (help) d.help = help;
    this.diagnostics.push(d);
    if (syntax) this.errorLines.add(span.line);
  }

  tokSpan(t: IToken): Span {
    return this.src.span(t.startOffset, t.image.length);
  }

  /** Marks the statement broken when recovery left the node partial (or absent). */
  check(n: CstNode | undefined): void {
    if (!n || n.recoveredNode) this.broken = true;
  }

  /** Marks the statement broken when the token was invented by recovery; returns it if real. */
  need(t: IToken | undefined): IToken | undefined {
    if (!real(t)) {
      this.broken = true;
      return undefined;
    }
    return t;
  }
}
