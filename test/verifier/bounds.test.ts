// Soundness of the scalar transfer functions and branch refinement: random
// walks that keep a concrete value next to its abstract register and check
// after every step that the abstraction still contains it (bounds at both
// widths and the tnum), and that decided branches agree with the concrete
// comparison. Seeded, so failures reproduce.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RegState, markUnknown, markConstScalar } from '../../src/verifier/reg-state.js';
import { AluKind, scalarAlu } from '../../src/verifier/bounds.js';
import { regSetMinMax, scalarBranchTaken, revOpcode, JSET_NOT } from '../../src/verifier/branches.js';
import { tnumContains, tnumString } from '../../src/verifier/tnum.js';
import { JmpOp } from '../../src/isa/fields.js';

const M64 = (1n << 64n) - 1n;
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function contains(r: RegState, x: bigint): string | undefined {
  const u = x & M64, s = BigInt.asIntN(64, u);
  const lo = Number(u & 0xffffffffn), s32 = lo | 0;
  if (u < r.umin || u > r.umax) return `u64 ${u} not in [${r.umin}, ${r.umax}]`;
  if (s < r.smin || s > r.smax) return `s64 ${s} not in [${r.smin}, ${r.smax}]`;
  if (lo < r.u32min || lo > r.u32max) return `u32 ${lo} not in [${r.u32min}, ${r.u32max}]`;
  if (s32 < r.s32min || s32 > r.s32max) return `s32 ${s32} not in [${r.s32min}, ${r.s32max}]`;
  if (!tnumContains(r.varOff, u)) return `tnum ${tnumString(r.varOff)} misses ${u}`;
  return undefined;
}

function concreteAlu(a: bigint, b: bigint, k: AluKind, bits: 32 | 64): bigint {
  const w = BigInt(bits);
  const U = (v: bigint): bigint => BigInt.asUintN(bits, v);
  const S = (v: bigint): bigint => BigInt.asIntN(bits, v);
  const x = U(a), y = U(b);
  switch (k) {
    case AluKind.ADD: return U(x + y);
    case AluKind.SUB: return U(x - y);
    case AluKind.MUL: return U(x * y);
    case AluKind.AND: return x & y;
    case AluKind.OR: return x | y;
    case AluKind.XOR: return x ^ y;
    case AluKind.LSH: return U(x << (y % w));
    case AluKind.RSH: return x >> (y % w);
    case AluKind.ARSH: return U(S(x) >> (y % w));
    case AluKind.DIV: return y === 0n ? 0n : x / y;
    case AluKind.NEG: return U(-x);
    default: return x;
  }
}

function concreteCmp(a: bigint, b: bigint, op: number, w32: boolean): boolean {
  const bits = w32 ? 32 : 64;
  const x = BigInt.asUintN(bits, a), y = BigInt.asUintN(bits, b);
  const sx = BigInt.asIntN(bits, a), sy = BigInt.asIntN(bits, b);
  switch (op) {
    case JmpOp.JEQ: return x === y;
    case JmpOp.JNE: return x !== y;
    case JmpOp.JGT: return x > y;
    case JmpOp.JGE: return x >= y;
    case JmpOp.JLT: return x < y;
    case JmpOp.JLE: return x <= y;
    case JmpOp.JSGT: return sx > sy;
    case JmpOp.JSGE: return sx >= sy;
    case JmpOp.JSLT: return sx < sy;
    case JmpOp.JSLE: return sx <= sy;
    case JmpOp.JSET: return (x & y) !== 0n;
    case JSET_NOT: return (x & y) === 0n;
  }
  throw new Error('op');
}

const INTERESTING = [0n, 1n, 7n, 255n, 256n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, (1n << 63n) - 1n, 1n << 63n, M64, M64 - 7n];
const OPS = [AluKind.ADD, AluKind.SUB, AluKind.MUL, AluKind.AND, AluKind.OR, AluKind.XOR, AluKind.LSH, AluKind.RSH, AluKind.ARSH, AluKind.DIV, AluKind.NEG];
const CMPS = [JmpOp.JEQ, JmpOp.JNE, JmpOp.JGT, JmpOp.JGE, JmpOp.JLT, JmpOp.JLE, JmpOp.JSGT, JmpOp.JSGE, JmpOp.JSLT, JmpOp.JSLE, JmpOp.JSET, JSET_NOT];

test('ALU transfer functions and branch refinement keep the concrete value (20,000 random steps)', () => {
  const rnd = rng(42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const value = (): bigint => {
    const r = rnd();
    if (r < 0.4) return pick(INTERESTING) + BigInt(Math.floor(rnd() * 5)) - 2n;
    if (r < 0.7) return BigInt(Math.floor(rnd() * 1000));
    return (BigInt(Math.floor(rnd() * 2 ** 32)) << 32n) | BigInt(Math.floor(rnd() * 2 ** 32));
  };
  let steps = 0;
  for (let walk = 0; walk < 1000; walk++) {
    const r = new RegState();
    markUnknown(r);
    let x = value() & M64;
    for (let i = 0; i < 20; i++, steps++) {
      const bits: 32 | 64 = rnd() < 0.3 ? 32 : 64;
      if (rnd() < 0.5) {
        // refine by a comparison that holds for x, against a constant or a second tracked register
        const op = pick(CMPS);
        const other = new RegState();
        let y: bigint;
        if (rnd() < 0.5) {
          y = rnd() < 0.5 ? x + BigInt(Math.floor(rnd() * 9)) - 4n : value();
          markConstScalar(other, y);
        } else {
          markUnknown(other);
          y = value();
          scalarAlu(other, (() => { const c = new RegState(); markConstScalar(c, 1023n); return c; })(), AluKind.AND, 64);
          y &= 1023n;
        }
        const w32 = bits === 32;
        const holds = concreteCmp(x, y, op, w32);
        const decided = scalarBranchTaken(r, other, op, w32);
        if (decided >= 0) assert.equal(decided === 1, holds, `branch decided wrongly: op ${op} x=${x} y=${y}`);
        const ok = regSetMinMax(r, other, holds ? op : revOpcode(op), w32);
        assert.ok(ok, `refinement killed a feasible branch: op ${op} x=${x} y=${y}`);
        const bad = contains(r, x) ?? contains(other, y);
        if (bad) assert.fail(`after ${holds ? '' : 'not '}cmp ${op}/${bits} with ${y}: ${bad}`);
      } else {
        const k = pick(OPS);
        const src = new RegState();
        let y = k === AluKind.LSH || k === AluKind.RSH || k === AluKind.ARSH ? BigInt(Math.floor(rnd() * bits)) : value();
        if (k === AluKind.DIV && y === 0n) y = 3n;
        const shift = k === AluKind.LSH || k === AluKind.RSH || k === AluKind.ARSH;
        if (!shift && rnd() < 0.5) {
          // a range, not a constant: unknown & mask (+ offset), with y a member
          const mask = pick([15n, 255n, 0xffffn, 0xffffffffn]);
          const add = pick([0n, 1n, 100n, 1n << 40n, M64]);
          markUnknown(src);
          const c = new RegState();
          markConstScalar(c, mask);
          scalarAlu(src, c, AluKind.AND, 64);
          markConstScalar(c, add);
          scalarAlu(src, c, AluKind.ADD, 64);
          y = ((y & mask) + add) & M64;
        } else {
          markConstScalar(src, y);
        }
        scalarAlu(r, src, k, bits);
        x = concreteAlu(x, y, k, bits);
        const bad = contains(r, x);
        if (bad) assert.fail(`after alu ${k}/${bits} with ${y}: ${bad}`);
      }
    }
  }
  assert.equal(steps, 20000);
});
