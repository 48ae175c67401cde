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
// Arguments are one flat run of tokens per statement; the AST builder
// (lang/arguments.ts) groups them (`a, b` is a list, `key=` glued to a value
// is an option) and reports misplaced commas. This keeps the parser to one
// CONSUME per argument token. Statements are alternatives of the body
// directly (no wrapper rule) and token categories stand for sets of tokens:
// fewer rule invocations and CST nodes per statement. Outside the grammar's
// recording, three runs are taken by hand, each as the grammar would take it
// (test/lang/parser-runs.test.ts compares): a statement's closing argument run
// (argRun), a body's separators (sepRun) and a body's plain commands (commandRun).
//
// Separators are checked by the AST builder (lang/statements.ts: two
// statements on one line without `;` are reported there, with a precise
// message). Tokens that cannot start a statement are consumed by `stray` so
// that parsing always reaches the end of the input and every error in the
// file is reported.
//
// Errors leave the parser as data (SyntaxProblem: kind, rule, expected and
// found tokens); lang/syntax-errors.ts words them.

import { CstParser, EOF, tokenMatcher, type CstNode, type IOrAlt, type IParserErrorMessageProvider, type IToken, type TokenType } from "chevrotain";
import * as T from "./lexer.ts";

/**
 * A syntax error as the parser saw it, before any wording: which kind of
 * error, in which grammar rule, what was expected and which token was found.
 * lang/syntax-errors.ts turns it into a message and a help line.
 *
 *   mismatch        a CONSUME met the wrong token (`expected` is the one wanted)
 *   no-alternative  no branch of an OR fits (`expected`: the first token of each branch)
 *   early-exit      an AT_LEAST_ONE found no first item (not in the grammar today)
 *   not-all-input   the script rule stopped before the end (cannot happen with `stray`)
 */
export type SyntaxProblem =
  | { kind: "mismatch"; rule: string; expected: TokenType; found: IToken }
  | { kind: "no-alternative" | "early-exit"; rule: string; expected: TokenType[]; found: IToken | undefined }
  | { kind: "not-all-input"; rule: string; found: IToken };

/** The first token of each lookahead path (a path may be empty). */
function firsts(paths: TokenType[][]): TokenType[] {
  const out: TokenType[] = [];
  for (const path of paths) if (path[0]) out.push(path[0]);
  return out;
}

/**
 * chevrotain's message hook, used to record structured problems instead of
 * text: each build* call stores its problem and returns the problem's index
 * as the exception's "message", which parseTokens() resolves again. (The
 * hook only lets us return a string; the index keeps the pairing exact even
 * if chevrotain drops or reorders errors.)
 */
class ProblemRecorder implements IParserErrorMessageProvider {
  problems: SyntaxProblem[] = [];

  private record(p: SyntaxProblem): string {
    return String(this.problems.push(p) - 1);
  }
  buildMismatchTokenMessage({ expected, actual, ruleName }: { expected: TokenType; actual: IToken; ruleName: string }): string {
    return this.record({ kind: "mismatch", rule: ruleName, expected, found: actual });
  }
  buildNotAllInputParsedMessage({ firstRedundant, ruleName }: { firstRedundant: IToken; ruleName: string }): string {
    return this.record({ kind: "not-all-input", rule: ruleName, found: firstRedundant });
  }
  buildNoViableAltMessage({ expectedPathsPerAlt, actual, ruleName }: { expectedPathsPerAlt: TokenType[][][]; actual: IToken[]; ruleName: string }): string {
    return this.record({ kind: "no-alternative", rule: ruleName, expected: expectedPathsPerAlt.flatMap(firsts), found: actual[0] });
  }
  buildEarlyExitMessage({ expectedIterationPaths, actual, ruleName }: { expectedIterationPaths: TokenType[][]; actual: IToken[]; ruleName: string }): string {
    return this.record({ kind: "early-exit", rule: ruleName, expected: firsts(expectedIterationPaths), found: actual[0] });
  }
}

const recorder = new ProblemRecorder();

/** chevrotain's recovery methods that getFollowsForInRuleRecovery builds on (not in its typings). */
interface RecoveryInternals {
  getCurrentGrammarPath(tokType: TokenType, tokIdxInRule: number): { ruleStack: string[]; occurrenceStack: number[]; lastTok: TokenType; lastTokOccurrence: number };
  getNextPossibleTokenTypes(path: { ruleStack: string[]; occurrenceStack: number[]; lastTok: TokenType; lastTokOccurrence: number }): TokenType[];
}

/** chevrotain's token cursor and CST stack, as CONSUME uses them (not in its typings; chevrotain is pinned in package-lock.json). */
interface CstInternals {
  consumeToken(): void;
  readonly currCSTNode: CstNode;
  /** The input and the index of the last token consumed (LA(1) is tokVector[currIdx + 1]). */
  readonly tokVector: IToken[];
  currIdx: number;
}

/** Token classes by tokenTypeIdx, for commandRun: in the ArgTok category, in the Sep category. */
const ARG = 1;
const SEP = 2;
let classes: Uint8Array | undefined;
function tokenClasses(): Uint8Array {
  if (classes) return classes;
  const c = new Uint8Array(Math.max(...T.allTokens.map((t) => t.tokenTypeIdx!)) + 1);
  for (const t of T.allTokens) {
    const idx = t.tokenTypeIdx!;
    if (tokenMatcher({ tokenTypeIdx: idx, tokenType: t } as IToken, T.ArgTok)) c[idx]! |= ARG;
    if (tokenMatcher({ tokenTypeIdx: idx, tokenType: t } as IToken, T.Sep)) c[idx]! |= SEP;
  }
  return (classes = c);
}

/** A Word at i, not followed by `(` (past the end is EOF: neither). */
function startsPlainCommand(toks: IToken[], i: number, n: number): boolean {
  return i < n && toks[i]!.tokenType === T.Word && (i + 1 >= n || toks[i + 1]!.tokenType !== T.LParen);
}

/**
 * The CST keys argRun and sepRun write, by name (a constant key is faster than a
 * computed one): CONSUME files a token under its token type's name.
 */
interface TokenChildren {
  ArgTok?: IToken[];
  Sep?: IToken[];
}
/** A body node's children that commandRun writes. */
interface CommandChildren extends TokenChildren {
  command?: CstNode[];
}
if (T.ArgTok.name !== "ArgTok" || T.Sep.name !== "Sep") throw new Error("lang/parser.ts: the CST keys of argRun and sepRun are the token types' names");

export class CtrParser extends CstParser {
  constructor() {
    super(T.allTokens, {
      recoveryEnabled: true,
      maxLookahead: 2,
      errorMessageProvider: recorder,
      skipValidations: !process.env.CTR_VALIDATE_GRAMMAR,
    });
    this.performSelfAnalysis();
  }

  /**
   * Recovery never invents a `{`: a missing block's brace, inserted, would open a
   * block holding the rest of the script, and a run of `if x` lines would nest
   * that deep (each level re-syncing over what follows: seconds for a few
   * hundred lines, found by the fuzz test). Without it the `if` fails where its
   * block should start and the parser re-syncs at the next statement.
   */
  override canTokenTypeBeInsertedInRecovery(tokType: TokenType): boolean {
    return tokType !== T.LBrace;
  }

  /**
   * The tokens that may follow a failed CONSUME, for in-rule recovery, by grammar path.
   * chevrotain walks the grammar for them at every mismatch (about 70 us each here: a line
   * of 20,000 misplaced `for` took a second); they depend only on the grammar and the
   * path (rule stack, occurrences, token and its index in the rule), so each path is
   * walked once per process. Same answer, same recovery, same errors.
   */
  private readonly followsByPath = new Map<string, TokenType[]>();
  getFollowsForInRuleRecovery(tokType: TokenType, tokIdxInRule: number): TokenType[] {
    const self = this as unknown as RecoveryInternals;
    const path = self.getCurrentGrammarPath(tokType, tokIdxInRule);
    const key = `${path.ruleStack.join(">")}|${path.occurrenceStack.join(",")}|${tokType.name}|${tokIdxInRule}`;
    let follows = this.followsByPath.get(key);
    if (follows === undefined) {
      follows = self.getNextPossibleTokenTypes(path);
      this.followsByPath.set(key, follows);
    }
    return follows;
  }

  /**
   * argRun and sepRun by hand (the default); false leaves every token to the
   * grammar's own MANY and OR, for test/lang/parser-runs.test.ts to compare the two.
   */
  fastRuns = true;

  // Alternative lists are built once per rule (chevrotain's advice for speed).
  private scriptAlts?: IOrAlt<unknown>[];
  private blockAlts?: IOrAlt<unknown>[];

  /** What a body holds: separators, statements, and tokens that cannot start one (`stray`). */
  private bodyAlts(): IOrAlt<unknown>[] {
    return [
      { ALT: () => this.CONSUME(T.Sep) },
      { ALT: () => this.SUBRULE(this.command) },
      { ALT: () => this.SUBRULE(this.letStmt) },
      { ALT: () => this.SUBRULE(this.ifStmt) },
      { ALT: () => this.SUBRULE(this.forStmt) },
      { ALT: () => this.SUBRULE(this.fnStmt) },
      { ALT: () => this.SUBRULE(this.importStmt) },
      { ALT: () => this.CONSUME(T.Stray) },
    ];
  }

  public script = this.RULE("script", () => {
    // At script level a `}` has no `{`: taken here, reported by the builder.
    this.MANY(() => {
      if (!this.commandRun()) this.OR((this.scriptAlts ??= [...this.bodyAlts(), { ALT: () => this.CONSUME(T.RBrace) }]));
      this.sepRun();
    });
  });

  public block = this.RULE("block", () => {
    this.CONSUME(T.LBrace);
    this.MANY(() => {
      if (!this.commandRun()) this.OR((this.blockAlts ??= this.bodyAlts()));
      this.sepRun();
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
    this.argRun(() => this.MANY(() => this.CONSUME(T.ArgTok)));
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
    this.argRun(() => this.MANY(() => this.CONSUME(T.ArgTok)));
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
    this.argRun(() => this.MANY2(() => this.CONSUME(T.ArgTok)));
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

  /**
   * A statement's closing run of argument tokens: `many` (a MANY of one CONSUME of
   * ArgTok) while chevrotain records the grammar, then the same loop by hand. The two
   * take the same tokens: a MANY at the end of its rule looks one token ahead (nothing
   * follows it in the rule, so one token tells iterating from leaving) and has nothing
   * to re-sync to, so it never recovers; and each token it takes matches, so no CONSUME
   * of it can fail. By hand the run goes into the CST node at once, as the CONSUMEs
   * would have put it (under the token type's name), without the per-token machinery
   * of MANY and CONSUME: most tokens of a script are arguments, and in a cold process
   * that machinery is much of the parser's cost. Only for runs at the end of a rule
   * (`for`'s run is followed by its block).
   */
  private argRun(many: () => void): void {
    if (this.RECORDING_PHASE || !this.fastRuns) return many();
    const self = this as unknown as CstInternals;
    let t = this.LA(1);
    if (!tokenMatcher(t, T.ArgTok)) return;
    const run: IToken[] = [];
    do {
      run.push(t);
      self.consumeToken();
      t = this.LA(1);
    } while (tokenMatcher(t, T.ArgTok));
    const children = self.currCSTNode.children as TokenChildren;
    const before = children.ArgTok;
    children.ArgTok = before ? before.concat(run) : run;
  }

  /**
   * The separators after a body's item, taken in the same repetition (outside the
   * recording phase): the next repetition would have taken each of them by its first
   * alternative, `CONSUME(Sep)`, which never fails. They go into the body's CST node
   * under "Sep" in source order, as that CONSUME puts them. One repetition per
   * statement instead of two (the statement, then its newline), for the cost of the
   * other: its lookahead, the alternative's choice, the CONSUME.
   */
  private sepRun(): void {
    if (this.RECORDING_PHASE || !this.fastRuns) return;
    let t = this.LA(1);
    if (!tokenMatcher(t, T.Sep)) return;
    const self = this as unknown as CstInternals;
    const children = self.currCSTNode.children as TokenChildren;
    const seps = (children.Sep ??= []);
    do {
      seps.push(t);
      self.consumeToken();
      t = this.LA(1);
    } while (tokenMatcher(t, T.Sep));
  }

  /**
   * A body's run of plain commands (a word not followed by `(`, then its arguments,
   * then its separators) by hand, outside the recording phase; false when the next
   * token starts none. What the grammar does for each is fixed: the body's OR can only
   * choose `command` for a Word (no other alternative starts with one); in the command
   * rule, CONSUME(Word) matches, the OPTION of a call is not taken (no `(` follows),
   * and the closing argument run is argRun's; none of it can fail, so nothing recovers.
   * The node is the one SUBRULE(command) files under "command" in the body's node (no
   * location: nodeLocationTracking is "none"). Most statements of a script are plain
   * commands, and a rule invocation's machinery (OR lookahead, SUBRULE, the rule's try,
   * the CST stack, OPTION, CONSUME) is most of the parser's cost per statement.
   */
  private commandRun(): boolean {
    if (this.RECORDING_PHASE || !this.fastRuns) return false;
    // The token vector read directly (LA, consumeToken and tokenMatcher per token are
    // calls that cost more than the loop in a cold process): the index i is LA(1)'s.
    const self = this as unknown as CstInternals;
    const toks = self.tokVector;
    const n = toks.length;
    const cls = tokenClasses();
    let i = self.currIdx + 1;
    if (!startsPlainCommand(toks, i, n)) return false;
    const body = self.currCSTNode.children as CommandChildren;
    const commands = (body.command ??= []);
    do {
      const word = toks[i++]!;
      let j = i;
      while (j < n && (cls[toks[j]!.tokenTypeIdx]! & ARG) !== 0) j++;
      commands.push({ name: "command", children: j > i ? { Word: [word], ArgTok: toks.slice(i, j) } : { Word: [word] } } as unknown as CstNode);
      i = j;
      if (j < n && (cls[toks[j]!.tokenTypeIdx]! & SEP) !== 0) {
        while (j < n && (cls[toks[j]!.tokenTypeIdx]! & SEP) !== 0) j++;
        const seps = body.Sep;
        if (seps === undefined) body.Sep = toks.slice(i, j);
        else for (let k = i; k < j; k++) seps.push(toks[k]!);
        i = j;
      }
    } while (startsPlainCommand(toks, i, n));
    self.currIdx = i - 1;
    return true;
  }

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
  /** The syntax errors, in the order chevrotain reported them. */
  problems: SyntaxProblem[];
}

export function parseTokens(tokens: IToken[]): ParseResult {
  const p = getParser();
  recorder.problems = [];
  p.input = tokens;
  const cst = p.script();
  const problems = p.errors.map((e) => {
    const problem = recorder.problems[Number(e.message)];
    if (!problem) throw new Error(`parser error without a recorded problem: ${e.message}`);
    return problem;
  });
  return { cst, problems };
}
