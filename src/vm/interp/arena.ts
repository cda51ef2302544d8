// Arena accesses in the interpreter (src/vm/arena-access.ts): the loads,
// stores and atomics the verifier found going through an arena pointer run
// here instead of in their usual case of the loop, which engine.ts arranges
// by giving them the private op InterpOp.ARENA when it pre-decodes the program.
// So no other access pays for them.
//
// An access is confined to the arena's region: an address outside it, or in
// a page that is not allocated (unmapped in the shadow map), is a miss. A
// missed load gives 0, a missed store or atomic does nothing (the fetch
// register keeps its value), as the kernel's BPF_PROBE_MEM32 /
// BPF_PROBE_ATOMIC exception handler does. Nothing here faults.
//
// The address is the base register's low 32 bits plus off: arena pointers
// are 32 bits wide (the verifier keeps them so, src/verifier/arena.ts); a
// base with upper bits set lies outside any arena, as it would in the
// kernel's 4 GiB window, and misses.

import { Op } from '../../isa/table.js';
import { Perm, SHADOW_BASE } from '../memory.js';
import { atomic32, atomic64 } from './atomics.js';

/**
 * Op values of the pre-decoded code that are not ISA rows (a const enum, so
 * the loop's case label is a literal): above every ISA Op, below OP_END and
 * OP_HALF (exec.ts).
 */
export const enum InterpOp {
  ARENA = 0xf0,
}

/** Bytes accessed by each arena-capable op; 0 for any other. */
function widthOf(o: Op): number {
  switch (o) {
    case Op.LDXB: case Op.LDXSB: case Op.STB: case Op.STXB:
      return 1;
    case Op.LDXH: case Op.LDXSH: case Op.STH: case Op.STXH:
      return 2;
    case Op.LDXW: case Op.LDXSW: case Op.STW: case Op.STXW:
    case Op.ATOMIC32_ADD: case Op.ATOMIC32_FETCH_ADD: case Op.ATOMIC32_OR: case Op.ATOMIC32_FETCH_OR:
    case Op.ATOMIC32_AND: case Op.ATOMIC32_FETCH_AND: case Op.ATOMIC32_XOR: case Op.ATOMIC32_FETCH_XOR:
    case Op.ATOMIC32_XCHG: case Op.ATOMIC32_CMPXCHG:
      return 4;
    case Op.LDXDW: case Op.STDW: case Op.STXDW:
    case Op.ATOMIC64_ADD: case Op.ATOMIC64_FETCH_ADD: case Op.ATOMIC64_OR: case Op.ATOMIC64_FETCH_OR:
    case Op.ATOMIC64_AND: case Op.ATOMIC64_FETCH_AND: case Op.ATOMIC64_XOR: case Op.ATOMIC64_FETCH_XOR:
    case Op.ATOMIC64_XCHG: case Op.ATOMIC64_CMPXCHG:
      return 8;
  }
  return 0;
}

/** Can `o` be an arena access (a load, sign-extending or not, a store or an atomic)? */
export function isArenaOp(o: Op): boolean {
  return widthOf(o) !== 0;
}

/**
 * The address of a `width`-byte access at base (lo, hi) + off, or -1 for a
 * miss: outside [start, end) or on an absent page.
 */
function arenaAddr(u8: Uint8Array, lo: number, hi: number, off: number, width: number, start: number, end: number, perm: number): number {
  if (hi !== 0) return -1;
  const a = (lo >>> 0) + off;
  if (a < start || a + width > end) return -1;
  // pages are whole granules: the first and last byte's granules say whether both pages are there
  if ((u8[SHADOW_BASE + (a >>> 3)]! & u8[SHADOW_BASE + ((a + width - 1) >>> 3)]! & perm) !== perm) return -1;
  return a;
}

/** Run the arena access `o` (dst/src as register-file indexes d, s). */
export function arenaStep(o: Op, u8: Uint8Array, dv: DataView, regs: Int32Array, d: number, s: number, off: number, imm: number, start: number, end: number): void {
  const width = widthOf(o);
  switch (o) {
    case Op.LDXB: case Op.LDXH: case Op.LDXW: case Op.LDXDW: {
      const a = arenaAddr(u8, regs[s]!, regs[s + 1]!, off, width, start, end, Perm.R);
      let lo = 0;
      let hi = 0;
      if (a >= 0) {
        if (width === 1) lo = u8[a]!;
        else if (width === 2) lo = dv.getUint16(a, true);
        else lo = dv.getInt32(a, true);
        if (width === 8) hi = dv.getInt32(a + 4, true);
      }
      regs[d] = lo;
      regs[d + 1] = hi;
      return;
    }
    case Op.LDXSB: case Op.LDXSH: case Op.LDXSW: {
      const a = arenaAddr(u8, regs[s]!, regs[s + 1]!, off, width, start, end, Perm.R);
      const v = a < 0 ? 0 : width === 1 ? (u8[a]! << 24) >> 24 : width === 2 ? dv.getInt16(a, true) : dv.getInt32(a, true);
      regs[d] = v;
      regs[d + 1] = v >> 31;
      return;
    }
    case Op.STB: case Op.STH: case Op.STW: case Op.STDW:
    case Op.STXB: case Op.STXH: case Op.STXW: case Op.STXDW: {
      const a = arenaAddr(u8, regs[d]!, regs[d + 1]!, off, width, start, end, Perm.W);
      if (a < 0) return;
      const immForm = o === Op.STB || o === Op.STH || o === Op.STW || o === Op.STDW;
      const lo = immForm ? imm : regs[s]!;
      const hi = immForm ? imm >> 31 : regs[s + 1]!;
      if (width === 1) u8[a] = lo;
      else if (width === 2) dv.setInt16(a, lo, true);
      else dv.setInt32(a, lo, true);
      if (width === 8) dv.setInt32(a + 4, hi, true);
      return;
    }
    default: {
      // atomics; a misaligned one misses too (the Wasm and JS atomics need natural alignment; x86 would run it)
      const a = arenaAddr(u8, regs[d]!, regs[d + 1]!, off, width, start, end, Perm.RW);
      if (a < 0 || (a & (width - 1)) !== 0) return;
      if (width === 4) atomic32(dv, a, o, imm, regs, s);
      else atomic64(dv, a, o, imm, regs, s);
    }
  }
}
