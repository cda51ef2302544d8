// Scalar bounds: the ALU transfer functions on scalars (scalar_min_max_*
// and scalar32_min_max_*), truncation and sign extension. 64-bit bounds are
// BigInt, 32-bit bounds plain numbers (u32 as 0..2^32-1, s32 as int32).
// Keeping the tnum and the four pairs of bounds consistent (the kernel's
// reg_bounds_sync) is in bounds-sync.ts, re-exported here.

import { regBoundsSync, updateRegBounds } from './bounds-sync.js';
import {
  RegState, S64_MIN, S64_MAX, S32_MIN, S32_MAX, U32_MAX, markUnknown, mark32Unbounded, mark64Unbounded, markKnown,
} from './reg-state.js';
import {
  U64, type Tnum, tnumAdd, tnumAnd, tnumArshift, tnumCast, tnumIsConst, tnumLshift,
  tnumMul, tnumOr, tnumRshift, tnumSub, tnumSubreg, tnumSubregIsConst, tnumXor, tnumConst, tnumNeg,
} from './tnum.js';

const s64 = (x: bigint): bigint => BigInt.asIntN(64, x);
const lo32 = (x: bigint): number => Number(x & 0xffffffffn);
const s32 = (x: number): number => x | 0;
const u32 = (x: number): number => x >>> 0;
const bmax = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const bmin = (a: bigint, b: bigint): bigint => (a < b ? a : b);

export { regBoundsSync, updateRegBounds };

/** Bounds that contradict each other: the state is impossible (a dead branch). */
export function boundsInconsistent(r: RegState): boolean {
  return (
    r.umin > r.umax || r.smin > r.smax || r.u32min > r.u32max || r.s32min > r.s32max ||
    (r.varOff.value & r.varOff.mask) !== 0n ||
    r.umin > (r.varOff.value | r.varOff.mask) || r.umax < r.varOff.value
  );
}

/** 32-bit result zero-extended into 64 bits (kernel zext_32_to_64). */
export function zext32To64(r: RegState): void {
  r.varOff = tnumSubreg(r.varOff);
  r.umin = BigInt(r.u32min);
  r.umax = BigInt(r.u32max);
  if (r.s32min >= 0 && r.s32max >= 0) {
    r.smin = BigInt(r.s32min);
    r.smax = BigInt(r.s32max);
  } else {
    r.smin = 0n;
    r.smax = BigInt(U32_MAX);
  }
}

/** Truncate to `size` bytes, zero-extending (kernel coerce_reg_to_size). */
export function coerceToSize(r: RegState, size: number): void {
  if (size >= 8) return;
  r.varOff = tnumCast(r.varOff, size);
  const mask = (1n << BigInt(size * 8)) - 1n;
  if ((r.umin & ~mask & U64) === (r.umax & ~mask & U64)) {
    r.umin &= mask;
    r.umax &= mask;
  } else {
    r.umin = 0n;
    r.umax = mask;
  }
  r.smin = r.umin;
  r.smax = r.umax;
  // The 32-bit bounds are rebuilt from the 64-bit ones.
  if (size >= 4) {
    // low 32 bits unchanged; keep u32/s32 but they are recomputed by sync
  }
  mark32Unbounded(r);
  regBoundsSync(r);
}

/** Sign-extend the low `size` bytes into 64 bits (movsx, ldsx). */
export function coerceToSizeSx(r: RegState, size: number): void {
  const bits = size * 8;
  if (tnumIsConst(r.varOff)) {
    markKnown(r, BigInt.asIntN(bits, r.varOff.value));
    return;
  }
  const lo = -(1n << BigInt(bits - 1));
  const hi = (1n << BigInt(bits - 1)) - 1n;
  // If the value is known to fit in the narrower signed range, keep its bounds.
  const sminT = BigInt.asIntN(bits, r.smin);
  const smaxT = BigInt.asIntN(bits, r.smax);
  const fits = r.smin >> BigInt(bits - 1) === r.smax >> BigInt(bits - 1) && sminT <= smaxT;
  const t = r.varOff;
  mark64Unbounded(r);
  mark32Unbounded(r);
  // The tnum: known sign bit sign-extends; unknown sign bit makes the upper bits unknown.
  const signBit = 1n << BigInt(bits - 1);
  const low = tnumCast(t, size);
  if ((low.mask & signBit) === 0n) {
    const ext = (low.value & signBit) !== 0n ? U64 & ~((1n << BigInt(bits)) - 1n) : 0n;
    r.varOff = { value: low.value | ext, mask: low.mask };
  } else {
    r.varOff = { value: low.value & ~signBit, mask: low.mask | (U64 & ~((1n << BigInt(bits)) - 1n)) };
  }
  if (fits) {
    r.smin = sminT;
    r.smax = smaxT;
  } else {
    r.smin = lo;
    r.smax = hi;
  }
  regBoundsSync(r);
}

// ---- ALU on scalars ----------------------------------------------------------------

export const enum AluKind {
  ADD, SUB, MUL, DIV, SDIV, OR, AND, LSH, RSH, MOD, SMOD, XOR, MOV, ARSH, NEG,
}

const addOv64 = (a: bigint, b: bigint): boolean => a + b > S64_MAX || a + b < S64_MIN;
const subOv64 = (a: bigint, b: bigint): boolean => a - b > S64_MAX || a - b < S64_MIN;

function add32(d: RegState, s: RegState): void {
  const smin = d.s32min + s.s32min, smax = d.s32max + s.s32max;
  if (smin < S32_MIN || smin > S32_MAX || smax < S32_MIN || smax > S32_MAX) {
    d.s32min = S32_MIN;
    d.s32max = S32_MAX;
  } else {
    d.s32min = smin;
    d.s32max = smax;
  }
  const umin = d.u32min + s.u32min, umax = d.u32max + s.u32max;
  if (umin > U32_MAX || umax > U32_MAX) {
    d.u32min = 0;
    d.u32max = U32_MAX;
  } else {
    d.u32min = umin;
    d.u32max = umax;
  }
}

function add64(d: RegState, s: RegState): void {
  if (addOv64(d.smin, s.smin) || addOv64(d.smax, s.smax)) {
    d.smin = S64_MIN;
    d.smax = S64_MAX;
  } else {
    d.smin += s.smin;
    d.smax += s.smax;
  }
  if (d.umin + s.umin > U64 || d.umax + s.umax > U64) {
    d.umin = 0n;
    d.umax = U64;
  } else {
    d.umin += s.umin;
    d.umax += s.umax;
  }
}

function sub32(d: RegState, s: RegState): void {
  const smin = d.s32min - s.s32max, smax = d.s32max - s.s32min;
  if (smin < S32_MIN || smin > S32_MAX || smax < S32_MIN || smax > S32_MAX) {
    d.s32min = S32_MIN;
    d.s32max = S32_MAX;
  } else {
    d.s32min = smin;
    d.s32max = smax;
  }
  if (d.u32min < s.u32max) {
    d.u32min = 0;
    d.u32max = U32_MAX;
  } else {
    d.u32min = d.u32min - s.u32max;
    d.u32max = d.u32max - s.u32min;
  }
}

function sub64(d: RegState, s: RegState): void {
  if (subOv64(d.smin, s.smax) || subOv64(d.smax, s.smin)) {
    d.smin = S64_MIN;
    d.smax = S64_MAX;
  } else {
    const a = d.smin - s.smax;
    d.smax = d.smax - s.smin;
    d.smin = a;
  }
  if (d.umin < s.umax) {
    d.umin = 0n;
    d.umax = U64;
  } else {
    const a = d.umin - s.umax;
    d.umax = d.umax - s.umin;
    d.umin = a;
  }
}

function mul32(d: RegState, s: RegState): void {
  const umax = BigInt(d.u32max) * BigInt(s.u32max);
  const umin = BigInt(d.u32min) * BigInt(s.u32min);
  if (umax > 0xffffffffn) {
    d.u32min = 0;
    d.u32max = U32_MAX;
  } else {
    d.u32min = Number(umin);
    d.u32max = Number(umax);
  }
  const p = [d.s32min * s.s32min, d.s32min * s.s32max, d.s32max * s.s32min, d.s32max * s.s32max];
  if (p.some((x) => x < S32_MIN || x > S32_MAX)) {
    d.s32min = S32_MIN;
    d.s32max = S32_MAX;
  } else {
    d.s32min = Math.min(...p);
    d.s32max = Math.max(...p);
  }
}

function mul64(d: RegState, s: RegState): void {
  const umax = d.umax * s.umax;
  const umin = d.umin * s.umin;
  if (umax > U64) {
    d.umin = 0n;
    d.umax = U64;
  } else {
    d.umin = umin;
    d.umax = umax;
  }
  const p = [d.smin * s.smin, d.smin * s.smax, d.smax * s.smin, d.smax * s.smax];
  if (p.some((x) => x < S64_MIN || x > S64_MAX)) {
    d.smin = S64_MIN;
    d.smax = S64_MAX;
  } else {
    d.smin = p.reduce(bmin);
    d.smax = p.reduce(bmax);
  }
}

/** and/or/xor on the 32-bit subregister: unsigned bounds from the tnum, signed from unsigned when it forms a valid range. */
function bitwise32(d: RegState, s: RegState, k: AluKind, result: Tnum): void {
  const v = tnumSubreg(result);
  const val = lo32(v.value), mask = lo32(v.mask);
  if (k === AluKind.AND) {
    d.u32min = u32(val);
    d.u32max = Math.min(d.u32max, s.u32max);
  } else if (k === AluKind.OR) {
    d.u32min = Math.max(d.u32min, s.u32min);
    d.u32max = u32(val | mask);
  } else {
    d.u32min = u32(val);
    d.u32max = u32(val | mask);
  }
  if (s32(d.u32min) <= s32(d.u32max)) {
    d.s32min = s32(d.u32min);
    d.s32max = s32(d.u32max);
  } else {
    d.s32min = S32_MIN;
    d.s32max = S32_MAX;
  }
}

function bitwise64(d: RegState, s: RegState, k: AluKind, result: Tnum): void {
  if (k === AluKind.AND) {
    d.umin = result.value;
    d.umax = bmin(d.umax, s.umax);
  } else if (k === AluKind.OR) {
    d.umin = bmax(d.umin, s.umin);
    d.umax = result.value | result.mask;
  } else {
    d.umin = result.value;
    d.umax = result.value | result.mask;
  }
  if (s64(d.umin) <= s64(d.umax)) {
    d.smin = s64(d.umin);
    d.smax = s64(d.umax);
  } else {
    d.smin = S64_MIN;
    d.smax = S64_MAX;
  }
}

function lsh32(d: RegState, k: number): void {
  d.s32min = S32_MIN;
  d.s32max = S32_MAX;
  // If a set bit may be shifted out, nothing is known about the unsigned range.
  if (k > 31 || d.u32max > 2 ** (31 - k)) {
    d.u32min = 0;
    d.u32max = U32_MAX;
  } else {
    d.u32min = d.u32min * 2 ** k;
    d.u32max = d.u32max * 2 ** k;
  }
}

function lsh64(d: RegState, k: number): void {
  const kk = BigInt(k);
  if (k === 32 && d.s32max >= 0) d.smax = BigInt(d.s32max) << 32n;
  else d.smax = S64_MAX;
  if (k === 32 && d.s32min >= 0) d.smin = BigInt(d.s32min) << 32n;
  else d.smin = S64_MIN;
  if (d.umax > 1n << (63n - kk)) {
    d.umin = 0n;
    d.umax = U64;
  } else {
    d.umin <<= kk;
    d.umax <<= kk;
  }
}

/**
 * dst = dst OP src on scalars, width 32 or 64 (kernel adjust_scalar_min_max_vals).
 * `src` is not modified. For 32-bit ops the result is zero-extended.
 */
export function scalarAlu(d: RegState, s: RegState, k: AluKind, bits: 32 | 64): void {
  const alu32 = bits === 32;
  if (k === AluKind.MOV) {
    // handled by the caller (copies, ids); kept for completeness
    d.copyFrom(s);
    if (alu32) zext32To64(d);
    regBoundsSync(d);
    return;
  }
  if (k === AluKind.NEG) {
    // The kernel tracks neg as 0 - dst.
    const zero = new RegState();
    markUnknown(zero);
    markKnown(zero, 0n);
    const tmp = d.clone();
    d.copyFrom(zero);
    scalarAlu(d, tmp, AluKind.SUB, bits);
    return;
  }
  if (!safeToCompute(s, k, bits)) {
    markUnknown(d);
    if (alu32) zext32To64(d);
    regBoundsSync(d);
    return;
  }
  switch (k) {
    case AluKind.ADD:
      add32(d, s);
      add64(d, s);
      d.varOff = tnumAdd(d.varOff, s.varOff);
      break;
    case AluKind.SUB:
      sub32(d, s);
      sub64(d, s);
      d.varOff = tnumSub(d.varOff, s.varOff);
      break;
    case AluKind.MUL:
      d.varOff = tnumMul(d.varOff, s.varOff);
      mul32(d, s);
      mul64(d, s);
      break;
    case AluKind.AND:
    case AluKind.OR:
    case AluKind.XOR: {
      const t = k === AluKind.AND ? tnumAnd(d.varOff, s.varOff) : k === AluKind.OR ? tnumOr(d.varOff, s.varOff) : tnumXor(d.varOff, s.varOff);
      d.varOff = t;
      bitwise32(d, s, k, t);
      bitwise64(d, s, k, t);
      break;
    }
    case AluKind.LSH: {
      const sh = Number(s.umin);
      if (alu32) {
        lsh32(d, sh);
        d.varOff = tnumSubreg(tnumLshift(tnumSubreg(d.varOff), sh));
        mark64Unbounded(d);
      } else {
        // The 64-bit rule reads the unshifted 32-bit bounds, so it goes first.
        lsh64(d, sh);
        lsh32(d, sh);
        d.varOff = tnumLshift(d.varOff, sh);
      }
      updateRegBounds(d);
      break;
    }
    case AluKind.RSH: {
      const sh = Number(s.umin);
      if (alu32) {
        d.varOff = tnumRshift(tnumSubreg(d.varOff), sh);
        d.u32min = Math.floor(d.u32min / 2 ** sh);
        d.u32max = Math.floor(d.u32max / 2 ** sh);
        d.s32min = S32_MIN;
        d.s32max = S32_MAX;
        mark64Unbounded(d);
        updateRegBounds(d);
      } else {
        d.smin = S64_MIN;
        d.smax = S64_MAX;
        d.varOff = tnumRshift(d.varOff, sh);
        d.umin >>= BigInt(sh);
        d.umax >>= BigInt(sh);
        mark32Unbounded(d);
        updateRegBounds(d);
      }
      break;
    }
    case AluKind.ARSH: {
      const sh = Number(s.umin);
      if (alu32) {
        d.s32min >>= sh;
        d.s32max >>= sh;
        d.varOff = tnumArshift(tnumSubreg(d.varOff), sh, 32);
        d.u32min = 0;
        d.u32max = U32_MAX;
        mark64Unbounded(d);
        updateRegBounds(d);
      } else {
        d.smin >>= BigInt(sh);
        d.smax >>= BigInt(sh);
        d.varOff = tnumArshift(d.varOff, sh, 64);
        d.umin = 0n;
        d.umax = U64;
        mark32Unbounded(d);
        updateRegBounds(d);
      }
      break;
    }
    default:
      markUnknown(d);
  }
  if (alu32) zext32To64(d);
  regBoundsSync(d);
}

function safeToCompute(s: RegState, k: AluKind, bits: 32 | 64): boolean {
  switch (k) {
    case AluKind.ADD:
    case AluKind.SUB:
    case AluKind.AND:
    case AluKind.OR:
    case AluKind.XOR:
    case AluKind.MUL:
      return true;
    case AluKind.LSH:
    case AluKind.RSH:
    case AluKind.ARSH: {
      const isConst = bits === 32
        ? tnumSubregIsConst(s.varOff) && s.s32min === s.s32max && s.u32min === s.u32max
        : tnumIsConst(s.varOff) && s.smin === s.smax && s.umin === s.umax;
      const amount = bits === 32 ? BigInt(s.u32max) : s.umax;
      return isConst && amount < BigInt(bits);
    }
    default:
      return false;
  }
}

/** Constant-fold when both operands are known (exact semantics, including division by zero as the ISA defines). */
export function foldConst(a: bigint, b: bigint, k: AluKind, bits: 32 | 64): bigint {
  const w = BigInt(bits);
  const U = (x: bigint): bigint => BigInt.asUintN(bits, x);
  const S = (x: bigint): bigint => BigInt.asIntN(bits, x);
  const x = U(a), y = U(b);
  const sh = y & (w - 1n);
  switch (k) {
    case AluKind.ADD: return U(x + y);
    case AluKind.SUB: return U(x - y);
    case AluKind.MUL: return U(x * y);
    case AluKind.DIV: return y === 0n ? 0n : x / y;
    case AluKind.MOD: return y === 0n ? x : x % y;
    case AluKind.SDIV: return y === 0n ? 0n : U(S(x) / S(y));
    case AluKind.SMOD: return y === 0n ? x : U(S(x) % S(y));
    case AluKind.OR: return x | y;
    case AluKind.AND: return x & y;
    case AluKind.XOR: return x ^ y;
    case AluKind.LSH: return U(x << sh);
    case AluKind.RSH: return x >> sh;
    case AluKind.ARSH: return U(S(x) >> sh);
    case AluKind.NEG: return U(-x);
    case AluKind.MOV: return y;
  }
  return 0n;
}

export { tnumConst, tnumNeg };
