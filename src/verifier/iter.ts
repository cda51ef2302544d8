// Open-coded iterators (bpf_iter_<kind>_new/next/destroy), as the kernel
// tracks them: the iterator's struct lives in the program's stack, its
// bytes are marked StackByte.ITER and the first slot's spilled entry says
// which kind it is, whether it is active or drained, how deep the walk is
// in its loop, and the reference new() acquired (destroy() releases it, so
// a forgotten destroy is an unreleased reference at exit).
//
// next() on an active iterator forks, as process_iter_next_call does: the
// current path continues with the iterator drained and r0 = NULL, and a
// queued path continues with r0 pointing at the element and the depth one
// higher. Every next() call is a forced checkpoint (prepareKfuncCalls), and
// the walk prunes a path that reaches next() with its iterator active in a
// state the loop's earlier visit covers, ranges and all (walk.ts, the
// kernel's is_state_visited rule for iterators); imprecise scalars that
// changed since that visit are widened in the queued path (kfunc-check.ts).

import { RegState, RegType, markConstScalar, markNotInit, markPointer } from './reg-state.js';
import { StackByte, type FuncState, type VerifierState } from './state.js';
import { tnumIsConst } from './tnum.js';
import { reject, type Env } from './env.js';
import { releaseReference } from './helpers-check.js';
import { ITERS, type IterKind } from './kfuncs.js';
import { STACK_SIZE } from '../isa/fields.js';

export const ITER_ACTIVE = 1;
export const ITER_DRAINED = 2;

/** RegState.btfType of an iterator's slots: its kind's index in ITERS, plus one. */
function iterTag(kind: IterKind): number {
  return ITERS.indexOf(kind) + 1;
}

interface IterSlots {
  readonly frame: FuncState;
  /** Index of the first 8-byte slot (FuncState.spilled) of the iterator. */
  readonly slot: number;
  readonly nslots: number;
  /** Stack offset of the iterator (negative). */
  readonly off: number;
}

/** Where the iterator argument in register regno points (the kernel's iter_get_spi). */
function iterSlots(env: Env, regno: number, kind: IterKind): IterSlots {
  const r = env.state.cur.regs[regno]!;
  if (r.type !== RegType.PTR_TO_STACK) reject(`arg#${regno - 1} expected pointer to an iterator on stack`);
  if (!tnumIsConst(r.varOff)) reject('iter has to be at a constant offset');
  const off = r.off + Number(BigInt.asIntN(64, r.varOff.value));
  if (off % 8 !== 0) reject(`cannot pass in iter at an offset=${off}`);
  const nslots = kind.size / 8;
  if (off < -STACK_SIZE || off + kind.size > 0) reject(`cannot pass in iter at an offset=${off}`);
  return { frame: env.state.frames[r.frameno]!, slot: (STACK_SIZE + off) >> 3, nslots, off };
}

/** bpf_iter_<kind>_new: the slots must not hold an iterator; they become one, active, with a new reference. */
export function iterNew(env: Env, regno: number, kind: IterKind): void {
  const s = iterSlots(env, regno, kind);
  const f = s.frame;
  for (let i = s.slot * 8; i < (s.slot + s.nslots) * 8; i++) {
    if (f.bytes[i] === StackByte.ITER) reject(`expected uninitialized iter_${kind.name} as arg #${regno - 1}`);
  }
  const id = ++env.nextId;
  env.state.refs.push({ id, insn: env.insnIdx });
  const bytes = f.wbytes();
  const spilled = f.wspilled();
  for (let k = 0; k < s.nslots; k++) {
    const st = new RegState();
    markPointer(st, RegType.PTR_TO_STACK);
    st.btfType = iterTag(kind);
    st.iterState = ITER_ACTIVE;
    st.refObjId = k === 0 ? id : 0;
    spilled[s.slot + k] = st;
    for (let b = 0; b < 8; b++) bytes[(s.slot + k) * 8 + b] = StackByte.ITER;
  }
  if (-s.off > f.depth) f.depth = -s.off;
}

/** The iterator's main record, after checking the slots hold an initialized iterator of this kind (is_iter_reg_valid_init). */
function iterRecord(env: Env, regno: number, kind: IterKind): { s: IterSlots; rec: RegState } {
  const s = iterSlots(env, regno, kind);
  const f = s.frame;
  const bad = (): never => reject(`expected an initialized iter_${kind.name} as arg #${regno - 1}`);
  for (let k = 0; k < s.nslots; k++) {
    const st = f.spilled[s.slot + k];
    if (!st || st.btfType !== iterTag(kind) || st.iterState === 0) bad();
    if (k === 0 ? st!.refObjId === 0 : st!.refObjId !== 0) bad();
    for (let b = 0; b < 8; b++) if (f.bytes[(s.slot + k) * 8 + b] !== StackByte.ITER) bad();
  }
  return { s, rec: f.spilled[s.slot]! };
}

/** bpf_iter_<kind>_destroy: the slots become uninitialised stack and the reference is released. */
export function iterDestroy(env: Env, regno: number, kind: IterKind): void {
  const { s, rec } = iterRecord(env, regno, kind);
  const ref = rec.refObjId;
  const bytes = s.frame.wbytes();
  const spilled = s.frame.wspilled();
  for (let k = 0; k < s.nslots; k++) {
    spilled[s.slot + k] = null;
    for (let b = 0; b < 8; b++) bytes[(s.slot + k) * 8 + b] = StackByte.INVALID;
  }
  releaseReference(env, ref);
}

/** Check the iterator argument of a kfunc that only reads it (none in the table today besides next/destroy). */
export function iterCheck(env: Env, regno: number, kind: IterKind): void {
  iterRecord(env, regno, kind);
}

/**
 * bpf_iter_<kind>_next, after the argument checks: the current path goes on
 * with the iterator drained and r0 = NULL; returns the path where next()
 * returned an element of `elemSize` bytes (undefined when the iterator was
 * already drained), for the walk to explore later.
 */
export function iterNext(env: Env, regno: number, kind: IterKind, elemSize: number): VerifierState | undefined {
  const { s, rec } = iterRecord(env, regno, kind);
  const regs = env.state.cur.regs;
  const slotIndex = s.slot;
  const frameIndex = env.state.frames.indexOf(s.frame);
  let queued: VerifierState | undefined;
  if (rec.iterState === ITER_ACTIVE) {
    queued = env.state.clone();
    queued.frames[frameIndex]!.wspilled()[slotIndex]!.iterDepth++;
    clobber(queued.cur.regs);
    markPointer(queued.cur.regs[0]!, RegType.PTR_TO_MEM);
    queued.cur.regs[0]!.memSize = elemSize;
  }
  // The current path: the iterator is drained (depth unchanged) and next() returned NULL.
  s.frame.wspilled()[slotIndex]!.iterState = ITER_DRAINED;
  clobber(regs);
  markConstScalar(regs[0]!, 0n);
  return queued;
}

/** Is register regno of the current frame a pointer to an active iterator (the walk's convergence rule applies)? */
export function iterActiveAt(state: VerifierState, regno: number): boolean {
  const r = state.cur.regs[regno]!;
  if (r.type !== RegType.PTR_TO_STACK || !tnumIsConst(r.varOff)) return false;
  const off = r.off + Number(BigInt.asIntN(64, r.varOff.value));
  const f = state.frames[r.frameno];
  const slot = (STACK_SIZE + off) >> 3;
  if (!f || off % 8 !== 0 || slot < 0 || slot >= f.spilled.length || f.bytes[slot * 8] !== StackByte.ITER) return false;
  return f.spilled[slot]?.iterState === ITER_ACTIVE;
}

function clobber(regs: RegState[]): void {
  for (let i = 1; i <= 5; i++) markNotInit(regs[i]!);
}

/**
 * The verifier log's text for stack slot `slot` of f when it holds an
 * iterator: `iter_num(ref_id=1,state=active,depth=0)` on its first slot, ''
 * on the others; undefined for any other slot.
 */
export function iterSlotText(f: FuncState, slot: number): string | undefined {
  if (f.bytes[slot * 8] !== StackByte.ITER) return undefined;
  const st = f.spilled[slot];
  if (!st || st.refObjId === 0) return '';
  const kind = ITERS[st.btfType - 1]?.name ?? '?';
  return `iter_${kind}(ref_id=${st.refObjId},state=${st.iterState === ITER_ACTIVE ? 'active' : 'drained'},depth=${st.iterDepth})`;
}
