// Precision tracking (the kernel's mark_chain_precision, simplified): a
// scalar's exact range matters only where the verifier relied on it (a
// branch decided by it, pointer arithmetic, a helper's size argument, a
// return value range). Until then states that differ only in such scalars
// are equivalent for pruning, which is what lets loops over unrelated data
// converge. When a value becomes important, the path's instruction history
// is walked backwards to find the registers and stack slots it came from,
// and those are marked precise in every stored state along the path.

import { INSNS, Shape } from '../isa/table.js';
import { AtomicOp } from '../isa/fields.js';
import { RegType } from './reg-state.js';
import type { Env } from './env.js';
import type { Checkpoint } from './prune.js';
import type { VerifierState } from './state.js';

/** History entries: insn * 128 + tag; tag = stack slot + 1 for a fixed-offset access to the current frame's stack. */
export const TAG_NONE = 0;
/** A stack access we cannot follow (variable offset, another frame). */
export const TAG_UNKNOWN = 127;

interface Trace {
  regs: number;
  slots: Set<number>;
}

/** Walk one segment of history backwards; false when it cannot be followed (then everything becomes precise). */
function backtrack(env: Env, hist: readonly number[], t: Trace): boolean {
  const prog = env.prog;
  for (let i = hist.length - 1; i >= 0 && (t.regs !== 0 || t.slots.size > 0); i--) {
    const e = hist[i]!;
    const insn = Math.floor(e / 128);
    const tag = e % 128;
    const def = INSNS[prog.op[insn]!]!;
    const d = 1 << prog.dst[insn]!;
    const s = 1 << prog.src[insn]!;
    const isMov = def.llvm === '=';
    switch (def.shape) {
      case Shape.AluImm:
        if (isMov) t.regs &= ~d;
        break;
      case Shape.AluReg:
        if (t.regs & d) t.regs = isMov ? (t.regs & ~d) | s : t.regs | s;
        break;
      case Shape.MovSx:
        if (t.regs & d) t.regs = (t.regs & ~d) | s;
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
        if (t.regs & d) {
          t.regs &= ~d;
          if (tag === TAG_UNKNOWN) return false;
          if (tag !== TAG_NONE) t.slots.add(tag - 1);
        }
        break;
      case Shape.Store:
        if (tag === TAG_UNKNOWN && t.slots.size > 0) return false;
        // A narrow store leaves the rest of the slot to earlier writers, who stay tracked.
        if (tag !== TAG_NONE && def.width === 64) t.slots.delete(tag - 1);
        break;
      case Shape.StoreReg:
        if (tag === TAG_UNKNOWN && t.slots.size > 0) return false;
        if (tag !== TAG_NONE && t.slots.has(tag - 1)) {
          if (def.width === 64) t.slots.delete(tag - 1);
          t.regs |= s;
        }
        break;
      case Shape.Atomic: {
        const imm = prog.imm[insn]!;
        if (tag === TAG_UNKNOWN || (tag !== TAG_NONE && t.slots.has(tag - 1))) return false;
        if (imm === AtomicOp.CMPXCHG && t.regs & 1) return false;
        if (imm & AtomicOp.FETCH && t.regs & s) return false;
        break;
      }
      case Shape.Lddw:
        t.regs &= ~d;
        break;
      case Shape.LdAbs:
      case Shape.LdInd:
      case Shape.Call:
      case Shape.CallKfunc:
        t.regs &= ~0x3f;
        break;
      case Shape.JmpReg:
        if (t.regs & (d | s)) t.regs |= d | s;
        break;
      default:
        // Calls into subprograms and returns change frames: not followed.
        return false;
    }
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
  for (let cp: Checkpoint | null = env.cp; cp; cp = cp.parent) markAll(cp.state);
}

/** The exact values of these registers (scalars) matter: make them and their sources precise. */
export function markPrecise(env: Env, ...regnos: number[]): void {
  const cur = env.state.cur;
  const t: Trace = { regs: 0, slots: new Set() };
  for (const r of regnos) {
    const x = cur.regs[r]!;
    if (x.type !== RegType.SCALAR) continue;
    x.precise = true;
    t.regs |= 1 << r;
  }
  if (t.regs === 0) return;
  backtrackFrom(env, t);
}

/**
 * The current state was pruned against `old` (the kernel's
 * propagate_precision): what old's future relied on, the current path
 * relies on too, so the scalars precise in old's current frame (registers
 * and spilled slots) become precise here and along this path.
 */
export function propagatePrecision(env: Env, old: VerifierState): void {
  const fo = old.cur;
  const fc = env.state.cur;
  const t: Trace = { regs: 0, slots: new Set() };
  for (let r = 0; r < 11; r++) {
    const o = fo.regs[r]!;
    const c = fc.regs[r]!;
    if (o.type !== RegType.SCALAR || !o.precise || c.type !== RegType.SCALAR) continue;
    c.precise = true;
    t.regs |= 1 << r;
  }
  for (let k = 0; k < fo.spilled.length; k++) {
    const o = fo.spilled[k];
    const c = fc.spilled[k];
    if (!o || !c || o.type !== RegType.SCALAR || !o.precise || c.type !== RegType.SCALAR) continue;
    if (!c.precise) fc.wspilled()[k]!.precise = true;
    t.slots.add(k);
  }
  if (t.regs !== 0 || t.slots.size > 0) backtrackFrom(env, t);
}

/** Follow trace t back through the path's history and checkpoints, marking what it reaches precise. */
function backtrackFrom(env: Env, t: Trace): void {
  const depth = env.state.frames.length;
  let hist: readonly number[] = env.hist;
  let cp = env.cp;
  for (;;) {
    if (!backtrack(env, hist, t)) {
      markAllPrecise(env);
      return;
    }
    if ((t.regs === 0 && t.slots.size === 0) || !cp) return;
    if (cp.state.frames.length !== depth) {
      markAllPrecise(env);
      return;
    }
    const f = cp.state.cur;
    let changed = false;
    for (let r = 0; r < 11; r++) {
      if (!(t.regs & (1 << r))) continue;
      const x = f.regs[r]!;
      if (x.type !== RegType.SCALAR) t.regs &= ~(1 << r);
      else if (!x.precise) {
        x.precise = true;
        changed = true;
      }
    }
    for (const k of [...t.slots]) {
      const sp = f.spilled[k];
      if (!sp || sp.type !== RegType.SCALAR) t.slots.delete(k);
      else if (!sp.precise) {
        sp.precise = true;
        changed = true;
      }
    }
    // Already precise here means this chain was followed before.
    if (!changed) return;
    hist = cp.hist;
    cp = cp.parent;
  }
}
