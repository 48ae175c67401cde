// Statements: CST nodes of the grammar's statement rules (lang/parser.ts) to
// AST statements (lang/ast.ts). A command, `let`, `fn`, `import`, `if` and
// `for`; blocks; and a body's checks that the grammar leaves to us (two
// statements need a newline or `;` between them, stray tokens, a `}` with no
// `{`). A statement that error recovery touched is still built, marked
// `broken`, so that the rest of the file is checked; later stages skip it.

import type { CstNode, IToken } from "chevrotain";
import type { ArgNode, CommandStmt, Cond, FnStmt, ForStmt, IfBranch, IfStmt, ImportStmt, LetStmt, Param, Stmt } from "./ast.ts";
import { args, callArg } from "./arguments.ts";
import { BuildContext, real, sub, subs, tok, toks } from "./build-context.ts";
import { spanEnd } from "./source.ts";
import type { Span } from "./spec.ts";
import { atom } from "./strings.ts";
import { reportMissingSeparator, reportStray, reportUnmatchedBrace } from "./syntax-errors.ts";

const STATEMENT_RULES = ["command", "letStmt", "ifStmt", "forStmt", "fnStmt", "importStmt"] as const;
type StatementRule = (typeof STATEMENT_RULES)[number];

/** Variable and parameter names; function names may also contain `-`. */
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const FN_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Reports `name` (of a variable, a parameter) unless it is letters, digits and `_`. */
function checkName(ctx: BuildContext, what: string, name: string, span: Span): void {
  if (NAME.test(name)) return;
  ctx.error(span, `invalid ${what} name \`${name}\``, "a name is letters, digits and `_`, not starting with a digit", true);
  ctx.broken = true;
}

/** Statements of a script or block body, with separators checked. */
export function body(ctx: BuildContext, n: CstNode): Stmt[] {
  // chevrotain collects each statement kind separately: build each list
  // (each already in source order), then merge them back into source order.
  const lists: Stmt[][] = [];
  for (const kind of STATEMENT_RULES) {
    const nodes = subs(n, kind);
    if (nodes.length === 0) continue;
    const list: Stmt[] = [];
    for (const s of nodes) {
      const st = statement(ctx, kind, s);
      if (st) list.push(st);
    }
    lists.push(list);
  }
  const stmts = lists.length === 0 ? [] : lists.length === 1 ? lists[0]! : mergeByOffset(lists);
  reportStray(ctx, toks(n, "Stray"));
  for (const r of toks(n, "RBrace")) {
    // Only the script rule collects `}` this way: one with no `{`.
    if (n.name === "script" && real(r)) reportUnmatchedBrace(ctx, r);
  }
  // Two statements need a newline or `;` between them.
  if (stmts.length > 1) {
    const seps = toks(n, "Sep"); // in source order, as chevrotain collected them
    let j = 0;
    for (let i = 1; i < stmts.length; i++) {
      const prev = stmts[i - 1]!;
      const cur = stmts[i]!;
      const end = prev.span.offset + prev.span.length;
      while (j < seps.length && seps[j]!.startOffset < end) j++;
      const separated = j < seps.length && seps[j]!.startOffset < cur.span.offset;
      if (!separated && (prev.broken || ctx.errorLines.has(cur.span.line))) {
        // The rest of a line that already has a syntax error is not run.
        cur.broken = true;
      } else if (!separated && !cur.broken) {
        reportMissingSeparator(ctx, cur);
        cur.broken = true;
      }
    }
  }
  return stmts;
}

/** Merges lists of statements, each sorted by offset, into one sorted list. */
function mergeByOffset(lists: Stmt[][]): Stmt[] {
  let acc = lists[0]!;
  for (let k = 1; k < lists.length; k++) acc = merge2(acc, lists[k]!);
  return acc;
}

function merge2(a: Stmt[], b: Stmt[]): Stmt[] {
  const out: Stmt[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let o = 0;
  while (i < a.length && j < b.length) out[o++] = a[i]!.span.offset <= b[j]!.span.offset ? a[i++]! : b[j++]!;
  while (i < a.length) out[o++] = a[i++]!;
  while (j < b.length) out[o++] = b[j++]!;
  return out;
}

/** Builds one statement; `ctx.broken` starts out as "recovery left this node partial". */
function statement(ctx: BuildContext, kind: StatementRule, n: CstNode): Stmt | undefined {
  const saved = ctx.broken;
  ctx.broken = !!n.recoveredNode;
  let st: Stmt | undefined;
  if (kind === "command") st = command(ctx, n);
  else if (kind === "letStmt") st = letStmt(ctx, n);
  else if (kind === "fnStmt") st = fnStmt(ctx, n);
  else if (kind === "importStmt") st = importStmt(ctx, n);
  else if (kind === "ifStmt") st = ifStmt(ctx, n);
  else if (kind === "forStmt") st = forStmt(ctx, n);
  if (st && ctx.broken) st.broken = true;
  ctx.broken = saved;
  return st;
}

function stmtSpan(ctx: BuildContext, first: IToken, endOffset: number): Span {
  return ctx.src.range(first.startOffset, Math.max(endOffset, first.startOffset + first.image.length));
}

function noInterpolatedName(ctx: BuildContext, nameTok: IToken, nameSpan: Span): void {
  if (!nameTok.image.includes("${")) return;
  ctx.error(nameSpan, "a statement name cannot be interpolated", "write the statement or function name literally", true);
  ctx.broken = true;
}

/** `name args...` or a call `name(a, b)`. */
function command(ctx: BuildContext, n: CstNode): CommandStmt | undefined {
  // The command rule's children read by name directly (as tok/toks/subs would):
  // one node per statement, the hottest path of the build.
  const kids = n.children as { Word?: IToken[]; LParen?: IToken[]; RParen?: IToken[]; ArgTok?: IToken[]; callArg?: CstNode[] };
  const nameTok = ctx.need(kids.Word?.[0]);
  if (!nameTok) return undefined;
  const nameSpan = ctx.tokSpan(nameTok);
  let end = spanEnd(nameSpan);
  let callArgs: ArgNode[] | undefined; // a call's only (most commands have none)
  let paren = false;
  if (kids.LParen?.[0]) {
    paren = true;
    callArgs = [];
    for (const c of kids.callArg ?? []) {
      const a = callArg(ctx, c);
      if (a) callArgs.push(a), (end = Math.max(end, spanEnd(a.span)));
    }
    const rp = ctx.need(kids.RParen?.[0]);
    if (rp) end = rp.startOffset + 1;
  }
  const argToks = kids.ArgTok ?? [];
  const extra = argToks.length ? args(ctx, argToks) : [];
  if (paren && extra.length > 0) {
    ctx.error(extra[0]!.span, "unexpected argument after the call's `)`", "pass every argument inside the parentheses: name(a, b)", true);
    ctx.broken = true;
  }
  if (!paren) {
    const last = argToks[argToks.length - 1];
    if (last !== undefined && real(last)) end = last.startOffset + last.image.length;
    noInterpolatedName(ctx, nameTok, nameSpan);
    return { kind: "command", name: nameTok.image, nameSpan, args: extra, span: ctx.src.range(nameTok.startOffset, end) };
  }
  callArgs ??= [];
  for (const a of extra) callArgs.push(a), (end = Math.max(end, spanEnd(a.span)));
  noInterpolatedName(ctx, nameTok, nameSpan);
  const st: CommandStmt = { kind: "command", name: nameTok.image, nameSpan, args: callArgs, span: stmtSpan(ctx, nameTok, end) };
  st.paren = true;
  return st;
}

/** `let NAME = VALUE` (or `let NAME=VALUE`, lexed as an option key). */
function letStmt(ctx: BuildContext, n: CstNode): LetStmt | undefined {
  const kw = tok(n, "KwLet")!;
  const key = tok(n, "OptKey");
  const word = tok(n, "Word");
  let name: string;
  let nameSpan: Span;
  let end = kw.startOffset + 3;
  if (real(key)) {
    name = key.image.slice(0, -1);
    nameSpan = ctx.src.span(key.startOffset, name.length);
    end = key.startOffset + key.image.length;
  } else if (real(word)) {
    name = word.image;
    nameSpan = ctx.tokSpan(word);
    const eq = tok(n, "Equals");
    end = real(eq) ? eq.startOffset + 1 : spanEnd(nameSpan);
    if (!real(eq)) ctx.broken = true;
  } else {
    ctx.broken = true;
    return { kind: "let", name: "", nameSpan: ctx.tokSpan(kw), span: ctx.tokSpan(kw), broken: true };
  }
  checkName(ctx, "variable", name, nameSpan);
  const values = args(ctx, toks(n, "ArgTok"));
  const st: LetStmt = { kind: "let", name, nameSpan, span: ctx.src.range(kw.startOffset, end) };
  if (values.length === 0) {
    if (!ctx.broken) ctx.error(ctx.src.span(end, 0), `missing value for \`${name}\``, "syntax: let NAME = VALUE", true);
    ctx.broken = true;
  } else {
    st.value = values[0];
    st.span = ctx.src.range(kw.startOffset, spanEnd(values[values.length - 1]!.span));
    if (values.length > 1) {
      ctx.error(values[1]!.span, "`let` takes one value", "to make a list, separate the items with commas: let xs = a, b, c", true);
      ctx.broken = true;
    }
  }
  return st;
}

/** `fn NAME(PARAM, ...) { ... }` */
function fnStmt(ctx: BuildContext, n: CstNode): FnStmt | undefined {
  const kw = tok(n, "KwFn")!;
  const words = toks(n, "Word");
  const nameTok = ctx.need(words[0]);
  const params: Param[] = [];
  for (const w of words.slice(1)) {
    if (!real(w)) {
      ctx.broken = true;
      continue;
    }
    checkName(ctx, "parameter", w.image, ctx.tokSpan(w));
    params.push({ name: w.image, span: ctx.tokSpan(w) });
  }
  ctx.need(tok(n, "LParen"));
  ctx.need(tok(n, "RParen"));
  const { body: fnBody, end } = block(ctx, sub(n, "block"), kw.startOffset + 2);
  if (!nameTok) {
    return { kind: "fn", name: "", nameSpan: ctx.tokSpan(kw), params, body: fnBody, span: ctx.src.range(kw.startOffset, end), broken: true };
  }
  if (!FN_NAME.test(nameTok.image)) {
    ctx.error(ctx.tokSpan(nameTok), `invalid function name \`${nameTok.image}\``, "a name is letters, digits, `_` and `-`, not starting with a digit", true);
    ctx.broken = true;
  }
  const seen = new Map<string, Param>();
  for (const p of params) {
    const first = seen.get(p.name);
    if (first) ctx.error(p.span, `parameter \`${p.name}\` is listed twice`);
    else seen.set(p.name, p);
  }
  return { kind: "fn", name: nameTok.image, nameSpan: ctx.tokSpan(nameTok), params, body: fnBody, span: ctx.src.range(kw.startOffset, end) };
}

/** Builds a `{ ... }` block; `end` is the offset after its `}` (or after what was parsed). */
function block(ctx: BuildContext, n: CstNode | undefined, fallbackEnd: number): { body: Stmt[]; end: number } {
  if (!n) {
    ctx.broken = true;
    return { body: [], end: fallbackEnd };
  }
  if (n.recoveredNode) ctx.broken = true;
  const saved = ctx.broken;
  const stmts = body(ctx, n);
  ctx.broken = saved;
  const rb = tok(n, "RBrace");
  let end = fallbackEnd;
  if (real(rb)) end = rb.startOffset + 1;
  else {
    ctx.broken = true;
    const last = stmts[stmts.length - 1];
    const lb = tok(n, "LBrace");
    end = last ? spanEnd(last.span) : real(lb) ? lb.startOffset + 1 : fallbackEnd;
  }
  return { body: stmts, end };
}

/** `import PATH` */
function importStmt(ctx: BuildContext, n: CstNode): ImportStmt {
  const kw = tok(n, "KwImport")!;
  const paths = args(ctx, toks(n, "ArgTok"));
  const end = paths.length ? spanEnd(paths[paths.length - 1]!.span) : kw.startOffset + kw.image.length;
  const st: ImportStmt = { kind: "import", span: ctx.src.range(kw.startOffset, end) };
  if (paths.length === 0) {
    ctx.error(ctx.tokSpan(kw), "`import` needs a path", 'syntax: import "std/NAME" or import "./file.ctr"', true);
    st.broken = true;
  } else {
    st.path = paths[0];
    if (paths.length > 1) {
      ctx.error(paths[1]!.span, "`import` takes one path", "write one `import` per file", true);
      st.broken = true;
    }
  }
  return st;
}

/** `if COND { ... } [else if ... | else { ... }]`, flattened into branches. */
function ifStmt(ctx: BuildContext, n: CstNode): IfStmt {
  ctx.check(n);
  const kw = tok(n, "KwIf")!;
  const branches: IfBranch[] = [];
  const c = cond(ctx, sub(n, "cond"), kw);
  const blocks = subs(n, "block");
  const first = block(ctx, blocks[0], kw.startOffset + 2);
  branches.push({ cond: c, body: first.body, span: ctx.src.range(kw.startOffset, first.end) });
  let end = first.end;
  let elseBody: Stmt[] | undefined;
  const elseIf = sub(n, "ifStmt");
  if (elseIf) {
    const inner = ifStmt(ctx, elseIf);
    branches.push(...inner.branches);
    elseBody = inner.elseBody;
    end = spanEnd(inner.span);
    if (inner.broken) ctx.broken = true;
  } else if (blocks[1]) {
    const e = block(ctx, blocks[1], end);
    elseBody = e.body;
    end = e.end;
  }
  const st: IfStmt = { kind: "if", branches, span: ctx.src.range(kw.startOffset, end) };
  if (elseBody) st.elseBody = elseBody;
  if (ctx.broken) st.broken = true;
  return st;
}

/** `! COND`, `VALUE`, or `VALUE == VALUE` / `VALUE != VALUE`; `at` is the token before it. */
function cond(ctx: BuildContext, n: CstNode | undefined, at: IToken): Cond {
  const fallback: Cond = { kind: "value", value: { kind: "word", text: "", raw: "", span: ctx.tokSpan(at) }, span: ctx.tokSpan(at) };
  if (!n || n.recoveredNode) {
    ctx.broken = true;
    return fallback;
  }
  const bang = tok(n, "Bang");
  if (bang) {
    const inner = cond(ctx, sub(n, "cond"), bang);
    return { kind: "not", cond: inner, span: ctx.src.range(bang.startOffset, spanEnd(inner.span)) };
  }
  const atoms = toks(n, "Atom").map((a) => atom(ctx, a));
  const left = atoms[0];
  if (!left) {
    ctx.broken = true;
    return fallback;
  }
  const op = tok(n, "EqEq") ?? tok(n, "NotEq");
  if (op) {
    const right = atoms[1];
    if (!right) {
      ctx.broken = true;
      return fallback;
    }
    return { kind: "compare", op: op.image === "==" ? "==" : "!=", left, right, span: ctx.src.range(left.span.offset, spanEnd(right.span)) };
  }
  if (left.kind === "word") {
    if (left.raw.startsWith("!") && left.raw.length > 1) {
      ctx.error(left.span, "write `! VALUE` with a space after `!`", undefined, true);
      ctx.broken = true;
    } else if (/==|!=/.test(left.raw)) {
      ctx.error(left.span, "put spaces around `==` and `!=` in a condition", `write: if ${left.raw.replace(/(==|!=)/, " $1 ")} { ... }`, true);
      ctx.broken = true;
    }
  }
  return { kind: "value", value: left, span: left.span };
}

/** `for NAME in ITEMS... { ... }` */
function forStmt(ctx: BuildContext, n: CstNode): ForStmt {
  const kw = tok(n, "KwFor")!;
  const v = tok(n, "Word");
  ctx.need(tok(n, "KwIn"));
  const items = args(ctx, toks(n, "ArgTok"));
  const { body: loopBody, end } = block(ctx, sub(n, "block"), kw.startOffset + 3);
  const variable = real(v) ? v.image : "";
  const variableSpan = real(v) ? ctx.tokSpan(v) : ctx.tokSpan(kw);
  if (!real(v)) ctx.broken = true;
  else checkName(ctx, "variable", variable, variableSpan);
  const st: ForStmt = { kind: "for", variable, variableSpan, items, body: loopBody, span: ctx.src.range(kw.startOffset, end) };
  if (ctx.broken) st.broken = true;
  return st;
}
