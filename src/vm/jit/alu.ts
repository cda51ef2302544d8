// Straight-line arithmetic for the JIT: ALU32/ALU64 (with eBPF's division
// semantics made explicit, since Wasm traps where eBPF does not), byte order,
// and the conditions of jumps. The Wasm opcode for each instruction is
// derived from the ISA table's semantic fields (alu, cmp, endian, width)
// when the module loads; display strings are never consulted.

import type { Program } from '../../isa/decode.js';
import { Class } from '../../isa/fields.js';
import { INSNS, OP_COUNT, Shape, type AluKind, type CmpKind, type EndianKind, type InsnDef } from '../../isa/table.js';
import { L_A0, L_LOOPS, REG_LOCAL } from './abi.js';
import { T, W } from './wasm/opcodes.js';
import type { Writer } from './wasm/writer.js';

// ---- Tables derived from the ISA table's semantic fields when the module loads ------------

const enum Alu {
  None, Add, Sub, Mul, Div, SDiv, Or, And, Lsh, Rsh, Mod, SMod, Xor, Mov, Arsh,
}
const ALU_BY_KIND: Readonly<Record<AluKind, Alu>> = {
  add: Alu.Add, sub: Alu.Sub, mul: Alu.Mul, div: Alu.Div, sdiv: Alu.SDiv, or: Alu.Or, and: Alu.And,
  lsh: Alu.Lsh, rsh: Alu.Rsh, mod: Alu.Mod, smod: Alu.SMod, xor: Alu.Xor, mov: Alu.Mov, arsh: Alu.Arsh,
};
/** Jump conditions as i32 compare opcodes (the i64 opcode is 11 higher); 0 = jset. */
const CMP_BY_KIND: Readonly<Record<CmpKind, number>> = {
  eq: W.i32_eq, ne: W.i32_ne, gt: W.i32_gt_u, ge: W.i32_ge_u, lt: W.i32_lt_u, le: W.i32_le_u,
  sgt: W.i32_gt_s, sge: W.i32_ge_s, slt: W.i32_lt_s, sle: W.i32_le_s, set: 0,
};
const CMP_INVERSE: Record<number, number> = {
  [W.i32_eq]: W.i32_ne, [W.i32_ne]: W.i32_eq, [W.i32_gt_u]: W.i32_le_u, [W.i32_le_u]: W.i32_gt_u,
  [W.i32_ge_u]: W.i32_lt_u, [W.i32_lt_u]: W.i32_ge_u, [W.i32_gt_s]: W.i32_le_s, [W.i32_le_s]: W.i32_gt_s,
  [W.i32_ge_s]: W.i32_lt_s, [W.i32_lt_s]: W.i32_ge_s,
};
const I64_CMP_DELTA = W.i64_eq - W.i32_eq;

const ALU_OF = new Uint8Array(OP_COUNT);
const CMP_OF = new Int16Array(OP_COUNT).fill(-1);
for (const d of INSNS) {
  if (d.shape === Shape.AluImm || d.shape === Shape.AluReg) {
    if (d.alu === undefined) throw new Error(`jit: ALU row ${d.name} has no operation`);
    ALU_OF[d.op] = ALU_BY_KIND[d.alu];
  } else if (d.shape === Shape.JmpImm || d.shape === Shape.JmpReg) {
    if (d.cmp === undefined) throw new Error(`jit: jump row ${d.name} has no comparison`);
    CMP_OF[d.op] = CMP_BY_KIND[d.cmp];
  }
}

// ---- One arithmetic emitter for both widths ---------------------------------------------------
// ALU64 works on the i64 locals; ALU32 on their low halves as i32, with the
// result zero-extended. Everything else (eBPF's division rules) is the same.

interface Width {
  readonly is64: boolean;
  /** Result type of the `if`s that pick a division result. */
  readonly type: T;
  readonly konst: W;
  readonly eqz: W;
  readonly eq: W;
  readonly sub: W;
  readonly divU: W;
  readonly divS: W;
  readonly remU: W;
  readonly remS: W;
  /** The plain binary operations. */
  readonly ops: Partial<Record<Alu, W>>;
}
const WIDTH64: Width = {
  is64: true, type: T.i64, konst: W.i64_const, eqz: W.i64_eqz, eq: W.i64_eq, sub: W.i64_sub,
  divU: W.i64_div_u, divS: W.i64_div_s, remU: W.i64_rem_u, remS: W.i64_rem_s,
  ops: {
    [Alu.Add]: W.i64_add, [Alu.Sub]: W.i64_sub, [Alu.Mul]: W.i64_mul, [Alu.Or]: W.i64_or, [Alu.And]: W.i64_and,
    [Alu.Lsh]: W.i64_shl, [Alu.Rsh]: W.i64_shr_u, [Alu.Xor]: W.i64_xor, [Alu.Arsh]: W.i64_shr_s,
  },
};
const WIDTH32: Width = {
  is64: false, type: T.i32, konst: W.i32_const, eqz: W.i32_eqz, eq: W.i32_eq, sub: W.i32_sub,
  divU: W.i32_div_u, divS: W.i32_div_s, remU: W.i32_rem_u, remS: W.i32_rem_s,
  ops: {
    [Alu.Add]: W.i32_add, [Alu.Sub]: W.i32_sub, [Alu.Mul]: W.i32_mul, [Alu.Or]: W.i32_or, [Alu.And]: W.i32_and,
    [Alu.Lsh]: W.i32_shl, [Alu.Rsh]: W.i32_shr_u, [Alu.Xor]: W.i32_xor, [Alu.Arsh]: W.i32_shr_s,
  },
};

/** Push a register at the width (its low half for 32-bit). */
function pushReg(w: Writer, x: Width, reg: number): void {
  w.u8x2(W.local_get, reg);
  if (!x.is64) w.u8(W.i32_wrap_i64);
}

/** Push the second operand: the immediate (sign-extended for 64-bit, as eBPF's are) or src. */
function pushOperand(w: Writer, x: Width, imm: boolean, k: number, src: number): void {
  if (imm) {
    w.u8(x.konst);
    w.s32(k);
  } else pushReg(w, x, src);
}

function divOp(x: Width, a: Alu): W {
  return a === Alu.Div ? x.divU : a === Alu.Mod ? x.remU : a === Alu.SDiv ? x.divS : x.remS;
}

/** dst = dst op operand for an ALU or ALU64 row (the row's width picks the form). */
export function emitAlu(w: Writer, prog: Program, i: number, dst: number): void {
  const d = INSNS[prog.op[i]!]!;
  const x = d.width === 64 ? WIDTH64 : WIDTH32;
  const a = ALU_OF[d.op] as Alu;
  const imm = d.shape === Shape.AluImm;
  const k = prog.imm[i]!;
  const src = REG_LOCAL[prog.src[i]!]!;
  const mod = a === Alu.Mod || a === Alu.SMod;
  switch (a) {
    case Alu.Mov:
      pushOperand(w, x, imm, k, src);
      break;
    case Alu.Div:
    case Alu.Mod:
    case Alu.SDiv:
    case Alu.SMod:
      if (imm) {
        if (k === 0) {
          // x / 0 = 0, x % 0 = x (eBPF semantics; Wasm would trap); the 32-bit form still zero-extends
          if (mod && x.is64) return;
          if (mod) pushReg(w, x, dst);
          else w.u8x2(x.konst, 0);
        } else if (k === -1 && a === Alu.SDiv) {
          // INT_MIN / -1 traps in Wasm; eBPF gives INT_MIN, which is -dst
          w.u8x2(x.konst, 0);
          pushReg(w, x, dst);
          w.u8(x.sub);
        } else {
          pushReg(w, x, dst);
          pushOperand(w, x, imm, k, src);
          w.u8(divOp(x, a));
        }
        break;
      }
      // if (src == 0) { div: 0, mod: dst } else ...
      pushReg(w, x, src);
      w.u8(x.eqz);
      w.u8x2(W.if, x.type);
      if (mod) pushReg(w, x, dst);
      else w.u8x2(x.konst, 0);
      w.u8(W.else);
      if (a === Alu.SDiv) {
        pushReg(w, x, src);
        w.u8x2(x.konst, 0x7f); // -1
        w.u8(x.eq);
        w.u8x2(W.if, x.type);
        w.u8x2(x.konst, 0);
        pushReg(w, x, dst);
        w.u8(x.sub);
        w.u8(W.else);
        pushReg(w, x, dst);
        pushReg(w, x, src);
        w.u8(x.divS);
        w.u8(W.end);
      } else {
        // rem_s does not trap on INT_MIN % -1 (it gives 0, as eBPF does)
        pushReg(w, x, dst);
        pushReg(w, x, src);
        w.u8(divOp(x, a));
      }
      w.u8(W.end);
      break;
    default:
      pushReg(w, x, dst);
      pushOperand(w, x, imm, k, src);
      w.u8(x.ops[a]!);
  }
  if (!x.is64) w.u8(W.i64_extend_i32_u);
  w.u8x2(W.local_set, dst);
}

/** Push the i32 truth value of the conditional jump at slot i (or its negation). */
export function emitCond(w: Writer, prog: Program, i: number, negate: boolean): void {
  const d = INSNS[prog.op[i]!]!;
  if (d.shape === Shape.MayGoto) {
    emitMayGoto(w, negate);
    return;
  }
  const x = d.width === 64 ? WIDTH64 : WIDTH32;
  pushReg(w, x, REG_LOCAL[prog.dst[i]!]!);
  pushOperand(w, x, d.shape === Shape.JmpImm, prog.imm[i]!, REG_LOCAL[prog.src[i]!]!);
  const c = CMP_OF[d.op]!;
  if (c === 0) {
    // jset: (dst & x) != 0
    if (x.is64) {
      w.u8(W.i64_and);
      w.u8(W.i64_eqz);
      if (!negate) w.u8(W.i32_eqz);
    } else {
      w.u8(W.i32_and);
      if (negate) w.u8(W.i32_eqz);
    }
    return;
  }
  const op = negate ? CMP_INVERSE[c]! : c;
  w.u8(x.is64 ? op + I64_CMP_DELTA : op);
}

/**
 * may_goto's condition, evaluated once per execution: taken = (budget == 0);
 * budget -= (budget != 0), i.e. budget - 1 + taken. Leaves taken (or its
 * negation) on the stack.
 */
function emitMayGoto(w: Writer, negate: boolean): void {
  w.u8x2(W.local_get, L_LOOPS);
  w.u8(W.i32_eqz);
  w.u8x2(W.local_tee, L_A0);
  w.u8x2(W.local_get, L_LOOPS);
  w.u8(W.i32_add);
  w.u8x2(W.i32_const, 1);
  w.u8(W.i32_sub);
  w.u8x2(W.local_set, L_LOOPS);
  w.u8x2(W.local_get, L_A0);
  if (negate) w.u8(W.i32_eqz);
}

/** Byte order: on this little-endian target `le` truncates, `be`/`bswap` swap bytes. */
export function emitEndian(w: Writer, kind: EndianKind, width: number, dst: number): void {
  if (kind === 'le') {
    if (width === 64) return;
    w.u8x2(W.local_get, dst);
    if (width === 32) {
      w.u8(W.i32_wrap_i64);
      w.u8(W.i64_extend_i32_u);
    } else {
      w.u8(W.i64_const);
      w.s32(0xffff);
      w.u8(W.i64_and);
    }
    w.u8x2(W.local_set, dst);
    return;
  }
  if (width === 16) {
    // ((x << 8) & 0xff00) | ((x >> 8) & 0xff)
    w.u8x2(W.local_get, dst);
    w.u8(W.i32_wrap_i64);
    w.u8x2(W.local_tee, L_A0);
    w.u8x2(W.i32_const, 8);
    w.u8(W.i32_shl);
    w.u8(W.i32_const);
    w.s32(0xff00);
    w.u8(W.i32_and);
    w.u8x2(W.local_get, L_A0);
    w.u8x2(W.i32_const, 8);
    w.u8(W.i32_shr_u);
    w.u8(W.i32_const);
    w.s32(0xff);
    w.u8(W.i32_and);
    w.u8(W.i32_or);
    w.u8(W.i64_extend_i32_u);
  } else if (width === 32) {
    w.u8x2(W.local_get, dst);
    w.u8(W.i32_wrap_i64);
    w.u8x2(W.local_set, L_A0);
    bswap32(w);
    w.u8(W.i64_extend_i32_u);
  } else {
    // swap each half, then exchange the halves
    w.u8x2(W.local_get, dst);
    w.u8(W.i32_wrap_i64);
    w.u8x2(W.local_set, L_A0);
    bswap32(w);
    w.u8(W.i64_extend_i32_u);
    w.u8x2(W.i64_const, 32);
    w.u8(W.i64_shl);
    w.u8x2(W.local_get, dst);
    w.u8x2(W.i64_const, 32);
    w.u8(W.i64_shr_u);
    w.u8(W.i32_wrap_i64);
    w.u8x2(W.local_set, L_A0);
    bswap32(w);
    w.u8(W.i64_extend_i32_u);
    w.u8(W.i64_or);
  }
  w.u8x2(W.local_set, dst);
}

/** Push bswap32(a0): (rotl(a, 8) & 0x00ff00ff) | (rotr(a, 8) & 0xff00ff00). */
function bswap32(w: Writer): void {
  w.u8x2(W.local_get, L_A0);
  w.u8x2(W.i32_const, 8);
  w.u8(W.i32_rotl);
  w.u8(W.i32_const);
  w.s32(0x00ff00ff);
  w.u8(W.i32_and);
  w.u8x2(W.local_get, L_A0);
  w.u8x2(W.i32_const, 8);
  w.u8(W.i32_rotr);
  w.u8(W.i32_const);
  w.s32(0xff00ff00 | 0);
  w.u8(W.i32_and);
  w.u8(W.i32_or);
}

/** dst = -dst (64-bit, or 32-bit zero-extended). */
export function emitNeg(w: Writer, width: number, dst: number): void {
  const x = width === 64 ? WIDTH64 : WIDTH32;
  w.u8x2(x.konst, 0);
  pushReg(w, x, dst);
  w.u8(x.sub);
  if (!x.is64) w.u8(W.i64_extend_i32_u);
  w.u8x2(W.local_set, dst);
}

/** dst = (s8/s16/s32)src, sign-extended to 64 bits, or to 32 bits and then zero-extended. */
export function emitMovSx(w: Writer, d: InsnDef, src: number, dst: number): void {
  w.u8x2(W.local_get, src);
  if ((d.opcode & 7) === Class.ALU64) {
    w.u8(d.width === 8 ? W.i64_extend8_s : d.width === 16 ? W.i64_extend16_s : W.i64_extend32_s);
  } else {
    w.u8(W.i32_wrap_i64);
    w.u8(d.width === 8 ? W.i32_extend8_s : W.i32_extend16_s);
    w.u8(W.i64_extend_i32_u);
  }
  w.u8x2(W.local_set, dst);
}
