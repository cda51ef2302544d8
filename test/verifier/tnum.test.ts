// Exhaustive soundness checks of the tnum operations over every 4-bit tnum
// (3^4 = 81 of them, 6,561 pairs): for every concrete x in a and y in b,
// op(x, y) must be a member of the abstract result. Plus spot checks of exact
// results the kernel's implementation gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  U64, type Tnum, tnum, tnumConst, tnumRange, tnumAdd, tnumSub, tnumAnd, tnumOr, tnumXor, tnumMul, tnumLshift,
  tnumRshift, tnumArshift, tnumNeg, tnumIntersect, tnumUnion, tnumIn, tnumContains, tnumCast, tnumIsAligned,
  tnumString, tnumWithSubreg, TNUM_UNKNOWN,
} from '../../src/verifier/tnum.js';

const BITS = 4;
function allTnums(): Tnum[] {
  const out: Tnum[] = [];
  for (let mask = 0; mask < 1 << BITS; mask++) {
    for (let value = 0; value < 1 << BITS; value++) {
      if ((value & mask) === 0) out.push(tnum(BigInt(value), BigInt(mask)));
    }
  }
  return out;
}
function members(a: Tnum): bigint[] {
  const out: bigint[] = [];
  for (let x = 0n; x < 1n << BigInt(BITS); x++) if (tnumContains(a, x)) out.push(x);
  return out;
}
const ALL = allTnums();

function checkBinary(name: string, abs: (a: Tnum, b: Tnum) => Tnum, conc: (x: bigint, y: bigint) => bigint): void {
  test(`tnum ${name} is sound for every pair of 4-bit tnums`, () => {
    assert.equal(ALL.length, 81);
    for (const a of ALL) {
      const xs = members(a);
      for (const b of ALL) {
        const r = abs(a, b);
        assert.equal(r.value & r.mask, 0n, `${name}: value and mask overlap`);
        for (const x of xs) {
          for (const y of members(b)) {
            const z = conc(x, y) & U64;
            if (!tnumContains(r, z)) assert.fail(`${name}(${tnumString(a)}, ${tnumString(b)}) = ${tnumString(r)} misses ${x} op ${y} = ${z}`);
          }
        }
      }
    }
  });
}
checkBinary('add', tnumAdd, (x, y) => x + y);
checkBinary('sub', tnumSub, (x, y) => x - y);
checkBinary('and', tnumAnd, (x, y) => x & y);
checkBinary('or', tnumOr, (x, y) => x | y);
checkBinary('xor', tnumXor, (x, y) => x ^ y);
checkBinary('mul', tnumMul, (x, y) => x * y);
checkBinary('union', tnumUnion, (x, y) => x);
checkBinary('union (right)', tnumUnion, (x, y) => y);

test('tnum shifts are sound for every 4-bit tnum and shift 0..5', () => {
  for (const a of ALL) {
    for (let s = 0; s <= 5; s++) {
      const l = tnumLshift(a, s), r = tnumRshift(a, s), ar = tnumArshift(a, s, 64), ar32 = tnumArshift(a, s, 32);
      for (const x of members(a)) {
        assert.ok(tnumContains(l, (x << BigInt(s)) & U64));
        assert.ok(tnumContains(r, x >> BigInt(s)));
        assert.ok(tnumContains(ar, BigInt.asUintN(64, BigInt.asIntN(64, x) >> BigInt(s))));
        assert.ok(tnumContains(ar32, BigInt.asUintN(32, BigInt.asIntN(32, x) >> BigInt(s))));
      }
    }
  }
});

test('tnum neg, cast and intersect are sound', () => {
  for (const a of ALL) {
    const n = tnumNeg(a);
    for (const x of members(a)) {
      assert.ok(tnumContains(n, -x & U64));
      assert.ok(tnumContains(tnumCast(a, 1), x & 0xffn));
    }
    for (const b of ALL) {
      const i = tnumIntersect(a, b);
      // Intersect keeps every common member (when the two are compatible).
      for (const x of members(a)) if (tnumContains(b, x)) assert.ok(tnumContains(i, x));
    }
  }
});

test('tnumIn agrees with set inclusion of members', () => {
  for (const a of ALL) {
    const ma = new Set(members(a));
    for (const b of ALL) {
      const incl = members(b).every((x) => ma.has(x));
      assert.equal(tnumIn(a, b), incl, `in(${tnumString(a)}, ${tnumString(b)})`);
    }
  }
});

test('tnumRange gives the kernel results', () => {
  assert.deepEqual(tnumRange(0n, 0n), tnumConst(0n));
  assert.deepEqual(tnumRange(0n, 255n), tnum(0n, 0xffn));
  assert.deepEqual(tnumRange(16n, 31n), tnum(16n, 15n));
  assert.deepEqual(tnumRange(5n, 8n), tnum(0n, 15n));
  assert.deepEqual(tnumRange(0n, U64), TNUM_UNKNOWN);
  assert.deepEqual(tnumRange(1n << 63n, (1n << 63n) + 1n), tnum(1n << 63n, 1n));
  for (let lo = 0n; lo < 20n; lo++) for (let hi = lo; hi < 40n; hi++) {
    const r = tnumRange(lo, hi);
    for (let x = lo; x <= hi; x++) assert.ok(tnumContains(r, x));
  }
});

test('tnum exact results on constants and known bits', () => {
  assert.deepEqual(tnumAdd(tnumConst(3n), tnumConst(4n)), tnumConst(7n));
  assert.deepEqual(tnumSub(tnumConst(0n), tnumConst(1n)), tnumConst(U64));
  assert.deepEqual(tnumMul(tnumConst(6n), tnumConst(7n)), tnumConst(42n));
  assert.deepEqual(tnumAnd(TNUM_UNKNOWN, tnumConst(0xffn)), tnum(0n, 0xffn));
  assert.deepEqual(tnumOr(tnum(0n, 0xfn), tnumConst(0x10n)), tnum(0x10n, 0xfn));
  assert.deepEqual(tnumWithSubreg(tnumConst(0x1_0000_0005n), tnumConst(7n)), tnumConst(0x1_0000_0007n));
  assert.ok(tnumIsAligned(tnum(8n, 0xf0n), 8));
  assert.ok(!tnumIsAligned(tnum(8n, 0x4n), 8));
  assert.equal(tnumString(tnum(0n, 0xffn)), '(0x0; 0xff)');
});
