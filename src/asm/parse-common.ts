// What both assembly dialects produce per line, and the small helpers they
// share: building an instruction from a table row (the row's discriminator
// is filled in here, so no parser writes an opcode), number parsing with
// range checks, and positioned errors.

import { AsmError } from '../internal/errors.js';
import { MAX_REG } from '../isa/fields.js';
import type { InsnDef } from '../isa/table.js';

/** A reference to a label, resolved once all lines are read. */
export interface LabelRef {
  readonly name: string;
  readonly column: number;
}

/** One instruction as parsed, before label resolution and encoding. */
export interface ParsedInsn {
  readonly def: InsnDef;
  dst: number;
  src: number;
  off: number;
  imm: number;
  /** High 32 bits of an lddw immediate (the second slot's imm). */
  hi: number;
  /** Symbolic jump or call target; its offset goes in off or imm (see targetField). */
  readonly label?: LabelRef;
  /** Column of the mnemonic, for errors about the whole instruction. */
  readonly column: number;
}

export interface ParsedLine {
  readonly labels: readonly LabelRef[];
  readonly insn?: ParsedInsn;
}

/** Where the parser is, so errors can name the file and line. */
export interface LineCtx {
  readonly line: number;
  readonly file?: string;
}

export function fail(ctx: LineCtx, column: number, reason: string, expected?: string): never {
  throw new AsmError(ctx.line, column, reason, expected, ctx.file);
}

export interface Fields {
  dst?: number;
  src?: number;
  off?: number;
  imm?: number;
  hi?: number;
}

/** An instruction of row `def`; the row's discriminator field is set from the table. */
export function makeInsn(def: InsnDef, f: Fields, column: number, label?: LabelRef): ParsedInsn {
  const insn: ParsedInsn = { def, dst: f.dst ?? 0, src: f.src ?? 0, off: f.off ?? 0, imm: f.imm ?? 0, hi: f.hi ?? 0, column };
  if (label !== undefined) (insn as { label?: LabelRef }).label = label;
  const d = def.discr;
  if (d !== undefined) insn[d.field] = d.value;
  return insn;
}

/** Parse a decimal or 0x-hex integer with an optional sign; undefined if it is not one. */
export function parseInteger(tok: string): bigint | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|[0-9]+)$/.exec(tok);
  if (m === null) return undefined;
  const v = BigInt(m[2]!);
  return m[1] === '-' ? -v : v;
}

export const S16_MIN = -0x8000n;
export const S16_MAX = 0x7fffn;
export const S32_MIN = -0x8000_0000n;
export const S32_MAX = 0x7fff_ffffn;
export const U32_MAX = 0xffff_ffffn;
export const S64_MIN = -(1n << 63n);
export const U64_MAX = (1n << 64n) - 1n;

/** Wrap a value known to be within [-2^31, 2^32) to an int32 bit pattern. */
export function toInt32(v: bigint): number {
  return Number(BigInt.asIntN(32, v));
}

/** Split a 64-bit immediate (signed or unsigned) into its low and high int32 halves. */
export function splitImm64(v: bigint): { lo: number; hi: number } {
  const u = BigInt.asUintN(64, v);
  return { lo: Number(BigInt.asIntN(32, u)), hi: Number(BigInt.asIntN(32, u >> 32n)) };
}

/** Register number from `r7` / `w7` / `%r7` style text after the prefix, or undefined. */
export function regNumber(digits: string): number | undefined {
  if (!/^(0|[1-9][0-9]?)$/.test(digits)) return undefined;
  const n = Number(digits);
  return n <= MAX_REG ? n : undefined;
}

export const LABEL_RE = /^[A-Za-z_.$][A-Za-z0-9_.$]*$/;
