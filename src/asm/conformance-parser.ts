// One line of the bpf_conformance assembly dialect (FORMAT.md §2):
// `mnemonic op1, op2, op3` split on whitespace, one trailing comma removed per
// operand, registers `%rN`, memory `[%rN+off]`, jump targets as labels or
// explicitly signed slot offsets. Mnemonics come from the table's `name`
// field; the operand syntax follows the row's shape.

import { BY_NAME, Shape, type InsnDef } from '../isa/table.js';
import {
  LABEL_RE,
  S16_MAX,
  S16_MIN,
  S32_MAX,
  S32_MIN,
  S64_MIN,
  U32_MAX,
  U64_MAX,
  fail,
  makeInsn,
  parseInteger,
  regNumber,
  splitImm64,
  toInt32,
  type LabelRef,
  type LineCtx,
  type ParsedInsn,
  type ParsedLine,
} from './parse-common.js';

interface Tok {
  readonly text: string;
  readonly col: number;
}

/** Spelling aliases the upstream assembler accepts (same rows, other names). */
const ALIASES: ReadonlyMap<string, string> = new Map([
  ['swap16', 'bswap16'],
  ['swap32', 'bswap32'],
  ['swap64', 'bswap64'],
]);

/** Operands each shape takes, for the error message on a wrong count. */
const OPERANDS: Readonly<Record<Shape, string>> = {
  [Shape.AluReg]: 'dst, src|imm',
  [Shape.AluImm]: 'dst, src|imm',
  [Shape.Neg]: 'dst',
  [Shape.Endian]: 'dst',
  [Shape.MovSx]: 'dst, src',
  [Shape.Load]: 'dst, [src+off]',
  [Shape.LoadSx]: 'dst, [src+off]',
  [Shape.Store]: '[dst+off], imm',
  [Shape.StoreReg]: '[dst+off], src',
  [Shape.Atomic]: '[dst+off], src',
  [Shape.Lddw]: 'dst, imm64',
  [Shape.LdAbs]: 'imm',
  [Shape.LdInd]: 'src, imm',
  [Shape.Ja]: 'target',
  [Shape.Ja32]: 'target',
  [Shape.JmpImm]: 'dst, src|imm, target',
  [Shape.JmpReg]: 'dst, src|imm, target',
  [Shape.Call]: 'helper id',
  [Shape.CallLocal]: 'label',
  [Shape.CallKfunc]: 'BTF id',
  [Shape.Callx]: '%rN',
  [Shape.Exit]: 'no operands',
  [Shape.MayGoto]: 'target',
  [Shape.AddrSpaceCast]: 'dst, src, dst_as, src_as',
};

function tokenize(text: string): Tok[] {
  const out: Tok[] = [];
  const re = /\S+/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) out.push({ text: m[0], col: m.index + 1 });
  return out;
}

/** Parse one comment-free line. */
export function parseConformanceLine(text: string, ctx: LineCtx): ParsedLine {
  const toks = tokenize(text);
  if (toks.length === 0) return { labels: [] };
  const first = toks[0]!;
  if (first.text.endsWith(':')) {
    const name = first.text.slice(0, -1);
    if (!LABEL_RE.test(name)) fail(ctx, first.col, `invalid label name '${name}'`, 'a name like [A-Za-z_][A-Za-z0-9_]*');
    // The rest of a label line is ignored, as upstream does.
    return { labels: [{ name, column: first.col }] };
  }
  return { labels: [], insn: parseInsn(toks, ctx) };
}

function parseInsn(toks: Tok[], ctx: LineCtx): ParsedInsn {
  const m = toks[0]!;
  let name = ALIASES.get(m.text) ?? m.text;
  let rest = toks.slice(1);

  if (name === 'lock') {
    // `lock [fetch] op[32] [dst+off], src`: the table names are 'lock fetch add32' etc.
    const words: string[] = [];
    while (rest.length > 0 && !rest[0]!.text.startsWith('[') && words.length < 2) words.push(rest.shift()!.text);
    if (words.length === 0) fail(ctx, m.col, 'wrong number of operands for lock', 'lock [fetch] add|and|or|xor|xchg|cmpxchg[32] [dst+off], src');
    name = ['lock', ...words].join(' ');
    if (!BY_NAME.has(name)) fail(ctx, toks[1]!.col, `unknown atomic operation '${words.join(' ')}'`, '[fetch] add|and|or|xor, xchg or cmpxchg, with optional 32 suffix');
  } else if (name === 'call') {
    return parseCall(m, rest, ctx);
  }

  const rows = BY_NAME.get(name);
  if (rows === undefined) {
    const near = nearest(m.text);
    fail(ctx, m.col, `unknown mnemonic '${m.text}'`, near !== undefined ? `an instruction, e.g. ${near}` : 'an instruction such as mov, add32, ldxw, jeq, lddw, call, exit');
  }
  const ops = rest.map(stripComma);
  const shape = rows[0]!.shape;
  const want = countOf(shape);
  if (ops.length !== want) {
    const at = ops.length > want ? ops[want]!.col : m.col;
    fail(ctx, at, `wrong number of operands for ${name}: ${ops.length}`, `${want} (${OPERANDS[shape]})`);
  }
  return build(rows, ops, m.col, ctx);
}

/** The single-word mnemonic closest to a misspelt one (edit distance 1 or 2), for the error hint. */
function nearest(word: string): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const name of [...BY_NAME.keys(), ...ALIASES.keys()]) {
    if (name.includes(' ')) continue;
    const d = editDistance(word, name, bestD);
    if (d < bestD) {
      best = name;
      bestD = d;
    }
  }
  return best;
}

/** Levenshtein distance, giving up (returning limit) once it reaches limit. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      rowMin = Math.min(rowMin, cur[j]!);
    }
    if (rowMin >= limit) return limit;
    prev = cur;
  }
  return Math.min(prev[b.length]!, limit);
}

function countOf(shape: Shape): number {
  switch (shape) {
    case Shape.Exit:
      return 0;
    case Shape.Neg:
    case Shape.Endian:
    case Shape.LdAbs:
    case Shape.Ja:
    case Shape.Ja32:
    case Shape.Call:
    case Shape.CallLocal:
    case Shape.CallKfunc:
    case Shape.Callx:
    case Shape.MayGoto:
      return 1;
    case Shape.JmpImm:
    case Shape.JmpReg:
      return 3;
    case Shape.AddrSpaceCast:
      return 4;
    default:
      return 2;
  }
}

function stripComma(t: Tok): Tok {
  return t.text.endsWith(',') ? { text: t.text.slice(0, -1), col: t.col } : t;
}

/** Pick the row of a register/immediate pair (add -> add imm or add reg). */
function pick(rows: readonly InsnDef[], regShape: Shape, useReg: boolean): InsnDef {
  const r = rows.find((d) => (d.shape === regShape) === useReg);
  return r ?? rows[0]!;
}

function build(rows: readonly InsnDef[], ops: Tok[], col: number, ctx: LineCtx): ParsedInsn {
  const def0 = rows[0]!;
  const [a, b, c, d] = ops;
  switch (def0.shape) {
    case Shape.AluImm:
    case Shape.AluReg: {
      const dst = reg(a!, ctx);
      const isReg = b!.text.startsWith('%');
      const def = pick(rows, Shape.AluReg, isReg);
      return isReg ? makeInsn(def, { dst, src: reg(b!, ctx) }, col) : makeInsn(def, { dst, imm: imm32(b!, ctx) }, col);
    }
    case Shape.JmpImm:
    case Shape.JmpReg: {
      const dst = reg(a!, ctx);
      const isReg = b!.text.startsWith('%');
      const def = pick(rows, Shape.JmpReg, isReg);
      const t = target(c!, ctx, S16_MIN, S16_MAX);
      const f = isReg ? { dst, src: reg(b!, ctx), off: t.value } : { dst, imm: imm32(b!, ctx), off: t.value };
      return makeInsn(def, f, col, t.label);
    }
    case Shape.Neg:
    case Shape.Endian:
      return makeInsn(def0, { dst: reg(a!, ctx) }, col);
    case Shape.MovSx:
      return makeInsn(def0, { dst: reg(a!, ctx), src: reg(b!, ctx) }, col);
    case Shape.Load:
    case Shape.LoadSx: {
      const m = mem(b!, ctx);
      return makeInsn(def0, { dst: reg(a!, ctx), src: m.reg, off: m.off }, col);
    }
    case Shape.Store: {
      const m = mem(a!, ctx);
      return makeInsn(def0, { dst: m.reg, off: m.off, imm: imm32(b!, ctx) }, col);
    }
    case Shape.StoreReg:
    case Shape.Atomic: {
      const m = mem(a!, ctx);
      return makeInsn(def0, { dst: m.reg, off: m.off, src: reg(b!, ctx) }, col);
    }
    case Shape.Lddw: {
      const v = parseInteger(b!.text);
      const hex = /0x/i.test(b!.text);
      if (v === undefined) fail(ctx, b!.col, `invalid immediate '${b!.text}'`, 'a 64-bit integer in decimal or 0x hex');
      if (v < S64_MIN || v > U64_MAX || (hex && v < 0n)) fail(ctx, b!.col, `immediate ${b!.text} out of range`, 'a 64-bit value: hex up to 0xffffffffffffffff, decimal from -2^63');
      const { lo, hi } = splitImm64(v);
      return makeInsn(def0, { dst: reg(a!, ctx), imm: lo, hi }, col);
    }
    case Shape.LdAbs:
      return makeInsn(def0, { imm: imm32(a!, ctx) }, col);
    case Shape.LdInd:
      return makeInsn(def0, { src: reg(a!, ctx), imm: imm32(b!, ctx) }, col);
    case Shape.AddrSpaceCast:
      // Not in the upstream dialect (bpf_conformance predates it); operands follow LLVM's order.
      return makeInsn(def0, { dst: reg(a!, ctx), src: reg(b!, ctx), imm: (addrSpace(c!, ctx) << 16) | addrSpace(d!, ctx) }, col);
    case Shape.MayGoto:
    case Shape.Ja: {
      const t = target(a!, ctx, S16_MIN, S16_MAX);
      return makeInsn(def0, { off: t.value }, col, t.label);
    }
    case Shape.Ja32: {
      const t = target(a!, ctx, S32_MIN, S32_MAX);
      return makeInsn(def0, { imm: t.value }, col, t.label);
    }
    case Shape.Callx:
      return makeInsn(def0, { dst: reg(a!, ctx) }, col);
    case Shape.Exit:
      return makeInsn(def0, {}, col);
    default:
      // call forms are handled by parseCall
      return fail(ctx, col, `cannot assemble ${def0.name} here`, 'call N, call local LABEL, call runtime N or call %rN');
  }
}

function rowOf(name: string): InsnDef {
  return BY_NAME.get(name)![0]!;
}

/** `call N`, `call helper N`, `call local LABEL`, `call runtime N`, `call %rN`, `call helper %rN`. */
function parseCall(m: Tok, rest: Tok[], ctx: LineCtx): ParsedInsn {
  const ops = rest.map(stripComma);
  let kind = 'helper';
  if (ops.length > 0 && ['helper', 'local', 'runtime'].includes(ops[0]!.text)) kind = ops.shift()!.text;
  if (ops.length !== 1) {
    fail(ctx, ops.length > 1 ? ops[1]!.col : m.col, `wrong number of operands for call: ${ops.length}`, 'call [helper] N|%rN, call local LABEL or call runtime N');
  }
  const op = ops[0]!;
  if (kind === 'local') {
    const t = target(op, ctx, S32_MIN, S32_MAX);
    return makeInsn(rowOf('call local'), { imm: t.value }, m.col, t.label);
  }
  if (kind === 'helper' && op.text.startsWith('%')) return makeInsn(rowOf('callx'), { dst: reg(op, ctx) }, m.col);
  return makeInsn(rowOf(kind === 'runtime' ? 'call runtime' : 'call'), { imm: imm32(op, ctx) }, m.col);
}

function reg(t: Tok, ctx: LineCtx): number {
  const n = t.text.startsWith('%r') ? regNumber(t.text.slice(2)) : undefined;
  if (n === undefined) fail(ctx, t.col, `invalid register '${t.text}'`, 'a register %r0..%r10');
  return n;
}

/** imm32: decimal in s32 range, or hex up to 0xffffffff taken as a bit pattern. */
function imm32(t: Tok, ctx: LineCtx): number {
  const v = parseInteger(t.text);
  if (v === undefined) fail(ctx, t.col, `invalid immediate '${t.text}'`, 'a 32-bit integer in decimal or 0x hex');
  const hex = /0x/i.test(t.text);
  const ok = hex ? v >= S32_MIN && v <= U32_MAX : v >= S32_MIN && v <= S32_MAX;
  if (!ok) fail(ctx, t.col, `immediate ${t.text} out of range`, hex ? 'hex from -0x80000000 to 0xffffffff' : 'decimal from -2147483648 to 2147483647');
  return toInt32(v);
}

/** An address space number of addr_space_cast: 0..0xffff. */
function addrSpace(t: Tok, ctx: LineCtx): number {
  const v = parseInteger(t.text);
  if (v === undefined || v < 0n || v > 0xffffn) fail(ctx, t.col, `invalid address space '${t.text}'`, 'an address space number from 0 to 0xffff');
  return Number(v);
}

/** `[%rN]`, `[%rN+off]`, `[%rN-off]`: off decimal in s16, or hex up to 0xffff. */
function mem(t: Tok, ctx: LineCtx): { reg: number; off: number } {
  const m = /^\[(%?[^\]+-]*)(?:([+-])([^\]]*))?\]$/.exec(t.text);
  if (m === null) fail(ctx, t.col, `invalid memory operand '${t.text}'`, 'a memory operand [%rN], [%rN+off] or [%rN-off]');
  const r = reg({ text: m[1]!, col: t.col + 1 }, ctx);
  if (m[2] === undefined) return { reg: r, off: 0 };
  const offCol = t.col + 1 + m[1]!.length;
  const v = parseInteger(m[3]!);
  if (v === undefined || m[3]!.startsWith('+') || m[3]!.startsWith('-')) {
    fail(ctx, offCol, `invalid offset '${m[2]}${m[3]}'`, 'a decimal or 0x hex offset');
  }
  const hex = /0x/i.test(m[3]!);
  const signed = m[2] === '-' ? -v : v;
  const ok = hex && m[2] === '+' ? v <= 0xffffn : signed >= S16_MIN && signed <= S16_MAX;
  if (!ok) fail(ctx, offCol, `offset ${m[2]}${m[3]} out of range`, hex ? 'hex offset up to 0xffff' : 'offset from -32768 to 32767');
  return { reg: r, off: Number(BigInt.asIntN(16, signed)) };
}

/** A jump target: label name, or a slot offset with an explicit sign. */
function target(t: Tok, ctx: LineCtx, min: bigint, max: bigint): { value: number; label?: LabelRef } {
  if (t.text.startsWith('+') || t.text.startsWith('-')) {
    const v = parseInteger(t.text);
    if (v === undefined) fail(ctx, t.col, `invalid jump offset '${t.text}'`, 'a label or a signed slot offset like +1 or -3');
    if (v < min || v > max) fail(ctx, t.col, `jump offset ${t.text} out of range`, `an offset from ${min} to +${max}`);
    return { value: Number(v) };
  }
  if (!LABEL_RE.test(t.text)) fail(ctx, t.col, `invalid jump target '${t.text}'`, 'a label or a signed slot offset like +1 or -3');
  return { value: 0, label: { name: t.text, column: t.col } };
}
