// The ctr grammar as a chevrotain CstParser (error recovery on).
//
//   script    := ( sep | statement | stray )*
//   block     := `{` ( sep | statement | stray )* `}`
//   statement := letStmt | fnStmt | importStmt | ifStmt | forStmt | command
//   letStmt   := `let` ( KEY= | WORD `=` ) arg*
//   fnStmt    := `fn` WORD `(` [ WORD ( `,` WORD )* ] `)` block
//   importStmt:= `import` arg*
//   ifStmt    := `if` cond block [ `else` ( ifStmt | block ) ]
//   cond      := `!` cond | atom [ ( `==` | `!=` ) atom ]
//   forStmt   := `for` WORD `in` arg* block
//   command   := WORD [ `(` [ callArg ( `,` callArg )* ] `)` ] arg*
//   arg       := KEY= [ atom ( `,` atom )* ]   (value glued to the key)
//              | atom ( `,` atom )*
//              | `==` | `!=` | `!` | `=`
//   atom      := WORD | NUMBER | STRING | keyword
//
// Separators are checked by the AST builder (two statements on one line
// without `;` is reported there, with a precise message). Tokens that cannot
// start a statement are consumed by `stray` so that parsing always reaches the
// end of the input and every error in the file is reported.

import { CstParser, EOF, type CstNode, type IParserErrorMessageProvider, type IRecognitionException, type IToken, type TokenType } from "chevrotain";
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
  atom: "",
};

const messages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual, ruleName }) {
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
    if (ruleName === "atom" || ruleName === "cond") return `expected a value${where}, found ${a ? describe(a) : "nothing"}`;
    return `expected ${joinAlts(first.filter(Boolean))}${where}, found ${a ? describe(a) : "nothing"}`;
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual, ruleName }) {
    const first = expectedIterationPaths.map((p) => (p[0] ? label(p[0]) : ""));
    const where = RULE_WHAT[ruleName] ? " " + RULE_WHAT[ruleName] : "";
    const a = actual[0];
    return `expected ${joinAlts(first.filter(Boolean))}${where}, found ${a ? describe(a) : "nothing"}`;
  },
};

const ATOM_TOKENS: TokenType[] = [T.Word, T.NumberTok, T.DString, T.SString, T.DStringOpen, T.SStringOpen, ...T.KEYWORDS];

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

  public script = this.RULE("script", () => {
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Newline) },
        { ALT: () => this.CONSUME(T.Semi) },
        { ALT: () => this.SUBRULE(this.statement) },
        { ALT: () => this.SUBRULE(this.stray) },
        { ALT: () => this.CONSUME(T.RBrace) },
      ]);
    });
  });

  public block = this.RULE("block", () => {
    this.CONSUME(T.LBrace);
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Newline) },
        { ALT: () => this.CONSUME(T.Semi) },
        { ALT: () => this.SUBRULE(this.statement) },
        { ALT: () => this.SUBRULE(this.stray) },
      ]);
    });
    this.CONSUME(T.RBrace);
  });

  /** A token that cannot start a statement; reported by the builder. */
  public stray = this.RULE("stray", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.LBrace) },
      { ALT: () => this.CONSUME(T.LParen) },
      { ALT: () => this.CONSUME(T.RParen) },
      { ALT: () => this.CONSUME(T.Comma) },
      { ALT: () => this.CONSUME(T.Else) },
      { ALT: () => this.CONSUME(T.In) },
      { ALT: () => this.CONSUME(T.EqEq) },
      { ALT: () => this.CONSUME(T.NotEq) },
      { ALT: () => this.CONSUME(T.Bang) },
      { ALT: () => this.CONSUME(T.Equals) },
      { ALT: () => this.CONSUME(T.OptKey) },
      { ALT: () => this.CONSUME(T.NumberTok) },
      { ALT: () => this.CONSUME(T.DString) },
      { ALT: () => this.CONSUME(T.SString) },
      { ALT: () => this.CONSUME(T.DStringOpen) },
      { ALT: () => this.CONSUME(T.SStringOpen) },
    ]);
  });

  public statement = this.RULE("statement", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.letStmt) },
      { ALT: () => this.SUBRULE(this.fnStmt) },
      { ALT: () => this.SUBRULE(this.importStmt) },
      { ALT: () => this.SUBRULE(this.ifStmt) },
      { ALT: () => this.SUBRULE(this.forStmt) },
      { ALT: () => this.SUBRULE(this.command) },
    ]);
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
    this.MANY(() => this.SUBRULE(this.arg));
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
    this.MANY(() => this.SUBRULE(this.arg));
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
          this.SUBRULE(this.atom);
          this.OPTION(() => {
            this.OR2([{ ALT: () => this.CONSUME(T.EqEq) }, { ALT: () => this.CONSUME(T.NotEq) }]);
            this.SUBRULE2(this.atom);
          });
        },
      },
    ]);
  });

  public forStmt = this.RULE("forStmt", () => {
    this.CONSUME(T.For);
    this.CONSUME(T.Word);
    this.CONSUME(T.In);
    this.MANY(() => this.SUBRULE(this.arg));
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
    this.MANY2(() => this.SUBRULE(this.arg));
  });

  public callArg = this.RULE("callArg", () => {
    this.OR([
      {
        ALT: () => {
          const key = this.CONSUME(T.OptKey);
          this.OPTION({ GATE: () => this.glued(key), DEF: () => this.SUBRULE(this.atom) });
        },
      },
      { ALT: () => this.SUBRULE2(this.atom) },
    ]);
  });

  public arg = this.RULE("arg", () => {
    this.OR([
      {
        ALT: () => {
          const key = this.CONSUME(T.OptKey);
          this.OPTION({
            GATE: () => this.glued(key),
            DEF: () => {
              this.SUBRULE(this.atom);
              this.MANY(() => {
                this.CONSUME(T.Comma);
                this.SUBRULE2(this.atom);
              });
            },
          });
        },
      },
      {
        ALT: () => {
          this.SUBRULE3(this.atom);
          this.MANY2(() => {
            this.CONSUME2(T.Comma);
            this.SUBRULE4(this.atom);
          });
        },
      },
      { ALT: () => this.CONSUME(T.EqEq) },
      { ALT: () => this.CONSUME(T.NotEq) },
      { ALT: () => this.CONSUME(T.Bang) },
      { ALT: () => this.CONSUME(T.Equals) },
    ]);
  });

  public atom = this.RULE("atom", () => {
    this.OR(ATOM_TOKENS.map((t) => ({ ALT: () => this.CONSUME(t) })));
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
