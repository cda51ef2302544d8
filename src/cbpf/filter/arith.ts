// Arithmetic and relations: `ip[2:2] - ((ip[0]&0xf)<<2) > 40`. A value is
// computed into A; a binary operation with a non-constant right side parks
// the left value in scratch memory M[], as libpcap does. Every packet access
// contributes the protocol check that makes it meaningful (tcp[...] needs
// IPv4, protocol 6, first fragment); the relation is those checks AND the
// comparison.

import { BPF_ALU_OP, BPF_CLASS, BPF_MISCOP, BPF_MODE, BPF_SIZE, BPF_SRC, classOf, modeOf, stmt, type ClassicInsn } from '../insn.js';
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

/**
 * Statements that leave a value in A, the protocol checks that guard them,
 * and the scratch word libpcap assigns the value (see Regs).
 */
interface Value {
  readonly stmts: ClassicInsn[];
  readonly checks: Cond[];
  readonly reg: number;
}

/** libpcap's scratch-register allocator (GenContext's): alloc_reg/free_reg. */
export interface Regs {
  allocReg(): number;
  freeReg(reg: number): void;
}

/**
 * Code generation for one relation. Scratch words are numbered as libpcap
 * numbers them, so that the stores its optimiser keeps (and tsbpf keeps)
 * name the same M[i] in `-d`: libpcap gives every value a word when it is
 * made (a number or `len` when loaded, a packet load after its index, an
 * operation after both operands) and frees the operands' words, in the
 * order the parser meets them; constants use words too before they fold.
 */
class ValueGen {
  constructor(
    private readonly layers: Layers,
    private readonly regs: Regs,
  ) {}

  /** Walk a subtree for its register effects only (constant subtrees, whose code is one `ld #k`). */
  private simulate(e: Arith): number {
    switch (e.t) {
      case 'num':
      case 'len':
        return this.regs.allocReg();
      case 'neg':
        return this.simulate(e.e);
      case 'load': {
        const i = this.simulate(e.index);
        const r = this.regs.allocReg();
        this.regs.freeReg(i);
        return r;
      }
      case 'bin': {
        const a = this.simulate(e.l);
        const b = this.simulate(e.r);
        return this.combine(a, b);
      }
    }
  }

  /** gen_arth's words: both operands' freed, a new one for the result. */
  private combine(a: number, b: number): number {
    this.regs.freeReg(a);
    this.regs.freeReg(b);
    return this.regs.allocReg();
  }

  /** Release the words of a relation's operands. */
  release(...rs: number[]): void {
    for (const r of rs) this.regs.freeReg(r);
  }

  value(e: Arith): Value {
    const k = constValue(e);
    if (k !== undefined) return { stmts: [stmt(LD_IMM, k)], checks: [], reg: this.simulate(e) };
    switch (e.t) {
      case 'num': return { stmts: [stmt(LD_IMM, e.value)], checks: [], reg: this.regs.allocReg() };
      case 'len': return { stmts: [stmt(LD_LEN)], checks: [], reg: this.regs.allocReg() };
      case 'neg': {
        const v = this.value(e.e);
        return { stmts: [...v.stmts, stmt(NEG)], checks: v.checks, reg: v.reg };
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
          const reg = this.combine(l.reg, this.simulate(e.r));
          return { stmts: [...l.stmts, stmt(BPF_CLASS.ALU | ALU[e.op] | BPF_SRC.K, r)], checks: l.checks, reg };
        }
        const p = this.pair(e.l, e.r);
        return { stmts: [...p.stmts, stmt(BPF_CLASS.ALU | ALU[e.op] | BPF_SRC.X)], checks: p.leftChecks, reg: this.combine(p.lreg, p.rreg) };
      }
    }
  }

  /** Statements that leave l in A and r in X (l parked in its word while r is computed). */
  pair(l: Arith, r: Arith): { stmts: ClassicInsn[]; leftChecks: Cond[]; rightChecks: Cond[]; lreg: number; rreg: number } {
    const lv = this.value(l);
    const rv = this.value(r);
    const stmts = [...lv.stmts, stmt(ST, lv.reg), ...rv.stmts, stmt(TAX), stmt(LD_MEM, lv.reg)];
    return { stmts, leftChecks: lv.checks, rightChecks: rv.checks, lreg: lv.reg, rreg: rv.reg };
  }

  private load(e: Extract<Arith, { t: 'load' }>): Value {
    const h = this.layers.header(e.proto);
    const idx = constValue(e.index);
    if (idx !== undefined) {
      const i = this.simulate(e.index);
      const reg = this.regs.allocReg();
      this.regs.freeReg(i);
      const stmts = h.viaIpHeaderLen ? [loadIpHeaderLen(h.base), loadInd(e.size, h.base + idx)] : [loadAbs(e.size, h.base + idx)];
      return { stmts, checks: [h.check], reg };
    }
    const iv = this.value(e.index);
    const reg = this.regs.allocReg();
    this.regs.freeReg(iv.reg);
    const stmts = [...iv.stmts];
    // The index waits in its word while X gets the IPv4 header length.
    if (h.viaIpHeaderLen) stmts.push(stmt(ST, iv.reg), loadIpHeaderLen(h.base), stmt(LD_MEM, iv.reg), stmt(BPF_CLASS.ALU | BPF_ALU_OP.ADD | BPF_SRC.X));
    stmts.push(stmt(TAX), loadInd(e.size, h.base));
    // The index's own checks come first, as libpcap orders them.
    return { stmts: dropReloadedX(stmts), checks: [...iv.checks, h.check], reg };
  }
}

/**
 * Within one statement list: an X load that X already holds is dropped
 * (`tcp[tcp[12] >> 4]` loads the header length once), and then a store
 * followed at once by a load of the same word becomes nothing (the word is
 * not read again: every word here is private to its list). libpcap's
 * value numbering does the same.
 */
function dropReloadedX(stmts: ClassicInsn[]): ClassicInsn[] {
  let xKey: string | undefined;
  const out: ClassicInsn[] = [];
  for (const s of stmts) {
    const cls = classOf(s.code);
    if (cls === BPF_CLASS.LDX) {
      const key = `${s.code}:${s.k}`;
      if (key === xKey && modeOf(s.code) !== BPF_MODE.MEM) continue;
      xKey = modeOf(s.code) === BPF_MODE.MEM ? undefined : key;
    } else if (s.code === TAX) xKey = undefined;
    const prev = out[out.length - 1];
    if (prev !== undefined && prev.code === ST && s.code === LD_MEM && prev.k === s.k && !stmts.slice(stmts.indexOf(s) + 1).some((t) => readsMem(t, s.k))) {
      out.pop();
      continue;
    }
    out.push(s);
  }
  return out;
}

const readsMem = (s: ClassicInsn, k: number): boolean => (s.code === LD_MEM || s.code === (BPF_CLASS.LDX | BPF_MODE.MEM)) && s.k === k;

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
export function relation(layers: Layers, regs: Regs, op: RelOp, l: Arith, r: Arith): Cond {
  const lc = constValue(l);
  const rc = constValue(r);
  const g = new ValueGen(layers, regs);
  if (lc !== undefined && rc !== undefined) {
    g.release(g.value(l).reg, g.value(r).reg);
    return { t: 'const', v: holds(op, lc, rc) };
  }
  // Keep the constant on the right so it becomes the jump's k (its word is taken first, as libpcap does).
  if (lc !== undefined) {
    const lreg = g.value(l).reg;
    const rv = g.value(r);
    g.release(lreg, rv.reg);
    return and(...unique(rv.checks), compareK(MIRROR[op], rv.stmts, lc));
  }
  let cmp: Cond;
  let checks: Cond[];
  if (rc !== undefined) {
    // `x & mask != 0` is a single jset, `x - y == 0` a `jeq x`, `x - k == c` a `jeq #(k + c)`: libpcap's optimiser makes them so.
    const k = l.t === 'bin' ? constValue(l.r) : undefined;
    if (rc === 0 && (op === '==' || op === '!=') && l.t === 'bin' && l.op === '&' && k !== undefined) {
      const v = g.value(l);
      const t = test(v.stmts.slice(0, -1), JSET, k);
      g.release(v.reg, g.value(r).reg);
      cmp = op === '!=' ? t : not(t);
      checks = v.checks;
    } else if (rc === 0 && (op === '==' || op === '!=') && l.t === 'bin' && l.op === '-' && k === undefined) {
      const p = g.pair(l.l, l.r);
      g.release(p.lreg, p.rreg, g.value(r).reg);
      const t = test(p.stmts, JUMP_X(JEQ), 0);
      cmp = op === '!=' ? not(t) : t;
      checks = p.leftChecks;
    } else {
      const v = g.value(l);
      g.release(v.reg, g.value(r).reg);
      let stmts = v.stmts;
      let c = rc;
      if ((op === '==' || op === '!=') && l.t === 'bin' && l.op === '-' && k !== undefined) {
        stmts = stmts.slice(0, -1);
        c = (rc + k) >>> 0;
      }
      cmp = compareK(op, stmts, c);
      checks = v.checks;
    }
  } else {
    const [code, negate] = jumpFor(op);
    const p = g.pair(l, r);
    g.release(p.lreg, p.rreg);
    const t = test(p.stmts, JUMP_X(code), 0);
    cmp = negate ? not(t) : t;
    checks = [...p.leftChecks, ...p.rightChecks];
  }
  return and(...unique(checks), cmp);
}

/** `A op k` after stmts. */
function compareK(op: RelOp, stmts: ClassicInsn[], k: number): Cond {
  const [code, negate] = jumpFor(op);
  const t = test(stmts, code, k);
  return negate ? not(t) : t;
}
