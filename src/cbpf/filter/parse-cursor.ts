// The token cursor the parsers share: look-ahead that raises lexical errors
// when reached, syntax errors with their position, backtracking, a nesting
// limit, and the hook that compiles each primitive as soon as it is parsed.

import type { Expr } from './ast.js';
import { FilterError, syntaxError } from './errors.js';
import type { Token } from './lexer.js';

/** Receives each primitive as soon as it is parsed and returns what stands for it in the tree. */
export type LeafHandler = (leaf: Expr) => Expr;

/** Thrown internally to backtrack; always a syntax error. */
export class Backtrack extends Error {}

/** Nesting limit for parentheses, so hostile input cannot exhaust the stack. */
const MAX_DEPTH = 200;

export abstract class TokenCursor {
  protected i = 0;
  protected depth = 0;
  constructor(
    protected readonly toks: Token[],
    protected readonly src: string,
    private readonly onLeaf?: LeafHandler,
  ) {}

  /**
   * A primitive is complete. With a handler (the compiler) it is turned into
   * code right away, as libpcap's grammar actions do, so semantic errors come
   * out in the order of the text, before any later syntax error.
   */
  protected leaf(e: Expr): Expr {
    return this.onLeaf ? this.onLeaf(e) : e;
  }

  /** The current token; reaching a lexical error raises it, as libpcap's on-demand lexer would. */
  protected get tok(): Token {
    return this.checked(this.toks[this.i]!);
  }
  protected peek(n = 1): Token {
    return this.checked(this.toks[Math.min(this.i + n, this.toks.length - 1)]!);
  }
  private checked(t: Token): Token {
    if (t.kind === 'error' && t.error) throw t.error;
    return t;
  }
  protected isKw(t: Token, ...words: string[]): boolean {
    return t.kind === 'kw' && words.includes(t.text);
  }
  protected isOp(t: Token, ...ops: string[]): boolean {
    return t.kind === 'op' && ops.includes(t.text);
  }
  protected fail(at: Token = this.tok): never {
    throw syntaxError(at.pos, this.src);
  }
  protected expectOp(op: string): Token {
    if (!this.isOp(this.tok, op)) this.fail();
    return this.toks[this.i++]!;
  }
  protected enter(): void {
    if (++this.depth > MAX_DEPTH) throw new FilterError(`expression nested more than ${MAX_DEPTH} levels deep`, this.tok.pos, this.src);
  }

  /** Consume a run of `not`/`!`; true when their number is odd. Iterative, so long runs cannot exhaust the stack. */
  protected skipNots(): boolean {
    let n = 0;
    while (this.isKw(this.tok, 'not') || this.isOp(this.tok, '!')) {
      this.i++;
      n++;
    }
    return n % 2 === 1;
  }

  /** Run `f`; on a syntax error, rewind and return undefined. Other errors propagate. */
  protected attempt<T>(f: () => T): T | undefined {
    const save = this.i;
    const depth = this.depth;
    try {
      return f();
    } catch (e) {
      if (e instanceof Backtrack || (e instanceof FilterError && e.reason.startsWith("can't parse"))) {
        this.i = save;
        this.depth = depth;
        return undefined;
      }
      throw e;
    }
  }
}
