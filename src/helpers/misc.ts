// strncmp, csum_diff, spin_lock/unlock and loop.

import { ProgramError } from '../internal/errors.js';
import { E2BIG, EFAULT, EINVAL } from '../maps/errno.js';
import { contextOf } from './context.js';
import { arg, argHi, helper, retInt, retU32 } from './define.js';
import { noInvoker } from './map-helpers.js';
import type { HelperDef } from './registry.js';

// bpf_loop's cap on iterations; the same constant is may_goto's loop budget.
import { BPF_MAX_LOOPS } from '../isa/fields.js';
export { BPF_MAX_LOOPS };

/**
 * strncmp(s1, s1_sz, s2): the kernel's strncmp over at most s1_sz bytes:
 * 0 when equal, -1 or 1 at the first difference (or a NUL in one of them).
 */
export const strncmp = helper('strncmp', (env) => {
  const s1 = arg(env, 1);
  const n = arg(env, 2);
  const s2 = arg(env, 3);
  const mem = env.mem;
  if (!mem.checkRange(s1, n, false)) return retInt(env, -EFAULT);
  const r2 = mem.regionOf(s2, 1);
  const avail2 = r2 === undefined ? 0 : r2.start + r2.size - s2;
  const u8 = mem.u8;
  for (let i = 0; i < n; i++) {
    if (i >= avail2) return retInt(env, -EFAULT);
    const a = u8[s1 + i]!;
    const b = u8[s2 + i]!;
    if (a !== b) return retInt(env, a < b ? -1 : 1);
    if (a === 0) break;
  }
  retInt(env, 0);
});

/**
 * csum_diff(from, from_size, to, to_size, seed): the one's-complement sum of
 * seed, the complement of each 32-bit word of `from` and each word of `to`
 * (sizes multiples of 4, together at most 512 bytes), folded to 16 bits, as
 * Linux returns it on every architecture since 6.13 (before, the unfolded
 * 32-bit value depended on the architecture; folded, they all agree).
 */
export const csumDiff = helper('csum_diff', (env) => {
  const from = arg(env, 1);
  const fromSize = arg(env, 2);
  const to = arg(env, 3);
  const toSize = arg(env, 4);
  if (((fromSize | toSize) & 3) !== 0 || fromSize + toSize > 512) return retInt(env, -EINVAL);
  const mem = env.mem;
  if (!mem.checkRange(from, fromSize, false) || !mem.checkRange(to, toSize, false)) return retInt(env, -EFAULT);
  const dv = mem.dv;
  let sum = arg(env, 5); // seed: low 32 bits (a __wsum)
  for (let i = 0; i < fromSize; i += 4) sum = addCarry(sum, ~dv.getUint32(from + i, true) >>> 0);
  for (let i = 0; i < toSize; i += 4) sum = addCarry(sum, dv.getUint32(to + i, true));
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  retU32(env, sum);
});

/** 32-bit one's-complement addition (end-around carry). */
function addCarry(a: number, b: number): number {
  const s = a + b;
  return s > 0xffffffff ? (s - 0xffffffff) >>> 0 : s;
}

/**
 * spin_lock / spin_unlock on a 4-byte lock in a map value. With memory shared
 * between workers the lock is an atomic compare-and-swap; a lock this thread
 * cannot get (it holds it already, or another context never releases it
 * within a bounded spin) is a ProgramError rather than a hang.
 */
const SPIN_LIMIT = 1 << 24;

export const spinLock = helper('spin_lock', (env) => {
  const lock = arg(env, 1);
  const mem = env.mem;
  if ((lock & 3) !== 0 || !mem.checkRange(lock, 4, true)) throw new ProgramError(env.pc, `spin_lock: 0x${lock.toString(16)} is not a writable, 4-byte aligned lock`);
  const i32 = new Int32Array(mem.u8.buffer, lock, 1);
  if (!mem.shared) {
    if (i32[0] !== 0) throw new ProgramError(env.pc, `spin_lock: lock at 0x${lock.toString(16)} is already held (deadlock)`);
    i32[0] = 1;
  } else {
    let n = 0;
    while (Atomics.compareExchange(i32, 0, 0, 1) !== 0)
      if (++n > SPIN_LIMIT) throw new ProgramError(env.pc, `spin_lock: lock at 0x${lock.toString(16)} is held and not released (deadlock?)`);
  }
  retInt(env, 0);
});

export const spinUnlock = helper('spin_unlock', (env) => {
  const lock = arg(env, 1);
  const mem = env.mem;
  if ((lock & 3) !== 0 || !mem.checkRange(lock, 4, true)) throw new ProgramError(env.pc, `spin_unlock: 0x${lock.toString(16)} is not a writable, 4-byte aligned lock`);
  const i32 = new Int32Array(mem.u8.buffer, lock, 1);
  if (mem.shared) Atomics.store(i32, 0, 0);
  else i32[0] = 0;
  retInt(env, 0);
});

/**
 * loop(nr_loops, callback, ctx, flags): callback(i, ctx) for i = 0.. until it
 * returns non-zero; returns the number of calls made.
 */
export const loop = helper('loop', (env) => {
  const ctx = contextOf(env, 'loop');
  const nr = arg(env, 1);
  if (argHi(env, 1) !== 0 || nr > BPF_MAX_LOOPS) return retInt(env, -E2BIG);
  if (arg(env, 4) !== 0 || argHi(env, 4) !== 0) return retInt(env, -EINVAL);
  const invoke = ctx.invoke;
  if (invoke === undefined) throw noInvoker(env, 'loop');
  const fn = arg(env, 2);
  const cbLo = env.regs[6]!;
  const cbHi = env.regs[7]!;
  const a = ctx.callbackArgs;
  let i = 0;
  for (; i < nr; i++) {
    a.fill(0);
    a[0] = i;
    a[2] = cbLo;
    a[3] = cbHi;
    if (invoke(fn, a) !== 0) {
      i++;
      break;
    }
  }
  retInt(env, i);
});

export const MISC_HELPERS: readonly HelperDef[] = [strncmp, csumDiff, spinLock, spinUnlock, loop];
