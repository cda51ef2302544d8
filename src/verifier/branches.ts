// Conditional jumps: deciding a branch from the bounds when possible
// (is_branch_taken), refining both registers on each side
// (regs_refine_cond_op), null checks that turn "or null" pointers into
// pointers or zero for every copy with the same id, and packet range proofs
// from comparisons with pkt_end (find_good_pkt_pointers).

import { RegState, RegType, RegFlag, markConstScalar, markUnknown } from './reg-state.js';
import { regBoundsSync, boundsInconsistent } from './bounds.js';
import {
  tnumIntersect, tnumIsConst, tnumSubreg, tnumWithSubreg, tnumOr, tnumAnd, tnumConst, tnumSubregIsConst, U64,
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

/** Narrow r1 and r2 (scalars) to the values for which `r1 op r2` holds. */
export function refineCond(r1: RegState, r2: RegState, op: number, w32: boolean): void {
  if (op === JmpOp.JGE || op === JmpOp.JGT || op === JmpOp.JSGE || op === JmpOp.JSGT) {
    op = flipOpcode(op);
    [r1, r2] = [r2, r1];
  }
  const isConst = (r: RegState): boolean => (w32 ? tnumSubregIsConst(r.varOff) : tnumIsConst(r.varOff));
  const constVal = (r: RegState): bigint => (w32 ? r.varOff.value & 0xffffffffn : r.varOff.value);
  switch (op) {
    case JmpOp.JEQ:
      if (w32) {
        r1.u32min = r2.u32min = Math.max(r1.u32min, r2.u32min);
        r1.u32max = r2.u32max = Math.min(r1.u32max, r2.u32max);
        r1.s32min = r2.s32min = Math.max(r1.s32min, r2.s32min);
        r1.s32max = r2.s32max = Math.min(r1.s32max, r2.s32max);
        const t = tnumIntersect(tnumSubreg(r1.varOff), tnumSubreg(r2.varOff));
        r1.varOff = tnumWithSubreg(r1.varOff, t);
        r2.varOff = tnumWithSubreg(r2.varOff, t);
      } else {
        r1.umin = r2.umin = bmax(r1.umin, r2.umin);
        r1.umax = r2.umax = bmin(r1.umax, r2.umax);
        r1.smin = r2.smin = bmax(r1.smin, r2.smin);
        r1.smax = r2.smax = bmin(r1.smax, r2.smax);
        r1.varOff = r2.varOff = tnumIntersect(r1.varOff, r2.varOff);
      }
      break;
    case JmpOp.JNE: {
      if (!isConst(r2)) [r1, r2] = [r2, r1];
      if (!isConst(r2)) break;
      const v = constVal(r2);
      if (w32) {
        const u = Number(v), s = u | 0;
        if (r1.u32min === u) r1.u32min++;
        if (r1.u32max === u) r1.u32max--;
        if (r1.s32min === s) r1.s32min++;
        if (r1.s32max === s) r1.s32max--;
      } else {
        const s = BigInt.asIntN(64, v);
        if (r1.umin === v) r1.umin++;
        if (r1.umax === v) r1.umax--;
        if (r1.smin === s) r1.smin++;
        if (r1.smax === s) r1.smax--;
      }
      break;
    }
    case JmpOp.JSET: {
      if (!isConst(r2)) [r1, r2] = [r2, r1];
      if (!isConst(r2)) break;
      const v = constVal(r2);
      if (!isPow2(v)) break;
      if (w32) r1.varOff = tnumWithSubreg(r1.varOff, tnumOr(tnumSubreg(r1.varOff), tnumConst(v)));
      else r1.varOff = tnumOr(r1.varOff, tnumConst(v));
      break;
    }
    case JSET_NOT: {
      if (!isConst(r2)) [r1, r2] = [r2, r1];
      if (!isConst(r2)) break;
      const v = constVal(r2);
      if (w32) r1.varOff = tnumWithSubreg(r1.varOff, tnumAnd(tnumSubreg(r1.varOff), tnumConst(~v & 0xffffffffn)));
      else r1.varOff = tnumAnd(r1.varOff, tnumConst(~v & U64));
      break;
    }
    case JmpOp.JLE:
      if (w32) {
        r1.u32max = Math.min(r1.u32max, r2.u32max);
        r2.u32min = Math.max(r1.u32min, r2.u32min);
      } else {
        r1.umax = bmin(r1.umax, r2.umax);
        r2.umin = bmax(r1.umin, r2.umin);
      }
      break;
    case JmpOp.JLT:
      if (w32) {
        r1.u32max = Math.min(r1.u32max, r2.u32max - 1);
        r2.u32min = Math.max(r1.u32min + 1, r2.u32min);
      } else {
        r1.umax = bmin(r1.umax, r2.umax - 1n);
        r2.umin = bmax(r1.umin + 1n, r2.umin);
      }
      break;
    case JmpOp.JSLE:
      if (w32) {
        r1.s32max = Math.min(r1.s32max, r2.s32max);
        r2.s32min = Math.max(r1.s32min, r2.s32min);
      } else {
        r1.smax = bmin(r1.smax, r2.smax);
        r2.smin = bmax(r1.smin, r2.smin);
      }
      break;
    case JmpOp.JSLT:
      if (w32) {
        r1.s32max = Math.min(r1.s32max, r2.s32max - 1);
        r2.s32min = Math.max(r1.s32min + 1, r2.s32min);
      } else {
        r1.smax = bmin(r1.smax, r2.smax - 1n);
        r2.smin = bmax(r1.smin + 1n, r2.smin);
      }
      break;
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
export function markPtrOrNull(state: VerifierState, id: number, isNull: boolean, innerMap?: (mapIndex: number) => number): number {
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
      // The id only tied the copies for this check (references keep ref_obj_id).
      r.id = 0;
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
