// CST -> AST. Also reports what the grammar leaves to us: lexer and parser
// errors in our own words, unterminated strings, bad escapes, malformed
// `${...}`, stray tokens and missing statement separators.

import { EOF, type CstNode, type IRecognitionException, type IToken } from "chevrotain";
import type {
  ArgNode,
  AtomNode,
  CommandStmt,
  Cond,
  FnStmt,
  ForStmt,
  IfBranch,
  IfStmt,
  ImportStmt,
  LetStmt,
  ListNode,
  NumberNode,
  OptionNode,
  Param,
  Part,
  Script,
  Stmt,
  StringNode,
  VarRef,
  WordNode,
} from "./ast.ts";
import { tokenize } from "./lexer.ts";
import * as T from "./lexer.ts";
import { parseTokens } from "./parser.ts";
import { SourceText, spanEnd } from "./source.ts";
import type { Diagnostic, Span } from "./spec.ts";

type Child = CstNode | IToken;
type Children = Record<string, Child[] | undefined>;

function kids(n: CstNode): Children {
  return n.children as Children;
}
function toks(n: CstNode, name: string): IToken[] {
  return (kids(n)[name] as IToken[] | undefined) ?? [];
}
function tok(n: CstNode, name: string, i = 0): IToken | undefined {
  return (kids(n)[name] as IToken[] | undefined)?.[i];
}
function subs(n: CstNode, name: string): CstNode[] {
  return (kids(n)[name] as CstNode[] | undefined) ?? [];
}
function sub(n: CstNode, name: string, i = 0): CstNode | undefined {
  return (kids(n)[name] as CstNode[] | undefined)?.[i];
}
/** A token that really is in the source (not inserted by error recovery). */
function real(t: IToken | undefined): t is IToken {
  return t !== undefined && !t.isInsertedInRecovery && t.startOffset >= 0 && t.tokenType !== EOF;
}

const ATOM_TYPES = new Set([T.Word, T.NumberTok, T.DString, T.SString, T.DStringOpen, T.SStringOpen, ...T.KEYWORDS]);

const STATEMENT_RULES = ["command", "letStmt", "ifStmt", "forStmt", "fnStmt", "importStmt"] as const;

const VAR_NAME = /^(?:[A-Za-z_][A-Za-z0-9_]*|[0-9]+|#|env\.[A-Za-z_][A-Za-z0-9_]*)$/;
const NUMBER_RE = /^(\d+(?:\.\d+)?)(ms|%|[kKmMgGtTsh])?$/;

/** Parses the number forms of the language: 20%, 64m, 1.5g, 500ms, 100. */
export function parseNumber(text: string): { value: number; unit: string } | undefined {
  const m = NUMBER_RE.exec(text);
  if (!m) return undefined;
  return { value: Number(m[1]), unit: m[2] ?? "" };
}

export interface BuildResult {
  script: Script;
  diagnostics: Diagnostic[];
}

/** Lexes, parses and builds one file. Never throws on any input. */
/** Blocks (and `!` chains) nested deeper than this are refused before parsing (the parser recurses). */
export const MAX_NESTING = 100;

export function parseSource(text: string, file: string): BuildResult {
  const src = new SourceText(file, text);
  const lexed = tokenize(text);
  const tooDeep = nestingProblem(lexed.tokens);
  if (tooDeep) {
    const d: Diagnostic = { severity: "error", span: src.span(tooDeep.startOffset, tooDeep.image.length), message: `blocks nest more than ${MAX_NESTING} deep`, help: "flatten the script, e.g. with functions" };
    if (tooDeep.tokenType === T.Bang) d.message = `more than ${MAX_NESTING} \`!\` in a row`;
    return { script: { kind: "script", file, body: [], span: src.span(0, text.length) }, diagnostics: [d] };
  }
  const parsed = parseTokens(lexed.tokens);
  const b = new Builder(src, lexed.tokens);
  for (const e of lexed.errors) b.error(src.span(e.offset, e.length), e.message, undefined, true);
  b.parseErrors(parsed.errors);
  const body = b.body(parsed.cst);
  const script: Script = { kind: "script", file, body, span: src.span(0, text.length) };
  return { script, diagnostics: b.diagnostics };
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

class Builder {
  readonly diagnostics: Diagnostic[] = [];
  /** Lines (1-based) that already carry a syntax error: stray tokens there are not reported again. */
  private errorLines = new Set<number>();
  /** Set while building a statement when recovery touched it. */
  private broken = false;

  constructor(
    private src: SourceText,
    private tokens: IToken[],
  ) {}

  error(span: Span, message: string, help?: string, syntax = false): void {
    const d: Diagnostic = { severity: "error", span, message };
    if (help) d.help = help;
    this.diagnostics.push(d);
    if (syntax) this.errorLines.add(span.line);
  }

  private tokSpan(t: IToken): Span {
    return this.src.span(t.startOffset, t.image.length);
  }

  // ---- parser errors -------------------------------------------------------

  parseErrors(errors: IRecognitionException[]): void {
    if (errors.length === 0) return;
    // Unclosed braces: point at the `{` rather than at the end of the file.
    const open: IToken[] = [];
    for (const t of this.tokens) {
      if (t.tokenType === T.LBrace) open.push(t);
      else if (t.tokenType === T.RBrace) open.pop();
    }
    for (const e of errors) {
      const t = e.token;
      const atEof = !real(t);
      if (atEof && e.name === "MismatchedTokenException" && /expected `}`/.test(e.message) && open.length > 0) {
        const brace = open.pop()!;
        this.error(this.tokSpan(brace), "this `{` is never closed", "add a `}` to close the block", true);
        continue;
      }
      const span = atEof ? this.src.span(this.src.text.length, 0) : this.tokSpan(t);
      let message = e.message;
      let help: string | undefined;
      if (/^expected `\)`/.test(message) && t.tokenType === T.Newline) {
        help = "arguments of a call stay on one line (or end the line with `\\` to continue it)";
      } else if (/`if` condition/.test(message)) {
        help = "syntax: if VALUE { ... }, if VALUE == VALUE { ... }, if ! COND { ... }";
      } else if (/in `for`/.test(message)) {
        help = "syntax: for NAME in ITEMS... { ... }";
      } else if (/in `let`/.test(message)) {
        help = "syntax: let NAME = VALUE";
      } else if (/in `fn`/.test(message)) {
        help = "syntax: fn NAME(PARAM, ...) { ... }";
      } else if (/expected `\{`/.test(message) && t.tokenType === T.Newline) {
        help = "the `{` of a block goes on the same line";
        // A `{` on the next line would be reported again as unexpected.
        this.errorLines.add(span.line + 1);
      }
      this.error(span, message, help, true);
    }
  }

  // ---- statements ------------------------------------------------------------

  /** Statements of a script or block body, with separators checked. */
  body(n: CstNode): Stmt[] {
    // chevrotain collects each statement kind separately: build each list
    // (each already in source order), then merge them back into source order.
    const lists: Stmt[][] = [];
    for (const kind of STATEMENT_RULES) {
      const nodes = subs(n, kind);
      if (nodes.length === 0) continue;
      const list: Stmt[] = [];
      for (const s of nodes) {
        const st = this.statement(kind, s);
        if (st) list.push(st);
      }
      lists.push(list);
    }
    const stmts = lists.length === 0 ? [] : lists.length === 1 ? lists[0]! : mergeByOffset(lists);
    this.stray(toks(n, "Stray"));
    for (const r of toks(n, "RBrace")) {
      // Only the script rule collects `}` this way: one with no `{`.
      if (n.name === "script" && real(r)) this.strayToken(r, "unmatched `}`", "remove it, or add the `{` it should close");
    }
    // Two statements need a newline or `;` between them.
    if (stmts.length > 1) {
      const seps: number[] = [];
      for (const t of toks(n, "Sep")) seps.push(t.startOffset);
      let j = 0;
      for (let i = 1; i < stmts.length; i++) {
        const prev = stmts[i - 1]!;
        const cur = stmts[i]!;
        const end = spanEnd(prev.span);
        while (j < seps.length && seps[j]! < end) j++;
        const separated = j < seps.length && seps[j]! < cur.span.offset;
        if (!separated && (prev.broken || this.errorLines.has(cur.span.line))) {
          // The rest of a line that already has a syntax error is not run.
          cur.broken = true;
        } else if (!separated && !cur.broken) {
          const startsWith = this.src.text.slice(cur.span.offset, cur.span.offset + Math.min(cur.span.length, 20)).split(/\s/)[0];
          this.error(
            this.src.span(cur.span.offset, startsWith?.length ?? 1),
            `expected a newline or \`;\` before \`${startsWith}\``,
            "put each statement on its own line, or separate them with `;`",
            true,
          );
          cur.broken = true;
        }
      }
    }
    return stmts;
  }

  private stray(list: IToken[]): void {
    {
      for (const t of list) {
        if (!real(t)) continue;
        const tt = t.tokenType;
        if (tt === T.Else) this.strayToken(t, "`else` without `if`", "write `else` on the same line as the `}` that closes the `if` block: } else {");
        else if (tt === T.RParen) this.strayToken(t, "unexpected `)`");
        else if (tt === T.LParen) this.strayToken(t, "unexpected `(`", "a call is written `name(a, b)` with no space before `(`");
        else if (tt === T.LBrace) this.strayToken(t, "unexpected `{`", "blocks follow `fn`, `if`, `else` and `for`");
        else if (tt === T.Comma) this.strayToken(t, "unexpected `,`");
        else if (tt === T.DStringOpen || tt === T.SStringOpen) this.unterminated(t);
        else {
          const what =
            tt === T.DString || tt === T.SString ? "a string" : tt === T.NumberTok ? "a number" : tt === T.OptKey ? "an option" : "`" + t.image + "`";
          this.strayToken(t, `expected a statement, found ${what}`, "a statement starts with its name, e.g. `mount proc`");
        }
      }
    }
  }

  private strayToken(t: IToken, message: string, help?: string): void {
    const span = this.tokSpan(t);
    if (this.errorLines.has(span.line)) return;
    this.error(span, message, help, true);
  }

  private unterminated(t: IToken): void {
    const q = t.image[0] === "'" ? "'" : '"';
    this.error(this.tokSpan(t), "unterminated string", `add the closing \`${q}\` (a string cannot span lines; use \\n)`, true);
  }

  private statement(kind: string, n: CstNode): Stmt | undefined {
    const saved = this.broken;
    this.broken = !!n.recoveredNode;
    let st: Stmt | undefined;
    if (kind === "command") st = this.command(n);
    else if (kind === "letStmt") st = this.letStmt(n);
    else if (kind === "fnStmt") st = this.fnStmt(n);
    else if (kind === "importStmt") st = this.importStmt(n);
    else if (kind === "ifStmt") st = this.ifStmt(n);
    else if (kind === "forStmt") st = this.forStmt(n);
    if (st && this.broken) st.broken = true;
    this.broken = saved;
    return st;
  }

  private check(n: CstNode | undefined): void {
    if (!n || n.recoveredNode) this.broken = true;
  }

  /** Marks the statement broken when the token was invented by recovery; returns it if real. */
  private need(t: IToken | undefined): IToken | undefined {
    if (!real(t)) {
      this.broken = true;
      return undefined;
    }
    return t;
  }

  private stmtSpan(first: IToken, endOffset: number): Span {
    return this.src.range(first.startOffset, Math.max(endOffset, first.startOffset + first.image.length));
  }

  private command(n: CstNode): CommandStmt | undefined {
    this.check(n);
    const nameTok = this.need(tok(n, "Word"));
    if (!nameTok) return undefined;
    const nameSpan = this.tokSpan(nameTok);
    let end = spanEnd(nameSpan);
    const args: ArgNode[] = [];
    let paren = false;
    if (tok(n, "LParen")) {
      paren = true;
      for (const c of subs(n, "callArg")) {
        const a = this.callArg(c);
        if (a) args.push(a), (end = Math.max(end, spanEnd(a.span)));
      }
      const rp = this.need(tok(n, "RParen"));
      if (rp) end = rp.startOffset + 1;
    }
    const argToks = toks(n, "ArgTok");
    const extra = argToks.length ? this.args(argToks) : [];
    if (paren && extra.length > 0) {
      this.error(extra[0]!.span, "unexpected argument after the call's `)`", "pass every argument inside the parentheses: name(a, b)", true);
      this.broken = true;
    }
    if (!paren) {
      const last = argToks[argToks.length - 1];
      if (last !== undefined && real(last)) end = last.startOffset + last.image.length;
      if (nameTok.image.includes("${")) {
        this.error(nameSpan, "a statement name cannot be interpolated", "write the statement or function name literally", true);
        this.broken = true;
      }
      return { kind: "command", name: nameTok.image, nameSpan, args: extra, span: this.src.range(nameTok.startOffset, end) };
    }
    for (const a of extra) args.push(a), (end = Math.max(end, spanEnd(a.span)));
    if (nameTok.image.includes("${")) {
      this.error(nameSpan, "a statement name cannot be interpolated", "write the statement or function name literally", true);
      this.broken = true;
    }
    const st: CommandStmt = { kind: "command", name: nameTok.image, nameSpan, args, span: this.stmtSpan(nameTok, end) };
    if (paren) st.paren = true;
    return st;
  }

  private letStmt(n: CstNode): LetStmt | undefined {
    this.check(n);
    const kw = tok(n, "KwLet")!;
    const key = tok(n, "OptKey");
    const word = tok(n, "Word");
    let name: string;
    let nameSpan: Span;
    let end = kw.startOffset + 3;
    if (real(key)) {
      name = key.image.slice(0, -1);
      nameSpan = this.src.span(key.startOffset, name.length);
      end = key.startOffset + key.image.length;
    } else if (real(word)) {
      name = word.image;
      nameSpan = this.tokSpan(word);
      const eq = tok(n, "Equals");
      end = real(eq) ? eq.startOffset + 1 : spanEnd(nameSpan);
      if (!real(eq)) this.broken = true;
    } else {
      this.broken = true;
      return { kind: "let", name: "", nameSpan: this.tokSpan(kw), span: this.tokSpan(kw), broken: true };
    }
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      this.error(nameSpan, `invalid variable name \`${name}\``, "a name is letters, digits and `_`, not starting with a digit", true);
      this.broken = true;
    }
    const args = this.args(toks(n, "ArgTok"));
    const st: LetStmt = { kind: "let", name, nameSpan, span: this.src.range(kw.startOffset, end) };
    if (args.length === 0) {
      if (!this.broken) this.error(this.src.span(end, 0), `missing value for \`${name}\``, "syntax: let NAME = VALUE", true);
      this.broken = true;
    } else {
      st.value = args[0];
      st.span = this.src.range(kw.startOffset, spanEnd(args[args.length - 1]!.span));
      if (args.length > 1) {
        this.error(args[1]!.span, "`let` takes one value", "to make a list, separate the items with commas: let xs = a, b, c", true);
        this.broken = true;
      }
    }
    return st;
  }

  private fnStmt(n: CstNode): FnStmt | undefined {
    this.check(n);
    const kw = tok(n, "KwFn")!;
    const words = toks(n, "Word");
    const nameTok = this.need(words[0]);
    const params: Param[] = [];
    for (const w of words.slice(1)) {
      if (!real(w)) {
        this.broken = true;
        continue;
      }
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(w.image)) {
        this.error(this.tokSpan(w), `invalid parameter name \`${w.image}\``, "a name is letters, digits and `_`, not starting with a digit", true);
        this.broken = true;
      }
      params.push({ name: w.image, span: this.tokSpan(w) });
    }
    this.need(tok(n, "LParen"));
    this.need(tok(n, "RParen"));
    const blockNode = sub(n, "block");
    const { body, end } = this.block(blockNode, kw.startOffset + 2);
    if (!nameTok) {
      return { kind: "fn", name: "", nameSpan: this.tokSpan(kw), params, body, span: this.src.range(kw.startOffset, end), broken: true };
    }
    if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(nameTok.image)) {
      this.error(this.tokSpan(nameTok), `invalid function name \`${nameTok.image}\``, "a name is letters, digits, `_` and `-`, not starting with a digit", true);
      this.broken = true;
    }
    const seen = new Map<string, Param>();
    for (const p of params) {
      const first = seen.get(p.name);
      if (first) this.error(p.span, `parameter \`${p.name}\` is listed twice`);
      else seen.set(p.name, p);
    }
    return { kind: "fn", name: nameTok.image, nameSpan: this.tokSpan(nameTok), params, body, span: this.src.range(kw.startOffset, end) };
  }

  /** Builds a `{ ... }` block; `end` is the offset after its `}` (or after what was parsed). */
  private block(n: CstNode | undefined, fallbackEnd: number): { body: Stmt[]; end: number } {
    if (!n) {
      this.broken = true;
      return { body: [], end: fallbackEnd };
    }
    if (n.recoveredNode) this.broken = true;
    const saved = this.broken;
    const body = this.body(n);
    this.broken = saved;
    const rb = tok(n, "RBrace");
    let end = fallbackEnd;
    if (real(rb)) end = rb.startOffset + 1;
    else {
      this.broken = true;
      const last = body[body.length - 1];
      const lb = tok(n, "LBrace");
      end = last ? spanEnd(last.span) : real(lb) ? lb.startOffset + 1 : fallbackEnd;
    }
    return { body, end };
  }

  private importStmt(n: CstNode): ImportStmt {
    this.check(n);
    const kw = tok(n, "KwImport")!;
    const args = this.args(toks(n, "ArgTok"));
    const end = args.length ? spanEnd(args[args.length - 1]!.span) : kw.startOffset + kw.image.length;
    const st: ImportStmt = { kind: "import", span: this.src.range(kw.startOffset, end) };
    if (args.length === 0) {
      this.error(this.tokSpan(kw), "`import` needs a path", 'syntax: import "std/NAME" or import "./file.ctr"', true);
      st.broken = true;
    } else {
      st.path = args[0];
      if (args.length > 1) {
        this.error(args[1]!.span, "`import` takes one path", "write one `import` per file", true);
        st.broken = true;
      }
    }
    return st;
  }

  private ifStmt(n: CstNode): IfStmt {
    this.check(n);
    const kw = tok(n, "KwIf")!;
    const branches: IfBranch[] = [];
    const condNode = sub(n, "cond");
    const cond = this.cond(condNode, kw);
    const blocks = subs(n, "block");
    const first = this.block(blocks[0], kw.startOffset + 2);
    branches.push({ cond, body: first.body, span: this.src.range(kw.startOffset, first.end) });
    let end = first.end;
    let elseBody: Stmt[] | undefined;
    const elseIf = sub(n, "ifStmt");
    if (elseIf) {
      const inner = this.ifStmt(elseIf);
      branches.push(...inner.branches);
      elseBody = inner.elseBody;
      end = spanEnd(inner.span);
      if (inner.broken) this.broken = true;
    } else if (blocks[1]) {
      const e = this.block(blocks[1], end);
      elseBody = e.body;
      end = e.end;
    }
    const st: IfStmt = { kind: "if", branches, span: this.src.range(kw.startOffset, end) };
    if (elseBody) st.elseBody = elseBody;
    if (this.broken) st.broken = true;
    return st;
  }

  private cond(n: CstNode | undefined, at: IToken): Cond {
    const fallback: Cond = { kind: "value", value: { kind: "word", text: "", raw: "", span: this.tokSpan(at) }, span: this.tokSpan(at) };
    if (!n || n.recoveredNode) {
      this.broken = true;
      return fallback;
    }
    const bang = tok(n, "Bang");
    if (bang) {
      const inner = this.cond(sub(n, "cond"), bang);
      return { kind: "not", cond: inner, span: this.src.range(bang.startOffset, spanEnd(inner.span)) };
    }
    const atoms = toks(n, "Atom").map((a) => this.atom(a));
    const left = atoms[0];
    if (!left) {
      this.broken = true;
      return fallback;
    }
    const op = tok(n, "EqEq") ?? tok(n, "NotEq");
    if (op) {
      const right = atoms[1];
      if (!right) {
        this.broken = true;
        return fallback;
      }
      return { kind: "compare", op: op.image === "==" ? "==" : "!=", left, right, span: this.src.range(left.span.offset, spanEnd(right.span)) };
    }
    if (left.kind === "word") {
      if (left.raw.startsWith("!") && left.raw.length > 1) {
        this.error(left.span, "write `! VALUE` with a space after `!`", undefined, true);
        this.broken = true;
      } else if (/==|!=/.test(left.raw)) {
        this.error(left.span, "put spaces around `==` and `!=` in a condition", `write: if ${left.raw.replace(/(==|!=)/, " $1 ")} { ... }`, true);
        this.broken = true;
      }
    }
    return { kind: "value", value: left, span: left.span };
  }

  private forStmt(n: CstNode): ForStmt {
    this.check(n);
    const kw = tok(n, "KwFor")!;
    const v = tok(n, "Word");
    this.need(tok(n, "KwIn"));
    const items = this.args(toks(n, "ArgTok"));
    const { body, end } = this.block(sub(n, "block"), kw.startOffset + 3);
    const variable = real(v) ? v.image : "";
    const variableSpan = real(v) ? this.tokSpan(v) : this.tokSpan(kw);
    if (!real(v)) this.broken = true;
    else if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable)) {
      this.error(variableSpan, `invalid variable name \`${variable}\``, "a name is letters, digits and `_`, not starting with a digit", true);
      this.broken = true;
    }
    const st: ForStmt = { kind: "for", variable, variableSpan, items, body, span: this.src.range(kw.startOffset, end) };
    if (this.broken) st.broken = true;
    return st;
  }

  // ---- arguments -------------------------------------------------------------

  private callArg(n: CstNode): ArgNode | undefined {
    if (n.recoveredNode) this.broken = true;
    const key = tok(n, "OptKey");
    if (real(key)) {
      const v = tok(n, "Atom");
      return this.option(key, v ? this.atom(v) : undefined);
    }
    const a = tok(n, "Atom");
    return a ? this.atom(a) : undefined;
  }

  /**
   * Groups a statement's flat run of argument tokens: `a, b` is a list,
   * `key=` with a value glued to it is an option, operators are words.
   */
  private args(ts: IToken[]): ArgNode[] {
    const out: ArgNode[] = [];
    const n = ts.length;
    let i = 0;
    while (i < n) {
      const t = ts[i]!;
      if (!real(t)) {
        this.broken = true;
        i++;
        continue;
      }
      const tt = t.tokenType;
      if (tt === T.OptKey) {
        i++;
        const next = ts[i];
        if (next !== undefined && ATOM_TYPES.has(next.tokenType) && next.startOffset === t.startOffset + t.image.length) {
          const run = this.valueRun(ts, i);
          i = run.next;
          out.push(this.option(t, run.value));
        } else out.push(this.option(t, undefined));
      } else if (ATOM_TYPES.has(tt)) {
        const run = this.valueRun(ts, i);
        i = run.next;
        out.push(run.value);
      } else if (tt === T.Comma) {
        const span = this.tokSpan(t);
        if (!this.errorLines.has(span.line)) this.error(span, "unexpected `,`", "a comma separates the items of a list: a, b, c", true);
        this.broken = true;
        i++;
      } else {
        if (tt === T.Equals) {
          this.error(this.tokSpan(t), "unexpected `=`", "write options without spaces: key=value", true);
          this.broken = true;
        }
        out.push({ kind: "word", text: t.image, raw: t.image, span: this.tokSpan(t) });
        i++;
      }
    }
    return out;
  }

  /** A value at ts[i], or a comma list of values; returns the index after it. */
  private valueRun(ts: IToken[], i: number): { value: AtomNode | ListNode; next: number } {
    const first = this.atom(ts[i]!);
    i++;
    if (ts[i]?.tokenType !== T.Comma) return { value: first, next: i };
    const items: AtomNode[] = [first];
    while (ts[i]?.tokenType === T.Comma) {
      const after = ts[i + 1];
      if (after === undefined || !ATOM_TYPES.has(after.tokenType)) {
        this.error(this.tokSpan(ts[i]!), "expected a value after `,`", "remove the trailing comma, or add the missing item", true);
        this.broken = true;
        i++;
        break;
      }
      items.push(this.atom(after));
      i += 2;
    }
    return { value: this.list(items), next: i };
  }

  private list(items: AtomNode[]): ListNode {
    const first = items[0]!;
    const last = items[items.length - 1]!;
    const list: ListNode = { kind: "list", items, text: items.map((i) => i.text).join(","), span: this.src.range(first.span.offset, spanEnd(last.span)) };
    if (items.some((i) => i.dynamic)) list.dynamic = true;
    return list;
  }

  private option(key: IToken, value: AtomNode | ListNode | undefined): OptionNode {
    const k = key.image.slice(0, -1);
    const keySpan = this.src.span(key.startOffset, k.length);
    const end = key.startOffset + key.image.length;
    const v: AtomNode | ListNode = value ?? { kind: "word", text: "", raw: "", span: this.src.span(end, 0) };
    const opt: OptionNode = { kind: "option", key: k, keySpan, value: v, text: k + "=" + v.text, span: value ? this.src.range(key.startOffset, spanEnd(value.span)) : this.tokSpan(key) };
    if (v.dynamic) opt.dynamic = true;
    return opt;
  }

  private atom(t: IToken): AtomNode {
    if (real(t)) {
      const span = this.tokSpan(t);
      const tt = t.tokenType;
      if (tt === T.NumberTok) {
        const p = parseNumber(t.image);
        if (p) return { kind: "number", text: t.image, raw: t.image, number: p, span } satisfies NumberNode;
        return this.word(t);
      }
      if (tt === T.DString) return this.dstring(t, t.image.slice(1, -1));
      if (tt === T.DStringOpen) {
        this.unterminated(t);
        this.broken = true;
        return this.dstring(t, t.image.slice(1));
      }
      if (tt === T.SString) return { kind: "string", text: t.image.slice(1, -1), raw: t.image, single: true, span };
      if (tt === T.SStringOpen) {
        this.unterminated(t);
        this.broken = true;
        return { kind: "string", text: t.image.slice(1), raw: t.image, single: true, span };
      }
      return this.word(t);
    }
    this.broken = true;
    const at = this.tokens[0];
    return { kind: "word", text: "", raw: "", span: at ? this.tokSpan(at) : this.src.span(0, 0) };
  }

  private word(t: IToken): WordNode {
    const raw = t.image;
    const span = this.tokSpan(t);
    if (!raw.includes("${")) return { kind: "word", text: raw, raw, span };
    const parts = this.interpolate(raw, t.startOffset, false);
    if (parts.length === 1 && typeof parts[0] === "string") return { kind: "word", text: parts[0], raw, span };
    return { kind: "word", text: raw, raw, parts, dynamic: true, span };
  }

  private dstring(t: IToken, body: string): StringNode {
    const span = this.tokSpan(t);
    if (!body.includes("\\") && !body.includes("${")) return { kind: "string", text: body, raw: t.image, single: false, span };
    const parts = this.interpolate(body, t.startOffset + 1, true);
    if (parts.length === 1 && typeof parts[0] === "string") return { kind: "string", text: parts[0], raw: t.image, single: false, span };
    return { kind: "string", text: t.image, raw: t.image, parts, dynamic: true, single: false, span };
  }

  /** Splits text into literal parts and `${...}` references (and decodes escapes in strings). */
  private interpolate(text: string, base: number, escapes: boolean): Part[] {
    const parts: Part[] = [];
    let lit = "";
    let i = 0;
    while (i < text.length) {
      const c = text[i]!;
      if (escapes && c === "\\") {
        const e = text[i + 1];
        const map: Record<string, string> = { n: "\n", t: "\t", r: "\r", '"': '"', "\\": "\\", $: "$", "'": "'", "0": "\0" };
        if (e !== undefined && map[e] !== undefined) lit += map[e];
        else {
          this.error(this.src.span(base + i, 2), `unknown escape \`\\${e ?? ""}\``, "escapes are \\n \\t \\r \\\" \\\\ \\$; write `\\\\` for a backslash");
          this.broken = true;
          lit += e ?? "";
        }
        i += 2;
        continue;
      }
      if (c === "$" && text[i + 1] === "{") {
        const close = text.indexOf("}", i + 2);
        if (close === -1) {
          this.error(this.src.span(base + i, text.length - i), "unterminated `${`", "close the variable with `}`: ${name}");
          this.broken = true;
          lit += text.slice(i);
          break;
        }
        const inner = text.slice(i + 2, close);
        const span = this.src.span(base + i, close + 1 - i);
        const sep = inner.indexOf(":-");
        const name = sep === -1 ? inner : inner.slice(0, sep);
        if (!VAR_NAME.test(name)) {
          this.error(span, `malformed variable reference \`\${${inner}}\``, "write ${name}, ${1}, ${args}, ${#}, ${env.NAME} or ${name:-default}");
          this.broken = true;
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
}
