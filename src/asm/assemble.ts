// Assembly text -> instruction bytes. Two dialects share this driver: the
// bpf_conformance one (`add32 %r0, 1`, FORMAT.md §2) and LLVM's
// (`w0 += 0x1`, as llvm-objdump prints it). The driver strips comments,
// binds labels to slot indexes, resolves symbolic targets and encodes; the
// per-dialect parsers turn one line into a table row plus fields.

import { AsmError } from '../internal/errors.js';
import { encodeSlots } from '../isa/decode.js';
import type { RawInsn } from '../isa/fields.js';
import { Shape } from '../isa/table.js';
import { parseConformanceLine } from './conformance-parser.js';
import { parseLlvmLine } from './llvm-parser.js';
import { S16_MAX, S16_MIN, S32_MAX, S32_MIN, type LineCtx, type ParsedInsn, type ParsedLine } from './parse-common.js';

export type Dialect = 'conformance' | 'llvm' | 'auto';

export interface AssembleOptions {
  /** Default 'auto': conformance if any line uses a `%r` register, else LLVM. */
  dialect?: Dialect;
  /** File name for error messages. */
  file?: string;
  /** Line number of the first line of `text` (default 1), e.g. the `-- asm` body of a .data file. */
  firstLine?: number;
}

export interface Assembled {
  readonly dialect: 'conformance' | 'llvm';
  /** One raw slot per 8 bytes (lddw takes two). */
  readonly slots: readonly RawInsn[];
  /** Label -> slot index. */
  readonly labels: ReadonlyMap<string, number>;
  /** Source line of each slot (both halves of an lddw name its line). */
  readonly lines: readonly number[];
}

/** Pick the dialect of a text: conformance if any line uses a `%r` register. */
export function detectDialect(text: string): 'conformance' | 'llvm' {
  // Comments do not count: clang -S writes `# %bb.0:`, and a note may mention %r1.
  return text.split('\n').some((l) => /%r[0-9]/.test(cleanLlvmLine(l))) ? 'conformance' : 'llvm';
}

/** Assemble text into little-endian instruction bytes. Throws AsmError with line and column. */
export function assemble(text: string, options: AssembleOptions = {}): Uint8Array {
  return encodeSlots(assembleToSlots(text, options).slots);
}

/** Assemble text into raw slots, with the label table and line of each slot. */
export function assembleToSlots(text: string, options: AssembleOptions = {}): Assembled {
  const dialect = options.dialect === undefined || options.dialect === 'auto' ? detectDialect(text) : options.dialect;
  const first = options.firstLine ?? 1;
  const file = options.file;
  const parse = dialect === 'conformance' ? parseConformanceLine : parseLlvmLine;
  const clean = dialect === 'conformance' ? stripHashComment : cleanLlvmLine;

  const labels = new Map<string, { slot: number; line: number }>();
  const insns: { insn: ParsedInsn; slot: number; ctx: LineCtx }[] = [];
  let slot = 0;
  let firstExitSeen = false;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let src = lines[i]!;
    if (src.endsWith('\r')) src = src.slice(0, -1);
    const ctx: LineCtx = file === undefined ? { line: first + i } : { line: first + i, file };
    const parsed: ParsedLine = parse(clean(src), ctx);
    for (const l of parsed.labels) {
      const prev = labels.get(l.name);
      if (prev !== undefined) throw new AsmError(ctx.line, l.column, `duplicate label '${l.name}'`, `a label defined once (first defined at line ${prev.line})`, file);
      labels.set(l.name, { slot, line: ctx.line });
    }
    const insn = parsed.insn;
    if (insn === undefined) continue;
    // Conformance: the first exit is implicitly labelled `exit`, overriding an
    // explicit `exit:` written before it (one written after is a duplicate).
    if (dialect === 'conformance' && insn.def.shape === Shape.Exit && !firstExitSeen) {
      firstExitSeen = true;
      labels.set('exit', { slot, line: ctx.line });
    }
    insns.push({ insn, slot, ctx });
    slot += insn.def.slots;
  }

  const slots: RawInsn[] = [];
  const slotLines: number[] = [];
  for (const { insn, slot: at, ctx } of insns) {
    if (insn.label !== undefined) resolve(insn, at, labels, ctx);
    slots.push({ opcode: insn.def.opcode, dst: insn.dst, src: insn.src, off: insn.off, imm: insn.imm });
    slotLines.push(ctx.line);
    if (insn.def.slots === 2) {
      slots.push({ opcode: 0, dst: 0, src: 0, off: 0, imm: insn.hi });
      slotLines.push(ctx.line);
    }
  }
  const labelSlots = new Map<string, number>();
  for (const [k, v] of labels) labelSlots.set(k, v.slot);
  return { dialect, slots, labels: labelSlots, lines: slotLines };
}

/** Put a label's pc-relative offset into off (jumps) or imm (ja32, local calls). */
function resolve(insn: ParsedInsn, at: number, labels: ReadonlyMap<string, { slot: number }>, ctx: LineCtx): void {
  const ref = insn.label!;
  const target = labels.get(ref.name);
  if (target === undefined) throw new AsmError(ctx.line, ref.column, `undefined label '${ref.name}'`, 'a label defined in this program', ctx.file);
  const rel = target.slot - (at + 1);
  const inImm = insn.def.shape === Shape.Ja32 || insn.def.shape === Shape.CallLocal;
  const [min, max] = inImm ? [S32_MIN, S32_MAX] : [S16_MIN, S16_MAX];
  if (rel < min || rel > max) {
    throw new AsmError(ctx.line, ref.column, `label '${ref.name}' is ${rel} slots away, too far for the ${inImm ? 'imm' : 'offset'} field`, `a target within ${min}..${max} slots (use gotol for long jumps)`, ctx.file);
  }
  if (inImm) insn.imm = rel;
  else insn.off = rel;
}

function stripHashComment(line: string): string {
  const h = line.indexOf('#');
  return h < 0 ? line : line.slice(0, h);
}

/** objdump's leading `  12:\t` index and raw byte columns (8 or 16 bytes). */
const OBJDUMP_PREFIX = /^(\s*[0-9]+:[ \t]+)((?:[0-9a-f]{2}[ \t]+){8}(?:(?:[0-9a-f]{2}[ \t]+){8})?)?/;

/**
 * Make a pasted llvm-objdump line parseable: drop comments (`;`, `//`, `#`),
 * blank the address and raw-byte columns (with spaces, so columns still
 * match the input), drop objdump's ` <sym+0x28>` target annotations and its
 * header lines.
 */
export function cleanLlvmLine(line: string): string {
  let s = line;
  for (const marker of [';', '//', '#']) {
    const k = s.indexOf(marker);
    if (k >= 0) s = s.slice(0, k);
  }
  if (/^\s*\S+:\s+file format /.test(s) || /^\s*Disassembly of section /.test(s) || /^\s*[0-9a-fA-F]+ <[^>]*>:\s*$/.test(s)) return '';
  const m = OBJDUMP_PREFIX.exec(s);
  if (m !== null) s = ' '.repeat(m[0].length) + s.slice(m[0].length);
  return s.replace(/\s+<[^<>\s]+>\s*$/, '');
}
