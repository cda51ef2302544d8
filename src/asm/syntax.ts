// Spelling rules of LLVM's BPF assembly that are not in the table itself but
// follow from a row's fields: register prefix by class, the function-call
// spelling of xchg/cmpxchg, and how numbers print. Shared by the LLVM-dialect
// parser and the disassembler so the two cannot drift apart.

import { Class, classOf } from '../isa/fields.js';
import { Shape, type InsnDef } from '../isa/table.js';

/** True for rows of the 32-bit ALU and JMP32 classes (operands print as wN). */
export function is32BitClass(def: InsnDef): boolean {
  const c = classOf(def.opcode);
  return c === Class.ALU || c === Class.JMP32;
}

/**
 * LLVM writes xchg and cmpxchg as calls: `xchg_64`, `xchg32_32`,
 * `cmpxchg_64`, `cmpxchg32_32` (the 32-bit names repeat the width).
 */
export function atomicCallName(def: InsnDef): string {
  return def.width === 64 ? `${def.llvm}_64` : `${def.llvm}32_32`;
}

/** Inverse of atomicCallName: ['xchg', 64] for 'xchg_64', undefined if it is not one. */
export function parseAtomicCallName(name: string): { llvm: string; width: 32 | 64 } | undefined {
  const m = /^(xchg|cmpxchg)(?:_64|32_32)$/.exec(name);
  if (m === null) return undefined;
  return { llvm: m[1]!, width: name.endsWith('_64') ? 64 : 32 };
}

/** Atomic rows whose llvm operator is a compound assignment (`lock *(u64 *)(r1 + 0x0) += r2`). */
export function isLockAssign(def: InsnDef): boolean {
  return def.shape === Shape.Atomic && def.llvm.endsWith('=');
}

/** Signed hex as LLVM prints immediates: 0x5, -0x5, 0x0. */
export function hexSigned(v: number): string {
  return v < 0 ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
}

/** Signed 64-bit hex from two int32 halves (lddw), as LLVM prints it. */
export function hexSigned64(lo: number, hi: number): string {
  const v = (BigInt(hi) << 32n) | BigInt(lo >>> 0);
  return v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
}

/** Jump offsets carry an explicit sign: +0x3, -0x3, +0x0. */
export function hexJump(v: number): string {
  return v < 0 ? `-0x${(-v).toString(16)}` : `+0x${v.toString(16)}`;
}

/** Memory operand body: `r1 + 0x8`, `r10 - 0x4`. */
export function memOperand(base: number, off: number): string {
  return off < 0 ? `r${base} - 0x${(-off).toString(16)}` : `r${base} + 0x${off.toString(16)}`;
}
