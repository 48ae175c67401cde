// Tokens of the ctr language (chevrotain token types). lang/scan.ts finds them
// in a script; chevrotain's own Lexer over these definitions is the reference
// it must agree with (referenceTokenize, test/lang/scan.test.ts).
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
import { scan } from "./scan.ts";

// Token categories (one CONSUME matches any member): keep the grammar's
// alternations small, which is what makes chevrotain fast.
/** Any token that may appear among a statement's arguments (value, `,`, `key=`, operator). */
export const ArgTok = createToken({ name: "ArgTok", pattern: Lexer.NA, label: "an argument" });
/** Ends a statement: newline or `;`. */
export const Sep = createToken({ name: "Sep", pattern: Lexer.NA, label: "end of line or `;`" });
/** A value token: word, number, string, or a keyword used as a word. */
export const Atom = createToken({ name: "Atom", pattern: Lexer.NA, label: "a value", categories: [ArgTok] });
/** `==`, `!=`, `!`, `=` used as plain arguments. */
export const Operator = createToken({ name: "Operator", pattern: Lexer.NA, label: "an operator", categories: [ArgTok] });
/** Tokens that cannot start a statement (consumed at statement level and reported). */
export const Stray = createToken({ name: "Stray", pattern: Lexer.NA, label: "a statement" });

export const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /[ \t\r\f\v]+/, group: Lexer.SKIPPED });
/** A backslash at the end of a line joins it with the next one. */
export const LineContinuation = createToken({
  name: "LineContinuation",
  pattern: /\\\r?\n/,
  group: Lexer.SKIPPED,
  line_breaks: true,
});
export const Comment = createToken({ name: "Comment", pattern: /#[^\n]*/, group: "comments" });

export const Newline = createToken({ name: "Newline", pattern: /\n/, line_breaks: true, label: "end of line", categories: [Sep] });
export const Semi = createToken({ name: "Semi", pattern: /;/, label: "`;`", categories: [Sep] });
export const LBrace = createToken({ name: "LBrace", pattern: /\{/, label: "`{`", categories: [Stray] });
export const RBrace = createToken({ name: "RBrace", pattern: /\}/, label: "`}`" });
export const LParen = createToken({ name: "LParen", pattern: /\(/, label: "`(`", categories: [Stray] });
export const RParen = createToken({ name: "RParen", pattern: /\)/, label: "`)`", categories: [Stray] });
export const Comma = createToken({ name: "Comma", pattern: /,/, label: "`,`", categories: [Stray, ArgTok] });

/** "..." with escapes and ${} interpolation; no raw newlines (use \n). */
export const DString = createToken({ name: "DString", pattern: /"(?:[^"\\\n]|\\[^\n])*"/, label: "a string", categories: [Atom, Stray] });
/** A double-quoted string missing its closing quote (reported by the builder, lang/strings.ts). */
export const DStringOpen = createToken({
  name: "DStringOpen",
  pattern: /"(?:[^"\\\n]|\\[^\n])*\\?/,
  label: "a string",
  categories: [Atom, Stray],
});
/** '...' raw: no escapes, no interpolation. */
export const SString = createToken({ name: "SString", pattern: /'[^'\n]*'/, label: "a string", categories: [Atom, Stray] });
export const SStringOpen = createToken({ name: "SStringOpen", pattern: /'[^'\n]*/, label: "a string", categories: [Atom, Stray] });

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
  // Above 255 chevrotain buckets char codes (by 255): one representative per bucket,
  // its first code from 256 up (256 for bucket 1, then 255 * b), computed rather than
  // found by a walk over all 65,280 codes (a few ms of every process that loads the
  // front end, in the interpreter).
  out.push(256);
  for (let b = 2; b <= Math.floor(65535 / 255); b++) out.push(255 * b);
  return out;
}
export const Word = createToken({
  name: "Word",
  pattern: new RegExp(`(?:${WORD_FIRST}|${INTERP})(?:${WORD_NEXT}|${INTERP})*`),
  start_chars_hint: wordStartChars(),
  label: "a word",
  categories: [Atom],
});

/** [A-Za-z_] */
function keyStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}
/** [A-Za-z0-9_.-] */
function keyNext(c: number): boolean {
  return keyStart(c) || (c >= 48 && c <= 57) || c === 46 || c === 45;
}
/** `key=` at the start of a word (the option's value follows without a space). */
export const OptKey = createToken({
  name: "OptKey",
  pattern: {
    // /[A-Za-z_][A-Za-z0-9_.-]*=(?!=)/ at `offset`, scanned by hand: the lexer tries
    // it at every word that starts with a letter, so a regex call there is most of its cost.
    exec: (text: string, offset: number): CustomPatternMatcherReturn | null => {
      // `a=b=c`: after an option key, `b=c` is the value, not another key.
      if (offset > 0 && text.charCodeAt(offset - 1) === 61 /* = */) return null;
      if (!keyStart(text.charCodeAt(offset))) return null;
      let i = offset + 1;
      while (keyNext(text.charCodeAt(i))) i++;
      if (text.charCodeAt(i) !== 61 || text.charCodeAt(i + 1) === 61) return null;
      return [text.slice(offset, i + 1)] as CustomPatternMatcherReturn;
    },
  },
  line_breaks: false,
  start_chars_hint: [..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"],
  label: "an option",
  categories: [Stray, ArgTok],
});

/** 20%, 64m, 1.5g, 500ms, 2s, 100. A longer word (`10.0.0.1/24`, `64q`) wins. */
export const NumberTok = createToken({
  name: "Number",
  pattern: /\d+(?:\.\d+)?(?:ms|%|[kKmMgGtTsh])?/,
  longer_alt: Word,
  label: "a number",
  categories: [Atom, Stray],
});

export const EqEq = createToken({ name: "EqEq", pattern: /==/, label: "`==`", categories: [Operator, Stray] });
export const NotEq = createToken({ name: "NotEq", pattern: /!=/, label: "`!=`", categories: [Operator, Stray] });
export const Bang = createToken({ name: "Bang", pattern: /!/, longer_alt: Word, label: "`!`", categories: [Operator, Stray] });
export const Equals = createToken({ name: "Equals", pattern: /=/, label: "`=`", categories: [Operator, Stray] });

/** The text of each keyword that may begin a statement (`else` and `in` only continue one). */
const startsStatement = new Map<TokenType, string>();
function keyword(name: string, stray = false): TokenType {
  const t = createToken({
    name: "Kw" + name[0]!.toUpperCase() + name.slice(1),
    pattern: name,
    longer_alt: Word,
    label: "`" + name + "`",
    categories: stray ? [Atom, Stray] : [Atom],
  });
  if (!stray) startsStatement.set(t, name);
  return t;
}
export const Let = keyword("let");
export const Fn = keyword("fn");
export const Import = keyword("import");
export const If = keyword("if");
export const Else = keyword("else", true);
export const For = keyword("for");
export const In = keyword("in", true);
/** Every keyword token (in argument position each is a plain word). */
export const KEYWORDS = [Let, Fn, Import, If, Else, For, In];
/** The keywords a statement can begin with, as written: the one list of them (the REPL completes from it). */
export const STATEMENT_KEYWORDS: readonly string[] = KEYWORDS.flatMap((t) => startsStatement.get(t) ?? []);

export const allTokens: TokenType[] = [
  ArgTok,
  Sep,
  Atom,
  Operator,
  Stray,
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
  /** How many `{` and `!` tokens there are. */
  opens: number;
}

/**
 * The tokens of `source`. Found by lang/scan.ts, which gives what chevrotain's
 * Lexer gives for these token types (referenceTokenize), faster.
 */
export function tokenize(source: string): LexResult {
  const r = scan(source);
  return { tokens: r.tokens, comments: r.comments, errors: r.errors.map((e) => lexError(source, e.offset, e.length)), opens: r.opens };
}

function lexError(source: string, offset: number, length: number): LexError {
  const ch = source[offset] ?? "";
  let message = `unexpected character \`${ch}\``;
  if (ch === "`") message = "unexpected backquote; use \"...\" or '...' for strings";
  else if (ch === "\\") message = "unexpected `\\`";
  return { offset, length: Math.max(1, length), message };
}

/** The tokens as chevrotain's Lexer finds them from the definitions above: what tokenize() must equal (test/lang/scan.test.ts). */
export function referenceTokenize(source: string): LexResult {
  const r = getLexer().tokenize(source);
  const opens = r.tokens.filter((t) => t.tokenType === LBrace || t.tokenType === Bang).length;
  return { tokens: r.tokens, comments: r.groups.comments ?? [], errors: r.errors.map((e) => lexError(source, e.offset, e.length)), opens };
}

/** For validation during development: builds the lexer with chevrotain's checks on. */
export function validateLexer(): void {
  new Lexer(allTokens, { positionTracking: "onlyOffset", ensureOptimizations: true });
}
