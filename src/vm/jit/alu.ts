// Straight-line arithmetic for the JIT: ALU32/ALU64 (with eBPF's division
// semantics made explicit, since Wasm traps where eBPF does not), byte order,
// and the conditions of jumps. The Wasm opcode for each instruction is
// derived from the ISA table's LLVM operator token when the module loads.

import type { Program } from '../../isa/decode.js';
import { Class } from '../../isa/fields.js';
import { INSNS, OP_COUNT, Shape, type InsnDef } from '../../isa/table.js';
import { L_A0, L_LOOPS, REG_LOCAL } from './abi.js';
import { T, W } from './wasm/opcodes.js';
import type { Writer } from './wasm/writer.js';

// Operand pushers (plain functions, so emitting allocates no closures).
function operand64(w: Writer, imm: boolean, k: number, src: number): void {
  if (imm) {
    w.u8(W.i64_const);
    w.s32(k); // sign-extended, as eBPF's ALU64 immediates are
  } else w.u8x2(W.local_get, src);
}

function operand32(w: Writer, imm: boolean, k: number, src: number): void {
  if (imm) {
    w.u8(W.i32_const);
    w.s32(k);
  } else low32(w, src);
}

function low32(w: Writer, reg: number): void {
  w.u8x2(W.local_get, reg);
  w.u8(W.i32_wrap_i64);
}

// ---- Tables derived from the ISA table when the module loads ------------------------------

const enum Alu {
  None, Add, Sub, Mul, Div, SDiv, Or, And, Lsh, Rsh, Mod, SMod, Xor, Mov, Arsh,
}
const ALU_BY_TOKEN: Record<string, Alu> = {
  '+=': Alu.Add, '-=': Alu.Sub, '*=': Alu.Mul, '/=': Alu.Div, 's/=': Alu.SDiv, '|=': Alu.Or, '&=': Alu.And,
  '<<=': Alu.Lsh, '>>=': Alu.Rsh, '%=': Alu.Mod, 's%=': Alu.SMod, '^=': Alu.Xor, '=': Alu.Mov, 's>>=': Alu.Arsh,
};
/** i32 opcodes of the plain binary ALU operations; the i64 form is looked up separately. */
const ALU_I32: Partial<Record<Alu, W>> = {
  [Alu.Add]: W.i32_add, [Alu.Sub]: W.i32_sub, [Alu.Mul]: W.i32_mul, [Alu.Or]: W.i32_or, [Alu.And]: W.i32_and,
  [Alu.Lsh]: W.i32_shl, [Alu.Rsh]: W.i32_shr_u, [Alu.Xor]: W.i32_xor, [Alu.Arsh]: W.i32_shr_s,
};
const ALU_I64: Partial<Record<Alu, W>> = {
  [Alu.Add]: W.i64_add, [Alu.Sub]: W.i64_sub, [Alu.Mul]: W.i64_mul, [Alu.Or]: W.i64_or, [Alu.And]: W.i64_and,
  [Alu.Lsh]: W.i64_shl, [Alu.Rsh]: W.i64_shr_u, [Alu.Xor]: W.i64_xor, [Alu.Arsh]: W.i64_shr_s,
};
/** Jump conditions as i32 compare opcodes (the i64 opcode is 11 higher); 0 = jset. */
const CMP_BY_TOKEN: Record<string, number> = {
  '==': W.i32_eq, '!=': W.i32_ne, '>': W.i32_gt_u, '>=': W.i32_ge_u, '<': W.i32_lt_u, '<=': W.i32_le_u,
  's>': W.i32_gt_s, 's>=': W.i32_ge_s, 's<': W.i32_lt_s, 's<=': W.i32_le_s, '&': 0,
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
    const a = ALU_BY_TOKEN[d.llvm];
    if (a === undefined) throw new Error(`jit: no ALU mapping for '${d.llvm}' (${d.name})`);
    ALU_OF[d.op] = a;
  } else if (d.shape === Shape.JmpImm || d.shape === Shape.JmpReg) {
    const c = CMP_BY_TOKEN[d.llvm];
    if (c === undefined) throw new Error(`jit: no compare mapping for '${d.llvm}' (${d.name})`);
    CMP_OF[d.op] = c;
  }
}

/** Push the i32 truth value of the conditional jump at slot i (or its negation). */
export function emitCond(w: Writer, prog: Program, i: number, negate: boolean): void {
  const d = INSNS[prog.op[i]!]!;
  if (d.shape === Shape.MayGoto) {
    emitMayGoto(w, negate);
    return;
  }
  const is64 = d.width === 64;
  const dst = REG_LOCAL[prog.dst[i]!]!;
  w.u8x2(W.local_get, dst);
  if (!is64) w.u8(W.i32_wrap_i64);
  if (d.shape === Shape.JmpImm) {
    w.u8(is64 ? W.i64_const : W.i32_const);
    w.s32(prog.imm[i]!);
  } else {
    w.u8x2(W.local_get, REG_LOCAL[prog.src[i]!]!);
    if (!is64) w.u8(W.i32_wrap_i64);
  }
  const c = CMP_OF[d.op]!;
  if (c === 0) {
    // jset: (dst & x) != 0
    if (is64) {
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
  w.u8(is64 ? op + I64_CMP_DELTA : op);
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

export function emitAlu64(w: Writer, prog: Program, i: number, dst: number): void {
  const a = ALU_OF[prog.op[i]!] as Alu;
  const imm = INSNS[prog.op[i]!]!.shape === Shape.AluImm;
  const k = prog.imm[i]!;
  const src = REG_LOCAL[prog.src[i]!]!;
  switch (a) {
    case Alu.Mov:
      operand64(w, imm, k, src);
      break;
    case Alu.Div:
    case Alu.Mod:
    case Alu.SDiv:
    case Alu.SMod:
      if (imm) {
        if (k === 0) {
          // x / 0 = 0, x % 0 = x (eBPF semantics; Wasm would trap)
          if (a === Alu.Mod || a === Alu.SMod) return;
          w.u8x2(W.i64_const, 0);
        } else if (k === -1 && a === Alu.SDiv) {
          w.u8x2(W.i64_const, 0);
          w.u8x2(W.local_get, dst);
          w.u8(W.i64_sub);
        } else {
          w.u8x2(W.local_get, dst);
          operand64(w, imm, k, src);
          w.u8(a === Alu.Div ? W.i64_div_u : a === Alu.Mod ? W.i64_rem_u : a === Alu.SDiv ? W.i64_div_s : W.i64_rem_s);
        }
        break;
      }
      // if (src == 0) { div: 0, mod: dst } else ...
      w.u8x2(W.local_get, src);
      w.u8(W.i64_eqz);
      w.u8x2(W.if, T.i64);
      if (a === Alu.Div || a === Alu.SDiv) w.u8x2(W.i64_const, 0);
      else w.u8x2(W.local_get, dst);
      w.u8(W.else);
      if (a === Alu.SDiv) {
        // INT64_MIN / -1 traps in Wasm; eBPF gives INT64_MIN, which is -dst.
        w.u8x2(W.local_get, src);
        w.u8x2(W.i64_const, 0x7f); // -1
        w.u8(W.i64_eq);
        w.u8x2(W.if, T.i64);
        w.u8x2(W.i64_const, 0);
        w.u8x2(W.local_get, dst);
        w.u8(W.i64_sub);
        w.u8(W.else);
        w.u8x2(W.local_get, dst);
        w.u8x2(W.local_get, src);
        w.u8(W.i64_div_s);
        w.u8(W.end);
      } else {
        // rem_s does not trap on INT64_MIN % -1 (it gives 0, as eBPF does).
        w.u8x2(W.local_get, dst);
        w.u8x2(W.local_get, src);
        w.u8(a === Alu.Div ? W.i64_div_u : a === Alu.Mod ? W.i64_rem_u : W.i64_rem_s);
      }
      w.u8(W.end);
      break;
    default:
      w.u8x2(W.local_get, dst);
      operand64(w, imm, k, src);
      w.u8(ALU_I64[a]!);
  }
  w.u8x2(W.local_set, dst);
}

export function emitAlu32(w: Writer, prog: Program, i: number, dst: number): void {
  const a = ALU_OF[prog.op[i]!] as Alu;
  const imm = INSNS[prog.op[i]!]!.shape === Shape.AluImm;
  const k = prog.imm[i]!;
  const src = REG_LOCAL[prog.src[i]!]!;
  switch (a) {
    case Alu.Mov:
      operand32(w, imm, k, src);
      break;
    case Alu.Div:
    case Alu.Mod:
    case Alu.SDiv:
    case Alu.SMod:
      if (imm) {
        if (k === 0) {
          if (a === Alu.Mod || a === Alu.SMod) low32(w, dst);
          else w.u8x2(W.i32_const, 0);
        } else if (k === -1 && a === Alu.SDiv) {
          w.u8x2(W.i32_const, 0);
          low32(w, dst);
          w.u8(W.i32_sub);
        } else {
          low32(w, dst);
          operand32(w, imm, k, src);
          w.u8(a === Alu.Div ? W.i32_div_u : a === Alu.Mod ? W.i32_rem_u : a === Alu.SDiv ? W.i32_div_s : W.i32_rem_s);
        }
        break;
      }
      operand32(w, imm, k, src);
      w.u8(W.i32_eqz);
      w.u8x2(W.if, T.i32);
      if (a === Alu.Div || a === Alu.SDiv) w.u8x2(W.i32_const, 0);
      else low32(w, dst);
      w.u8(W.else);
      if (a === Alu.SDiv) {
        operand32(w, imm, k, src);
        w.u8x2(W.i32_const, 0x7f); // -1
        w.u8(W.i32_eq);
        w.u8x2(W.if, T.i32);
        w.u8x2(W.i32_const, 0);
        low32(w, dst);
        w.u8(W.i32_sub);
        w.u8(W.else);
        low32(w, dst);
        operand32(w, imm, k, src);
        w.u8(W.i32_div_s);
        w.u8(W.end);
      } else {
        low32(w, dst);
        operand32(w, imm, k, src);
        w.u8(a === Alu.Div ? W.i32_div_u : a === Alu.Mod ? W.i32_rem_u : W.i32_rem_s);
      }
      w.u8(W.end);
      break;
    default:
      low32(w, dst);
      operand32(w, imm, k, src);
      w.u8(ALU_I32[a]!);
  }
  w.u8(W.i64_extend_i32_u);
  w.u8x2(W.local_set, dst);
}

/** Byte order: on this little-endian target `le` truncates, `be`/`bswap` swap bytes. */
export function emitEndian(w: Writer, le: boolean, width: number, dst: number): void {
  if (le) {
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
  if (width === 64) {
    w.u8x2(W.i64_const, 0);
    w.u8x2(W.local_get, dst);
    w.u8(W.i64_sub);
  } else {
    w.u8x2(W.i32_const, 0);
    w.u8x2(W.local_get, dst);
    w.u8(W.i32_wrap_i64);
    w.u8(W.i32_sub);
    w.u8(W.i64_extend_i32_u);
  }
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
