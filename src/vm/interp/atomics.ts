// Atomic read-modify-write of the interpreter, once the access has passed
// its checks (aligned, mapped read-write). One thread runs a program at a
// time, so plain reads and writes are atomic enough. The fetch forms and
// xchg return the old value in src, cmpxchg in r0 (compared with r0 first).

import { AtomicOp } from '../../isa/fields.js';
import { Op } from '../../isa/table.js';

/** 32-bit atomic `o` at a (imm is the instruction's immediate: its FETCH bit). */
export function atomic32(dv: DataView, a: number, o: Op, imm: number, regs: Int32Array, s: number): void {
  const old = dv.getInt32(a, true);
  const v = regs[s]!;
  switch (o) {
    case Op.ATOMIC32_ADD:
    case Op.ATOMIC32_FETCH_ADD:
      dv.setInt32(a, (old + v) | 0, true);
      break;
    case Op.ATOMIC32_OR:
    case Op.ATOMIC32_FETCH_OR:
      dv.setInt32(a, old | v, true);
      break;
    case Op.ATOMIC32_AND:
    case Op.ATOMIC32_FETCH_AND:
      dv.setInt32(a, old & v, true);
      break;
    case Op.ATOMIC32_XOR:
    case Op.ATOMIC32_FETCH_XOR:
      dv.setInt32(a, old ^ v, true);
      break;
    case Op.ATOMIC32_XCHG:
      dv.setInt32(a, v, true);
      break;
    default: // CMPXCHG: compare with r0's low half; r0 gets the old value zero-extended
      if (old === regs[0]) dv.setInt32(a, v, true);
      regs[0] = old;
      regs[1] = 0;
      return;
  }
  if (o === Op.ATOMIC32_XCHG || (imm & AtomicOp.FETCH) !== 0) {
    regs[s] = old;
    regs[s + 1] = 0;
  }
}

/** 64-bit atomic `o` at a. */
export function atomic64(dv: DataView, a: number, o: Op, imm: number, regs: Int32Array, s: number): void {
  const ol = dv.getInt32(a, true);
  const oh = dv.getInt32(a + 4, true);
  const vl = regs[s]!;
  const vh = regs[s + 1]!;
  let nl = vl;
  let nh = vh;
  switch (o) {
    case Op.ATOMIC64_ADD:
    case Op.ATOMIC64_FETCH_ADD: {
      const lo = (ol >>> 0) + (vl >>> 0);
      nl = lo | 0;
      nh = (oh + vh + (lo > 0xffffffff ? 1 : 0)) | 0;
      break;
    }
    case Op.ATOMIC64_OR:
    case Op.ATOMIC64_FETCH_OR:
      nl = ol | vl;
      nh = oh | vh;
      break;
    case Op.ATOMIC64_AND:
    case Op.ATOMIC64_FETCH_AND:
      nl = ol & vl;
      nh = oh & vh;
      break;
    case Op.ATOMIC64_XOR:
    case Op.ATOMIC64_FETCH_XOR:
      nl = ol ^ vl;
      nh = oh ^ vh;
      break;
    case Op.ATOMIC64_XCHG:
      break;
    default: // CMPXCHG
      if (ol !== regs[0] || oh !== regs[1]) {
        nl = ol;
        nh = oh;
      }
      regs[0] = ol;
      regs[1] = oh;
      dv.setInt32(a, nl, true);
      dv.setInt32(a + 4, nh, true);
      return;
  }
  dv.setInt32(a, nl, true);
  dv.setInt32(a + 4, nh, true);
  if (o === Op.ATOMIC64_XCHG || (imm & AtomicOp.FETCH) !== 0) {
    regs[s] = ol;
    regs[s + 1] = oh;
  }
}
