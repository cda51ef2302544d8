// State pruning (the kernel's is_state_visited / states_equal): at prune
// points the current state is compared with states already proven safe
// there. If an old state is at least as general as the current one (every
// value the current state allows, the old one allowed too), the rest of this
// path is safe and need not be walked again. Registers that are dead at the
// point (static liveness from cfg.ts) are ignored. Old states whose
// exploration is still under way (an enclosing loop) are never used to
// prune; an exact match with one of them is an infinite loop.

import { sectionsEqual } from './critical.js';
import { RegState, RegType, markUnknown, scalarWithin, sameBounds } from './reg-state.js';
import { tnumEquals } from './tnum.js';
import { StackByte, type FuncState, type VerifierState } from './state.js';

/**
 * What may still be read at a prune point, per frame (index = frame
 * number): the registers, and the 8-byte stack slots as two 32-bit masks
 * (stack-liveness.ts). The walk fills one of these per visit and reuses it.
 */
export interface Liveness {
  readonly regs: Int32Array;
  readonly slotsLo: Uint32Array;
  readonly slotsHi: Uint32Array;
}

/**
 * Bijection between ids of the old and the current state. One instance is
 * reused for every comparison (reset first): pruning compares many states
 * per visit and should not allocate for each.
 */
class IdMap {
  private readonly o2c = new Map<number, number>();
  private readonly c2o = new Map<number, number>();
  private tmp = 1 << 30;

  reset(): this {
    if (this.o2c.size > 0) {
      this.o2c.clear();
      this.c2o.clear();
    }
    this.tmp = 1 << 30;
    return this;
  }

  check(oldId: number, curId: number): boolean {
    // Both unset always agree (a fresh pair each, as check_scalar_ids would make).
    if (oldId === 0 && curId === 0) return true;
    const o = oldId || ++this.tmp;
    const c = curId || ++this.tmp;
    const mc = this.o2c.get(o);
    const mo = this.c2o.get(c);
    if (mc === undefined && mo === undefined) {
      this.o2c.set(o, c);
      this.c2o.set(c, o);
      return true;
    }
    return mc === c && mo === o;
  }
}

const sharedIds = new IdMap();

/**
 * 'within': the kernel's NOT_EXACT (dead registers and imprecise scalars
 * ignored); 'range': RANGE_WITHIN, for loops still being explored (every
 * register and slot compared, imprecise scalars by range too); 'exact'.
 */
export type Exactness = 'within' | 'range' | 'exact';

function regSafe(old: RegState, cur: RegState, ids: IdMap, exact: Exactness): boolean {
  if (exact === 'within' && old.type === RegType.NOT_INIT) return true;
  if (old.type !== cur.type || old.flags !== cur.flags) return false;
  if (old.type === RegType.NOT_INIT) return true;
  if (exact === 'exact') {
    return sameBounds(old, cur) && old.off === cur.off && old.range === cur.range && old.mapIndex === cur.mapIndex &&
      old.memSize === cur.memSize && old.frameno === cur.frameno && old.btfType === cur.btfType && ids.check(old.id, cur.id) && ids.check(old.refObjId, cur.refObjId);
  }
  if (old.type === RegType.SCALAR) {
    if (!old.precise && exact === 'within') return true;
    if (!scalarWithin(old, cur)) return false;
    // Linked scalars: if the old state relied on two registers moving together, so must the current one.
    return old.id === 0 || ids.check(old.id, cur.id);
  }
  if (old.off !== cur.off || old.mapIndex !== cur.mapIndex || old.memSize !== cur.memSize || old.frameno !== cur.frameno) return false;
  if (old.btfType !== cur.btfType) return false;
  if (!scalarWithin(old, cur)) return false;
  if (old.type === RegType.PTR_TO_PACKET || old.type === RegType.PTR_TO_PACKET_META) {
    if (old.range > cur.range) return false;
  }
  if (!ids.check(old.id, cur.id)) return false;
  return ids.check(old.refObjId, cur.refObjId);
}

function stackSafe(old: FuncState, cur: FuncState, ids: IdMap, exact: Exactness, liveLo: number, liveHi: number): boolean {
  if (old.sameStack(cur) && !hasIds(old)) return true;
  const ow = old.words;
  const cw = cur.words;
  const within = exact === 'within';
  for (let s = 0; s < ow.length >> 1; s++) {
    const o0 = ow[2 * s]!, o1 = ow[2 * s + 1]!, c0 = cw[2 * s]!, c1 = cw[2 * s + 1]!;
    // A slot nothing reads again (stack-liveness.ts) cannot matter; iterator slots are always compared.
    if (within && !slotBit(liveLo, liveHi, s) && ((o0 | o1 | c0 | c1) & BIT2) === 0) continue;
    // Equal slots of plain bytes (invalid, data, zero) agree in every mode; most of a stack is these.
    if (o0 === c0 && o1 === c1 && !special(o0) && !special(o1)) continue;
    if (!slotSafe(old, cur, s, ids, exact)) return false;
  }
  return true;
}

// Slot bytes are read four to a word. StackByte values are 0..4: SPILL (3) is
// the only one with bits 0 and 1 set, ITER (4) the only one with bit 2 (any
// larger value also has one of these, and so is compared byte by byte).
const BIT2 = 0x04040404;

/** Does a word hold a SPILL or ITER byte (or anything beyond plain bytes)? */
function special(w: number): boolean {
  return ((w & (w >>> 1) & 0x01010101) | (w & BIT2)) !== 0;
}

/** One 8-byte slot, byte by byte. */
function slotSafe(old: FuncState, cur: FuncState, slot: number, ids: IdMap, exact: Exactness): boolean {
  const ob = old.bytes;
  const cb = cur.bytes;
  for (let i = slot * 8; i < slot * 8 + 8; i++) {
    const o = ob[i]!;
    const c = cb[i]!;
    if (o === c && o < StackByte.SPILL) continue;
    if (exact !== 'within') {
      if (o !== c) return false;
    } else if (o === StackByte.INVALID) {
      continue;
    } else if (o === StackByte.MISC) {
      if (c === StackByte.MISC || c === StackByte.ZERO) continue;
      if (c === StackByte.SPILL && cur.spilled[slot]?.type === RegType.SCALAR) continue;
      return false;
    } else if (o !== c) {
      return false;
    }
    if (o === StackByte.SPILL && (i & 7) === 0) {
      const so = old.spilled[slot];
      const sc = cur.spilled[slot];
      if (!so || !sc || !regSafe(so, sc, ids, exact)) return false;
    }
    if (o === StackByte.ITER && (i & 7) === 0 && !iterSafe(old.spilled[slot], cur.spilled[slot], ids, exact)) return false;
  }
  return true;
}

/**
 * Iterator slots (iter.ts): same kind, same state, same reference. Depths
 * only count in 'exact' (the infinite-loop check): an active iterator one
 * iteration deeper is progress, not a loop (iter_active_depths_differ).
 */
function iterSafe(o: RegState | null | undefined, c: RegState | null | undefined, ids: IdMap, exact: Exactness): boolean {
  if (!o || !c) return o === c;
  if (o.btfType !== c.btfType || o.iterState !== c.iterState || !ids.check(o.refObjId, c.refObjId)) return false;
  return exact !== 'exact' || o.iterDepth === c.iterDepth;
}

function slotBit(lo: number, hi: number, slot: number): boolean {
  return ((slot < 32 ? lo >>> slot : hi >>> (slot - 32)) & 1) === 1;
}

/** Spills with ids must still go through the id map, even when the stacks are shared. */
function hasIds(f: FuncState): boolean {
  for (const s of f.spilled) if (s && (s.id || s.refObjId)) return true;
  return false;
}

/**
 * Is the current state covered by the old one? `live` says which registers
 * and stack slots each frame may still read ('within' ignores the others).
 */
export function statesEqual(old: VerifierState, cur: VerifierState, live: Liveness, exact: Exactness): boolean {
  if (old.frames.length !== cur.frames.length) return false;
  if (old.refs.length !== cur.refs.length) return false;
  const ids = sharedIds.reset();
  for (let f = 0; f < old.frames.length; f++) {
    const fo = old.frames[f]!;
    const fc = cur.frames[f]!;
    if (fo.callsite !== fc.callsite) return false;
    // Fewer callbacks entered from the current call may still enter more (the kernel's func_states_equal).
    if (fo.callbackDepth > fc.callbackDepth) return false;
    const mask = exact === 'within' ? live.regs[f]! : 0x7ff;
    // Scalars first: they are what usually differs (a loop counter), and the
    // verdict does not depend on the order (the id map is a bijection either way).
    for (let r = 0; r < 11; r++) {
      if (mask & (1 << r) && fo.regs[r]!.type === RegType.SCALAR && !regSafe(fo.regs[r]!, fc.regs[r]!, ids, exact)) return false;
    }
    for (let r = 0; r < 11; r++) {
      if (mask & (1 << r) && fo.regs[r]!.type !== RegType.SCALAR && !regSafe(fo.regs[r]!, fc.regs[r]!, ids, exact)) return false;
    }
    if (!stackSafe(fo, fc, ids, exact, live.slotsLo[f]!, live.slotsHi[f]!)) return false;
  }
  for (let i = 0; i < old.refs.length; i++) if (!ids.check(old.refs[i]!.id, cur.refs[i]!.id)) return false;
  return sectionsEqual(old, cur, ids);
}

/** A state stored at a prune point, with the number of paths below it still being explored. */
export class Checkpoint {
  branches = 1;
  /** Instructions the creating path ran from the parent checkpoint to here (for precision backtracking). */
  hist: number[] = [];
  /** Times this state failed / succeeded to prune (states that keep missing are evicted, as the kernel does). */
  miss = 0;
  hit = 0;
  /** Frames in the stored state (kept when the state itself is dropped). */
  readonly depth: number;
  private kept: VerifierState | null;
  constructor(
    state: VerifierState,
    readonly parent: Checkpoint | null,
    readonly insn: number,
  ) {
    this.kept = state;
    this.depth = state.frames.length;
  }

  /** The stored state; only checkpoints still listed at their instruction have one. */
  get state(): VerifierState {
    if (!this.kept) throw new Error(`internal: checkpoint at insn ${this.insn} was evicted`);
    return this.kept;
  }

  /** The stored state, or null once evicted (precision backtracking walks through evicted ones). */
  get stored(): VerifierState | null {
    return this.kept;
  }

  /**
   * Evicted from its instruction's list: nothing compares with the state
   * again, so it is dropped (the node stays: paths below still count their
   * branches up the parent chain and backtrack through its history). Keeping
   * every state of a long loop alive made the walk spend most of its time in
   * the garbage collector.
   */
  evict(): void {
    this.kept = null;
  }
}

/** A path ended (exit or pruned): its checkpoints lose one pending branch each, up the chain. */
export function finishBranch(cp: Checkpoint | null): void {
  while (cp) {
    cp.branches--;
    if (cp.branches > 0) return;
    cp = cp.parent;
  }
}

export { tnumEquals };

/**
 * Loop convergence (the kernel's widen_imprecise_scalars): a scalar that
 * nothing has made precise and that differs from the previous iteration's
 * (`old`, a state at the same instruction still being explored) becomes
 * unknown in `cur`, registers and spilled scalars of every frame, so that
 * iterations that only count or accumulate reach a state the previous one
 * covers.
 */
export function widenImpreciseScalars(old: VerifierState, cur: VerifierState): void {
  const ids = sharedIds.reset();
  const widens = (o: RegState, c: RegState): boolean =>
    o.type === RegType.SCALAR && c.type === RegType.SCALAR && !o.precise && !c.precise && !regSafe(o, c, ids, 'exact');
  const n = Math.min(old.frames.length, cur.frames.length);
  for (let f = n - 1; f >= 0; f--) {
    const fo = old.frames[f]!;
    const fc = cur.frames[f]!;
    for (let r = 0; r < fo.regs.length; r++) if (widens(fo.regs[r]!, fc.regs[r]!)) markUnknown(fc.regs[r]!);
    for (let slot = 0; slot < fo.spilled.length; slot++) {
      const so = fo.spilled[slot];
      const sc = fc.spilled[slot];
      // Only whole 8-byte spills, as the kernel's is_spilled_reg.
      if (!so || !sc || !fullSpill(fo, slot) || !fullSpill(fc, slot) || !widens(so, sc)) continue;
      markUnknown(fc.wspilled()[slot]!);
    }
  }
}

function fullSpill(f: FuncState, slot: number): boolean {
  for (let b = 0; b < 8; b++) if (f.bytes[slot * 8 + b] !== StackByte.SPILL) return false;
  return true;
}
