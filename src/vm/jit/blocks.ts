// Stage 1 of the JIT: split a decoded program into functions (the entry plus
// every bpf-to-bpf call target) and each function into basic blocks with
// their successor edges. Pure data; no Wasm here.

import { DecodeError } from '../../internal/errors.js';
import { LDDW_SECOND_HALF, type Program } from '../../isa/decode.js';
import { INSNS, Shape } from '../../isa/table.js';

/** How a basic block ends. */
export const enum Term {
  /** Falls through into the next block (the next one starts at a jump target). */
  Fall,
  /** goto / gotol. */
  Jump,
  /** Conditional jump: `taken` if true, `next` if false. */
  Cond,
  /** exit. */
  Exit,
  /** The last instruction of the function is not exit or goto: running off its end is a run-time error. */
  FallOff,
}

export interface BasicBlock {
  /** Index in FuncCfg.blocks; blocks are in address order and block 0 is the entry. */
  readonly id: number;
  /** First slot. */
  readonly start: number;
  /** Slot of the last instruction (the terminator for Jump/Cond/Exit). */
  readonly last: number;
  /** Number of instructions (an lddw counts once), for the budget. */
  readonly insns: number;
  readonly term: Term;
  /** Target block of Jump/Cond, else -1. */
  readonly taken: number;
  /** Fall-through block of Fall/Cond, else -1 (for Cond: the false edge runs off the function's end). */
  readonly next: number;
}

export interface FuncCfg {
  /** 0 is the entry function. */
  readonly index: number;
  /** Slot range [start, end). */
  readonly start: number;
  readonly end: number;
  readonly blocks: readonly BasicBlock[];
}

export interface ProgramCfg {
  readonly funcs: readonly FuncCfg[];
  /** Slot of a function's first instruction -> function index. */
  readonly funcAt: ReadonlyMap<number, number>;
}

/** Slot a jump at i goes to, or -1 if the instruction is not a jump. */
export function jumpTarget(prog: Program, i: number): number {
  const op = prog.op[i]!;
  if (op < 0) return -1;
  const shape = INSNS[op]!.shape;
  switch (shape) {
    case Shape.Ja:
    case Shape.JmpImm:
    case Shape.JmpReg:
    case Shape.MayGoto:
      return i + 1 + prog.off[i]!;
    case Shape.Ja32:
      return i + 1 + prog.imm[i]!;
    default:
      return -1;
  }
}

/** Split the program into functions and blocks. Throws DecodeError for a jump that leaves its function. */
export function buildCfg(prog: Program): ProgramCfg {
  const n = prog.length;
  if (n === 0) throw new DecodeError(0, 'empty program');
  const starts = new Set<number>([0]);
  for (let i = 0; i < n; i++) {
    const op = prog.op[i]!;
    if (op >= 0 && INSNS[op]!.shape === Shape.CallLocal) {
      const t = i + 1 + prog.imm[i]!;
      if (t < 0 || t >= n || prog.op[t] === LDDW_SECOND_HALF) throw new DecodeError(i, `call to ${t} is not an instruction of the program`);
      starts.add(t);
    }
  }
  const sorted = [...starts].sort((a, b) => a - b);
  const funcAt = new Map<number, number>();
  sorted.forEach((s, k) => funcAt.set(s, k));
  const funcs = sorted.map((start, k) => buildFunc(prog, k, start, k + 1 < sorted.length ? sorted[k + 1]! : n));
  return { funcs, funcAt };
}

function buildFunc(prog: Program, index: number, start: number, end: number): FuncCfg {
  // Leaders: the first slot, every jump target, every slot after a jump or exit.
  const leader = new Uint8Array(end - start + 1);
  leader[0] = 1;
  for (let i = start; i < end; i++) {
    const op = prog.op[i]!;
    if (op < 0) continue;
    const shape = INSNS[op]!.shape;
    const t = jumpTarget(prog, i);
    if (t >= 0) {
      if (t < start || t >= end) throw new DecodeError(i, `jump to ${t} leaves the function at ${start}..${end - 1}`);
      leader[t - start] = 1;
    }
    if (t >= 0 || shape === Shape.Exit) leader[i + 1 - start] = 1;
  }
  // Block starts in address order; blockAt maps a leader slot to its block id.
  const blockAt = new Int32Array(end - start).fill(-1);
  const firsts: number[] = [];
  for (let i = start; i < end; i++) {
    if (leader[i - start] && prog.op[i] !== LDDW_SECOND_HALF) {
      blockAt[i - start] = firsts.length;
      firsts.push(i);
    }
  }
  const blocks: BasicBlock[] = [];
  for (let b = 0; b < firsts.length; b++) {
    const s = firsts[b]!;
    const e = b + 1 < firsts.length ? firsts[b + 1]! : end;
    let last = s;
    let insns = 0;
    for (let i = s; i < e; i++) {
      if (prog.op[i] === LDDW_SECOND_HALF) continue;
      last = i;
      insns++;
    }
    const op = prog.op[last]!;
    const shape = INSNS[op]!.shape;
    const t = jumpTarget(prog, last);
    const nextId = e < end ? blockAt[e - start]! : -1;
    let term: Term;
    let taken = -1;
    let next = -1;
    if (shape === Shape.Exit) term = Term.Exit;
    else if (shape === Shape.Ja || shape === Shape.Ja32) {
      term = Term.Jump;
      taken = blockAt[t - start]!;
    } else if (t >= 0) {
      // As the function's last instruction its false edge runs off the end: next = -1.
      term = Term.Cond;
      taken = blockAt[t - start]!;
      next = nextId;
    } else if (nextId >= 0) {
      term = Term.Fall;
      next = nextId;
    } else term = Term.FallOff;
    blocks.push({ id: b, start: s, last, insns, term, taken, next });
  }
  return { index, start, end, blocks };
}
