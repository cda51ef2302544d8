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
    // Shifts of 32 or more give 0, as a 64-bit machine computing in u32 would after truncation.
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
      checkDivisor(e.op, r, e.pos);
      return foldOp(e.op, l, r);
    }
  }
}

function checkDivisor(op: ArithOp, r: number, pos: number): void {
  if (r !== 0) return;
  if (op === '/') throw new FilterError('division by zero', pos);
  if (op === '%') throw new FilterError('modulus by zero', pos);
}

/** Code generation for one relation; scratch slots are handed out as a stack. */
class ValueGen {
  private nextMem = 0;
  readonly checks: Cond[] = [];
  private readonly seen = new Set<string>();

  constructor(private readonly layers: Layers) {}

  private alloc(): number {
    if (this.nextMem >= BPF_MEMWORDS) throw new FilterError('too many registers needed to evaluate expression');
    return this.nextMem++;
  }
  private release(): void {
    this.nextMem--;
  }

  private addCheck(c: Cond): void {
    const key = JSON.stringify(c);
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.checks.push(c);
  }

  /** Statements that leave the value of e in A. */
  value(e: Arith): ClassicInsn[] {
    const k = constValue(e);
    if (k !== undefined) return [stmt(LD_IMM, k)];
    switch (e.t) {
      case 'num': return [stmt(LD_IMM, e.value)];
      case 'len': return [stmt(LD_LEN)];
      case 'neg': return [...this.value(e.e), stmt(NEG)];
      case 'load': return this.load(e);
      case 'bin': {
        const r = constValue(e.r);
        if (r !== undefined) {
          checkDivisor(e.op, r, e.pos);
          return [...this.value(e.l), stmt(BPF_CLASS.ALU | ALU[e.op] | BPF_SRC.K, r)];
        }
        return [...this.pair(e.l, e.r), stmt(BPF_CLASS.ALU | ALU[e.op] | BPF_SRC.X)];
      }
    }
  }

  /** Statements that leave l in A and r in X. */
  pair(l: Arith, r: Arith): ClassicInsn[] {
    const m = this.alloc();
    const out = [...this.value(l), stmt(ST, m), ...this.value(r), stmt(TAX), stmt(LD_MEM, m)];
    this.release();
    return out;
  }

  private load(e: Extract<Arith, { t: 'load' }>): ClassicInsn[] {
    const h = this.layers.header(e.proto);
    const idx = constValue(e.index);
    const out: ClassicInsn[] = [];
    if (idx !== undefined) {
      if (h.viaIpHeaderLen) out.push(loadIpHeaderLen(h.base), loadInd(e.size, h.base + idx));
      else out.push(loadAbs(e.size, h.base + idx));
    } else {
      out.push(...this.value(e.index));
      if (h.viaIpHeaderLen) {
        const m = this.alloc();
        out.push(stmt(ST, m), loadIpHeaderLen(h.base), stmt(LD_MEM, m), stmt(BPF_CLASS.ALU | BPF_ALU_OP.ADD | BPF_SRC.X));
        this.release();
      }
      out.push(stmt(TAX), loadInd(e.size, h.base));
    }
    // The check goes in after the index's own checks, as libpcap orders them.
    this.addCheck(h.check);
    return out;
  }
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
  if (rc !== undefined) {
    const [code, negate] = jumpFor(op);
    // `x & mask != 0` is a single jset, as libpcap's optimizer makes it.
    const mask = l.t === 'bin' && l.op === '&' ? constValue(l.r) : undefined;
    if (rc === 0 && (op === '==' || op === '!=') && l.t === 'bin' && mask !== undefined) {
      const t = test(g.value(l.l), JSET, mask);
      cmp = op === '!=' ? t : not(t);
    } else {
      const t = test(g.value(l), code, rc);
      cmp = negate ? not(t) : t;
    }
  } else {
    const [code, negate] = jumpFor(op);
    const t = test(g.pair(l, r), JUMP_X(code), 0);
    cmp = negate ? not(t) : t;
  }
  return and(...g.checks, cmp);
}

