// The verifier's state of one path: a stack of frames (one per active
// bpf-to-bpf call), each with its eleven registers and its stack. States are
// copied when a branch is pushed and stored at prune points; nothing here is
// allocated per instruction.

import { RegState, RegType, markNotInit, markPointer } from './reg-state.js';
import { STACK_SIZE } from '../isa/fields.js';

/** What each stack byte holds (the kernel's STACK_* slot types). */
export const enum StackByte {
  INVALID = 0,
  MISC = 1,
  ZERO = 2,
  SPILL = 3,
  /** Part of an open-coded iterator's state (iter.ts); its first slot's spilled entry describes it. */
  ITER = 4,
}

export const NUM_REGS = 11;
export const SLOTS = STACK_SIZE / 8;

const EMPTY_BYTES = new Uint8Array(0);

function wordsOf(bytes: Uint8Array): Uint32Array {
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2);
}
const EMPTY_SPILLS: (RegState | null)[] = [];

export class FuncState {
  readonly regs: RegState[];
  // The stack is copy-on-write: clones share it until one of them writes.
  // Byte types and spills are copied separately: most stores change bytes
  // only, and copying the spills means cloning every spilled register.
  private _bytes: Uint8Array;
  /** The same bytes as 128 little words (for comparing 8-byte slots two words at a time, prune.ts). */
  private _words: Uint32Array;
  private _spilled: (RegState | null)[];
  private bytesShared = false;
  private spillsShared = false;
  /** Deepest stack byte touched, as a positive number of bytes (for the combined stack limit). */
  depth = 0;
  /** Instruction index of the call that created this frame (-1 for the main program). */
  callsite = -1;
  frameno = 0;
  /** First instruction of the subprogram this frame runs. */
  subprog = 0;
  /** A callback frame (bpf_loop, for_each_map_elem): returns to after the helper call, r0 in [0, 1]. */
  callback = false;
  /** References held when the callback was entered (it must leave as many). */
  callbackRefs = 0;
  /** Callbacks entered from this frame's current helper call (the kernel's callback_depth): bpf_loop runs at most r1 of them. */
  callbackDepth = 0;

  constructor(init = true) {
    this.regs = [];
    for (let i = 0; i < NUM_REGS; i++) this.regs.push(new RegState());
    // Clones take their stack from the original (copy-on-write), so only fresh frames allocate one.
    this._bytes = init ? new Uint8Array(STACK_SIZE) : EMPTY_BYTES;
    this._words = wordsOf(this._bytes);
    this._spilled = init ? new Array<RegState | null>(SLOTS).fill(null) : EMPTY_SPILLS;
    if (init) {
      for (const r of this.regs) markNotInit(r);
    }
  }

  /** Byte types, index 0 = fp-512 ... 511 = fp-1 (read only; write through wbytes()). */
  get bytes(): Uint8Array {
    return this._bytes;
  }

  /** The byte types as 32-bit words, slot s = words 2s and 2s+1 (read only). */
  get words(): Uint32Array {
    return this._words;
  }

  /** Spilled register per 8-byte slot (slot 0 = fp-512), valid where the slot's bytes are SPILL (read only). */
  get spilled(): readonly (RegState | null)[] {
    return this._spilled;
  }

  /** The byte types, this frame's own copy, for writing. */
  wbytes(): Uint8Array {
    if (this.bytesShared) {
      this._bytes = this._bytes.slice();
      this._words = wordsOf(this._bytes);
      this.bytesShared = false;
    }
    return this._bytes;
  }

  /** The spills, this frame's own copy (registers included), for writing. */
  wspilled(): (RegState | null)[] {
    if (this.spillsShared) {
      this._spilled = this._spilled.map((s) => (s ? s.clone() : null));
      this.spillsShared = false;
    }
    return this._spilled;
  }

  /** Do two frames share one stack (so it is equal without comparing)? */
  sameStack(o: FuncState): boolean {
    return this._bytes === o._bytes && this._spilled === o._spilled;
  }

  clone(): FuncState {
    const f = new FuncState(false);
    for (let i = 0; i < NUM_REGS; i++) f.regs[i]!.copyFrom(this.regs[i]!);
    f._bytes = this._bytes;
    f._words = this._words;
    f._spilled = this._spilled;
    f.bytesShared = f.spillsShared = true;
    this.bytesShared = this.spillsShared = true;
    f.depth = this.depth;
    f.callsite = this.callsite;
    f.frameno = this.frameno;
    f.subprog = this.subprog;
    f.callback = this.callback;
    f.callbackRefs = this.callbackRefs;
    f.callbackDepth = this.callbackDepth;
    return f;
  }

  /** Set r10 to this frame's frame pointer. */
  initFramePointer(): void {
    const fp = this.regs[10]!;
    markPointer(fp, RegType.PTR_TO_STACK);
    fp.frameno = this.frameno;
  }
}

/** A saved IRQ state (critical.ts). States share the list until one changes it (a new array then). */
export interface IrqState {
  readonly id: number;
  readonly insn: number;
}

const NO_IRQS: readonly IrqState[] = [];

/** A held bpf_res_spin_lock (critical.ts); shared between states like IrqState. */
export interface ResLock {
  readonly map: number;
  readonly id: number;
  readonly insn: number;
}

const NO_RES_LOCKS: readonly ResLock[] = [];

export interface Reference {
  id: number;
  insn: number;
}

export class VerifierState {
  frames: FuncState[] = [];
  /** Acquired references (ring buffer reservations, sockets) not yet released. */
  refs: Reference[] = [];
  /** Ids of scalars/pointers; carried with the state so copies on different paths do not clash. */
  branches = 0;
  /** may_goto fall-throughs taken on this path (the kernel's may_goto_depth): loop iterations that may converge. */
  mayGotoDepth = 0;
  /** Callback bodies entered on this path (the kernel's callback_unroll_depth). */
  callbackUnrollDepth = 0;
  /** The bpf_spin_lock held (the kernel's active_lock, critical.ts): index of the map whose value holds it, -1 when none. */
  lockMap = -1;
  /** Id of the map value pointer the lock was taken through (0: a map value address from lddw). */
  lockId = 0;
  /** Inside bpf_rcu_read_lock() (active_rcu_lock). */
  rcuLock = false;
  /** bpf_preempt_disable() calls not yet matched by bpf_preempt_enable() (active_preempt_locks). */
  preemptLocks = 0;
  /** bpf_local_irq_save() states not yet restored, innermost last: id and instruction (the kernel's REF_TYPE_IRQ, active_irq_id). */
  irqs: readonly IrqState[] = NO_IRQS;
  /** bpf_res_spin_lock()s held, innermost last: map index, pointer id, instruction (REF_TYPE_RES_LOCK). */
  resLocks: readonly ResLock[] = NO_RES_LOCKS;

  get cur(): FuncState {
    return this.frames[this.frames.length - 1]!;
  }

  clone(): VerifierState {
    const s = new VerifierState();
    s.frames = this.frames.map((f) => f.clone());
    s.refs = this.refs.map((r) => ({ ...r }));
    s.mayGotoDepth = this.mayGotoDepth;
    s.callbackUnrollDepth = this.callbackUnrollDepth;
    s.lockMap = this.lockMap;
    s.lockId = this.lockId;
    s.rcuLock = this.rcuLock;
    s.preemptLocks = this.preemptLocks;
    s.irqs = this.irqs;
    s.resLocks = this.resLocks;
    return s;
  }

  /**
   * Apply fn to every register, in every frame and every stack spill, that
   * matches pred (for id-based updates). Spills are changed in the frame's
   * own copy of its stack.
   */
  updateRegs(pred: (r: RegState) => boolean, fn: (r: RegState) => void): void {
    for (const f of this.frames) {
      for (const r of f.regs) if (pred(r)) fn(r);
      const sp = f.spilled;
      let hit = false;
      for (let i = 0; i < sp.length; i++) {
        const s = sp[i];
        if (s && pred(s)) {
          hit = true;
          break;
        }
      }
      if (!hit) continue;
      for (const s of f.wspilled()) if (s && pred(s)) fn(s);
    }
  }
}
