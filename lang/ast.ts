// The AST of a ctr source file, built from the chevrotain CST by build.ts (the
// steps: statements.ts, arguments.ts, strings.ts).
// Every node carries the Span of its source text.

import type { Span } from "./spec.ts";

/** `${name}`, `${name:-default}`, `${1}`, `${args}`, `${#}`, `${env.HOME}`. */
export interface VarRef {
  name: string;
  /** Text after `:-`, used when the variable is unset (or the argument absent). */
  fallback?: string;
  span: Span;
}

/** A piece of a word or string: literal text or an interpolated variable. */
export type Part = string | VarRef;

// Argument nodes are shaped so that a literal one (no `${...}` inside) is
// also a valid resolved `Arg`: the expander hands it to the checker as is,
// without copying. `dynamic` marks the nodes that need interpolation.

export interface WordNode {
  kind: "word";
  /** The value (for a dynamic word: its source text). */
  text: string;
  /** The source text as written (for messages). */
  raw: string;
  /** Literal text and variable references; set only when `dynamic`. */
  parts?: Part[];
  dynamic?: boolean;
  span: Span;
}

export interface StringNode {
  kind: "string";
  /** The value with escapes decoded (for a dynamic string: its source text). */
  text: string;
  raw: string;
  parts?: Part[];
  dynamic?: boolean;
  /** True for '...' strings (no escapes, no interpolation). */
  single: boolean;
  span: Span;
}

export interface NumberNode {
  kind: "number";
  text: string;
  raw: string;
  number: { value: number; unit: string };
  dynamic?: undefined;
  span: Span;
}

export interface OptionNode {
  kind: "option";
  key: string;
  keySpan: Span;
  /** `key=` with nothing glued to it has an empty word as its value. */
  value: ValueNode;
  /** "key=value" */
  text: string;
  dynamic?: boolean;
  span: Span;
}

export interface ListNode {
  kind: "list";
  items: AtomNode[];
  /** The items joined with commas. */
  text: string;
  dynamic?: boolean;
  span: Span;
}

export type AtomNode = WordNode | StringNode | NumberNode;
export type ValueNode = AtomNode | ListNode;
export type ArgNode = AtomNode | OptionNode | ListNode;

interface StmtBase {
  span: Span;
  /** Set when the parser had to recover inside this statement: it is reported but not run. */
  broken?: boolean;
}

/** `name arg...`: a statement from the registry, or a call of a user function. */
export interface CommandStmt extends StmtBase {
  kind: "command";
  name: string;
  nameSpan: Span;
  args: ArgNode[];
  /** Set for the `name(a, b)` call form. */
  paren?: boolean;
}

export interface LetStmt extends StmtBase {
  kind: "let";
  name: string;
  nameSpan: Span;
  value?: ArgNode;
}

export interface Param {
  name: string;
  span: Span;
}

export interface FnStmt extends StmtBase {
  kind: "fn";
  name: string;
  nameSpan: Span;
  params: Param[];
  body: Stmt[];
}

export interface ImportStmt extends StmtBase {
  kind: "import";
  /** The path as written (after interpolation it must be a plain string). */
  path?: ArgNode;
}

export type Cond =
  | { kind: "value"; value: AtomNode; span: Span }
  | { kind: "compare"; op: "==" | "!="; left: AtomNode; right: AtomNode; span: Span }
  | { kind: "not"; cond: Cond; span: Span };

export interface IfBranch {
  cond: Cond;
  body: Stmt[];
  span: Span;
}

export interface IfStmt extends StmtBase {
  kind: "if";
  branches: IfBranch[];
  elseBody?: Stmt[];
}

export interface ForStmt extends StmtBase {
  kind: "for";
  variable: string;
  variableSpan: Span;
  items: ArgNode[];
  body: Stmt[];
}

export type Stmt = CommandStmt | LetStmt | FnStmt | ImportStmt | IfStmt | ForStmt;

export interface Script {
  kind: "script";
  file: string;
  body: Stmt[];
  span: Span;
}
