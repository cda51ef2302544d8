// The memory-check functions of unverified mode: one Wasm function per
// access size and direction, called when the inline fast path in the
// emitter (emit.ts, checkedAddress) cannot decide. They mirror
// RuntimeMemory.check and end in the `fault` import, which throws.

import { SHADOW_BASE } from '../memory.js';
import { CTL_PEND, CTL_PSTART, Imp, INFO_ATOMIC, INFO_MISALIGNED, INFO_WRITE, L_A0, L_T0 } from './abi.js';
import { T, W } from './wasm/opcodes.js';
import type { Writer } from './wasm/writer.js';

/** Index of the check function for an access, relative to EmitEnv.checkBase. */
export function checkIndex(size: number, info: number): number {
  const log = size === 1 ? 0 : size === 2 ? 1 : size === 4 ? 2 : 3;
  if ((info & INFO_ATOMIC) !== 0) return 8 + (log - 2);
  return log * 2 + ((info & INFO_WRITE) !== 0 ? 1 : 0);
}
/** The (size, info) of each check function, in index order. */
export const CHECKS: ReadonlyArray<readonly [number, number]> = [
  [1, 0], [1, INFO_WRITE], [2, 0], [2, INFO_WRITE], [4, 0], [4, INFO_WRITE], [8, 0], [8, INFO_WRITE],
  [4, INFO_WRITE | INFO_ATOMIC], [8, INFO_WRITE | INFO_ATOMIC],
];

/**
 * [base: i64] -> [a: i32], a also in L_A0: ea = base + off (kept in L_T0);
 * a = ea when ea - lo <= span as unsigned 64-bit, else 0 (address 0 is never
 * mapped, so its shadow byte refuses every access). The inline fast paths of
 * unverified accesses (lo 0, span maxBytes - 8) and of arena accesses (the
 * arena's start and size less the width) start this way.
 */
export function pushClampedAddress(w: Writer, off: number, lo: number, span: number): void {
  if (off !== 0) {
    w.u8(W.i64_const);
    w.s32(off);
    w.u8(W.i64_add);
  }
  w.u8x2(W.local_tee, L_T0);
  w.u8(W.i32_wrap_i64);
  w.u8x2(W.i32_const, 0);
  w.u8x2(W.local_get, L_T0);
  if (lo !== 0) {
    w.u8(W.i64_const);
    w.s64(lo, 0);
    w.u8(W.i64_sub);
  }
  w.u8(W.i64_const);
  w.s64(span, 0);
  w.u8(W.i64_le_u);
  w.u8(W.select);
  w.u8x2(W.local_tee, L_A0);
}

/** [addr: i32] -> [the shadow byte of addr + delta] (one per 8-byte granule, at SHADOW_BASE). */
export function pushShadowByte(w: Writer, delta: number): void {
  if (delta !== 0) {
    w.u8(W.i32_const);
    w.s32(delta);
    w.u8(W.i32_add);
  }
  w.u8x2(W.i32_const, 3);
  w.u8(W.i32_shr_u);
  w.u8(W.i32_load8_u);
  w.u32(0);
  w.u32(SHADOW_BASE);
}

/**
 * Body of a check function (ea: i64, pc: i32) -> i32, locals a, sa, sb (i32).
 * Mirrors RuntimeMemory.check: the range must lie below maxBytes, both
 * shadow bytes must grant the access, and a partial granule asks the `slow`
 * import (unless it lies in the region cached at CTL_PSTART). Atomics must also be naturally aligned. Failures call `fault`,
 * which throws.
 */
export function emitCheck(w: Writer, size: number, info: number, maxBytes: number, ctlBase: number): void {
  const EA = 0;
  const PC = 1;
  const A = 2;
  const SA = 3;
  const SB = 4;
  // Atomics read and write, so they need both permissions (as in the interpreter).
  const need = (info & INFO_ATOMIC) !== 0 ? 3 : (info & INFO_WRITE) !== 0 ? 2 : 1;
  const shadowOf = (extra: number): void => {
    w.u8x2(W.local_get, A);
    pushShadowByte(w, extra);
  };
  w.u8x2(W.block, T.void); // $misaligned
  w.u8x2(W.block, T.void); // $fail
  w.u8x2(W.local_get, EA);
  w.u8(W.i64_const);
  w.s64(maxBytes - 8, 0); // the same limit as the interpreter, for every size
  w.u8(W.i64_gt_u);
  w.u8x2(W.br_if, 0);
  w.u8x2(W.local_get, EA);
  w.u8(W.i32_wrap_i64);
  w.u8x2(W.local_set, A);
  shadowOf(0);
  w.u8x2(W.local_set, SA);
  shadowOf(size - 1);
  w.u8x2(W.local_set, SB);
  w.u8x2(W.local_get, SA);
  w.u8x2(W.local_get, SB);
  w.u8(W.i32_and);
  w.u8x2(W.i32_const, need);
  w.u8(W.i32_and);
  w.u8x2(W.i32_const, need);
  w.u8(W.i32_ne);
  w.u8x2(W.br_if, 0);
  if ((info & INFO_ATOMIC) !== 0) {
    w.u8x2(W.local_get, A);
    w.u8x2(W.i32_const, size - 1);
    w.u8(W.i32_and);
    w.u8x2(W.br_if, 1);
  }
  w.u8x2(W.local_get, SA);
  w.u8x2(W.local_get, SB);
  w.u8(W.i32_or);
  w.u8(W.i32_const);
  w.s32(0x80);
  w.u8(W.i32_and);
  w.u8(W.i32_eqz);
  w.u8x2(W.if, T.void);
  w.u8x2(W.local_get, A);
  w.u8(W.return);
  w.u8(W.end);
  // a partial granule of the region that passed the slow path last time?
  w.u8(W.i32_const);
  w.s32(ctlBase);
  w.u8(W.i32_load);
  w.u32(2);
  w.u32(CTL_PSTART);
  w.u8x2(W.local_get, A);
  w.u8(W.i32_le_u);
  w.u8x2(W.local_get, A);
  w.u8x2(W.i32_const, size);
  w.u8(W.i32_add);
  w.u8(W.i32_const);
  w.s32(ctlBase);
  w.u8(W.i32_load);
  w.u32(2);
  w.u32(CTL_PEND);
  w.u8(W.i32_le_u);
  w.u8(W.i32_and);
  w.u8x2(W.if, T.void);
  w.u8x2(W.local_get, A);
  w.u8(W.return);
  w.u8(W.end);
  w.u8x2(W.local_get, A);
  w.u8(W.i32_const);
  w.s32(size | info);
  w.u8(W.call);
  w.u32(Imp.slow);
  w.u8(W.i32_eqz);
  w.u8x2(W.br_if, 0);
  w.u8x2(W.local_get, A);
  w.u8(W.return);
  w.u8(W.end); // $fail
  faultCall(w, size | info);
  w.u8(W.end); // $misaligned
  faultCall(w, size | info | INFO_MISALIGNED);

  function faultCall(w: Writer, infoWord: number): void {
    w.u8x2(W.local_get, PC);
    w.u8x2(W.local_get, EA);
    w.u8(W.i32_wrap_i64);
    w.u8x2(W.local_get, EA);
    w.u8x2(W.i64_const, 32);
    w.u8(W.i64_shr_u);
    w.u8(W.i32_wrap_i64);
    w.u8(W.i32_const);
    w.s32(infoWord);
    w.u8(W.call);
    w.u32(Imp.fault);
    w.u8(W.unreachable);
  }
}
