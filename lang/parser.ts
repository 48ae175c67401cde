// The ctr grammar as a chevrotain CstParser (error recovery on).
//
//   script    := ( sep | statement | stray )*
//   block     := `{` ( sep | statement | stray )* `}`
//   statement := command | letStmt | ifStmt | forStmt | fnStmt | importStmt
//   letStmt   := `let` ( KEY= | WORD `=` ) arg*
//   fnStmt    := `fn` WORD `(` [ WORD ( `,` WORD )* ] `)` block
//   importStmt:= `import` arg*
//   ifStmt    := `if` cond block [ `else` ( ifStmt | block ) ]
//   cond      := `!` cond | atom [ ( `==` | `!=` ) atom ]
//   forStmt   := `for` WORD `in` arg* block
//   command   := WORD [ `(` [ callArg ( `,` callArg )* ] `)` ] arg*
//   args      := ( atom | `,` | KEY= | `==` | `!=` | `!` | `=` )*   (the ArgTok category)
//   atom      := WORD | NUMBER | STRING | keyword   (the Atom category)
//
// Arguments are one flat run of tokens per statement; the AST builder groups
// them (`a, b` is a list, `key=` glued to a value is an option) and reports
// misplaced commas. This keeps the parser to one CONSUME per argument token.
// Statements are alternatives of the body directly (no wrapper rule) and
// token categories stand for sets of tokens: fewer rule invocations and CST
// nodes per statement.
//
// Separators are checked by the AST builder (two statements on one line
// without `;` is reported there, with a precise message). Tokens that cannot
// start a statement are consumed by `stray` so that parsing always reaches the
// end of the input and every error in the file is reported.

import { CstParser, EOF, type CstNode, type IOrAlt, type IParserErrorMessageProvider, type IRecognitionException, type IToken, type TokenType } from "chevrotain";
import * as T from "./lexer.ts";

function describe(tok: IToken): string {
  if (tok.tokenType === EOF) return "end of file";
  if (tok.tokenType === T.Newline) return "end of line";
  const img = tok.image.length > 24 ? tok.image.slice(0, 24) + "…" : tok.image;
  return "`" + img + "`";
}

function label(t: TokenType): string {
  if (t === EOF) return "end of file";
  return t.LABEL ?? t.name;
}

function joinAlts(labels: string[]): string {
  const uniq = [...new Set(labels)];
  if (uniq.length <= 1) return uniq[0] ?? "something else";
  return uniq.slice(0, -1).join(", ") + " or " + uniq[uniq.length - 1];
}

const RULE_WHAT: Record<string, string> = {
  letStmt: "in `let`",
  fnStmt: "in `fn`",
  forStmt: "in `for`",
  ifStmt: "in `if`",
  cond: "in the `if` condition",
  block: "in the block",
  command: "in the call",
  arg: "",
};

const messages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual, ruleName }) {
    if (expected === T.LBrace) return `expected \`{\` to start the block, found ${describe(actual)}`;
    const where = RULE_WHAT[ruleName] ? " " + RULE_WHAT[ruleName] : "";
    return `expected ${label(expected)}${where}, found ${describe(actual)}`;
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    return `unexpected ${describe(firstRedundant)}`;
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual, ruleName }) {
    const first = expectedPathsPerAlt.flatMap((alt) => alt.map((path) => (path[0] ? label(path[0]) : "")));
    const where = RULE_WHAT[ruleName] ? " " + RULE_WHAT[ruleName] : "";
    const a = actual[0];
    if (ruleName === "letStmt") return `expected a variable name after \`let\`, found ${a ? describe(a) : "nothing"}`;
    if (ruleName === "cond") return `expected a value${where}, found ${a ? describe(a) : "nothing"}`;
    return `expected ${joinAlts(first.filter(Boolean))}${where}, found ${a ? describe(a) : "nothing"}`;
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual, ruleName }) {
    const first = expectedIterationPaths.map((p) => (p[0] ? label(p[0]) : ""));
    const where = RULE_WHAT[ruleName] ? " " + RULE_WHAT[ruleName] : "";
    const a = actual[0];
    return `expected ${joinAlts(first.filter(Boolean))}${where}, found ${a ? describe(a) : "nothing"}`;
  },
};

export class CtrParser extends CstParser {
  constructor() {
    super(T.allTokens, {
      recoveryEnabled: true,
      maxLookahead: 2,
      errorMessageProvider: messages,
      skipValidations: !process.env.CTR_VALIDATE_GRAMMAR,
    });
    this.performSelfAnalysis();
  }

  // Alternative lists are built once per rule (chevrotain's advice for speed).
  private scriptAlts?: IOrAlt<unknown>[];
  private blockAlts?: IOrAlt<unknown>[];

  public script = this.RULE("script", () => {
    this.MANY(() => {
      this.OR((this.scriptAlts ??= [
        { ALT: () => this.CONSUME(T.Sep) },
        { ALT: () => this.SUBRULE(this.command) },
        { ALT: () => this.SUBRULE(this.letStmt) },
        { ALT: () => this.SUBRULE(this.ifStmt) },
        { ALT: () => this.SUBRULE(this.forStmt) },
        { ALT: () => this.SUBRULE(this.fnStmt) },
        { ALT: () => this.SUBRULE(this.importStmt) },
        { ALT: () => this.CONSUME(T.Stray) },
        { ALT: () => this.CONSUME(T.RBrace) },
      ]));
    });
  });

  public block = this.RULE("block", () => {
    this.CONSUME(T.LBrace);
    this.MANY(() => {
      this.OR((this.blockAlts ??= [
        { ALT: () => this.CONSUME(T.Sep) },
        { ALT: () => this.SUBRULE(this.command) },
        { ALT: () => this.SUBRULE(this.letStmt) },
        { ALT: () => this.SUBRULE(this.ifStmt) },
        { ALT: () => this.SUBRULE(this.forStmt) },
        { ALT: () => this.SUBRULE(this.fnStmt) },
        { ALT: () => this.SUBRULE(this.importStmt) },
        { ALT: () => this.CONSUME(T.Stray) },
      ]));
    });
    this.CONSUME(T.RBrace);
  });

  public letStmt = this.RULE("letStmt", () => {
    this.CONSUME(T.Let);
    this.OR([
      { ALT: () => this.CONSUME(T.OptKey) },
      {
        ALT: () => {
          this.CONSUME(T.Word);
          this.CONSUME(T.Equals);
        },
      },
    ]);
    this.MANY(() => this.CONSUME(T.ArgTok));
  });

  public fnStmt = this.RULE("fnStmt", () => {
    this.CONSUME(T.Fn);
    this.CONSUME(T.Word);
    this.CONSUME(T.LParen);
    this.OPTION(() => {
      this.CONSUME2(T.Word);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.CONSUME3(T.Word);
      });
    });
    this.CONSUME(T.RParen);
    this.SUBRULE(this.block);
  });

  public importStmt = this.RULE("importStmt", () => {
    this.CONSUME(T.Import);
    this.MANY(() => this.CONSUME(T.ArgTok));
  });

  public ifStmt = this.RULE("ifStmt", () => {
    this.CONSUME(T.If);
    this.SUBRULE(this.cond);
    this.SUBRULE(this.block);
    this.OPTION(() => {
      this.CONSUME(T.Else);
      this.OR([{ ALT: () => this.SUBRULE(this.ifStmt) }, { ALT: () => this.SUBRULE2(this.block) }]);
    });
  });

  public cond = this.RULE("cond", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Bang);
          this.SUBRULE(this.cond);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Atom);
          this.OPTION(() => {
            this.OR2([{ ALT: () => this.CONSUME(T.EqEq) }, { ALT: () => this.CONSUME(T.NotEq) }]);
            this.CONSUME2(T.Atom);
          });
        },
      },
    ]);
  });

  public forStmt = this.RULE("forStmt", () => {
    this.CONSUME(T.For);
    this.CONSUME(T.Word);
    this.CONSUME(T.In);
    this.MANY(() => this.CONSUME(T.ArgTok));
    this.SUBRULE(this.block);
  });

  public command = this.RULE("command", () => {
    this.CONSUME(T.Word);
    this.OPTION(() => {
      this.CONSUME(T.LParen);
      this.OPTION2(() => {
        this.SUBRULE(this.callArg);
        this.MANY(() => {
          this.CONSUME(T.Comma);
          this.SUBRULE2(this.callArg);
        });
      });
      this.CONSUME(T.RParen);
    });
    this.MANY2(() => this.CONSUME(T.ArgTok));
  });

  public callArg = this.RULE("callArg", () => {
    this.OR([
      {
        ALT: () => {
          const key = this.CONSUME(T.OptKey);
          this.OPTION({ GATE: () => this.glued(key), DEF: () => this.CONSUME(T.Atom) });
        },
      },
      { ALT: () => this.CONSUME2(T.Atom) },
    ]);
  });

  /** True when the next token starts right where `prev` ends (no space between). */
  private glued(prev: IToken): boolean {
    const next = this.LA(1);
    return next.tokenType !== EOF && next.startOffset === prev.startOffset + prev.image.length;
  }
}

let parser: CtrParser | undefined;
/** The parser is built once per process (grammar analysis is the costly part). */
export function getParser(): CtrParser {
  parser ??= new CtrParser();
  return parser;
}

export interface ParseResult {
  cst: CstNode;
  errors: IRecognitionException[];
}

export function parseTokens(tokens: IToken[]): ParseResult {
  const p = getParser();
  p.input = tokens;
  const cst = p.script();
  return { cst, errors: p.errors };
}
