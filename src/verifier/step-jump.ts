// Per-instruction rules for jumps: unconditional jumps, and conditional
// jumps that are decided by the operands' bounds or explored both ways (the
// jump side is pushed on the walk's pending list with its own refined state).

import type { InsnDef } from '../isa/table.js';
import { Shape } from '../isa/table.js';
import { JmpOp } from '../isa/fields.js';
import { Reject, type Env, type MapInfo } from './env.js';
import type { VerifierState } from './state.js';
import { RegFlag, RegType, isNullConst, markConstScalar, RegState } from './reg-state.js';
import { keepsLockId } from './critical.js';
import {
  scalarBranchTaken, regSetMinMax, revOpcode, syncLinkedScalars, markPtrOrNull, matchPktPointers, findGoodPktPointers,
} from './branches.js';
import { markPrecise } from './precision.js';
import { widenImpreciseScalars } from './prune.js';
import { emitComment } from './log-state.js';
import { JMP_SEQ_LIMIT, type Walk } from './walk.js';

const immReg = new RegState();

/** ja / gotol. */
export function stepJa(w: Walk, def: InsnDef): void {
  const prog = w.env.prog;
  w.jmps++;
  if (w.level >= 1) emitComment(w.env, w.insnText);
  w.nextInsn = w.insn + 1 + (def.shape === Shape.Ja32 ? prog.imm[w.insn]! : prog.off[w.insn]!);
}

/** Conditional jumps (imm or reg operand, 32 or 64 bits). */
export function stepCondJmp(w: Walk, def: InsnDef): void {
  const env = w.env;
  const prog = env.prog;
  const insn = w.insn;
  w.jmps++;
  const target = insn + 1 + prog.off[insn]!;
  // The pushed branch rewinds the log to the end of this line (level 1 keeps only the failing path).
  const mark = w.log.mark() + 1;
  const cp = env.cp;
  const taken = checkCondJmp(env, def.shape === Shape.JmpReg, prog.dst[insn]!, prog.src[insn]!, prog.imm[insn]!, prog.opcode[insn]!, def.width === 32);
  const both = typeof taken !== 'number';
  if (both) w.pending.push({ state: taken, insn: target, prev: insn, logMark: mark, cp, hist: env.hist.slice() });
  // The comment shows the registers as the path continues (refined by the comparison).
  if (w.level >= 1) emitComment(env, w.insnText);
  if (taken === 1) w.nextInsn = target;
  if (w.pending.length > JMP_SEQ_LIMIT) throw new Reject(`The sequence of ${w.pending.length} jumps is too complex.`);
  if (both && env.cp) env.cp.branches++;
}

/**
 * may_goto +off: the kernel bounds such loops at run time (a per-frame
 * budget), so the verifier only has to see every state a loop can reach:
 * the jump (budget spent) is followed now, the fall-through (one more
 * iteration) is pushed, one may_goto deeper, with scalars that changed
 * since the previous iteration and that nothing made precise widened to
 * unknown, so that the loop converges (walk.ts prunes it when an iteration
 * is covered by the one before).
 */
export function stepMayGoto(w: Walk): void {
  const env = w.env;
  const prog = env.prog;
  const insn = w.insn;
  // (may_goto +0 is a no-op that newer kernels accept: both sides go on at the next instruction.)
  const off = prog.off[insn]!;
  w.jmps++;
  if (w.level >= 1) emitComment(env, w.insnText);
  const fall = env.state.clone();
  fall.mayGotoDepth++;
  // (env.cp is the checkpoint just stored here: may_goto forces one.)
  const prev = w.prevLoopEntry(insn, env.cp);
  if (prev) widenImpreciseScalars(prev.state, fall);
  w.pushBranch(fall, insn + 1, w.log.mark());
  w.nextInsn = insn + 1 + off;
}

/** Index (in the verifier's map list) of a map-in-map's inner map, or -1. */
export function innerMapIndex(maps: readonly MapInfo[], outer: number, count: number): number {
  let k = count;
  for (let i = 0; i < count; i++) {
    if (!maps[i]!.inner) continue;
    if (i === outer) return k;
    k++;
  }
  return -1;
}

function notNull(r: RegState): boolean {
  if (r.flags & RegFlag.MAYBE_NULL) return false;
  switch (r.type) {
    case RegType.PTR_TO_SOCKET:
    case RegType.PTR_TO_TCP_SOCK:
    case RegType.PTR_TO_MAP_VALUE:
    case RegType.PTR_TO_MAP_KEY:
    case RegType.PTR_TO_SOCK_COMMON:
    case RegType.PTR_TO_MEM:
      return true;
  }
  return false;
}

/**
 * A conditional jump. Returns 1 when only the jump is taken, 0 when only the
 * fall-through happens, and the jump side's state when both are possible
 * (the current state becomes the fall-through side).
 */
function checkCondJmp(env: Env, isReg: boolean, dstno: number, srcno: number, imm: number, code: number, w32: boolean): 0 | 1 | VerifierState {
  const regs = env.state.cur.regs;
  const dst = regs[dstno]!;
  if (dst.type === RegType.NOT_INIT) throw new Reject(`R${dstno} !read_ok`);
  let srcReg: RegState;
  if (isReg) {
    srcReg = regs[srcno]!;
    if (srcReg.type === RegType.NOT_INIT) throw new Reject(`R${srcno} !read_ok`);
  } else {
    srcReg = immReg;
    markConstScalar(srcReg, w32 ? BigInt(imm >>> 0) : BigInt(imm));
  }
  const op = code & 0xf0;
  if ((dst.isPointer() || srcReg.isPointer()) && !env.privileged) {
    if (!(op === JmpOp.JEQ || op === JmpOp.JNE) || !isNullConst(srcReg)) throw new Reject(`R${dstno} pointer comparison prohibited`);
  }
  // Decide the branch when the values allow it.
  let taken = -1;
  if (dst.type === RegType.SCALAR && srcReg.type === RegType.SCALAR) {
    taken = scalarBranchTaken(dst, srcReg, op, w32);
  } else if (op === JmpOp.JEQ || op === JmpOp.JNE) {
    // A pointer that cannot be NULL compared with 0 (the kernel's reg_not_null: map values and
    // keys, memory, sockets; not ctx or stack pointers, whose tests the kernel walks both ways).
    const [p, c] = dst.isPointer() ? [dst, srcReg] : [srcReg, dst];
    const cConst = c.type === RegType.SCALAR && (w32 ? (c.varOff.mask & 0xffffffffn) === 0n && (c.varOff.value & 0xffffffffn) === 0n : isNullConst(c));
    if (p.isPointer() && cConst && notNull(p)) taken = op === JmpOp.JNE ? 1 : 0;
  }
  if (taken >= 0 && dst.type === RegType.SCALAR) {
    // The path now depends on these values.
    if (isReg) markPrecise(env, dstno, srcno);
    else markPrecise(env, dstno);
  }
  if (taken === 1) return 1;
  if (taken === 0) return 0;
  // Both sides: the jump side gets a copy.
  const other = env.state.clone();
  const oregs = other.cur.regs;
  const odst = oregs[dstno]!;
  const osrc = isReg ? oregs[srcno]! : srcReg.clone();
  const tsrc = isReg ? regs[srcno]! : srcReg.clone();
  let jumpLive = true, fallLive = true;
  if (dst.type === RegType.SCALAR && srcReg.type === RegType.SCALAR) {
    jumpLive = regSetMinMax(odst, osrc, op, w32);
    fallLive = regSetMinMax(dst, tsrc, revOpcode(op), w32);
    if (jumpLive) {
      syncLinkedScalars(other, odst);
      if (isReg) syncLinkedScalars(other, osrc);
    }
    if (fallLive) {
      syncLinkedScalars(env.state, dst);
      if (isReg) syncLinkedScalars(env.state, tsrc);
    }
  } else if (!isReg && imm === 0 && !w32 && (op === JmpOp.JEQ || op === JmpOp.JNE) && dst.flags & RegFlag.MAYBE_NULL && dst.id) {
    // if (p == NULL): p is NULL on the jump side of JEQ and on the fall-through of JNE.
    // A map-in-map lookup that is not NULL is the inner map.
    const count = env.opts.maps?.length ?? 0;
    const inner = (idx: number): number => innerMapIndex(env.maps, idx, count);
    const keep = (r: RegState): boolean => keepsLockId(env, r);
    markPtrOrNull(other, dst.id, op === JmpOp.JEQ, inner, keep);
    markPtrOrNull(env.state, dst.id, op === JmpOp.JNE, inner, keep);
  } else if (isReg && !w32) {
    const m = matchPktPointers(op, dst, srcReg);
    if (m) {
      const st = m.branch === 'true' ? other : env.state;
      const reg = m.reg === 'dst' ? st.cur.regs[dstno]! : st.cur.regs[srcno]!;
      findGoodPktPointers(st, reg, m.open);
    }
  }
  if (!jumpLive) return 0;
  if (!fallLive) {
    env.state = other;
    return 1;
  }
  return other;
}
