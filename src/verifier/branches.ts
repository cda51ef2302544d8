// Conditional jumps: deciding a branch from the bounds when possible
// (is_branch_taken), refining both registers on each side
// (regs_refine_cond_op), null checks that turn "or null" pointers into
// pointers or zero for every copy with the same id, and packet range proofs
// from comparisons with pkt_end (find_good_pkt_pointers).

import { RegState, RegType, RegFlag, markConstScalar, markUnknown } from './reg-state.js';
import { regBoundsSync, boundsInconsistent } from './bounds.js';
import {
  tnumIntersect, tnumIsConst, tnumSubreg, tnumWithSubreg, tnumOr, tnumAnd, tnumConst, tnumSubregIsConst, U64, type Tnum,
} from './tnum.js';
import { JmpOp } from '../isa/fields.js';
import type { VerifierState } from './state.js';

const bmax = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const bmin = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/** Opcode of the false branch (the kernel's rev_opcode); JSET maps to a private "JSET not" code. */
export const JSET_NOT = 0x48;
export function revOpcode(op: number): number {
  switch (op) {
    case JmpOp.JEQ: return JmpOp.JNE;
    case JmpOp.JNE: return JmpOp.JEQ;
    case JmpOp.JSET: return JSET_NOT;
    case JSET_NOT: return JmpOp.JSET;
    case JmpOp.JGT: return JmpOp.JLE;
    case JmpOp.JLE: return JmpOp.JGT;
    case JmpOp.JGE: return JmpOp.JLT;
    case JmpOp.JLT: return JmpOp.JGE;
    case JmpOp.JSGT: return JmpOp.JSLE;
    case JmpOp.JSLE: return JmpOp.JSGT;
    case JmpOp.JSGE: return JmpOp.JSLT;
    case JmpOp.JSLT: return JmpOp.JSGE;
  }
  return op;
}

/** The same comparison with operands swapped (a > b  <=>  b < a). */
export function flipOpcode(op: number): number {
  switch (op) {
    case JmpOp.JGT: return JmpOp.JLT;
    case JmpOp.JLT: return JmpOp.JGT;
    case JmpOp.JGE: return JmpOp.JLE;
    case JmpOp.JLE: return JmpOp.JGE;
    case JmpOp.JSGT: return JmpOp.JSLT;
    case JmpOp.JSLT: return JmpOp.JSGT;
    case JmpOp.JSGE: return JmpOp.JSLE;
    case JmpOp.JSLE: return JmpOp.JSGE;
  }
  return op;
}

interface View {
  umin: bigint; umax: bigint; smin: bigint; smax: bigint; value: bigint; mask: bigint; isConst: boolean;
}

function view(r: RegState, w32: boolean): View {
  if (w32) {
    const t = tnumSubreg(r.varOff);
    return {
      umin: BigInt(r.u32min), umax: BigInt(r.u32max), smin: BigInt(r.s32min), smax: BigInt(r.s32max),
      value: t.value, mask: t.mask, isConst: tnumSubregIsConst(r.varOff),
    };
  }
  return { umin: r.umin, umax: r.umax, smin: r.smin, smax: r.smax, value: r.varOff.value, mask: r.varOff.mask, isConst: tnumIsConst(r.varOff) };
}

/** 1: always taken, 0: never taken, -1: unknown. Scalars only. */
export function scalarBranchTaken(a: RegState, b: RegState, op: number, w32: boolean): number {
  const x = view(a, w32), y = view(b, w32);
  switch (op) {
    case JmpOp.JEQ:
    case JmpOp.JNE: {
      let eq = -1;
      if (x.isConst && y.isConst) eq = x.value === y.value ? 1 : 0;
      else if (x.umin > y.umax || x.umax < y.umin || x.smin > y.smax || x.smax < y.smin) eq = 0;
      else if (((x.value ^ y.value) & ~(x.mask | y.mask) & U64) !== 0n) eq = 0;
      if (eq < 0) return -1;
      return op === JmpOp.JEQ ? eq : 1 - eq;
    }
    case JmpOp.JSET:
    case JSET_NOT: {
      let r = -1;
      const [t, c] = y.isConst ? [x, y] : x.isConst ? [y, x] : [undefined, undefined];
      if (t && c) {
        if ((t.value & c.value) !== 0n) r = 1;
        else if (((t.mask | t.value) & c.value) === 0n) r = 0;
      }
      if (r < 0) return -1;
      return op === JmpOp.JSET ? r : 1 - r;
    }
    case JmpOp.JGT: return x.umin > y.umax ? 1 : x.umax <= y.umin ? 0 : -1;
    case JmpOp.JGE: return x.umin >= y.umax ? 1 : x.umax < y.umin ? 0 : -1;
    case JmpOp.JLT: return x.umax < y.umin ? 1 : x.umin >= y.umax ? 0 : -1;
    case JmpOp.JLE: return x.umax <= y.umin ? 1 : x.umin > y.umax ? 0 : -1;
    case JmpOp.JSGT: return x.smin > y.smax ? 1 : x.smax <= y.smin ? 0 : -1;
    case JmpOp.JSGE: return x.smin >= y.smax ? 1 : x.smax < y.smin ? 0 : -1;
    case JmpOp.JSLT: return x.smax < y.smin ? 1 : x.smin >= y.smax ? 0 : -1;
    case JmpOp.JSLE: return x.smax <= y.smin ? 1 : x.smin > y.smax ? 0 : -1;
  }
  return -1;
}

function isPow2(v: bigint): boolean {
  return v !== 0n && (v & (v - 1n)) === 0n;
}

/** One of a scalar's four bound pairs, read and written as bigints, so each rule is written once for all four. */
interface Bounds {
  lo(r: RegState): bigint;
  hi(r: RegState): bigint;
  setLo(r: RegState, v: bigint): void;
  setHi(r: RegState, v: bigint): void;
  /** A constant of this width as this domain reads it (unsigned or signed). */
  of(v: bigint): bigint;
}

const U64B: Bounds = {
  lo: (r) => r.umin, hi: (r) => r.umax, of: (v) => v,
  setLo: (r, v) => { r.umin = v; }, setHi: (r, v) => { r.umax = v; },
};
const S64B: Bounds = {
  lo: (r) => r.smin, hi: (r) => r.smax, of: (v) => BigInt.asIntN(64, v),
  setLo: (r, v) => { r.smin = v; }, setHi: (r, v) => { r.smax = v; },
};
const U32B: Bounds = {
  lo: (r) => BigInt(r.u32min), hi: (r) => BigInt(r.u32max), of: (v) => v,
  setLo: (r, v) => { r.u32min = Number(v); }, setHi: (r, v) => { r.u32max = Number(v); },
};
const S32B: Bounds = {
  lo: (r) => BigInt(r.s32min), hi: (r) => BigInt(r.s32max), of: (v) => BigInt.asIntN(32, v),
  setLo: (r, v) => { r.s32min = Number(v); }, setHi: (r, v) => { r.s32max = Number(v); },
};

/** The unsigned and signed bound pairs of a comparison's width. */
const boundsOf = (w32: boolean): readonly [Bounds, Bounds] => (w32 ? [U32B, S32B] : [U64B, S64B]);

/** The known-bits part a comparison of this width sees, and writing it back. */
const tnumPart = (r: RegState, w32: boolean): Tnum => (w32 ? tnumSubreg(r.varOff) : r.varOff);
function setTnumPart(r: RegState, w32: boolean, t: Tnum): void {
  r.varOff = w32 ? tnumWithSubreg(r.varOff, t) : t;
}

/** Narrow r1 and r2 (scalars) to the values for which `r1 op r2` holds (the kernel's regs_refine_cond_op). */
export function refineCond(r1: RegState, r2: RegState, op: number, w32: boolean): void {
  if (op === JmpOp.JGE || op === JmpOp.JGT || op === JmpOp.JSGE || op === JmpOp.JSGT) {
    op = flipOpcode(op);
    [r1, r2] = [r2, r1];
  }
  const isConst = (r: RegState): boolean => (w32 ? tnumSubregIsConst(r.varOff) : tnumIsConst(r.varOff));
  const width = w32 ? 0xffffffffn : U64;
  switch (op) {
    case JmpOp.JEQ: {
      // Both take the intersection of their ranges and known bits.
      for (const b of boundsOf(w32)) {
        const lo = bmax(b.lo(r1), b.lo(r2));
        const hi = bmin(b.hi(r1), b.hi(r2));
        b.setLo(r1, lo); b.setLo(r2, lo);
        b.setHi(r1, hi); b.setHi(r2, hi);
      }
      const t = tnumIntersect(tnumPart(r1, w32), tnumPart(r2, w32));
      setTnumPart(r1, w32, t);
      setTnumPart(r2, w32, t);
      break;
    }
    case JmpOp.JNE: {
      // Against a constant: a range that ends on it loses that end.
      if (!isConst(r2)) [r1, r2] = [r2, r1];
      if (!isConst(r2)) break;
      const v = r2.varOff.value & width;
      for (const b of boundsOf(w32)) {
        const c = b.of(v);
        if (b.lo(r1) === c) b.setLo(r1, c + 1n);
        if (b.hi(r1) === c) b.setHi(r1, c - 1n);
      }
      break;
    }
    case JmpOp.JSET:
    case JSET_NOT: {
      // A single-bit test sets that bit; a failed test clears every bit tested.
      if (!isConst(r2)) [r1, r2] = [r2, r1];
      if (!isConst(r2)) break;
      const v = r2.varOff.value & width;
      if (op === JmpOp.JSET && !isPow2(v)) break;
      const t = tnumPart(r1, w32);
      setTnumPart(r1, w32, op === JmpOp.JSET ? tnumOr(t, tnumConst(v)) : tnumAnd(t, tnumConst(~v & width)));
      break;
    }
    case JmpOp.JLE:
    case JmpOp.JLT:
    case JmpOp.JSLE:
    case JmpOp.JSLT: {
      // r1 <= r2 (or <): r1's upper bound is at most r2's, r2's lower bound at least r1's.
      const [ub, sb] = boundsOf(w32);
      const b = op === JmpOp.JLE || op === JmpOp.JLT ? ub : sb;
      const strict = op === JmpOp.JLT || op === JmpOp.JSLT ? 1n : 0n;
      b.setHi(r1, bmin(b.hi(r1), b.hi(r2) - strict));
      b.setLo(r2, bmax(b.lo(r1) + strict, b.lo(r2)));
      break;
    }
  }
}

/**
 * Refine scalars r1, r2 for the branch where `r1 op r2` holds. Returns false
 * when the bounds contradict each other: that branch cannot happen.
 */
export function regSetMinMax(r1: RegState, r2: RegState, op: number, w32: boolean): boolean {
  if (r1.type !== RegType.SCALAR || r2.type !== RegType.SCALAR) return true;
  refineCond(r1, r2, op, w32);
  if (boundsInconsistent(r1) || boundsInconsistent(r2)) return false;
  regBoundsSync(r1);
  regBoundsSync(r2);
  return !(boundsInconsistent(r1) || boundsInconsistent(r2));
}

/** Copy a refined scalar's bounds to every other scalar with the same id (copies made by mov). */
export function syncLinkedScalars(state: VerifierState, r: RegState): void {
  if (r.type !== RegType.SCALAR || r.id === 0) return;
  const id = r.id;
  state.updateRegs((o) => o !== r && o.type === RegType.SCALAR && o.id === id, (o) => o.copyFrom(r));
}

/**
 * A null check on a maybe-null pointer with id `id`: on the null side every
 * copy becomes the scalar 0; on the other side the "or null" goes away.
 * Returns the reference id released on the null side (ring buffer memory), or 0.
 */
export function markPtrOrNull(state: VerifierState, id: number, isNull: boolean, innerMap?: (mapIndex: number) => number, keepId?: (r: RegState) => boolean): number {
  let released = 0;
  state.updateRegs((r) => r.id === id && (r.flags & RegFlag.MAYBE_NULL) !== 0, (r) => {
    if (isNull) {
      // only the acquired pointer's own NULL drops its reference, not a cast of it (the kernel's ref_obj_id == id)
      if (r.refObjId && r.refObjId === id) released = r.refObjId;
      markConstScalar(r, 0n);
    } else {
      r.flags &= ~RegFlag.MAYBE_NULL;
      const inner = r.type === RegType.PTR_TO_MAP_VALUE && innerMap ? innerMap(r.mapIndex) : -1;
      if (inner >= 0) {
        r.type = RegType.CONST_PTR_TO_MAP;
        r.mapIndex = inner;
      }
      // The id only tied the copies for this check (references keep ref_obj_id; a value
      // holding a bpf_spin_lock keeps it too, critical.ts keepsLockId).
      if (!keepId?.(r)) r.id = 0;
    }
  });
  if (isNull && released) {
    const k = state.refs.findIndex((x) => x.id === released);
    if (k >= 0) state.refs.splice(k, 1);
  }
  return released;
}

/** MAX_PACKET_OFF: packet offsets beyond 64 KiB prove nothing. */
const MAX_PACKET_OFF = 0xffff;

/** Every packet pointer with dst's id now has at least `dst.off (+1)` bytes proven. */
export function findGoodPktPointers(state: VerifierState, dst: RegState, openRight: boolean): void {
  if (dst.umax > BigInt(MAX_PACKET_OFF) || BigInt(dst.off) + dst.umax > BigInt(MAX_PACKET_OFF)) return;
  if (dst.off < 0) return;
  const range = dst.off + (openRight ? 1 : 0);
  const type = dst.type, id = dst.id;
  state.updateRegs((r) => r.type === type && r.id === id && r.range < range, (r) => {
    r.range = range;
  });
}

/**
 * Comparisons between a packet pointer and pkt_end. `inTrue` receives the
 * proof when the jump is taken, `inFalse` when it falls through.
 */
export function matchPktPointers(op: number, dst: RegState, src: RegState): { reg: 'dst' | 'src'; branch: 'true' | 'false'; open: boolean } | undefined {
  // pkt' vs pkt_end proves packet bytes; pkt_meta' vs pkt proves metadata bytes.
  const meta = dst.type === RegType.PTR_TO_PACKET_META || src.type === RegType.PTR_TO_PACKET_META;
  const isPkt = (r: RegState): boolean => r.type === (meta ? RegType.PTR_TO_PACKET_META : RegType.PTR_TO_PACKET);
  // The packet start used as the end of the metadata must be the unmodified data pointer.
  const isEnd = (r: RegState): boolean =>
    meta ? r.type === RegType.PTR_TO_PACKET && r.off === 0 && r.varOff.mask === 0n && r.varOff.value === 0n : r.type === RegType.PTR_TO_PACKET_END;
  if (isPkt(dst) && isEnd(src)) {
    // pkt' OP pkt_end
    switch (op) {
      case JmpOp.JGT: return { reg: 'dst', branch: 'false', open: false }; // pkt' <= end
      case JmpOp.JLE: return { reg: 'dst', branch: 'true', open: false };
      case JmpOp.JGE: return { reg: 'dst', branch: 'false', open: true }; // pkt' < end
      case JmpOp.JLT: return { reg: 'dst', branch: 'true', open: true };
    }
  } else if (isEnd(dst) && isPkt(src)) {
    // pkt_end OP pkt'
    switch (op) {
      case JmpOp.JLT: return { reg: 'src', branch: 'false', open: false }; // end >= pkt'
      case JmpOp.JGE: return { reg: 'src', branch: 'true', open: false };
      case JmpOp.JLE: return { reg: 'src', branch: 'false', open: true }; // end > pkt'
      case JmpOp.JGT: return { reg: 'src', branch: 'true', open: true };
    }
  }
  return undefined;
}

export { markUnknown };
