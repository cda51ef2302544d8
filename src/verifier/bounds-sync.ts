// Keeping a scalar's tnum and its four pairs of bounds consistent (the
// kernel's reg_bounds_sync), computed on 32-bit halves.
//
// RegState keeps its 64-bit bounds as BigInts, and every BigInt operation
// allocates: the BigInt form of this function cost ~150 allocations per call
// and was most of the verifier's time on long loops. Here the six 64-bit
// values (smin, smax, umin, umax, var_off value and mask) go through one
// scratch BigUint64Array into (hi, lo) uint32 pairs, the logic runs on plain
// numbers, and only the values that changed are turned back into BigInts.
// The BigInt version it replaced is kept as the reference model in
// test/verifier/bounds-sync.test.ts, which compares the two on random states.

import { RegState, markKnown } from './reg-state.js';
import { HALF_HI, HALF_LO } from './tnum.js';

const SMIN = 0, SMAX = 1, UMIN = 2, UMAX = 3, TV = 4, TM = 5;
const wide = new BigUint64Array(6);
const wideS = new BigInt64Array(wide.buffer);
// (Typed arrays are in host byte order: which uint32 of an element is its low half comes from tnum.ts.)
const half = new Uint32Array(wide.buffer);
const LO = HALF_LO;
const HI = HALF_HI;

/** The working copy: [hi, lo] of each 64-bit value, as uint32. */
const h = new Float64Array(6);
const l = new Float64Array(6);
/** What was loaded, to write back only what changed. */
const h0 = new Float64Array(6);
const l0 = new Float64Array(6);

let s32min = 0, s32max = 0, u32min = 0, u32max = 0;

const ult = (ah: number, al: number, bh: number, bl: number): boolean => ah < bh || (ah === bh && al < bl);
const slt = (ah: number, al: number, bh: number, bl: number): boolean => (ah | 0) < (bh | 0) || (ah === bh && al < bl);

function set(i: number, hi: number, lo: number): void {
  h[i] = hi >>> 0;
  l[i] = lo >>> 0;
}

/** x = max(x, (hi, lo)) unsigned / signed; min likewise. */
function umaxInto(i: number, hi: number, lo: number): void {
  if (ult(h[i]!, l[i]!, hi >>> 0, lo >>> 0)) set(i, hi, lo);
}
function uminInto(i: number, hi: number, lo: number): void {
  if (ult(hi >>> 0, lo >>> 0, h[i]!, l[i]!)) set(i, hi, lo);
}
function smaxInto(i: number, hi: number, lo: number): void {
  if (slt(h[i]!, l[i]!, hi >>> 0, lo >>> 0)) set(i, hi, lo);
}
function sminInto(i: number, hi: number, lo: number): void {
  if (slt(hi >>> 0, lo >>> 0, h[i]!, l[i]!)) set(i, hi, lo);
}

function load(r: RegState): void {
  wideS[SMIN] = r.smin;
  wideS[SMAX] = r.smax;
  wide[UMIN] = r.umin;
  wide[UMAX] = r.umax;
  wide[TV] = r.varOff.value;
  wide[TM] = r.varOff.mask;
  for (let i = 0; i < 6; i++) {
    h[i] = h0[i] = half[2 * i + HI]!;
    l[i] = l0[i] = half[2 * i + LO]!;
  }
  s32min = r.s32min;
  s32max = r.s32max;
  u32min = r.u32min;
  u32max = r.u32max;
}

function changed(i: number): boolean {
  if (h[i] === h0[i] && l[i] === l0[i]) return false;
  half[2 * i + HI] = h[i]!;
  half[2 * i + LO] = l[i]!;
  return true;
}

function store(r: RegState): void {
  if (changed(SMIN)) r.smin = wideS[SMIN]!;
  if (changed(SMAX)) r.smax = wideS[SMAX]!;
  if (changed(UMIN)) r.umin = wide[UMIN]!;
  if (changed(UMAX)) r.umax = wide[UMAX]!;
  const tv = changed(TV);
  if (changed(TM) || tv) r.varOff = { value: wide[TV]!, mask: wide[TM]! };
  r.s32min = s32min;
  r.s32max = s32max;
  r.u32min = u32min;
  r.u32max = u32max;
}

/** Bounds implied by the tnum (the kernel's __update_reg_bounds). */
function updateBounds(): void {
  const val = l[TV]!, mask = l[TM]!;
  s32min = Math.max(s32min, (val | (mask & 0x80000000)) | 0);
  s32max = Math.min(s32max, (val | (mask & 0x7fffffff)) | 0);
  u32min = Math.max(u32min, val);
  u32max = Math.min(u32max, (val | mask) >>> 0);
  const vh = h[TV]!, vl = l[TV]!, mh = h[TM]!, ml = l[TM]!;
  smaxInto(SMIN, vh | (mh & 0x80000000), vl);
  sminInto(SMAX, vh | (mh & 0x7fffffff), vl | ml);
  umaxInto(UMIN, vh, vl);
  uminInto(UMAX, vh | mh, vl | ml);
}

function narrowS32(lo: number, hi: number): void {
  s32min = Math.max(s32min, lo | 0);
  s32max = Math.min(s32max, hi | 0);
}

/** 32-bit bounds from the 64-bit ones (the kernel's __reg32_deduce_bounds). */
function deduce32(): void {
  const uminH = h[UMIN]!, uminL = l[UMIN]!, umaxH = h[UMAX]!, umaxL = l[UMAX]!;
  const sminH = h[SMIN]!, sminL = l[SMIN]!, smaxH = h[SMAX]!, smaxL = l[SMAX]!;
  // Upper halves equal: the low halves of the 64-bit bounds bound the subregister.
  if (uminH === umaxH) {
    u32min = Math.max(u32min, uminL);
    u32max = Math.min(u32max, umaxL);
    if ((uminL | 0) <= (umaxL | 0)) narrowS32(uminL, umaxL);
  }
  if (sminH === smaxH) {
    if (sminL <= smaxL) {
      u32min = Math.max(u32min, sminL);
      u32max = Math.min(u32max, smaxL);
    }
    if ((sminL | 0) <= (smaxL | 0)) narrowS32(sminL, smaxL);
  }
  // Upper halves differ by one and the low halves cross the s32 sign boundary.
  if (uminH + 1 === umaxH && (uminL | 0) < 0 && (umaxL | 0) >= 0) narrowS32(uminL, umaxL);
  if ((sminH | 0) + 1 === (smaxH | 0) && (sminL | 0) < 0 && (smaxL | 0) >= 0) narrowS32(sminL, smaxL);
  if ((u32min | 0) <= (u32max | 0)) narrowS32(u32min, u32max);
  if (s32min >>> 0 <= s32max >>> 0) {
    u32min = Math.max(u32min, s32min >>> 0);
    u32max = Math.min(u32max, s32max >>> 0);
  } else if (u32max < s32min >>> 0) {
    // The s32 range crosses zero: as u32 it is [s32min, 2^32) u [0, s32max]. A u32
    // range inside one of the two pieces pins both ranges to that piece.
    s32min = u32min | 0;
    u32max = Math.min(u32max, s32max >>> 0);
  } else if (s32max >>> 0 < u32min) {
    s32max = u32max | 0;
    u32min = Math.max(u32min, s32min >>> 0);
  }
}

/** Signed and unsigned 64-bit bounds from each other (the kernel's __reg64_deduce_bounds). */
function deduce64(): void {
  if (!slt(h[UMAX]!, l[UMAX]!, h[UMIN]!, l[UMIN]!)) {
    smaxInto(SMIN, h[UMIN]!, l[UMIN]!);
    sminInto(SMAX, h[UMAX]!, l[UMAX]!);
  }
  if (!ult(h[SMAX]!, l[SMAX]!, h[SMIN]!, l[SMIN]!)) {
    umaxInto(UMIN, h[SMIN]!, l[SMIN]!);
    uminInto(UMAX, h[SMAX]!, l[SMAX]!);
  } else if (ult(h[UMAX]!, l[UMAX]!, h[SMIN]!, l[SMIN]!)) {
    // The signed range crosses zero: it is [smin, -1] u [0, smax] as unsigned.
    set(SMIN, h[UMIN]!, l[UMIN]!);
    uminInto(UMAX, h[SMAX]!, l[SMAX]!);
  } else if (ult(h[SMAX]!, l[SMAX]!, h[UMIN]!, l[UMIN]!)) {
    set(SMAX, h[UMAX]!, l[UMAX]!);
    umaxInto(UMIN, h[SMIN]!, l[SMIN]!);
  }
}

// tnum_range's result, as halves (module scratch: no allocation).
let rvH = 0, rvL = 0, rmH = 0, rmL = 0;

/** The smallest tnum containing every value in [min, max] (unsigned), into rvH/rvL/rmH/rmL. */
function rangeTnum(minH: number, minL: number, maxH: number, maxL: number): void {
  const chiH = (minH ^ maxH) >>> 0, chiL = (minL ^ maxL) >>> 0;
  const bits = chiH !== 0 ? 64 - Math.clz32(chiH) : chiL !== 0 ? 32 - Math.clz32(chiL) : 0;
  if (bits > 63) {
    rvH = rvL = 0;
    rmH = rmL = 0xffffffff;
    return;
  }
  rmH = bits > 32 ? 2 ** (bits - 32) - 1 : 0;
  rmL = bits >= 32 ? 0xffffffff : 2 ** bits - 1;
  rvH = (minH & ~rmH) >>> 0;
  rvL = (minL & ~rmL) >>> 0;
}

/** tnum_intersect of var_off's high half with (v, m); intersectLo likewise for the low half. */
function intersectHi(v: number, m: number): void {
  const vv = (h[TV]! | v) >>> 0, mu = (h[TM]! & m) >>> 0;
  set(TV, (vv & ~mu) >>> 0, l[TV]!);
  set(TM, mu, l[TM]!);
}

function intersectLo(v: number, m: number): void {
  const vv = (l[TV]! | v) >>> 0, mu = (l[TM]! & m) >>> 0;
  set(TV, h[TV]!, (vv & ~mu) >>> 0);
  set(TM, h[TM]!, mu);
}

/** Mixed 32/64-bit deductions (the kernel's __reg_deduce_mixed_bounds). */
function deduceMixed(): void {
  // The 64-bit bounds with their low halves replaced by the u32 bounds, when tighter.
  umaxInto(UMIN, h[UMIN]!, u32min);
  uminInto(UMAX, h[UMAX]!, u32max);
  smaxInto(SMIN, h[SMIN]!, u32min);
  sminInto(SMAX, h[SMAX]!, u32max);
  // A non-negative s32 range within an s32-sized s64 range pins the 64-bit value.
  const sminH = h[SMIN]! | 0, smaxH = h[SMAX]! | 0;
  const sminFits = sminH >= 0 || (sminH === -1 && l[SMIN]! >= 0x80000000);
  const smaxFits = smaxH < 0 || (smaxH === 0 && l[SMAX]! <= 0x7fffffff);
  if (s32min >= 0 && sminFits && smaxFits) {
    // (s32 values sign-extended as the kernel's assignments do; s32max < 0 only in a contradicting state)
    const maxH = s32max < 0 ? 0xffffffff : 0;
    set(SMIN, 0, s32min);
    set(SMAX, maxH, s32max);
    set(UMIN, 0, s32min);
    set(UMAX, maxH, s32max);
    rangeTnum(0, s32min, 0, s32max);
    intersectHi(rvH, rmH);
    intersectLo(rvL, rmL);
  }
}

/** The tnum from the bounds (the kernel's __reg_bound_offset): high half from the 64-bit range, low half from the 32-bit one. */
function boundOffset(): void {
  rangeTnum(h[UMIN]!, l[UMIN]!, h[UMAX]!, l[UMAX]!);
  intersectHi(rvH, rmH);
  rangeTnum(0, u32min, 0, u32max);
  intersectLo(rvL, rmL);
}

/** Make the tnum and all bounds agree with each other (kernel reg_bounds_sync). */
export function regBoundsSync(r: RegState): void {
  load(r);
  if (h[TM] === 0 && l[TM] === 0) {
    // A constant: every bound is the value (if the bounds allow it at all).
    const vh = h[TV]!, vl = l[TV]!;
    if (
      !ult(vh, vl, h[UMIN]!, l[UMIN]!) && !ult(h[UMAX]!, l[UMAX]!, vh, vl) && !slt(vh, vl, h[SMIN]!, l[SMIN]!) && !slt(h[SMAX]!, l[SMAX]!, vh, vl) &&
      u32min <= vl && vl <= u32max && s32min <= (vl | 0) && (vl | 0) <= s32max
    ) {
      markKnown(r, r.varOff.value);
      return;
    }
  }
  updateBounds();
  deduce32();
  deduce64();
  deduceMixed();
  deduce32();
  deduce64();
  boundOffset();
  updateBounds();
  store(r);
}

/** Bounds implied by the tnum alone (the kernel's __update_reg_bounds). */
export function updateRegBounds(r: RegState): void {
  load(r);
  updateBounds();
  store(r);
}
