// Register-initialisation check: a must-be-written dataflow analysis over the
// control-flow graph. A register read on some path before any write rejects
// the program with the kernel's wording, `R<n> !read_ok`, at that instruction.
// This is a small standalone pass (the full verifier tracks much more); it
// lets the interpreter refuse programs whose result would depend on garbage,
// such as bpf_conformance's negative/error.data (`or %r0, %r10` reads r0).
//
// The state at an instruction is a bitmask of initialised registers; paths
// meet with AND. Calls follow the eBPF convention: a helper call sets r0 and
// leaves r1..r5 unreadable; a bpf-to-bpf callee starts with r1..r5 and r10
// (not r0, not r6..r9), and the caller continues with r0 set and r1..r5
// clobbered; exit reads r0.

import { defAt, type Program } from '../isa/decode.js';
import { MAX_REG } from '../isa/fields.js';
import { Op, Shape, type InsnDef } from '../isa/table.js';
import { VerifierError } from '../internal/errors.js';

export interface InitCheckOptions {
  /**
   * How many argument registers r1..rN hold values at entry (default 1: the
   * context pointer). The bpf_conformance contract passes r1 and r2; 5
   * accepts anything that reads r1..r5 first.
   */
  entryArgs?: number;
}

const bit = (r: number): number => 1 << r;
const R0 = bit(0);
const ARGS = bit(1) | bit(2) | bit(3) | bit(4) | bit(5);
const FP = bit(10);
const CALLEE_ENTRY = ARGS | FP;

/** Registers an instruction reads. */
function readsOf(def: InsnDef, dst: number, src: number): number {
  switch (def.shape) {
    case Shape.AluImm:
      return def.op === Op.MOV64_IMM || def.op === Op.MOV32_IMM ? 0 : bit(dst);
    case Shape.AluReg:
      return def.op === Op.MOV64_REG || def.op === Op.MOV32_REG ? bit(src) : bit(dst) | bit(src);
    case Shape.MovSx:
    case Shape.AddrSpaceCast:
    case Shape.Load:
    case Shape.LoadSx:
      return bit(src);
    case Shape.Neg:
    case Shape.Endian:
    case Shape.Store:
    case Shape.JmpImm:
    case Shape.Callx:
      return bit(dst);
    case Shape.StoreReg:
    case Shape.JmpReg:
      return bit(dst) | bit(src);
    case Shape.Atomic:
      return bit(dst) | bit(src) | (def.op === Op.ATOMIC32_CMPXCHG || def.op === Op.ATOMIC64_CMPXCHG ? R0 : 0);
    case Shape.LdAbs:
      return bit(6);
    case Shape.LdInd:
      return bit(6) | bit(src);
    case Shape.Exit:
      return R0;
    default: // Lddw, Ja, Ja32, MayGoto, Call, CallLocal, CallKfunc
      return 0;
  }
}

/** The initialised set after the instruction, given the set before it. */
function transfer(def: InsnDef, dst: number, m: number): number {
  switch (def.shape) {
    case Shape.AluImm:
    case Shape.AluReg:
    case Shape.MovSx:
    case Shape.AddrSpaceCast:
    case Shape.Neg:
    case Shape.Endian:
    case Shape.Load:
    case Shape.LoadSx:
    case Shape.Lddw:
      return m | bit(dst);
    case Shape.Atomic:
      return def.op === Op.ATOMIC32_CMPXCHG || def.op === Op.ATOMIC64_CMPXCHG ? m | R0 : m;
    case Shape.LdAbs:
    case Shape.LdInd:
    case Shape.Call:
    case Shape.CallKfunc:
    case Shape.Callx:
    case Shape.CallLocal:
      return (m & ~ARGS) | R0;
    default:
      return m;
  }
}

/** Lowest register number in a mask. */
function firstReg(mask: number): number {
  for (let r = 0; r <= MAX_REG; r++) if ((mask & bit(r)) !== 0) return r;
  return -1;
}

/**
 * Throws VerifierError (`R<n> !read_ok`, or `frame pointer is read only`) at
 * the lowest instruction index that reads an unwritten register on some path.
 * The program must be structurally valid (decodeProgram with validation).
 */
export function checkRegisterInit(prog: Program, options: InitCheckOptions = {}): void {
  const n = prog.length;
  if (n === 0) return;
  const entryArgs = Math.max(0, Math.min(5, options.entryArgs ?? 1));
  let entry = FP;
  for (let r = 1; r <= entryArgs; r++) entry |= bit(r);

  const state = new Int32Array(n); // initialised set before each instruction
  const seen = new Uint8Array(n);
  const work: number[] = [];
  const meet = (to: number, m: number): void => {
    if (to < 0 || to >= n) return; // falling off the end is not this pass's business
    if (seen[to] === 0) {
      seen[to] = 1;
      state[to] = m;
      work.push(to);
    } else if ((state[to]! & m) !== state[to]) {
      state[to] = state[to]! & m;
      work.push(to);
    }
  };
  meet(0, entry);
  while (work.length > 0) {
    const i = work.pop()!;
    const def = defAt(prog, i);
    if (def === undefined) continue; // second half of lddw: never a target of a valid program
    const m = state[i]!;
    const out = transfer(def, prog.dst[i]!, m);
    switch (def.shape) {
      case Shape.Exit:
        break;
      case Shape.Ja:
        meet(i + 1 + prog.off[i]!, out);
        break;
      case Shape.Ja32:
        meet(i + 1 + prog.imm[i]!, out);
        break;
      case Shape.JmpImm:
      case Shape.JmpReg:
      case Shape.MayGoto:
        meet(i + 1, out);
        meet(i + 1 + prog.off[i]!, out);
        break;
      case Shape.CallLocal:
        meet(i + 1 + prog.imm[i]!, CALLEE_ENTRY);
        meet(i + 1, out);
        break;
      default:
        meet(i + def.slots, out);
    }
  }

  // Check reads against the fixpoint, in instruction order.
  for (let i = 0; i < n; i++) {
    if (seen[i] === 0) continue;
    const def = defAt(prog, i);
    if (def === undefined) continue;
    const missing = readsOf(def, prog.dst[i]!, prog.src[i]!) & ~state[i]!;
    if (missing !== 0) throw new VerifierError(i, `R${firstReg(missing)} !read_ok`);
    if (transfer(def, prog.dst[i]!, 0) & FP) throw new VerifierError(i, 'frame pointer is read only');
  }
}
