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
// higher. A loop over an iterator converges when next() is reached again in
// a state equal to one seen there before (is_state_visited's iterator rule):
// that state's future has been or is being explored, and next() returns
// NULL eventually, so the loop needs no more unrolling. The comparison is
// exact (every scalar's bounds, whatever its precision) except for dead
// argument registers and iterator depths: never looser than the kernel's
// range-within comparison with precision marks.

import { RegState, RegType, markConstScalar, markNotInit, markPointer } from './reg-state.js';
import { StackByte, type FuncState, type VerifierState } from './state.js';
import { tnumIsConst } from './tnum.js';
import { reject, type Env } from './env.js';
import { releaseReference } from './helpers-check.js';
import { statesEqual, widenImpreciseScalars } from './prune.js';
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

/** What next() leaves for the walk: prune this path, or also explore `queued` (the element path) after the call. */
export interface IterNextOutcome {
  readonly pruned: boolean;
  readonly queued?: VerifierState;
}

/** States seen at each next() call of a walk, for the convergence rule: by call and register key, and the latest per call. */
interface Seen {
  readonly byInsn: Map<string, VerifierState[]>;
  readonly last: Map<number, VerifierState>;
}
const seenAt = new WeakMap<Env, Seen>();

/** Types and bounds of the current frame's registers, as a string: equal states have equal keys. */
function regsKey(st: VerifierState): string {
  let k = `${st.frames.length}`;
  for (const r of st.cur.regs) k += `|${r.type}:${r.off}:${r.umin}:${r.umax}:${r.smin}:${r.smax}`;
  return k;
}

/**
 * bpf_iter_<kind>_next. Must run after the argument checks and before r0
 * and the caller-saved registers are set: `elemSize` is the size of the
 * element r0 points to on the queued path.
 */
export function iterNext(env: Env, regno: number, kind: IterKind, nargs: number, elemSize: number): IterNextOutcome {
  const { s, rec } = iterRecord(env, regno, kind);
  const regs = env.state.cur.regs;
  let prev: VerifierState | undefined;
  if (rec.iterState === ITER_ACTIVE) {
    // Convergence: the same state (depths aside) reached this call before.
    let seen = seenAt.get(env);
    if (!seen) seenAt.set(env, (seen = { byInsn: new Map(), last: new Map() }));
    const norm = normalized(env.state, nargs);
    // Only states with the same scalar values in their registers can be equal: a cheap key narrows the search.
    const key = `${env.insnIdx}:${regsKey(norm)}`;
    let list = seen.byInsn.get(key);
    if (!list) seen.byInsn.set(key, (list = []));
    const all = (): number => 0x7ff;
    for (const old of list) if (statesEqual(old, norm, all, 'exact')) return { pruned: true };
    prev = seen.last.get(env.insnIdx);
    list.push(norm);
    seen.last.set(env.insnIdx, norm);
  }
  const slotIndex = s.slot;
  const frameIndex = env.state.frames.indexOf(s.frame);
  let queued: VerifierState | undefined;
  if (rec.iterState === ITER_ACTIVE) {
    queued = env.state.clone();
    const qf = queued.frames[frameIndex]!;
    const qrec = qf.wspilled()[slotIndex]!;
    qrec.iterDepth++;
    if (prev) widenImpreciseScalars(prev, queued);
    clobber(queued.cur.regs);
    markPointer(queued.cur.regs[0]!, RegType.PTR_TO_MEM);
    queued.cur.regs[0]!.memSize = elemSize;
  }
  // The current path: the iterator is drained (depth unchanged) and next() returned NULL.
  const cur = s.frame.wspilled()[slotIndex]!;
  cur.iterState = ITER_DRAINED;
  clobber(regs);
  markConstScalar(regs[0]!, 0n);
  return { pruned: false, ...(queued ? { queued } : {}) };
}

function clobber(regs: RegState[]): void {
  for (let i = 1; i <= 5; i++) markNotInit(regs[i]!);
}

/**
 * A copy of the state for the convergence comparison: the registers the
 * call overwrites (r0 and the arguments past the kfunc's own) hold nothing
 * that matters, and iterator depths are only counters.
 */
function normalized(state: VerifierState, nargs: number): VerifierState {
  const c = state.clone();
  const regs = c.cur.regs;
  markNotInit(regs[0]!);
  for (let i = nargs + 1; i <= 5; i++) markNotInit(regs[i]!);
  for (const f of c.frames) {
    let has = false;
    for (let i = 0; i < f.bytes.length; i += 8) if (f.bytes[i] === StackByte.ITER && f.spilled[i >> 3]?.iterDepth) has = true;
    if (!has) continue;
    for (const st of f.wspilled()) if (st && st.iterState !== 0) st.iterDepth = 0;
  }
  return c;
}
