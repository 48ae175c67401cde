// Tokens of the ctr language (chevrotain).
//
// Statements end at a newline or `;`; `\` at the end of a line continues the
// statement. `#` starts a comment only at the start of a token, so `a#b` is a
// word and `#!/usr/bin/env ctr` is a comment.
//
// Argument tokens: bare words (which may embed `${...}`), "strings" with
// escapes and interpolation, 'raw strings', numbers with units, and `key=`
// option keys (the value follows with no space). Keywords are only special
// at the start of a statement; in argument position the parser accepts them
// as plain words.

import { createToken, Lexer, type IToken, type TokenType, type CustomPatternMatcherReturn } from "chevrotain";

export const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /[ \t\r\f\v]+/, group: Lexer.SKIPPED });
/** A backslash at the end of a line joins it with the next one. */
export const LineContinuation = createToken({
  name: "LineContinuation",
  pattern: /\\\r?\n/,
  group: Lexer.SKIPPED,
  line_breaks: true,
});
export const Comment = createToken({ name: "Comment", pattern: /#[^\n]*/, group: "comments" });

export const Newline = createToken({ name: "Newline", pattern: /\n/, line_breaks: true, label: "end of line" });
export const Semi = createToken({ name: "Semi", pattern: /;/, label: "`;`" });
export const LBrace = createToken({ name: "LBrace", pattern: /\{/, label: "`{`" });
export const RBrace = createToken({ name: "RBrace", pattern: /\}/, label: "`}`" });
export const LParen = createToken({ name: "LParen", pattern: /\(/, label: "`(`" });
export const RParen = createToken({ name: "RParen", pattern: /\)/, label: "`)`" });
export const Comma = createToken({ name: "Comma", pattern: /,/, label: "`,`" });

/** "..." with escapes and ${} interpolation; no raw newlines (use \n). */
export const DString = createToken({ name: "DString", pattern: /"(?:[^"\\\n]|\\[^\n])*"/, label: "a string" });
/** A double-quoted string missing its closing quote (reported by the builder). */
export const DStringOpen = createToken({
  name: "DStringOpen",
  pattern: /"(?:[^"\\\n]|\\[^\n])*\\?/,
  label: "a string",
});
/** '...' raw: no escapes, no interpolation. */
export const SString = createToken({ name: "SString", pattern: /'[^'\n]*'/, label: "a string" });
export const SStringOpen = createToken({ name: "SStringOpen", pattern: /'[^'\n]*/, label: "a string" });

// A bare word: no spaces, quotes, `;`, `,`, braces or parentheses. `${...}`
// is taken whole (so `${a:-x}` stays in one word); `=` and `#` may appear
// after the first character. A backslash is literal except before a newline.
const WORD_FIRST = String.raw`[^\s"'\`;,{}()=#\\$]`;
const WORD_NEXT = String.raw`[^\s"'\`;,{}()\\$]`;
const INTERP = String.raw`\$\{[^}\s"']*\}?|\$(?!\{)|\\(?!\r?\n)`;
/** Every character a word may start with, for chevrotain's first-char optimization. */
function wordStartChars(): number[] {
  const out: number[] = [];
  const excluded = new Set([..." \t\n\r\f\v\"'`;,{}()=#"].map((c) => c.charCodeAt(0)));
  for (let c = 33; c < 127; c++) if (!excluded.has(c)) out.push(c);
  for (let c = 128; c < 256; c++) out.push(c);
  // Above 255 chevrotain buckets char codes (by 255): one representative per bucket.
  let bucket = -1;
  for (let c = 256; c < 65536; c++) {
    const b = ~~(c / 255);
    if (b !== bucket) out.push(c), (bucket = b);
  }
  return out;
}
export const Word = createToken({
  name: "Word",
  pattern: new RegExp(`(?:${WORD_FIRST}|${INTERP})(?:${WORD_NEXT}|${INTERP})*`),
  start_chars_hint: wordStartChars(),
  label: "a word",
});

const optKeyRe = /[A-Za-z_][A-Za-z0-9_.-]*=(?!=)/y;
/** `key=` at the start of a word (the option's value follows without a space). */
export const OptKey = createToken({
  name: "OptKey",
  pattern: {
    exec: (text: string, offset: number): CustomPatternMatcherReturn | null => {
      // `a=b=c`: after an option key, `b=c` is the value, not another key.
      if (offset > 0 && text.charCodeAt(offset - 1) === 61 /* = */) return null;
      optKeyRe.lastIndex = offset;
      const m = optKeyRe.exec(text);
      return m ? ([m[0]] as CustomPatternMatcherReturn) : null;
    },
  },
  line_breaks: false,
  start_chars_hint: [..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"],
  label: "an option",
});

/** 20%, 64m, 1.5g, 500ms, 2s, 100. A longer word (`10.0.0.1/24`, `64q`) wins. */
export const NumberTok = createToken({
  name: "Number",
  pattern: /\d+(?:\.\d+)?(?:ms|%|[kKmMgGtTsh])?/,
  longer_alt: Word,
  label: "a number",
});

export const EqEq = createToken({ name: "EqEq", pattern: /==/, label: "`==`" });
export const NotEq = createToken({ name: "NotEq", pattern: /!=/, label: "`!=`" });
export const Bang = createToken({ name: "Bang", pattern: /!/, longer_alt: Word, label: "`!`" });
export const Equals = createToken({ name: "Equals", pattern: /=/, label: "`=`" });

function keyword(name: string): TokenType {
  return createToken({ name: "Kw" + name[0]!.toUpperCase() + name.slice(1), pattern: name, longer_alt: Word, label: "`" + name + "`" });
}
export const Let = keyword("let");
export const Fn = keyword("fn");
export const Import = keyword("import");
export const If = keyword("if");
export const Else = keyword("else");
export const For = keyword("for");
export const In = keyword("in");
export const KEYWORDS = [Let, Fn, Import, If, Else, For, In];

export const allTokens: TokenType[] = [
  WhiteSpace,
  LineContinuation,
  Comment,
  Newline,
  Semi,
  LBrace,
  RBrace,
  LParen,
  RParen,
  Comma,
  DString,
  DStringOpen,
  SString,
  SStringOpen,
  EqEq,
  NotEq,
  Bang,
  Equals,
  OptKey,
  ...KEYWORDS,
  NumberTok,
  Word,
];

let lexer: Lexer | undefined;
function getLexer(): Lexer {
  lexer ??= new Lexer(allTokens, {
    positionTracking: "onlyOffset",
    ensureOptimizations: false,
    skipValidations: true,
  });
  return lexer;
}

export interface LexError {
  offset: number;
  length: number;
  message: string;
}

export interface LexResult {
  tokens: IToken[];
  comments: IToken[];
  errors: LexError[];
}

export function tokenize(source: string): LexResult {
  const r = getLexer().tokenize(source);
  const errors: LexError[] = r.errors.map((e) => {
    const ch = source[e.offset] ?? "";
    let message = `unexpected character \`${ch}\``;
    if (ch === "`") message = "unexpected backquote; use \"...\" or '...' for strings";
    else if (ch === "\\") message = "unexpected `\\`";
    return { offset: e.offset, length: Math.max(1, e.length), message };
  });
  return { tokens: r.tokens, comments: r.groups.comments ?? [], errors };
}

/** For validation during development: builds the lexer with chevrotain's checks on. */
export function validateLexer(): void {
  new Lexer(allTokens, { positionTracking: "onlyOffset", ensureOptimizations: true });
}
