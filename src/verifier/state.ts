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
}

export const NUM_REGS = 11;
export const SLOTS = STACK_SIZE / 8;

export class FuncState {
  readonly regs: RegState[];
  /** Byte types, index 0 = fp-512 ... 511 = fp-1. */
  readonly bytes: Uint8Array;
  /** Spilled register per 8-byte slot (slot 0 = fp-512), valid where the slot's bytes are SPILL. */
  readonly spilled: (RegState | null)[];
  /** Deepest stack byte touched, as a positive number of bytes (for the combined stack limit). */
  depth = 0;
  /** Instruction index of the call that created this frame (-1 for the main program). */
  callsite = -1;
  frameno = 0;
  /** First instruction of the subprogram this frame runs. */
  subprog = 0;

  constructor(init = true) {
    this.regs = [];
    for (let i = 0; i < NUM_REGS; i++) this.regs.push(new RegState());
    this.bytes = new Uint8Array(STACK_SIZE);
    this.spilled = new Array<RegState | null>(SLOTS).fill(null);
    if (init) {
      for (const r of this.regs) markNotInit(r);
    }
  }

  clone(): FuncState {
    const f = new FuncState(false);
    for (let i = 0; i < NUM_REGS; i++) f.regs[i]!.copyFrom(this.regs[i]!);
    f.bytes.set(this.bytes);
    for (let i = 0; i < SLOTS; i++) {
      const s = this.spilled[i];
      f.spilled[i] = s ? s.clone() : null;
    }
    f.depth = this.depth;
    f.callsite = this.callsite;
    f.frameno = this.frameno;
    f.subprog = this.subprog;
    return f;
  }

  /** Set r10 to this frame's frame pointer. */
  initFramePointer(): void {
    const fp = this.regs[10]!;
    markPointer(fp, RegType.PTR_TO_STACK);
    fp.frameno = this.frameno;
  }
}

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

  get cur(): FuncState {
    return this.frames[this.frames.length - 1]!;
  }

  clone(): VerifierState {
    const s = new VerifierState();
    s.frames = this.frames.map((f) => f.clone());
    s.refs = this.refs.map((r) => ({ ...r }));
    return s;
  }

  /** Every register of every frame (for id-based updates). */
  *allRegs(): Generator<RegState> {
    for (const f of this.frames) {
      for (const r of f.regs) yield r;
      for (const s of f.spilled) if (s) yield s;
    }
  }
}
