// Arena accesses in JIT code (src/vm/arena-access.ts): the loads, stores
// and atomics the verifier marked run inside an `if` that confines them to
// the arena, in every mode, 'jit-verified' included; other accesses are
// emitted exactly as before. A miss (outside the arena, or a page that is
// not allocated) loads 0 or does nothing, as the kernel's BPF_PROBE_MEM32
// exception handler does.
//
//   ea = base + off                       (i64, kept in T0)
//   a  = (ea - start) <=u size - width ? (i32)ea : 0
//   ok = shadow(a) & shadow(a + width - 1) & perm == perm   [& a aligned, atomics]
//   if ok { access at a } else { 0 / nothing }
//
// Address 0 lies in the never-mapped first page, whose shadow byte is 0, so
// an address outside the arena fails the shadow test without a second
// branch, and the shadow load itself never leaves the shadow map.

import { Perm } from '../memory.js';
import type { ArenaAccess } from '../arena-access.js';
import { L_A0 } from './abi.js';
import { pushClampedAddress, pushShadowByte } from './check.js';
import { T, W } from './wasm/opcodes.js';
import type { Writer } from './wasm/writer.js';

/**
 * Open the arena access of `size` bytes at base + off: leaves `if` blocks
 * open (result i64 for a load, none otherwise) with the i32 address on the
 * stack inside; the caller emits the access with memarg offset 0, then
 * calls closeArenaAccess.
 */
export function openArenaAccess(w: Writer, arena: ArenaAccess, base: number, off: number, size: number, kind: 'load' | 'store' | 'atomic'): void {
  const perm = kind === 'load' ? Perm.R : kind === 'store' ? Perm.W : Perm.RW;
  w.u8x2(W.local_get, base);
  // inside: ea - start <= size - width, as unsigned 64-bit (a base above 4 GiB misses too)
  pushClampedAddress(w, off, arena.start, arena.size - size);
  pushShadowByte(w, 0);
  if (size > 1) {
    w.u8x2(W.local_get, L_A0);
    pushShadowByte(w, size - 1);
    w.u8(W.i32_and);
  }
  w.u8x2(W.i32_const, perm);
  w.u8(W.i32_and);
  w.u8x2(W.i32_const, perm);
  w.u8(W.i32_eq);
  if (kind === 'atomic') {
    // Wasm atomics trap when misaligned: such an access misses instead (x86 would run it)
    w.u8x2(W.local_get, L_A0);
    w.u8x2(W.i32_const, size - 1);
    w.u8(W.i32_and);
    w.u8(W.i32_eqz);
    w.u8(W.i32_and);
  }
  w.u8x2(W.if, kind === 'load' ? T.i64 : T.void);
  w.u8x2(W.local_get, L_A0);
}

/** Close what openArenaAccess opened: a missed load gives 0. */
export function closeArenaAccess(w: Writer, kind: 'load' | 'store' | 'atomic'): void {
  if (kind === 'load') {
    w.u8(W.else);
    w.u8x2(W.i64_const, 0);
  }
  w.u8(W.end);
}

