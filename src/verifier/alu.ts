// ALU instructions in the verifier (the kernel's check_alu_op and
// adjust_reg_min_max_vals / adjust_ptr_min_max_vals): moves with id
// tracking, scalar arithmetic through bounds.ts, and the pointer arithmetic
// rules (which pointer types may move, by how much, and with which operators).

import {
  RegState, RegType, RegFlag, markUnknown, markConstScalar, regTypeName, isPacketPointer,
} from './reg-state.js';
import { AluKind, scalarAlu, zext32To64, regBoundsSync, coerceToSizeSx } from './bounds.js';
import { tnumIsConst, tnumAdd, tnumSub } from './tnum.js';
import { reject, type Env } from './env.js';
import { MAX_VAR_OFF } from './memory-access.js';
import { AluOp } from '../isa/fields.js';
import { markPrecise } from './precision.js';
import { checkArenaAlu } from './arena.js';

const ALU_STRING: Record<number, string> = {
  [AluOp.ADD]: '+=', [AluOp.SUB]: '-=', [AluOp.MUL]: '*=', [AluOp.DIV]: '/=', [AluOp.OR]: '|=', [AluOp.AND]: '&=',
  [AluOp.LSH]: '<<=', [AluOp.RSH]: '>>=', [AluOp.NEG]: 'neg', [AluOp.MOD]: '%=', [AluOp.XOR]: '^=', [AluOp.MOV]: '=',
  [AluOp.ARSH]: 's>>=', [AluOp.END]: 'endian',
};

export function aluKind(aluOp: number, signed: boolean): AluKind {
  switch (aluOp) {
    case AluOp.ADD: return AluKind.ADD;
    case AluOp.SUB: return AluKind.SUB;
    case AluOp.MUL: return AluKind.MUL;
    case AluOp.DIV: return signed ? AluKind.SDIV : AluKind.DIV;
    case AluOp.OR: return AluKind.OR;
    case AluOp.AND: return AluKind.AND;
    case AluOp.LSH: return AluKind.LSH;
    case AluOp.RSH: return AluKind.RSH;
    case AluOp.MOD: return signed ? AluKind.SMOD : AluKind.MOD;
    case AluOp.XOR: return AluKind.XOR;
    case AluOp.MOV: return AluKind.MOV;
    case AluOp.ARSH: return AluKind.ARSH;
    case AluOp.NEG: return AluKind.NEG;
  }
  return AluKind.MOV;
}

const scratch = new RegState();

/** dst = src (register move), 64 or 32 bits, or sign-extending (movsx, `sx` = source bytes). */
export function checkMov(env: Env, dstno: number, srcno: number, bits: 32 | 64, sx: number): void {
  const regs = env.state.cur.regs;
  const src = regs[srcno]!;
  const dst = regs[dstno]!;
  if (src.type === RegType.NOT_INIT) reject(`R${srcno} !read_ok`);
  if (sx) {
    if (src.type !== RegType.SCALAR) {
      if (!env.privileged) reject(`R${srcno} sign-extension part of pointer`);
      markUnknown(dst);
      return;
    }
    dst.copyFrom(src);
    dst.id = 0;
    coerceToSizeSx(dst, sx);
    if (bits === 32) {
      zext32To64(dst);
      regBoundsSync(dst);
    }
    return;
  }
  if (bits === 64) {
    if (src.type === RegType.SCALAR && src.id === 0 && !tnumIsConst(src.varOff)) src.id = ++env.nextId;
    dst.copyFrom(src);
    return;
  }
  if (src.type !== RegType.SCALAR) {
    if (!env.privileged) reject(`R${srcno} partial copy of pointer`);
    markUnknown(dst);
    zext32To64(dst);
    regBoundsSync(dst);
    return;
  }
  // A value that already fits in 32 bits is the same value after w-mov: keep the copies linked.
  const fits32 = src.umax <= 0xffffffffn;
  if (fits32 && src.id === 0 && !tnumIsConst(src.varOff)) src.id = ++env.nextId;
  dst.copyFrom(src);
  if (!fits32) dst.id = 0;
  zext32To64(dst);
  regBoundsSync(dst);
}

function ptrArithmetic(env: Env, dstno: number, ptr: RegState, off: RegState, aluOp: number, dstIsPtr: boolean): void {
  const dst = env.state.cur.regs[dstno]!;
  const tname = regTypeName(ptr.type, ptr.flags);
  if (ptr.flags & RegFlag.MAYBE_NULL) reject(`R${dstno} pointer arithmetic on ${tname} prohibited, null-check it first`);
  const known = tnumIsConst(off.varOff);
  const kval = BigInt.asIntN(64, off.varOff.value);
  switch (ptr.type) {
    case RegType.CONST_PTR_TO_MAP:
      if (known && kval === 0n && aluOp === AluOp.ADD) break;
      reject(`R${dstno} pointer arithmetic on ${tname} prohibited`);
      break;
    case RegType.PTR_TO_PACKET_END:
    case RegType.PTR_TO_SOCKET:
    case RegType.PTR_TO_SOCK_COMMON:
    case RegType.PTR_TO_TCP_SOCK:
      reject(`R${dstno} pointer arithmetic on ${tname} prohibited`);
      break;
    case RegType.PTR_TO_FLOW_KEYS:
      if (!known) reject(`R${dstno} pointer arithmetic on ${tname} prohibited`);
      break;
  }
  // check_reg_sane_offset on both operands
  const sane = (r: RegState): void => {
    const isKnown = tnumIsConst(r.varOff);
    const v = BigInt.asIntN(64, r.varOff.value);
    if (isKnown && (v >= BigInt(MAX_VAR_OFF) || v <= -BigInt(MAX_VAR_OFF))) reject(`math between ${tname} pointer and ${v} is not allowed`);
    if (r.off >= MAX_VAR_OFF || r.off <= -MAX_VAR_OFF) reject(`${tname} pointer offset ${r.off} is not allowed`);
    if (r.smin === -(1n << 63n)) reject(`math between ${tname} pointer and register with unbounded min value is not allowed`);
    if (r.smin >= BigInt(MAX_VAR_OFF) || r.smin <= -BigInt(MAX_VAR_OFF)) reject(`value ${r.smin} makes ${tname} pointer be out of bounds`);
  };
  sane(off);
  sane(ptr);
  const res = ptr.clone();
  switch (aluOp) {
    case AluOp.ADD:
      if (known) {
        res.off = ptr.off + Number(kval);
      } else {
        addBounds(res, ptr, off);
        res.varOff = tnumAdd(ptr.varOff, off.varOff);
        if (isPacketPointer(ptr.type)) {
          res.id = ++env.nextId;
          res.range = 0;
        }
      }
      break;
    case AluOp.SUB:
      if (!dstIsPtr) reject(`R${dstno} tried to subtract pointer from scalar`);
      if (ptr.type === RegType.PTR_TO_STACK) reject(`R${dstno} subtraction from stack pointer prohibited`);
      if (known && kval !== -(1n << 63n)) {
        res.off = ptr.off - Number(kval);
      } else {
        subBounds(res, ptr, off);
        res.varOff = tnumSub(ptr.varOff, off.varOff);
        if (isPacketPointer(ptr.type)) {
          res.id = ++env.nextId;
          res.range = 0;
        }
      }
      break;
    case AluOp.AND:
    case AluOp.OR:
    case AluOp.XOR:
      reject(`R${dstno} bitwise operator ${ALU_STRING[aluOp]} on pointer prohibited`);
      break;
    default:
      reject(`R${dstno} pointer arithmetic with ${ALU_STRING[aluOp]} operator prohibited`);
  }
  regBoundsSync(res);
  sane(res);
  dst.copyFrom(res);
}

function addBounds(res: RegState, p: RegState, o: RegState): void {
  const S64_MIN = -(1n << 63n), S64_MAX = (1n << 63n) - 1n, U64 = (1n << 64n) - 1n;
  const smin = p.smin + o.smin, smax = p.smax + o.smax;
  if (smin < S64_MIN || smax > S64_MAX || smin > S64_MAX || smax < S64_MIN) {
    res.smin = S64_MIN;
    res.smax = S64_MAX;
  } else {
    res.smin = smin;
    res.smax = smax;
  }
  const umin = p.umin + o.umin, umax = p.umax + o.umax;
  if (umin > U64 || umax > U64) {
    res.umin = 0n;
    res.umax = U64;
  } else {
    res.umin = umin;
    res.umax = umax;
  }
  res.s32min = -0x80000000;
  res.s32max = 0x7fffffff;
  res.u32min = 0;
  res.u32max = 0xffffffff;
}

function subBounds(res: RegState, p: RegState, o: RegState): void {
  const S64_MIN = -(1n << 63n), S64_MAX = (1n << 63n) - 1n, U64 = (1n << 64n) - 1n;
  const smin = p.smin - o.smax, smax = p.smax - o.smin;
  if (smin < S64_MIN || smax > S64_MAX) {
    res.smin = S64_MIN;
    res.smax = S64_MAX;
  } else {
    res.smin = smin;
    res.smax = smax;
  }
  if (p.umin < o.umax) {
    res.umin = 0n;
    res.umax = U64;
  } else {
    res.umin = p.umin - o.umax;
    res.umax = p.umax - o.umin;
  }
  res.s32min = -0x80000000;
  res.s32max = 0x7fffffff;
  res.u32min = 0;
  res.u32max = 0xffffffff;
}

/**
 * dst op= src for binary ALU ops (src is a register or an immediate already
 * loaded into a scratch register by the caller).
 */
export function checkBinaryAlu(env: Env, dstno: number, src: RegState, aluOp: number, signed: boolean, bits: 32 | 64, srcno: number): void {
  const dst = env.state.cur.regs[dstno]!;
  if (dst.type === RegType.NOT_INIT) reject(`R${dstno} !read_ok`);
  if (checkArenaAlu(env, dst, src, bits)) return;
  const dstPtr = dst.isPointer();
  const srcPtr = src.isPointer();
  if (dstPtr || srcPtr) {
    if (bits === 32) {
      if (aluOp === AluOp.SUB && env.privileged) {
        markUnknown(dst);
        zext32To64(dst);
        regBoundsSync(dst);
        return;
      }
      reject(`R${dstno} 32-bit pointer arithmetic prohibited`);
    }
    if (dstPtr && srcPtr) {
      if (aluOp === AluOp.SUB && env.privileged) {
        markUnknown(dst);
        return;
      }
      reject(`R${dstno} pointer ${ALU_STRING[aluOp]} pointer prohibited`);
    }
    // The pointer's bounds now depend on the scalar's exact value.
    if (dstPtr && srcno >= 0) markPrecise(env, srcno);
    if (srcPtr) markPrecise(env, dstno);
    if (dstPtr) ptrArithmetic(env, dstno, dst, src, aluOp, true);
    else ptrArithmetic(env, dstno, src, dst, aluOp, false);
    return;
  }
  const k = aluKind(aluOp, signed);
  scratch.copyFrom(src);
  // A scalar result has no relation to the copies the old value had.
  dst.id = 0;
  scalarAlu(dst, scratch, k, bits);
}

/** neg and byte swaps. */
export function checkUnaryAlu(env: Env, dstno: number, aluOp: number, bits: 32 | 64): void {
  const dst = env.state.cur.regs[dstno]!;
  if (dst.type === RegType.NOT_INIT) reject(`R${dstno} !read_ok`);
  if (dst.isPointer() && !env.privileged) reject(`R${dstno} pointer arithmetic prohibited`);
  if (aluOp === AluOp.NEG && dst.type === RegType.SCALAR) {
    dst.id = 0;
    scalarAlu(dst, dst, AluKind.NEG, bits);
    return;
  }
  markUnknown(dst);
}

/** dst = imm (sign-extended for 64-bit, zero-extended 32-bit value for 32-bit). */
export function checkMovImm(env: Env, dstno: number, imm: number, bits: 32 | 64): void {
  const dst = env.state.cur.regs[dstno]!;
  markConstScalar(dst, bits === 64 ? BigInt(imm) : BigInt(imm >>> 0));
}
