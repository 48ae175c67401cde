// The scanner: the tokens of lang/lexer.ts, found by hand in one pass over the
// char codes instead of by chevrotain's Lexer trying a regex per token type.
//
// Why: a cold `ctr check` of a large script spent a fifth of its time in
// chevrotain's Lexer (its regexes and per-token dispatch run in the
// interpreter and the first JIT tiers for much of a single run); one loop
// over char codes gets compiled early and costs a fraction (issue 17, part 2).
//
// It must give exactly what chevrotain's Lexer gives for the token
// definitions of lexer.ts, errors included: the same tokens (type, image,
// offset), the same comments, the same error runs. test/lang/scan.test.ts
// compares the two on the test corpus and on random inputs. The rules, as
// chevrotain applies them:
//   - at each offset the first token type in allTokens order that matches
//     wins; a type with `longer_alt: Word` loses to a strictly longer Word
//     (keywords, numbers, `!`);
//   - where nothing matches, characters are dropped until one where some
//     type matches, and the dropped run is one error.

import type { IToken, TokenType } from "chevrotain";
import * as T from "./lexer.ts";

export interface ScanError {
  offset: number;
  length: number;
}

export interface ScanResult {
  tokens: IToken[];
  comments: IToken[];
  errors: ScanError[];
  /** How many `{` and `!` tokens there are (lang/build.ts looks for deep nesting only past MAX_NESTING of them). */
  opens: number;
}

/** JavaScript's `\s` above ASCII (what `[^\s...]` in the Word pattern excludes). */
function isUnicodeSpace(c: number): boolean {
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

// ASCII classes: bit NEXT "may continue a word" (WORD_NEXT), FIRST "may start one"
// (WORD_FIRST), and the two characters the Word pattern treats apart. The hot loops
// read this table rather than call a function per character: in a cold process a
// call costs far more than the test (the loops run in the first tiers for a while).
const NEXT = 1;
const FIRST = 2;
const DOLLAR = 4;
const BACKSLASH = 8;
/** [A-Za-z0-9_.-]: may continue an option key. */
const KEY = 16;
const ASCII = new Uint8Array(128);
// The control characters continue a word but do not start one: chevrotain picks the token
// types to try by the first character, and Word's start_chars_hint (lexer.ts) leaves them out.
for (let c = 0; c < 128; c++) ASCII[c] = c < 32 || c === 127 ? NEXT : NEXT | FIRST;
for (const ch of " \t\n\v\f\r\"'`;,{}()") ASCII[ch.charCodeAt(0)] = 0;
for (const ch of "=#") ASCII[ch.charCodeAt(0)] = NEXT;
ASCII[36] = DOLLAR;
ASCII[92] = BACKSLASH;
for (const ch of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ASCII[ch.charCodeAt(0)]! |= KEY;

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || (c >= 128 && isUnicodeSpace(c));
}

/**
 * End of the Word pattern's match at `i` (`i` when it does not match):
 *   (?:FIRST|INTERP)(?:NEXT|INTERP)*   INTERP = \$\{[^}\s"']*\}? | \$(?!\{) | \\(?!\r?\n)
 */
function wordEnd(t: string, i: number): number {
  const c = t.charCodeAt(i);
  // The first character: FIRST (not `=` or `#`, nor a control character) or INTERP.
  if (c < 128 ? (ASCII[c]! & (FIRST | DOLLAR | BACKSLASH)) === 0 : c !== c || isUnicodeSpace(c)) return i;
  return wordRest(t, i);
}

/** End of the `(?:NEXT|INTERP)*` part of a word, from `j`. */
function wordRest(t: string, j: number): number {
  const n = t.length;
  for (let c = t.charCodeAt(j); ; c = t.charCodeAt(j)) {
    if (c < 128) {
      const k = ASCII[c]!;
      if (k & NEXT) j++;
      else if (k === DOLLAR) {
        if (t.charCodeAt(j + 1) === 123 /* { */) {
          j += 2;
          for (let d = t.charCodeAt(j); j < n && d !== 125 && d !== 34 && d !== 39 && !isSpace(d); d = t.charCodeAt(++j));
          if (t.charCodeAt(j) === 125) j++;
        } else j++;
      } else if (k === BACKSLASH) {
        const d = t.charCodeAt(j + 1);
        if (d === 10 || (d === 13 && t.charCodeAt(j + 2) === 10)) return j;
        j++;
      } else return j;
    } else if (c !== c || isUnicodeSpace(c)) return j; // c !== c: NaN, past the end
    else j++;
  }
}

function digit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** End of the Number pattern's match at `i` (a digit there): \d+(?:\.\d+)?(?:ms|%|[kKmMgGtTsh])? */
function numberEnd(t: string, i: number): number {
  let j = i + 1;
  while (digit(t.charCodeAt(j))) j++;
  if (t.charCodeAt(j) === 46 && digit(t.charCodeAt(j + 1))) {
    j += 2;
    while (digit(t.charCodeAt(j))) j++;
  }
  const c = t.charCodeAt(j);
  if (c === 109 /* m */ && t.charCodeAt(j + 1) === 115 /* s */) return j + 2;
  if (c === 37 /* % */ || c === 109 || c === 107 || c === 75 || c === 77 || c === 103 || c === 71 || c === 116 || c === 84 || c === 115 || c === 104) return j + 1;
  return j;
}

interface Tables {
  /** The keyword types by their text (none is a prefix of another, so a word is one iff its text is one). */
  keywords: Map<string, TokenType>;
  /** The single-character tokens, by char code. */
  single: (TokenType | null)[];
}
let tables: Tables | undefined;
/** Built on first use: lexer.ts, which defines the token types, imports this file. */
function getTables(): Tables {
  if (tables) return tables;
  const single: (TokenType | null)[] = new Array(128).fill(null);
  const pairs: [string, TokenType][] = [["\n", T.Newline], [";", T.Semi], ["{", T.LBrace], ["}", T.RBrace], ["(", T.LParen], [")", T.RParen], [",", T.Comma]];
  for (const [ch, type] of pairs) single[ch.charCodeAt(0)] = type;
  const keywords = new Map(T.KEYWORDS.map((type) => [type.PATTERN as string, type]));
  for (const a of keywords.keys()) for (const b of keywords.keys()) if (a !== b && b.startsWith(a)) throw new Error(`keyword \`${a}\` is a prefix of \`${b}\`: lang/scan.ts needs chevrotain's order then`);
  return (tables = { keywords, single });
}

/**
 * Characters where no token type matches, even tried in full: an error that starts
 * at any character goes on over these (chevrotain's re-sync tries every type).
 */
function noTokenAt(c: number): boolean {
  return c === 96 /* ` */ || (c >= 128 && isUnicodeSpace(c));
}

/** A token as chevrotain's Lexer makes one with positionTracking "onlyOffset". */
function token(image: string, startOffset: number, tokenType: TokenType): IToken {
  return { image, startOffset, tokenTypeIdx: tokenType.tokenTypeIdx!, tokenType } as IToken;
}

export function scan(t: string): ScanResult {
  const tokens: IToken[] = [];
  const comments: IToken[] = [];
  const errors: ScanError[] = [];
  const n = t.length;
  const { keywords, single } = getTables();
  let opens = 0;
  let i = 0;
  while (i < n) {
    const c = t.charCodeAt(i);
    // WhiteSpace: [ \t\r\f\v]+ (skipped)
    if (c === 32 || c === 9 || c === 13 || c === 12 || c === 11) {
      i++;
      for (let d = t.charCodeAt(i); d === 32 || d === 9 || d === 13 || d === 12 || d === 11; d = t.charCodeAt(++i));
      continue;
    }
    if (c < 128) {
      const one = single[c]!;
      if (one !== null) {
        if (c === 123) opens++;
        tokens.push(token(t[i]!, i, one));
        i++;
        continue;
      }
    }
    let type: TokenType = T.Word;
    let end = i;
    switch (c) {
      case 92: {
        // LineContinuation: \\\r?\n (skipped); otherwise a word starting with `\`
        const d = t.charCodeAt(i + 1);
        if (d === 10 || (d === 13 && t.charCodeAt(i + 2) === 10)) {
          i += d === 10 ? 2 : 3;
          continue;
        }
        end = wordEnd(t, i);
        break;
      }
      case 35: // Comment: #[^\n]*
        end = t.indexOf("\n", i);
        if (end === -1) end = n;
        comments.push(token(t.slice(i, end), i, T.Comment));
        i = end;
        continue;
      case 34: {
        // DString: "(?:[^"\\\n]|\\[^\n])*"   DStringOpen: the same without the closing quote, and a last `\` kept
        let j = i + 1;
        type = T.DStringOpen;
        for (;;) {
          const d = t.charCodeAt(j);
          if (d === 34) {
            type = T.DString;
            j++;
            break;
          }
          if (d === 92) {
            if (j + 1 < n && t.charCodeAt(j + 1) !== 10) {
              j += 2;
              continue;
            }
            j++;
            break;
          }
          if (j >= n || d === 10) break;
          j++;
        }
        end = j;
        break;
      }
      case 39: {
        // SString: '[^'\n]*'   SStringOpen: '[^'\n]*
        let j = i + 1;
        for (let d = t.charCodeAt(j); j < n && d !== 39 && d !== 10; d = t.charCodeAt(++j));
        if (t.charCodeAt(j) === 39) (type = T.SString), (end = j + 1);
        else (type = T.SStringOpen), (end = j);
        break;
      }
      case 61: // EqEq, Equals (no word starts with `=`)
        if (t.charCodeAt(i + 1) === 61) (type = T.EqEq), (end = i + 2);
        else (type = T.Equals), (end = i + 1);
        break;
      case 33: // NotEq; Bang unless a longer word starts here
        if (t.charCodeAt(i + 1) === 61) (type = T.NotEq), (end = i + 2);
        else {
          end = wordEnd(t, i);
          if (end - i <= 1) (type = T.Bang), (end = i + 1), opens++;
        }
        break;
      default:
        if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95) {
          // OptKey: [A-Za-z_][A-Za-z0-9_.-]*=(?!=), not right after a `=`; then a keyword, or a word
          let j = i + 1;
          if (i === 0 || t.charCodeAt(i - 1) !== 61) {
            for (let d = t.charCodeAt(j); d < 128 && (ASCII[d]! & KEY) !== 0; d = t.charCodeAt(++j));
            if (t.charCodeAt(j) === 61 && t.charCodeAt(j + 1) !== 61) {
              tokens.push(token(t.slice(i, j + 1), i, T.OptKey));
              i = j + 1;
              continue;
            }
          }
          end = wordRest(t, j);
          const image = t.slice(i, end);
          // A keyword is a Word that is exactly its text (keywords are 2 to 6 letters, of "lfie").
          const kw = end - i <= 6 && (c === 108 || c === 102 || c === 105 || c === 101) ? keywords.get(image) : undefined;
          tokens.push(token(image, i, kw ?? T.Word));
          i = end;
          continue;
        } else if (c >= 48 && c <= 57) {
          const num = numberEnd(t, i);
          end = wordEnd(t, i);
          if (end <= num) (type = T.NumberTok), (end = num);
        } else end = wordEnd(t, i);
    }
    if (end > i) {
      tokens.push(token(t.slice(i, end), i, type));
      i = end;
      continue;
    }
    // Nothing matches here: one error for the run of such characters.
    let j = i + 1;
    while (j < n && noTokenAt(t.charCodeAt(j))) j++;
    errors.push({ offset: i, length: j - i });
    i = j;
  }
  return { tokens, comments, errors, opens };
}
