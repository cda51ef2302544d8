// Atomic read-modify-write of the interpreter, once the access has passed
// its checks (aligned, mapped read-write). On a private memory one thread
// runs a program at a time, so plain reads and writes are atomic enough. On a
// shared memory (SharedArrayBuffer: worker threads run programs on the same
// maps) the operations go through Atomics, so they are atomic against other
// threads and against the JIT's Wasm atomics; 64-bit ones use BigInt64Array,
// which allocates, but only atomics pay for it. The fetch forms and xchg
// return the old value in src, cmpxchg in r0 (compared with r0 first).

import { AtomicOp } from '../../isa/fields.js';
import { Op } from '../../isa/table.js';

// Views of the last shared buffer seen (one memory per engine in practice).
let sharedBuf: ArrayBufferLike | undefined;
let sharedI32: Int32Array | undefined;
let sharedI64: BigInt64Array | undefined;

function sharedViews(dv: DataView): boolean {
  const buf = dv.buffer;
  if (buf === sharedBuf) return true;
  if (typeof SharedArrayBuffer === 'undefined' || !(buf instanceof SharedArrayBuffer)) return false;
  sharedBuf = buf;
  sharedI32 = new Int32Array(buf);
  sharedI64 = new BigInt64Array(buf);
  return true;
}

/** 32-bit atomic `o` at a (imm is the instruction's immediate: its FETCH bit). */
export function atomic32(dv: DataView, a: number, o: Op, imm: number, regs: Int32Array, s: number): void {
  if (sharedViews(dv)) return atomic32Shared(sharedI32!, a >>> 2, o, imm, regs, s);
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

/** The same on a shared memory: one Atomics operation (little-endian hosts, as Wasm). */
function atomic32Shared(i32: Int32Array, i: number, o: Op, imm: number, regs: Int32Array, s: number): void {
  const v = regs[s]!;
  let old: number;
  switch (o) {
    case Op.ATOMIC32_ADD:
    case Op.ATOMIC32_FETCH_ADD:
      old = Atomics.add(i32, i, v);
      break;
    case Op.ATOMIC32_OR:
    case Op.ATOMIC32_FETCH_OR:
      old = Atomics.or(i32, i, v);
      break;
    case Op.ATOMIC32_AND:
    case Op.ATOMIC32_FETCH_AND:
      old = Atomics.and(i32, i, v);
      break;
    case Op.ATOMIC32_XOR:
    case Op.ATOMIC32_FETCH_XOR:
      old = Atomics.xor(i32, i, v);
      break;
    case Op.ATOMIC32_XCHG:
      old = Atomics.exchange(i32, i, v);
      break;
    default: // CMPXCHG
      regs[0] = Atomics.compareExchange(i32, i, regs[0]!, v);
      regs[1] = 0;
      return;
  }
  if (o === Op.ATOMIC32_XCHG || (imm & AtomicOp.FETCH) !== 0) {
    regs[s] = old;
    regs[s + 1] = 0;
  }
}

function toBig(lo: number, hi: number): bigint {
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo >>> 0));
}

/** 64-bit atomics on a shared memory; the old value goes to regs[t], regs[t+1]. */
function atomic64Shared(i64: BigInt64Array, i: number, o: Op, imm: number, regs: Int32Array, s: number): void {
  const v = toBig(regs[s]!, regs[s + 1]!);
  let old: bigint;
  switch (o) {
    case Op.ATOMIC64_ADD:
    case Op.ATOMIC64_FETCH_ADD:
      old = Atomics.add(i64, i, v);
      break;
    case Op.ATOMIC64_OR:
    case Op.ATOMIC64_FETCH_OR:
      old = Atomics.or(i64, i, v);
      break;
    case Op.ATOMIC64_AND:
    case Op.ATOMIC64_FETCH_AND:
      old = Atomics.and(i64, i, v);
      break;
    case Op.ATOMIC64_XOR:
    case Op.ATOMIC64_FETCH_XOR:
      old = Atomics.xor(i64, i, v);
      break;
    case Op.ATOMIC64_XCHG:
      old = Atomics.exchange(i64, i, v);
      break;
    default: // CMPXCHG
      old = Atomics.compareExchange(i64, i, toBig(regs[0]!, regs[1]!), v);
      regs[0] = Number(BigInt.asIntN(32, old));
      regs[1] = Number(old >> 32n);
      return;
  }
  if (o === Op.ATOMIC64_XCHG || (imm & AtomicOp.FETCH) !== 0) {
    regs[s] = Number(BigInt.asIntN(32, old));
    regs[s + 1] = Number(old >> 32n);
  }
}

/** 64-bit atomic `o` at a. */
export function atomic64(dv: DataView, a: number, o: Op, imm: number, regs: Int32Array, s: number): void {
  if (sharedViews(dv)) return atomic64Shared(sharedI64!, a >>> 3, o, imm, regs, s);
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
