// Argument grouping. The grammar hands each statement one flat run of
// argument tokens (lang/parser.ts, the ArgTok category); this file groups
// them: `a, b, c` is one list, `key=` with a value glued to it (no space) is
// an option whose value may itself be a list, and operators (`==`, `!`, ...)
// are plain words. Misplaced commas and a spaced `=` are reported here.
// Call arguments, `name(a, key=b)`, arrive already split by the grammar.

import type { CstNode, IToken } from "chevrotain";
import type { ArgNode, AtomNode, ListNode, OptionNode } from "./ast.ts";
import { BuildContext, real, tok } from "./build-context.ts";
import * as T from "./lexer.ts";
import { spanEnd } from "./source.ts";
import { atom } from "./strings.ts";

/** Tokens that are a value in argument position (keywords are plain words there). */
const ATOM_TYPES = new Set([T.Word, T.NumberTok, T.DString, T.SString, T.DStringOpen, T.SStringOpen, ...T.KEYWORDS]);

/** One argument of a call: `key=value`, `key=` or a value. */
export function callArg(ctx: BuildContext, n: CstNode): ArgNode | undefined {
  if (n.recoveredNode) ctx.broken = true;
  const key = tok(n, "OptKey");
  if (real(key)) {
    const v = tok(n, "Atom");
    return option(ctx, key, v ? atom(ctx, v) : undefined);
  }
  const a = tok(n, "Atom");
  return a ? atom(ctx, a) : undefined;
}

/**
 * Groups a statement's flat run of argument tokens: `a, b` is a list,
 * `key=` with a value glued to it is an option, operators are words.
 */
export function args(ctx: BuildContext, ts: IToken[]): ArgNode[] {
  const out: ArgNode[] = [];
  const n = ts.length;
  let i = 0;
  while (i < n) {
    const t = ts[i]!;
    if (!real(t)) {
      ctx.broken = true;
      i++;
      continue;
    }
    const tt = t.tokenType;
    if (tt === T.OptKey) {
      i++;
      const next = ts[i];
      if (next !== undefined && ATOM_TYPES.has(next.tokenType) && next.startOffset === t.startOffset + t.image.length) {
        const value = valueRun(ctx, ts, i);
        i = runEnd;
        out.push(option(ctx, t, value));
      } else out.push(option(ctx, t, undefined));
    } else if (ATOM_TYPES.has(tt)) {
      out.push(valueRun(ctx, ts, i));
      i = runEnd;
    } else if (tt === T.Comma) {
      const span = ctx.tokSpan(t);
      if (!ctx.errorLines.has(span.line)) ctx.error(span, "unexpected `,`", "a comma separates the items of a list: a, b, c", true);
      ctx.broken = true;
      i++;
    } else {
      if (tt === T.Equals) {
        ctx.error(ctx.tokSpan(t), "unexpected `=`", "write options without spaces: key=value", true);
        ctx.broken = true;
      }
      out.push({ kind: "word", text: t.image, raw: t.image, span: ctx.tokSpan(t) });
      i++;
    }
  }
  return out;
}

/** Where the last valueRun ended: the index after its tokens (a variable, not an object returned per argument). */
let runEnd = 0;

/** A value at ts[i], or a comma list of values; sets runEnd to the index after it. */
function valueRun(ctx: BuildContext, ts: IToken[], i: number): AtomNode | ListNode {
  const first = atom(ctx, ts[i]!);
  i++;
  runEnd = i;
  if (ts[i]?.tokenType !== T.Comma) return first;
  const items: AtomNode[] = [first];
  while (ts[i]?.tokenType === T.Comma) {
    const after = ts[i + 1];
    if (after === undefined || !ATOM_TYPES.has(after.tokenType)) {
      ctx.error(ctx.tokSpan(ts[i]!), "expected a value after `,`", "remove the trailing comma, or add the missing item", true);
      ctx.broken = true;
      i++;
      break;
    }
    items.push(atom(ctx, after));
    i += 2;
  }
  runEnd = i;
  return list(ctx, items);
}

function list(ctx: BuildContext, items: AtomNode[]): ListNode {
  const first = items[0]!;
  const last = items[items.length - 1]!;
  const node: ListNode = { kind: "list", items, text: items.map((i) => i.text).join(","), span: ctx.src.range(first.span.offset, spanEnd(last.span)) };
  if (items.some((i) => i.dynamic)) node.dynamic = true;
  return node;
}

/** `key=value`; with no value, `key=` stands for the empty word. */
function option(ctx: BuildContext, key: IToken, value: AtomNode | ListNode | undefined): OptionNode {
  const k = key.image.slice(0, -1);
  const keySpan = ctx.src.span(key.startOffset, k.length);
  const end = key.startOffset + key.image.length;
  const v: AtomNode | ListNode = value ?? { kind: "word", text: "", raw: "", span: ctx.src.span(end, 0) };
  const opt: OptionNode = { kind: "option", key: k, keySpan, value: v, text: k + "=" + v.text, span: value ? ctx.src.range(key.startOffset, spanEnd(value.span)) : ctx.tokSpan(key) };
  if (v.dynamic) opt.dynamic = true;
  return opt;
}
