// Values: one token to one AST atom. Numbers with units (20%, 64m, 500ms),
// bare words, "strings" (escapes and `${...}` interpolation) and 'raw
// strings' (neither). A word may embed `${...}` too, but has no escapes.
// Malformed escapes and references are reported here; the value is still
// built (as literal text) so that later errors in the file are found too.

import type { IToken } from "chevrotain";
import type { AtomNode, NumberNode, Part, StringNode, VarRef, WordNode } from "./ast.ts";
import type { Span } from "./spec.ts";
import { BuildContext, real } from "./build-context.ts";
import * as T from "./lexer.ts";
import { unterminated } from "./syntax-errors.ts";

/** What may stand inside `${...}`, before an optional `:-default`. */
const VAR_NAME = /^(?:[A-Za-z_][A-Za-z0-9_]*|[0-9]+|#|env\.[A-Za-z_][A-Za-z0-9_]*)$/;
const NUMBER_RE = /^(\d+(?:\.\d+)?)(ms|%|[kKmMgGtTsh])?$/;
/** The escapes of a "string", by the character after the backslash. */
const ESCAPES: Record<string, string> = { n: "\n", t: "\t", r: "\r", '"': '"', "\\": "\\", $: "$", "'": "'", "0": "\0" };

/** Parses the number forms of the language: 20%, 64m, 1.5g, 500ms, 100. */
export function parseNumber(text: string): { value: number; unit: string } | undefined {
  const m = NUMBER_RE.exec(text);
  if (!m) return undefined;
  return { value: Number(m[1]), unit: m[2] ?? "" };
}

/** The atom for a value token (Atom category); a token invented by recovery gives an empty word. */
export function atom(ctx: BuildContext, t: IToken): AtomNode {
  if (real(t)) {
    const span = ctx.tokSpan(t);
    const tt = t.tokenType;
    if (tt === T.NumberTok) {
      const p = parseNumber(t.image);
      if (p) return { kind: "number", text: t.image, raw: t.image, number: p, span } satisfies NumberNode;
      return word(ctx, t, span);
    }
    if (tt === T.DString) return dstring(ctx, t, t.image.slice(1, -1), span);
    if (tt === T.DStringOpen) {
      unterminated(ctx, t);
      ctx.broken = true;
      return dstring(ctx, t, t.image.slice(1), span);
    }
    if (tt === T.SString) return { kind: "string", text: t.image.slice(1, -1), raw: t.image, single: true, span };
    if (tt === T.SStringOpen) {
      unterminated(ctx, t);
      ctx.broken = true;
      return { kind: "string", text: t.image.slice(1), raw: t.image, single: true, span };
    }
    return word(ctx, t, span);
  }
  ctx.broken = true;
  const at = ctx.tokens[0];
  return { kind: "word", text: "", raw: "", span: at ? ctx.tokSpan(at) : ctx.src.span(0, 0) };
}

/** A word token; `span` is its span (made once by the caller). */
function word(ctx: BuildContext, t: IToken, span: Span): WordNode {
  const raw = t.image;
  if (!raw.includes("${")) return { kind: "word", text: raw, raw, span };
  const parts = interpolate(ctx, raw, t.startOffset, false);
  if (parts.length === 1 && typeof parts[0] === "string") return { kind: "word", text: parts[0], raw, span };
  return { kind: "word", text: raw, raw, parts, dynamic: true, span };
}

/** A double-quoted string whose text (between the quotes) is `body`. */
function dstring(ctx: BuildContext, t: IToken, body: string, span: Span): StringNode {
  if (!body.includes("\\") && !body.includes("${")) return { kind: "string", text: body, raw: t.image, single: false, span };
  const parts = interpolate(ctx, body, t.startOffset + 1, true);
  if (parts.length === 1 && typeof parts[0] === "string") return { kind: "string", text: parts[0], raw: t.image, single: false, span };
  return { kind: "string", text: t.image, raw: t.image, parts, dynamic: true, single: false, span };
}

/**
 * Splits text into literal parts and `${...}` references (and decodes
 * escapes in strings). `base` is the offset of text[0] in the source.
 */
function interpolate(ctx: BuildContext, text: string, base: number, escapes: boolean): Part[] {
  const parts: Part[] = [];
  let lit = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (escapes && c === "\\") {
      const e = text[i + 1];
      if (e !== undefined && ESCAPES[e] !== undefined) lit += ESCAPES[e];
      else {
        ctx.error(ctx.src.span(base + i, 2), `unknown escape \`\\${e ?? ""}\``, "escapes are \\n \\t \\r \\\" \\\\ \\$; write `\\\\` for a backslash");
        ctx.broken = true;
        lit += e ?? "";
      }
      i += 2;
      continue;
    }
    if (c === "$" && text[i + 1] === "{") {
      const close = text.indexOf("}", i + 2);
      if (close === -1) {
        ctx.error(ctx.src.span(base + i, text.length - i), "unterminated `${`", "close the variable with `}`: ${name}");
        ctx.broken = true;
        lit += text.slice(i);
        break;
      }
      const inner = text.slice(i + 2, close);
      const span = ctx.src.span(base + i, close + 1 - i);
      const sep = inner.indexOf(":-");
      const name = sep === -1 ? inner : inner.slice(0, sep);
      if (!VAR_NAME.test(name)) {
        ctx.error(span, `malformed variable reference \`\${${inner}}\``, "write ${name}, ${1}, ${args}, ${#}, ${env.NAME} or ${name:-default}");
        ctx.broken = true;
      } else {
        if (lit) parts.push(lit), (lit = "");
        const ref: VarRef = { name, span };
        if (sep !== -1) ref.fallback = inner.slice(sep + 2);
        parts.push(ref);
      }
      i = close + 1;
      continue;
    }
    lit += c;
    i++;
  }
  if (lit || parts.length === 0) parts.push(lit);
  return parts;
}
