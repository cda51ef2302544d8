// What the engines must know about a program that uses an arena map
// (src/maps/arena.ts): where the arena is, and, per instruction, what the
// verifier found (src/verifier/arena.ts):
//
// - ACCESS: a load, store or atomic through an arena pointer. The engines
//   confine it to the arena: outside it, or on a page that is not
//   allocated, a load gives 0 and a store or atomic does nothing, as the
//   kernel's BPF_PROBE_MEM32 exception handler does. This holds in every
//   engine, the unchecked 'jit-verified' included, and never faults.
// - ZEXT: a 64-bit ALU instruction on an arena pointer runs as its 32-bit
//   form (the kernel's needs_zext rewrite), so arena pointers stay 32 bits.
//
// The runtime attaches this to the decoded Program after verification
// (markArenaAccesses); a program without it has no arena instructions, and
// its accesses are ordinary ones (checked, or unchecked when trusted).
// Only the marked instructions pay for the arena: other loads and stores
// compile and run exactly as before.

import type { Program } from '../isa/decode.js';
import { Class, INSN_SIZE } from '../isa/fields.js';
import { INSNS, lookup } from '../isa/table.js';
import { UsageError } from '../internal/errors.js';

/** Per-instruction marks (one byte per slot). */
export const ArenaMark = {
  ACCESS: 1,
  ZEXT: 2,
} as const;

export interface ArenaAccess {
  /** First byte of the arena region. */
  readonly start: number;
  /** Bytes of the arena (max_entries pages). */
  readonly size: number;
  /** ArenaMark bits per instruction slot of the program. */
  readonly marks: Uint8Array;
}

const arenas = new WeakMap<Program, ArenaAccess>();

/** Tell the engines which instructions of `prog` are arena accesses, and where its arena is. */
export function markArenaAccesses(prog: Program, access: ArenaAccess): Program {
  if (access.marks.length !== prog.length) throw new UsageError(`arena marks: ${access.marks.length} for a program of ${prog.length} slots`);
  arenas.set(prog, access);
  return prog;
}

/**
 * Mark a program and its callback entries: each entry is the program behind
 * a few slots of its own (runtime/relocate.ts callbackTrampoline), so its
 * marks are the program's shifted by the difference in length.
 */
export function markArenaEntries(prog: Program, access: ArenaAccess, callbacks: Iterable<Program>): void {
  markArenaAccesses(prog, access);
  for (const c of callbacks) {
    const shift = c.length - prog.length;
    if (shift < 0) throw new UsageError(`arena marks: callback entry of ${c.length} slots is shorter than its program (${prog.length})`);
    const marks = new Uint8Array(c.length);
    marks.set(access.marks, shift);
    markArenaAccesses(c, { start: access.start, size: access.size, marks });
  }
}

/** The arena facts of a program, if it has an arena. */
export function arenaAccessOf(prog: Program): ArenaAccess | undefined {
  return arenas.get(prog);
}

/**
 * The program as the engines run it: the instructions marked ZEXT become
 * their 32-bit ALU rows (the kernel rewrites the same instructions), in a
 * copy; `prog` itself is returned when there are none.
 */
export function arenaProgram(prog: Program, access: ArenaAccess): Program {
  const marks = access.marks;
  let any = false;
  for (let i = 0; i < prog.length && !any; i++) any = (marks[i]! & ArenaMark.ZEXT) !== 0;
  if (!any) return prog;
  const op = prog.op.slice();
  const opcode = prog.opcode.slice();
  const bytes = prog.bytes.slice();
  for (let i = 0; i < prog.length; i++) {
    if ((marks[i]! & ArenaMark.ZEXT) === 0 || op[i]! < 0) continue;
    const def = INSNS[op[i]!]!;
    // ALU64 (class 7) -> ALU (class 4): same operation, operands and discriminator
    const code32 = (opcode[i]! & ~Class.ALU64) | Class.ALU;
    const row = (def.opcode & 0x07) === Class.ALU64 && def.width === 64 ? lookup(code32, prog.src[i]!, prog.off[i]!, prog.imm[i]!) : undefined;
    if (row === undefined) throw new UsageError(`arena: instruction ${i} (${def.name}) has no 32-bit form to run as`);
    op[i] = row.op;
    opcode[i] = code32;
    bytes[i * INSN_SIZE] = code32;
  }
  return { ...prog, op, opcode, bytes };
}
