// Tristate numbers ("tnums"), the kernel's known-bits abstraction
// (kernel/bpf/tnum.c): a 64-bit value where each bit is 0, 1 or unknown.
// `value` holds the known-1 bits, `mask` the unknown bits; a bit is never
// set in both. All functions are pure and work on unsigned 64-bit BigInts.
// BigInt keeps the arithmetic obviously right; the verifier allocates per
// explored state anyway, and the bench measures what this costs.

export interface Tnum {
  readonly value: bigint;
  readonly mask: bigint;
}

export const U64 = (1n << 64n) - 1n;
export const U32 = 0xffffffffn;

const u64 = (x: bigint): bigint => x & U64;

export function tnum(value: bigint, mask: bigint): Tnum {
  return { value: u64(value), mask: u64(mask) };
}

export const TNUM_UNKNOWN: Tnum = { value: 0n, mask: U64 };
export const TNUM_ZERO: Tnum = { value: 0n, mask: 0n };

/** A known constant (taken modulo 2^64). */
export function tnumConst(v: bigint): Tnum {
  return { value: u64(v), mask: 0n };
}

/** Index (1-based) of the highest set bit; 0 for 0. */
function fls64(x: bigint): number {
  if (x === 0n) return 0;
  const hi = Number(x >> 32n);
  return hi !== 0 ? 64 - Math.clz32(hi) : 32 - Math.clz32(Number(x));
}

/** The smallest tnum containing every value in [min, max] (unsigned). */
export function tnumRange(min: bigint, max: bigint): Tnum {
  const chi = u64(min) ^ u64(max);
  const bits = fls64(chi);
  if (bits > 63) return TNUM_UNKNOWN;
  const delta = (1n << BigInt(bits)) - 1n;
  return { value: u64(min) & ~delta & U64, mask: delta };
}

export const tnumIsConst = (a: Tnum): boolean => a.mask === 0n;
export const tnumIsUnknown = (a: Tnum): boolean => a.mask === U64;
export const tnumEquals = (a: Tnum, b: Tnum): boolean => a.value === b.value && a.mask === b.mask;

export function tnumLshift(a: Tnum, shift: number): Tnum {
  const s = BigInt(shift);
  return { value: u64(a.value << s), mask: u64(a.mask << s) };
}

export function tnumRshift(a: Tnum, shift: number): Tnum {
  const s = BigInt(shift);
  return { value: a.value >> s, mask: a.mask >> s };
}

/** Arithmetic right shift at 32 or 64 bits (the 32-bit form works on the low half and zero-extends). */
export function tnumArshift(a: Tnum, shift: number, bits: 32 | 64): Tnum {
  const s = BigInt(shift);
  if (bits === 32) {
    return {
      value: BigInt.asUintN(32, BigInt.asIntN(32, a.value) >> s),
      mask: BigInt.asUintN(32, BigInt.asIntN(32, a.mask) >> s),
    };
  }
  return { value: BigInt.asUintN(64, BigInt.asIntN(64, a.value) >> s), mask: BigInt.asUintN(64, BigInt.asIntN(64, a.mask) >> s) };
}

export function tnumAdd(a: Tnum, b: Tnum): Tnum {
  const sm = u64(a.mask + b.mask);
  const sv = u64(a.value + b.value);
  const sigma = u64(sm + sv);
  const chi = sigma ^ sv;
  const mu = chi | a.mask | b.mask;
  return { value: sv & ~mu & U64, mask: mu };
}

export function tnumSub(a: Tnum, b: Tnum): Tnum {
  const dv = u64(a.value - b.value);
  const alpha = u64(dv + a.mask);
  const beta = u64(dv - b.mask);
  const chi = alpha ^ beta;
  const mu = chi | a.mask | b.mask;
  return { value: dv & ~mu & U64, mask: mu };
}

export function tnumNeg(a: Tnum): Tnum {
  return tnumSub(TNUM_ZERO, a);
}

export function tnumAnd(a: Tnum, b: Tnum): Tnum {
  const alpha = a.value | a.mask;
  const beta = b.value | b.mask;
  const v = a.value & b.value;
  return { value: v, mask: alpha & beta & ~v & U64 };
}

export function tnumOr(a: Tnum, b: Tnum): Tnum {
  const v = a.value | b.value;
  const mu = a.mask | b.mask;
  return { value: v, mask: mu & ~v & U64 };
}

export function tnumXor(a: Tnum, b: Tnum): Tnum {
  const v = a.value ^ b.value;
  const mu = a.mask | b.mask;
  return { value: v & ~mu & U64, mask: mu };
}

// 64-bit values as (hi, lo) uint32 halves through one typed-array scratch:
// arithmetic on halves allocates nothing, where every BigInt operation does.
const wide = new BigUint64Array(4);
const half = new Uint32Array(wide.buffer);
const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Index of the low / high uint32 half of a 64-bit element in a Uint32Array view (host byte order). */
export const HALF_LO = LE ? 0 : 1;
export const HALF_HI = LE ? 1 : 0;

/**
 * Multiplication by shift-and-add over the bits of a (the kernel's
 * tnum_mul). Its accumulator of unknown bits is (0, M) throughout, and adding
 * (0, m) to it gives (0, (M + m) | M | m); that loop runs here on halves.
 */
export function tnumMul(a: Tnum, b: Tnum): Tnum {
  if (a.mask === 0n && b.mask === 0n) return { value: u64(a.value * b.value), mask: 0n };
  const accV = u64(a.value * b.value);
  wide[0] = a.value;
  wide[1] = a.mask;
  wide[2] = b.value;
  wide[3] = b.mask;
  const avH = half[HALF_HI]!, avL = half[HALF_LO]!, amH = half[2 + HALF_HI]!, amL = half[2 + HALF_LO]!;
  const bvH = half[4 + HALF_HI]!, bvL = half[4 + HALF_LO]!, bmH = half[6 + HALF_HI]!, bmL = half[6 + HALF_LO]!;
  const bumH = (bvH | bmH) >>> 0, bumL = (bvL | bmL) >>> 0;
  let mH = 0, mL = 0;
  for (let i = 0; i < 64; i++) {
    const vBit = i < 32 ? (avL >>> i) & 1 : (avH >>> (i - 32)) & 1;
    const mBit = i < 32 ? (amL >>> i) & 1 : (amH >>> (i - 32)) & 1;
    if (vBit === 0 && mBit === 0) continue;
    // m = (b.mask or b.value | b.mask) << i
    const xH = vBit ? bmH : bumH, xL = vBit ? bmL : bumL;
    const sH = i === 0 ? xH : i < 32 ? ((xH << i) | (xL >>> (32 - i))) >>> 0 : (xL << (i - 32)) >>> 0;
    const sL = i === 0 ? xL : i < 32 ? (xL << i) >>> 0 : 0;
    const lo = mL + sL;
    const sumL = lo >>> 0;
    const sumH = (mH + sH + (lo > 0xffffffff ? 1 : 0)) >>> 0;
    mH = (sumH | mH | sH) >>> 0;
    mL = (sumL | mL | sL) >>> 0;
  }
  half[HALF_HI] = mH;
  half[HALF_LO] = mL;
  return tnumAdd({ value: accV, mask: 0n }, { value: 0n, mask: wide[0]! });
}

/** Values in both a and b (assumes they are compatible: known bits agree). */
export function tnumIntersect(a: Tnum, b: Tnum): Tnum {
  const v = a.value | b.value;
  const mu = a.mask & b.mask;
  return { value: v & ~mu & U64, mask: mu };
}

/** The smallest tnum containing every value of a and of b. */
export function tnumUnion(a: Tnum, b: Tnum): Tnum {
  const chi = a.value ^ b.value;
  const mu = chi | a.mask | b.mask;
  return { value: a.value & ~mu & U64, mask: mu };
}

/** Truncate to the low `size` bytes. */
export function tnumCast(a: Tnum, size: number): Tnum {
  if (size >= 8) return a;
  const m = (1n << BigInt(size * 8)) - 1n;
  return { value: a.value & m, mask: a.mask & m };
}

export function tnumIsAligned(a: Tnum, size: number): boolean {
  if (size === 0) return true;
  return ((a.value | a.mask) & BigInt(size - 1)) === 0n;
}

/** Is every value of b also a value of a? */
export function tnumIn(a: Tnum, b: Tnum): boolean {
  // (Pruning asks this for every register of every state compared: the common
  // answers first, without BigInt arithmetic, which allocates.)
  if (a === b) return true;
  if (a.mask === U64 && a.value === 0n) return true;
  if (b.mask === 0n) return a.mask === 0n ? a.value === b.value : tnumContains(a, b.value);
  if ((b.mask & ~a.mask & U64) !== 0n) return false;
  return a.value === (b.value & ~a.mask & U64);
}

export const tnumSubreg = (a: Tnum): Tnum => tnumCast(a, 4);
export const tnumClearSubreg = (a: Tnum): Tnum => tnumLshift(tnumRshift(a, 32), 32);
export const tnumWithSubreg = (reg: Tnum, sub: Tnum): Tnum => tnumOr(tnumClearSubreg(reg), tnumSubreg(sub));
export const tnumConstSubreg = (a: Tnum, v: bigint): Tnum => tnumWithSubreg(a, tnumConst(v));
export const tnumSubregIsConst = (a: Tnum): boolean => (a.mask & U32) === 0n;

/** Does the tnum contain the value x? */
export function tnumContains(a: Tnum, x: bigint): boolean {
  return (u64(x) & ~a.mask & U64) === a.value;
}

/** The kernel's tnum_strn: "(0x5; 0xf0)". */
export function tnumString(a: Tnum): string {
  return `(0x${a.value.toString(16)}; 0x${a.mask.toString(16)})`;
}
