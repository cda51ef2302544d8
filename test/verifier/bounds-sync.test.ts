// The 32-bit-halves reg_bounds_sync (src/verifier/bounds-sync.ts) and
// tnum_mul (tnum.ts) against the BigInt versions they replaced, kept here as the reference model: both
// must give the same tnum and bounds, field for field, on random states
// (consistent ones, ones with contradicting bounds, constants and edge
// values around 2^31, 2^32 and 2^63). Seeded, so failures reproduce.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RegState, S64_MAX, S32_MIN, S32_MAX, U32_MAX, markKnown, markUnknown } from '../../src/verifier/reg-state.js';
import { regBoundsSync, updateRegBounds } from '../../src/verifier/bounds-sync.js';
import { boundsInconsistent } from '../../src/verifier/bounds.js';
import { U64, type Tnum, tnumAdd, tnumMul, tnumLshift, tnumRshift, tnumIntersect, tnumRange, tnumSubreg, tnumOr, tnumClearSubreg } from '../../src/verifier/tnum.js';

const s64 = (x: bigint): bigint => BigInt.asIntN(64, x);
const u64 = (x: bigint): bigint => BigInt.asUintN(64, x);
const lo32 = (x: bigint): number => Number(x & 0xffffffffn);
const s32 = (x: number): number => x | 0;
const u32 = (x: number): number => x >>> 0;
const bmax = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const bmin = (a: bigint, b: bigint): bigint => (a < b ? a : b);

// ---- reference model: the BigInt implementation as it was ----

function refUpdate32(r: RegState): void {
  const v = tnumSubreg(r.varOff);
  const val = lo32(v.value);
  const mask = lo32(v.mask);
  r.s32min = Math.max(r.s32min, s32(val | (mask & 0x80000000)));
  r.s32max = Math.min(r.s32max, s32(val | (mask & 0x7fffffff)));
  r.u32min = Math.max(r.u32min, u32(val));
  r.u32max = Math.min(r.u32max, u32(val | mask));
}

function refUpdate64(r: RegState): void {
  const { value, mask } = r.varOff;
  r.smin = bmax(r.smin, s64(value | (mask & (1n << 63n))));
  r.smax = bmin(r.smax, s64(value | (mask & S64_MAX)));
  r.umin = bmax(r.umin, value);
  r.umax = bmin(r.umax, value | mask);
}

function refUpdateBounds(r: RegState): void {
  refUpdate32(r);
  refUpdate64(r);
}

function refDeduce32(r: RegState): void {
  // Upper halves equal: the low halves of the 64-bit bounds bound the subregister.
  if (r.umin >> 32n === r.umax >> 32n) {
    r.u32min = Math.max(r.u32min, lo32(r.umin));
    r.u32max = Math.min(r.u32max, lo32(r.umax));
    if (s32(lo32(r.umin)) <= s32(lo32(r.umax))) {
      r.s32min = Math.max(r.s32min, s32(lo32(r.umin)));
      r.s32max = Math.min(r.s32max, s32(lo32(r.umax)));
    }
  }
  if (r.smin >> 32n === r.smax >> 32n) {
    if (u32(lo32(r.smin)) <= u32(lo32(r.smax))) {
      r.u32min = Math.max(r.u32min, lo32(r.smin));
      r.u32max = Math.min(r.u32max, lo32(r.smax));
    }
    if (s32(lo32(r.smin)) <= s32(lo32(r.smax))) {
      r.s32min = Math.max(r.s32min, s32(lo32(r.smin)));
      r.s32max = Math.min(r.s32max, s32(lo32(r.smax)));
    }
  }
  // Upper halves differ by one and the low halves cross the s32 sign boundary.
  if (u64((r.umin >> 32n) + 1n) === r.umax >> 32n && s32(lo32(r.umin)) < 0 && s32(lo32(r.umax)) >= 0) {
    r.s32min = Math.max(r.s32min, s32(lo32(r.umin)));
    r.s32max = Math.min(r.s32max, s32(lo32(r.umax)));
  }
  if ((r.smin >> 32n) + 1n === r.smax >> 32n && s32(lo32(r.smin)) < 0 && s32(lo32(r.smax)) >= 0) {
    r.s32min = Math.max(r.s32min, s32(lo32(r.smin)));
    r.s32max = Math.min(r.s32max, s32(lo32(r.smax)));
  }
  if (s32(r.u32min) <= s32(r.u32max)) {
    r.s32min = Math.max(r.s32min, s32(r.u32min));
    r.s32max = Math.min(r.s32max, s32(r.u32max));
  }
  if (u32(r.s32min) <= u32(r.s32max)) {
    r.u32min = Math.max(r.u32min, u32(r.s32min));
    r.u32max = Math.min(r.u32max, u32(r.s32max));
  } else {
    // The s32 range crosses zero: as u32 it is [s32min, 2^32) u [0, s32max]. A u32
    // range inside one of the two pieces pins both ranges to that piece.
    if (r.u32max < u32(r.s32min)) {
      r.s32min = r.u32min | 0;
      r.u32max = Math.min(r.u32max, u32(r.s32max));
    } else if (u32(r.s32max) < r.u32min) {
      r.s32max = r.u32max | 0;
      r.u32min = Math.max(r.u32min, u32(r.s32min));
    }
  }
}

function refDeduce64(r: RegState): void {
  if (s64(r.umin) <= s64(r.umax)) {
    r.smin = bmax(r.smin, s64(r.umin));
    r.smax = bmin(r.smax, s64(r.umax));
  }
  if (u64(r.smin) <= u64(r.smax)) {
    r.umin = bmax(r.umin, u64(r.smin));
    r.umax = bmin(r.umax, u64(r.smax));
  } else {
    // The signed range crosses zero: it is [smin, -1] u [0, smax] as unsigned.
    if (r.umax < u64(r.smin)) {
      r.smin = s64(r.umin);
      r.umax = bmin(r.umax, u64(r.smax));
    } else if (u64(r.smax) < r.umin) {
      r.smax = s64(r.umax);
      r.umin = bmax(r.umin, u64(r.smin));
    }
  }
}

function refDeduceMixed(r: RegState): void {
  const HI = ~0xffffffffn;
  const numin = (r.umin & HI & U64) | BigInt(r.u32min);
  const numax = (r.umax & HI & U64) | BigInt(r.u32max);
  r.umin = bmax(r.umin, numin);
  r.umax = bmin(r.umax, numax);
  const nsmin = s64((u64(r.smin) & HI & U64) | BigInt(r.u32min));
  const nsmax = s64((u64(r.smax) & HI & U64) | BigInt(r.u32max));
  r.smin = bmax(r.smin, nsmin);
  r.smax = bmin(r.smax, nsmax);
  // A non-negative s32 range within an s32-sized s64 range pins the 64-bit value.
  if (r.s32min >= 0 && r.smin >= BigInt(S32_MIN) && r.smax <= BigInt(S32_MAX)) {
    r.smin = BigInt(r.s32min);
    r.smax = BigInt(r.s32max);
    r.umin = BigInt(r.s32min);
    r.umax = BigInt(r.s32max);
    r.varOff = tnumIntersect(r.varOff, tnumRange(r.smin, r.smax));
  }
}

function refBoundOffset(r: RegState): void {
  const v64 = tnumIntersect(r.varOff, tnumRange(r.umin, r.umax));
  const v32 = tnumIntersect(tnumSubreg(r.varOff), tnumRange(BigInt(r.u32min), BigInt(r.u32max)));
  r.varOff = tnumOr(tnumClearSubreg(v64), v32);
}

function refBoundsSync(r: RegState): void {
  if (r.varOff.mask === 0n) {
    // A constant: every bound is the value (if the bounds allow it at all).
    const v = r.varOff.value;
    const lo = Number(v & 0xffffffffn);
    if (
      r.umin <= v && v <= r.umax && r.smin <= BigInt.asIntN(64, v) && BigInt.asIntN(64, v) <= r.smax &&
      r.u32min <= lo && lo <= r.u32max && r.s32min <= (lo | 0) && (lo | 0) <= r.s32max
    ) {
      markKnown(r, v);
      return;
    }
  }
  refUpdateBounds(r);
  refDeduce32(r);
  refDeduce64(r);
  refDeduceMixed(r);
  refDeduce32(r);
  refDeduce64(r);
  refBoundOffset(r);
  refUpdateBounds(r);
}


// ---- random states ----

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EDGES = [0n, 1n, 2n, 7n, 0xffn, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 0x17fffffffn, 1n << 62n, S64_MAX, 1n << 63n, U64 - 1n, U64];

function value(rand: () => number): bigint {
  const k = rand();
  if (k < 0.4) return u64(EDGES[Math.floor(rand() * EDGES.length)]! + BigInt(Math.floor(rand() * 5)) - 2n);
  if (k < 0.6) return BigInt(Math.floor(rand() * 4096));
  if (k < 0.7) return u64(-BigInt(Math.floor(rand() * 4096)));
  return (BigInt(Math.floor(rand() * 2 ** 32)) << 32n) | BigInt(Math.floor(rand() * 2 ** 32));
}

function mask(rand: () => number): bigint {
  const k = rand();
  if (k < 0.2) return 0n;
  if (k < 0.3) return U64;
  if (k < 0.6) return (1n << BigInt(Math.floor(rand() * 64))) - 1n;
  return value(rand);
}

/** A register with a random tnum and bounds: narrowed from a random pair (sometimes contradicting, sometimes a constant). */
function randomReg(rand: () => number): RegState {
  const r = new RegState();
  markUnknown(r);
  if (rand() < 0.1) {
    markKnown(r, value(rand));
    if (rand() < 0.5) r.umax = value(rand);
    return r;
  }
  const m = mask(rand);
  r.varOff = { value: value(rand) & ~m & U64, mask: m };
  const pick = (): [bigint, bigint] => {
    const a = value(rand), b = value(rand);
    return rand() < 0.85 ? (a <= b ? [a, b] : [b, a]) : [a, b];
  };
  if (rand() < 0.7) [r.umin, r.umax] = pick();
  if (rand() < 0.7) {
    const [a, b] = pick();
    [r.smin, r.smax] = s64(a) <= s64(b) || rand() < 0.15 ? [s64(a), s64(b)] : [s64(b), s64(a)];
  }
  if (rand() < 0.6) {
    const a = lo32(value(rand)), b = lo32(value(rand));
    [r.u32min, r.u32max] = a <= b ? [a, b] : [b, a];
  }
  if (rand() < 0.6) {
    const a = s32(lo32(value(rand))), b = s32(lo32(value(rand)));
    [r.s32min, r.s32max] = a <= b ? [a, b] : [b, a];
  }
  return r;
}

function show(r: RegState): string {
  return `var_off=(${r.varOff.value.toString(16)}; ${r.varOff.mask.toString(16)}) s=[${r.smin}, ${r.smax}] u=[${r.umin}, ${r.umax}] s32=[${r.s32min}, ${r.s32max}] u32=[${r.u32min}, ${r.u32max}]`;
}

function same(a: RegState, b: RegState): boolean {
  return a.varOff.value === b.varOff.value && a.varOff.mask === b.varOff.mask && a.smin === b.smin && a.smax === b.smax &&
    a.umin === b.umin && a.umax === b.umax && a.s32min === b.s32min && a.s32max === b.s32max && a.u32min === b.u32min && a.u32max === b.u32max;
}

test('reg_bounds_sync on 32-bit halves equals the BigInt reference on 200,000 random states (or both contradict)', () => {
  const rand = rng(0x5eed);
  for (let i = 0; i < 200_000; i++) {
    const r = randomReg(rand);
    const a = r.clone();
    const b = r.clone();
    regBoundsSync(a);
    refBoundsSync(b);
    // Contradicting bounds (a dead branch) may come out differently; both must still say so.
    if (!same(a, b) && !(boundsInconsistent(a) && boundsInconsistent(b))) assert.fail(`state ${i}: ${show(r)}\n halves:    ${show(a)}\n reference: ${show(b)}`);
    const c = r.clone();
    const d = r.clone();
    updateRegBounds(c);
    refUpdateBounds(d);
    if (!same(c, d)) assert.fail(`update ${i}: ${show(r)}\n halves:    ${show(c)}\n reference: ${show(d)}`);
  }
});

test('reg_bounds_sync: a known constant, a u16 load plus a constant, an s32 range', () => {
  const r = new RegState();
  markUnknown(r);
  r.varOff = { value: 0n, mask: 0xffffn };
  regBoundsSync(r);
  assert.equal(r.umax, 0xffffn);
  assert.equal(r.smax, 0xffffn);
  assert.equal(r.u32max, 0xffff);
  assert.equal(r.s32min, 0);
  markUnknown(r);
  r.s32min = -5;
  r.s32max = 5;
  r.smin = -5n;
  r.smax = 5n;
  regBoundsSync(r);
  assert.equal(r.umin, 0n);
  assert.equal(r.umax, U64);
  assert.equal(r.u32max, U32_MAX);
  assert.equal(r.varOff.mask, U64);
  void S32_MIN;
  void S32_MAX;
});

/** The kernel's tnum_mul as the BigInt loop it was. */
function refTnumMul(a: Tnum, b: Tnum): Tnum {
  if (a.mask === 0n && b.mask === 0n) return { value: (a.value * b.value) & U64, mask: 0n };
  const accV = (a.value * b.value) & U64;
  let accM: Tnum = { value: 0n, mask: 0n };
  let x = a;
  let y = b;
  while (x.value !== 0n || x.mask !== 0n) {
    if ((x.value & 1n) !== 0n) accM = tnumAdd(accM, { value: 0n, mask: y.mask });
    else if ((x.mask & 1n) !== 0n) accM = tnumAdd(accM, { value: 0n, mask: y.value | y.mask });
    x = tnumRshift(x, 1);
    y = tnumLshift(y, 1);
  }
  return tnumAdd({ value: accV, mask: 0n }, accM);
}

test('tnum_mul on halves equals the BigInt loop on 50,000 random tnum pairs', () => {
  const rand = rng(0xa11);
  const t = (): Tnum => {
    const m = mask(rand);
    return { value: value(rand) & ~m & U64, mask: m };
  };
  for (let i = 0; i < 50_000; i++) {
    const a = t(), b = t();
    const got = tnumMul(a, b), want = refTnumMul(a, b);
    if (got.value !== want.value || got.mask !== want.mask) {
      assert.fail(`pair ${i}: (${a.value.toString(16)}; ${a.mask.toString(16)}) * (${b.value.toString(16)}; ${b.mask.toString(16)}): got (${got.value.toString(16)}; ${got.mask.toString(16)}), want (${want.value.toString(16)}; ${want.mask.toString(16)})`);
    }
  }
});
