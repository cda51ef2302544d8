// Precision tracking (the kernel's mark_chain_precision): a scalar's exact
// range matters only where the verifier relied on it (a branch decided by
// it, pointer arithmetic, a helper's size argument, a return value range).
// Until then states that differ only in such scalars are equivalent for
// pruning, which is what lets loops over unrelated data converge. When a
// value becomes important, the path's instruction history is walked
// backwards to find the registers and stack slots it came from, and those
// are marked precise in every stored state along the path.
//
// The walk crosses frames as the kernel's backtrack_insn does: each history
// entry records the frame it ran in, a subprogram's exit going backwards
// enters the callee (its r0 is the caller's r0), its first instruction leaves
// it (r1..r5 are the caller's), and a callback's arguments come from the
// verifier, not the caller. What it cannot follow (a stack access through a
// pointer, a callback's return) makes every scalar along the path precise.

import { INSNS, Shape } from '../isa/table.js';
import { AtomicOp, MAX_CALL_FRAMES } from '../isa/fields.js';
import { RegType } from './reg-state.js';
import type { Env } from './env.js';
import type { Checkpoint } from './prune.js';
import type { FuncState, VerifierState } from './state.js';

/** History entries: (insn << 10) | (frame << 7) | tag; tag = stack slot + 1 for a fixed-offset access to the frame's own stack. */
export const TAG_NONE = 0;
/** A stack access we cannot follow (variable offset, another frame). */
export const TAG_UNKNOWN = 127;

/** One history entry: `insn` ran in frame `frame` (0 = the main program) with stack tag `tag` (insn < 2^21: verify.ts refuses longer programs). */
export function histEntry(insn: number, frame: number, tag: number): number {
  return (insn << 10) | (frame << 7) | tag;
}

const ARGS = 0x3e;
const CALLER_SAVED = 0x3f;

/**
 * What the backward walk follows: per frame (index = frame number) a mask of
 * registers and a 64-bit mask of 8-byte stack slots (slot 0 = fp-512), and the
 * frame the walk is in. One instance is reused: marking runs at every decided
 * branch and must not allocate.
 */
class Trace {
  readonly regs = new Int32Array(MAX_CALL_FRAMES);
  readonly lo = new Int32Array(MAX_CALL_FRAMES);
  readonly hi = new Int32Array(MAX_CALL_FRAMES);
  fr = 0;

  reset(fr: number): this {
    this.regs.fill(0);
    this.lo.fill(0);
    this.hi.fill(0);
    this.fr = fr;
    return this;
  }

  hasSlot(f: number, k: number): boolean {
    return ((k < 32 ? this.lo[f]! >>> k : this.hi[f]! >>> (k - 32)) & 1) === 1;
  }

  addSlot(f: number, k: number): void {
    if (k < 32) this.lo[f]! |= 1 << k;
    else this.hi[f]! |= 1 << (k - 32);
  }

  delSlot(f: number, k: number): void {
    if (k < 32) this.lo[f]! &= ~(1 << k);
    else this.hi[f]! &= ~(1 << (k - 32));
  }

  slotsIn(f: number): boolean {
    return (this.lo[f]! | this.hi[f]!) !== 0;
  }

  anySlots(): boolean {
    for (let f = 0; f <= this.fr; f++) if (this.slotsIn(f)) return true;
    return false;
  }

  empty(): boolean {
    for (let f = 0; f <= this.fr; f++) if ((this.regs[f]! | this.lo[f]! | this.hi[f]!) !== 0) return false;
    return true;
  }

  clearFrame(f: number): void {
    this.regs[f] = 0;
    this.lo[f] = 0;
    this.hi[f] = 0;
  }
}

const trace = new Trace();

function isCallLocal(env: Env, insn: number): boolean {
  const op = insn >= 0 && insn < env.prog.length ? env.prog.op[insn]! : -1;
  return op >= 0 && INSNS[op]!.shape === Shape.CallLocal;
}

/**
 * The walk moves from frame t.fr to `frame`, at the entry for `insn` (the
 * instruction before `next`). Deeper: `insn` is the exit of a callee. Shallower:
 * the walk left a callee at its first instruction and `insn` ran in its caller
 * (the call itself, or for a callback the instruction before the helper call).
 */
function changeFrame(env: Env, t: Trace, insn: number, frame: number, next: number): boolean {
  const fr = t.fr;
  if (frame === fr + 1 && frame < MAX_CALL_FRAMES) {
    if (INSNS[env.prog.op[insn]!]!.shape !== Shape.Exit) return false;
    // A subprogram's r0 is its caller's r0; a callback's return goes back to its helper call, which sets r0 itself.
    const r0 = (t.regs[fr]! & 1) !== 0 && isCallLocal(env, next - 1);
    t.regs[fr]! &= ~CALLER_SAVED;
    t.clearFrame(frame);
    if (r0) t.regs[frame] = 1;
    t.fr = frame;
    return true;
  }
  if (frame === fr - 1) {
    // At a function's first instruction only its arguments can still be followed.
    if ((t.regs[fr]! & ~ARGS) !== 0 || t.slotsIn(fr)) return false;
    if (isCallLocal(env, insn)) t.regs[frame]! |= t.regs[fr]!;
    t.clearFrame(fr);
    t.fr = frame;
    return true;
  }
  return false;
}

/** Walk one segment of history backwards from `next` (the instruction after it); false when it cannot be followed. */
function backtrack(env: Env, hist: readonly number[], t: Trace, next: number): boolean {
  const prog = env.prog;
  for (let i = hist.length - 1; i >= 0; i--) {
    if (t.empty()) return true;
    const e = hist[i]!;
    const insn = e >>> 10;
    const frame = (e >>> 7) & 7;
    const tag = e & 127;
    // +1: `insn` is a callee's exit; -1: it ran in the caller of the frame just left.
    let moved = 0;
    if (frame !== t.fr) {
      moved = frame - t.fr;
      if (!changeFrame(env, t, insn, frame, next)) return false;
    }
    const f = t.fr;
    const def = INSNS[prog.op[insn]!]!;
    const d = 1 << prog.dst[insn]!;
    const s = 1 << prog.src[insn]!;
    const isMov = def.llvm === '=';
    const regs = t.regs[f]!;
    switch (def.shape) {
      case Shape.AluImm:
        if (isMov) t.regs[f] = regs & ~d;
        break;
      case Shape.AluReg:
        if (regs & d) t.regs[f] = isMov ? (regs & ~d) | s : regs | s;
        break;
      case Shape.MovSx:
      case Shape.AddrSpaceCast:
        if (regs & d) t.regs[f] = (regs & ~d) | s;
        break;
      case Shape.Neg:
      case Shape.Endian:
      case Shape.JmpImm:
      case Shape.Ja:
      case Shape.Ja32:
      case Shape.MayGoto:
        break;
      case Shape.Load:
      case Shape.LoadSx:
        if (regs & d) {
          t.regs[f] = regs & ~d;
          if (tag === TAG_UNKNOWN) return false;
          if (tag !== TAG_NONE) t.addSlot(f, tag - 1);
        }
        break;
      case Shape.Store:
        if (tag === TAG_UNKNOWN && t.anySlots()) return false;
        // A narrow store leaves the rest of the slot to earlier writers, who stay tracked.
        if (tag !== TAG_NONE && def.width === 64) t.delSlot(f, tag - 1);
        break;
      case Shape.StoreReg:
        if (tag === TAG_UNKNOWN && t.anySlots()) return false;
        if (tag !== TAG_NONE && t.hasSlot(f, tag - 1)) {
          if (def.width === 64) t.delSlot(f, tag - 1);
          t.regs[f]! |= s;
        }
        break;
      case Shape.Atomic: {
        const imm = prog.imm[insn]!;
        if (tag === TAG_UNKNOWN || (tag !== TAG_NONE && t.hasSlot(f, tag - 1))) return false;
        if (imm === AtomicOp.CMPXCHG && regs & 1) return false;
        if (imm & AtomicOp.FETCH && regs & s) return false;
        break;
      }
      case Shape.Lddw:
        t.regs[f] = regs & ~d;
        break;
      case Shape.LdAbs:
      case Shape.LdInd:
        t.regs[f] = regs & ~CALLER_SAVED;
        break;
      case Shape.Call:
      case Shape.CallKfunc:
      case Shape.CallLocal:
        // A helper, kfunc or global function sets r0 and clobbers r1..r5; the
        // call that entered the subprogram just left passed r1..r5 (changeFrame).
        if (moved >= 0) t.regs[f] = regs & ~CALLER_SAVED;
        break;
      case Shape.Exit:
        // Only as the return from a callee (changeFrame above); another callback
        // iteration's exit in the same frame is not followed.
        if (moved <= 0) return false;
        break;
      case Shape.JmpReg:
        if (regs & (d | s)) t.regs[f] = regs | d | s;
        break;
      default:
        return false;
    }
    next = insn;
  }
  return true;
}

function markAll(state: VerifierState): void {
  state.updateRegs((r) => r.type === RegType.SCALAR && !r.precise, (r) => {
    r.precise = true;
  });
}

/** Every scalar of the state imprecise, spills in the frames' own copies (a stored checkpoint keeps its marks). */
export function markAllImprecise(state: VerifierState): void {
  for (const f of state.frames) {
    for (const r of f.regs) if (r.type === RegType.SCALAR) r.precise = false;
    if (!f.spilled.some((s) => s !== null && s.precise)) continue;
    for (const s of f.wspilled()) if (s) s.precise = false;
  }
}

/** Everything the path relied on is precise from now on, in every stored state along it (the kernel's fallback). */
function markAllPrecise(env: Env): void {
  markAll(env.state);
  for (let cp: Checkpoint | null = env.cp; cp; cp = cp.parent) {
    const st = cp.stored;
    if (st) markAll(st);
  }
}

/** The exact values of these registers (scalars of the current frame) matter: make them and their sources precise. */
export function markPrecise(env: Env, regno: number, regno2 = -1): void {
  const fr = env.state.frames.length - 1;
  const cur = env.state.frames[fr]!;
  const t = trace.reset(fr);
  seedReg(cur, t, fr, regno);
  if (regno2 >= 0) seedReg(cur, t, fr, regno2);
  if (t.regs[fr] === 0) return;
  backtrackFrom(env, t);
}

function seedReg(cur: FuncState, t: Trace, fr: number, regno: number): void {
  const x = cur.regs[regno]!;
  if (x.type !== RegType.SCALAR) return;
  x.precise = true;
  t.regs[fr]! |= 1 << regno;
}

/**
 * The current state was pruned against `old` (the kernel's
 * propagate_precision): what old's future relied on, the current path
 * relies on too, so the scalars precise in old (registers and spilled
 * slots, in every frame: a caller's values are used after the callee
 * returns) become precise here and along this path.
 */
export function propagatePrecision(env: Env, old: VerifierState): void {
  const frames = env.state.frames;
  const t = trace.reset(frames.length - 1);
  const n = Math.min(old.frames.length, frames.length);
  let any = false;
  for (let f = 0; f < n; f++) any = seedFrame(old.frames[f]!, frames[f]!, t, f) || any;
  if (any) backtrackFrom(env, t);
}

/** Frame f's scalars precise in `fo`: precise in `fc` and followed from there. */
function seedFrame(fo: FuncState, fc: FuncState, t: Trace, f: number): boolean {
  let any = false;
  for (let r = 0; r < 11; r++) {
    const o = fo.regs[r]!;
    const c = fc.regs[r]!;
    if (o.type !== RegType.SCALAR || !o.precise || c.type !== RegType.SCALAR) continue;
    c.precise = true;
    t.regs[f]! |= 1 << r;
    any = true;
  }
  const so = fo.spilled;
  for (let k = 0; k < so.length; k++) {
    const o = so[k];
    if (!o || o.type !== RegType.SCALAR || !o.precise) continue;
    const c = fc.spilled[k];
    if (!c || c.type !== RegType.SCALAR) continue;
    if (!c.precise) fc.wspilled()[k]!.precise = true;
    t.addSlot(f, k);
    any = true;
  }
  return any;
}

/** Mark what t follows in frame f of a stored state precise; drops what is not a scalar there. Returns whether a mark was new. */
function markFrame(st: FuncState, t: Trace, f: number): boolean {
  let changed = false;
  const regs = t.regs[f]!;
  for (let r = 0; r < 11; r++) {
    if (!(regs & (1 << r))) continue;
    const x = st.regs[r]!;
    if (x.type !== RegType.SCALAR) t.regs[f]! &= ~(1 << r);
    else if (!x.precise) {
      x.precise = true;
      changed = true;
    }
  }
  if (!t.slotsIn(f)) return changed;
  for (let k = 0; k < 64; k++) {
    if (!t.hasSlot(f, k)) continue;
    const sp = st.spilled[k];
    if (!sp || sp.type !== RegType.SCALAR) t.delSlot(f, k);
    else if (!sp.precise) {
      sp.precise = true;
      changed = true;
    }
  }
  return changed;
}

/** Follow trace t back through the path's history and checkpoints, marking what it reaches precise. */
function backtrackFrom(env: Env, t: Trace): void {
  let hist: readonly number[] = env.hist;
  let next = env.insnIdx;
  let cp = env.cp;
  for (;;) {
    if (!backtrack(env, hist, t, next)) {
      markAllPrecise(env);
      return;
    }
    if (t.empty() || !cp) return;
    if (cp.depth !== t.fr + 1) {
      markAllPrecise(env);
      return;
    }
    // An evicted checkpoint has no state left to mark; the chain above it still does.
    const st = cp.stored;
    let changed = st === null;
    if (st) for (let f = 0; f <= t.fr; f++) changed = markFrame(st.frames[f]!, t, f) || changed;
    // Already precise here means this chain was followed before.
    if (!changed) return;
    hist = cp.hist;
    next = cp.insn;
    cp = cp.parent;
  }
}
