// Arithmetic and relations: `ip[2:2] - ((ip[0]&0xf)<<2) > 40`. A value is
// computed into A; a binary operation with a non-constant right side parks
// the left value in scratch memory M[], as libpcap does. Every packet access
// contributes the protocol check that makes it meaningful (tcp[...] needs
// IPv4, protocol 6, first fragment); the relation is those checks AND the
// comparison.

import { BPF_ALU_OP, BPF_CLASS, BPF_MEMWORDS, BPF_MISCOP, BPF_MODE, BPF_SIZE, BPF_SRC, stmt, type ClassicInsn } from '../insn.js';
import type { Arith, ArithOp, RelOp } from './ast.js';
import { JEQ, JGE, JGT, JSET, and, loadAbs, loadInd, loadIpHeaderLen, not, test, type Cond } from './cond.js';
import { FilterError } from './errors.js';
import type { Layers } from './protocols.js';

const ALU: Readonly<Record<ArithOp, number>> = {
  '+': BPF_ALU_OP.ADD, '-': BPF_ALU_OP.SUB, '*': BPF_ALU_OP.MUL, '/': BPF_ALU_OP.DIV, '%': BPF_ALU_OP.MOD,
  '&': BPF_ALU_OP.AND, '|': BPF_ALU_OP.OR, '^': BPF_ALU_OP.XOR, '<<': BPF_ALU_OP.LSH, '>>': BPF_ALU_OP.RSH,
};

const LD_IMM = BPF_CLASS.LD | BPF_MODE.IMM;
const LD_LEN = BPF_CLASS.LD | BPF_SIZE.W | BPF_MODE.LEN;
const LD_MEM = BPF_CLASS.LD | BPF_MODE.MEM;
const ST = BPF_CLASS.ST;
const TAX = BPF_CLASS.MISC | BPF_MISCOP.TAX;
const NEG = BPF_CLASS.ALU | BPF_ALU_OP.NEG;

/** Fold a constant operation with unsigned 32-bit C semantics; undefined for x/0 (reported by the caller). */
export function foldOp(op: ArithOp, a: number, b: number): number | undefined {
  switch (op) {
    case '+': return (a + b) >>> 0;
    case '-': return (a - b) >>> 0;
    case '*': return Math.imul(a, b) >>> 0;
    case '/': return b === 0 ? undefined : Math.floor(a / b) >>> 0;
    case '%': return b === 0 ? undefined : a % b >>> 0;
    case '&': return (a & b) >>> 0;
    case '|': return (a | b) >>> 0;
    case '^': return (a ^ b) >>> 0;
    // A constant shift of 32 or more shifts every bit out (JS alone would shift by b & 31).
    case '<<': return b >= 32 ? 0 : (a << b) >>> 0;
    case '>>': return b >= 32 ? 0 : a >>> b;
  }
}

/** The constant value of an expression, if it has one. */
export function constValue(e: Arith): number | undefined {
  switch (e.t) {
    case 'num': return e.value;
    case 'len':
    case 'load': return undefined;
    case 'neg': {
      const v = constValue(e.e);
      return v === undefined ? undefined : -v >>> 0;
    }
    case 'bin': {
      const l = constValue(e.l);
      const r = constValue(e.r);
      if (l === undefined || r === undefined) return undefined;
      checkOperand(e.op, e.r, r, e.pos, true);
      return foldOp(e.op, l, r);
    }
  }
}

/**
 * libpcap's compile-time checks on a constant right operand. A shift by more
 * than 31 is refused when written as a literal, or when it would be emitted
 * (the left side is not constant); a fully constant one folds to 0.
 */
function checkOperand(op: ArithOp, rExpr: Arith, r: number, pos: number, leftConst: boolean): void {
  if ((op === '<<' || op === '>>') && r > 31 && (rExpr.t === 'num' || !leftConst)) throw new FilterError('shift by more than 31 bits', pos);
  if (r !== 0) return;
  if (op === '/') throw new FilterError('division by zero', pos);
  if (op === '%') throw new FilterError('modulus by zero', pos);
}

/** Statements that leave a value in A, and the protocol checks that guard them. */
interface Value {
  readonly stmts: ClassicInsn[];
  readonly checks: Cond[];
}

/** Code generation for one relation; scratch slots are handed out as a stack. */
class ValueGen {
  private nextMem = 0;

  constructor(private readonly layers: Layers) {}

  private alloc(): number {
    if (this.nextMem >= BPF_MEMWORDS) throw new FilterError('too many registers needed to evaluate expression');
    return this.nextMem++;
  }
  private release(): void {
    this.nextMem--;
  }

  value(e: Arith): Value {
    const k = constValue(e);
    if (k !== undefined) return { stmts: [stmt(LD_IMM, k)], checks: [] };
    switch (e.t) {
      case 'num': return { stmts: [stmt(LD_IMM, e.value)], checks: [] };
      case 'len': return { stmts: [stmt(LD_LEN)], checks: [] };
      case 'neg': {
        const v = this.value(e.e);
        return { stmts: [...v.stmts, stmt(NEG)], checks: v.checks };
      }
      case 'load': return this.load(e);
      case 'bin': {
        // libpcap's gen_arth keeps only the left operand's protocol checks:
        // `ip[2:2] - tcp[12]` does not require TCP. Reproduced so that
        // tsbpf selects what tcpdump selects.
        const r = constValue(e.r);
        if (r !== undefined) {
          checkOperand(e.op, e.r, r, e.pos, false);
          const l = this.value(e.l);
          return { stmts: [...l.stmts, stmt(BPF_CLASS.ALU | ALU[e.op] | BPF_SRC.K, r)], checks: l.checks };
        }
        const p = this.pair(e.l, e.r);
        return { stmts: [...p.stmts, stmt(BPF_CLASS.ALU | ALU[e.op] | BPF_SRC.X)], checks: p.leftChecks };
      }
    }
  }

  /** Statements that leave l in A and r in X. */
  pair(l: Arith, r: Arith): { stmts: ClassicInsn[]; leftChecks: Cond[]; rightChecks: Cond[] } {
    const m = this.alloc();
    const lv = this.value(l);
    const rv = this.value(r);
    this.release();
    return { stmts: [...lv.stmts, stmt(ST, m), ...rv.stmts, stmt(TAX), stmt(LD_MEM, m)], leftChecks: lv.checks, rightChecks: rv.checks };
  }

  private load(e: Extract<Arith, { t: 'load' }>): Value {
    const h = this.layers.header(e.proto);
    const idx = constValue(e.index);
    if (idx !== undefined) {
      const stmts = h.viaIpHeaderLen ? [loadIpHeaderLen(h.base), loadInd(e.size, h.base + idx)] : [loadAbs(e.size, h.base + idx)];
      return { stmts, checks: [h.check] };
    }
    const iv = this.value(e.index);
    const stmts = [...iv.stmts];
    if (h.viaIpHeaderLen) {
      const m = this.alloc();
      stmts.push(stmt(ST, m), loadIpHeaderLen(h.base), stmt(LD_MEM, m), stmt(BPF_CLASS.ALU | BPF_ALU_OP.ADD | BPF_SRC.X));
      this.release();
    }
    stmts.push(stmt(TAX), loadInd(e.size, h.base));
    // The index's own checks come first, as libpcap orders them.
    return { stmts, checks: [...iv.checks, h.check] };
  }
}

/** Drop repeated checks (`tcp[0] = tcp[1]` needs the TCP test once). */
function unique(cs: Cond[]): Cond[] {
  const seen = new Set<string>();
  return cs.filter((c) => {
    const key = JSON.stringify(c);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const JUMP_X = (code: number): number => (code & ~BPF_SRC.X) | BPF_SRC.X;

/** Turn `l op r` into a jump: [code, negate]. */
function jumpFor(op: RelOp): [number, boolean] {
  switch (op) {
    case '==': return [JEQ, false];
    case '!=': return [JEQ, true];
    case '>': return [JGT, false];
    case '>=': return [JGE, false];
    case '<': return [JGE, true];
    case '<=': return [JGT, true];
  }
}

const MIRROR: Readonly<Record<RelOp, RelOp>> = { '==': '==', '!=': '!=', '>': '<', '<': '>', '>=': '<=', '<=': '>=' };

function holds(op: RelOp, a: number, b: number): boolean {
  switch (op) {
    case '==': return a === b;
    case '!=': return a !== b;
    case '>': return a > b;
    case '<': return a < b;
    case '>=': return a >= b;
    case '<=': return a <= b;
  }
}

/** The condition for `l op r` (all comparisons unsigned). */
export function relation(layers: Layers, op: RelOp, l: Arith, r: Arith): Cond {
  const lc = constValue(l);
  const rc = constValue(r);
  if (lc !== undefined && rc !== undefined) return { t: 'const', v: holds(op, lc, rc) };
  // Keep the constant on the right so it becomes the jump's k.
  if (lc !== undefined) return relation(layers, MIRROR[op], r, l);
  const g = new ValueGen(layers);
  let cmp: Cond;
  let checks: Cond[];
  if (rc !== undefined) {
    const [code, negate] = jumpFor(op);
    // `x & mask != 0` is a single jset, as libpcap's optimizer makes it.
    const mask = l.t === 'bin' && l.op === '&' ? constValue(l.r) : undefined;
    if (rc === 0 && (op === '==' || op === '!=') && l.t === 'bin' && mask !== undefined) {
      const v = g.value(l.l);
      const t = test(v.stmts, JSET, mask);
      cmp = op === '!=' ? t : not(t);
      checks = v.checks;
    } else {
      const v = g.value(l);
      const t = test(v.stmts, code, rc);
      cmp = negate ? not(t) : t;
      checks = v.checks;
    }
  } else {
    const [code, negate] = jumpFor(op);
    const p = g.pair(l, r);
    const t = test(p.stmts, JUMP_X(code), 0);
    cmp = negate ? not(t) : t;
    checks = [...p.leftChecks, ...p.rightChecks];
  }
  return and(...unique(checks), cmp);
}

