// One line of LLVM's BPF assembly, as llvm-objdump-19 prints it and llvm-mc
// reads it: `r2 = *(u32 *)(r1 + 0x0)`, `w0 += w1`, `if r1 > 0x5 goto +0x3`,
// `lock *(u64 *)(r0 + 0x0) += r1`, `r1 = 0x0 ll`, `call 0x1`, `callx r2`...
// Rows are found by keys derived from the table's shape, llvm operator and
// width, so the parser has no opcode list of its own.

import { PseudoLd } from '../isa/fields.js';
import { INSNS, Shape, type InsnDef } from '../isa/table.js';
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
  regNumber,
  splitImm64,
  toInt32,
  type Fields,
  type LabelRef,
  type LineCtx,
  type ParsedInsn,
  type ParsedLine,
} from './parse-common.js';
import { is32BitClass, isLockAssign, parseAtomicCallName } from './syntax.js';

// ---- Row lookup by LLVM spelling ------------------------------------------

function keyOf(def: InsnDef): string | undefined {
  const w = is32BitClass(def) ? 32 : 64;
  switch (def.shape) {
    case Shape.AluImm:
    case Shape.AluReg:
      return `alu ${def.llvm} ${w} ${def.shape === Shape.AluReg ? 'reg' : 'imm'}`;
    case Shape.JmpImm:
    case Shape.JmpReg:
      return `jmp ${def.llvm} ${w} ${def.shape === Shape.JmpReg ? 'reg' : 'imm'}`;
    case Shape.Neg:
      return `neg ${w}`;
    case Shape.MovSx:
      return `movsx ${def.llvm} ${w}`;
    case Shape.Endian:
      return `end ${def.llvm}`;
    case Shape.Load:
    case Shape.LoadSx:
      return `ld ${def.llvm}`;
    case Shape.Store:
      return `st ${def.llvm} imm`;
    case Shape.StoreReg:
      return `st ${def.llvm} reg`;
    case Shape.Atomic:
      return `atomic ${def.llvm} ${def.width}`;
    case Shape.Lddw:
      return `lddw ${def.discr?.value ?? 0}`;
    case Shape.LdAbs:
      return `ldabs ${def.llvm}`;
    case Shape.LdInd:
      return `ldind ${def.llvm}`;
    default:
      return `shape ${def.shape}`;
  }
}

const ROWS: ReadonlyMap<string, InsnDef> = (() => {
  const m = new Map<string, InsnDef>();
  for (const d of INSNS) {
    const k = keyOf(d);
    // Call rows share a shape key only with themselves; first row wins otherwise.
    if (k !== undefined && !m.has(k)) m.set(k, d);
  }
  return m;
})();

function row(key: string): InsnDef | undefined {
  return ROWS.get(key);
}

/** Every compound ALU operator in the table ('+=', 's>>=', ...) and every comparison. */
const ALU_OPS: ReadonlySet<string> = new Set(INSNS.filter((d) => d.shape === Shape.AluReg && d.llvm !== '=').map((d) => d.llvm));
const CMP_OPS: ReadonlySet<string> = new Set(INSNS.filter((d) => d.shape === Shape.JmpReg).map((d) => d.llvm));
const LOCK_OPS: ReadonlySet<string> = new Set(INSNS.filter(isLockAssign).map((d) => d.llvm));

// ---- Tokens ------------------------------------------------------------------

type Kind = 'ident' | 'num' | 'op' | 'punct';
interface Tok {
  readonly kind: Kind;
  readonly text: string;
  readonly col: number;
}

/** Longest first, so `<<=` wins over `<<` and `<`. */
const OPERATORS = ['<<=', '>>=', '==', '!=', '>=', '<=', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '=', '<', '>', '&', '+', '-', '*', '/', '%', '|', '^', '!'];
const OP_CHARS = /[=<>!&|^+\-*/%]/;

// Sticky regexes match at a position without slicing the line.
const IDENT_RE = /[A-Za-z_.$][A-Za-z0-9_.$]*/y;
const NUMBER_RE = /(?:0[xX][0-9a-fA-F]+|[0-9]+)(?![A-Za-z0-9_])/y;
const WORD_RE = /[0-9A-Za-z_]+/y;

function sticky(re: RegExp, text: string, at: number): RegExpExecArray | null {
  re.lastIndex = at;
  return re.exec(text);
}

function tokenize(text: string, ctx: LineCtx): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === ' ' || ch === '\t') {
      i++;
      continue;
    }
    const col = i + 1;
    let m: RegExpExecArray | null;
    if ((m = sticky(IDENT_RE, text, i)) !== null) {
      out.push({ kind: 'ident', text: m[0], col });
      i += m[0].length;
    } else if ((m = sticky(NUMBER_RE, text, i)) !== null) {
      out.push({ kind: 'num', text: m[0], col });
      i += m[0].length;
    } else if (/[0-9]/.test(ch)) {
      const bad = sticky(WORD_RE, text, i)![0];
      fail(ctx, col, `invalid number '${bad}'`, 'a decimal or 0x hex number');
    } else if ('()[],'.includes(ch)) {
      out.push({ kind: 'punct', text: ch, col });
      i++;
    } else if (OP_CHARS.test(ch)) {
      const op = OPERATORS.find((o) => text.startsWith(o, i))!;
      // `s` glued to an operator is the signed form: s>>=, s/=, s%=, s<, s>=...
      const prev = out[out.length - 1];
      if (prev !== undefined && prev.kind === 'ident' && prev.text === 's' && prev.col + 1 === col) {
        out[out.length - 1] = { kind: 'op', text: 's' + op, col: prev.col };
      } else {
        out.push({ kind: 'op', text: op, col });
      }
      i += op.length;
    } else {
      fail(ctx, col, `unexpected character '${ch}'`, 'an instruction in LLVM syntax');
    }
  }
  return out;
}

// ---- Parser ----------------------------------------------------------------------

class Cursor {
  private i = 0;
  constructor(
    private readonly toks: readonly Tok[],
    readonly ctx: LineCtx,
    private readonly endCol: number,
  ) {}

  peek(k = 0): Tok | undefined {
    return this.toks[this.i + k];
  }

  /** Column of the next token, or just past the end of the line. */
  col(): number {
    return this.peek()?.col ?? this.endCol;
  }

  next(): Tok | undefined {
    return this.toks[this.i++];
  }

  atEnd(): boolean {
    return this.i >= this.toks.length;
  }

  isText(text: string, k = 0): boolean {
    const t = this.peek(k);
    return t !== undefined && t.kind !== 'num' && t.text === text;
  }

  expect(text: string, what?: string): Tok {
    const t = this.peek();
    if (t === undefined || t.kind === 'num' || t.text !== text) this.unexpected(what ?? `'${text}'`);
    this.i++;
    return t;
  }

  unexpected(expected: string): never {
    const t = this.peek();
    fail(this.ctx, this.col(), t === undefined ? 'unexpected end of line' : `unexpected '${t.text}'`, expected);
  }

  end(): void {
    if (!this.atEnd()) this.unexpected('end of instruction');
  }
}

interface Reg {
  readonly n: number;
  readonly w: boolean;
  readonly col: number;
}

function isRegTok(t: Tok | undefined): boolean {
  return t !== undefined && t.kind === 'ident' && /^[rw][0-9]+$/.test(t.text);
}

function reg(c: Cursor, allowW = true): Reg {
  const t = c.peek();
  if (t === undefined || t.kind !== 'ident' || !/^[rw]/.test(t.text)) c.unexpected(allowW ? 'a register r0..r10 or w0..w10' : 'a register r0..r10');
  const n = regNumber(t.text.slice(1));
  if (n === undefined || !/^[rw][0-9]+$/.test(t.text)) fail(c.ctx, t.col, `invalid register '${t.text}'`, allowW ? 'a register r0..r10 or w0..w10' : 'a register r0..r10');
  if (!allowW && t.text[0] === 'w') fail(c.ctx, t.col, `32-bit register '${t.text}' not allowed here`, `a 64-bit register r${n}`);
  c.next();
  return { n, w: t.text[0] === 'w', col: t.col };
}

/** An integer with optional sign: `0x5`, `-0x5`, `+3`, `17`. */
function num(c: Cursor, what: string): { v: bigint; col: number; text: string } {
  const col = c.col();
  let sign = 1n;
  let text = '';
  if (c.isText('-') || c.isText('+')) {
    const s = c.next()!;
    if (s.text === '-') sign = -1n;
    text = s.text;
  }
  const t = c.peek();
  if (t === undefined || t.kind !== 'num') c.unexpected(what);
  c.next();
  return { v: sign * BigInt(t.text), col, text: text + t.text };
}

function inRange(c: Cursor, n: { v: bigint; col: number; text: string }, min: bigint, max: bigint, what: string): bigint {
  if (n.v < min || n.v > max) fail(c.ctx, n.col, `${what} ${n.text} out of range`, `${what} from ${fmt(min)} to ${fmt(max)}`);
  return n.v;
}

function fmt(v: bigint): string {
  return v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
}

function imm32(c: Cursor): number {
  return toInt32(inRange(c, num(c, 'an immediate'), S32_MIN, U32_MAX, 'immediate'));
}

/** `(rN + 0x8)` / `(rN - 0x8)` or, with parens=false, `rN - 0x8`. */
function memRef(c: Cursor, parens: boolean): { base: number; off: number } {
  if (parens) c.expect('(');
  const base = reg(c, false);
  let off = 0;
  if (c.isText('+') || c.isText('-')) {
    const sign = c.next()!.text === '-' ? -1n : 1n;
    const n = num(c, 'an offset');
    off = Number(inRange(c, { ...n, v: sign * n.v, text: (sign < 0n ? '-' : '+') + n.text }, S16_MIN, S16_MAX, 'offset'));
  }
  if (parens) c.expect(')');
  return { base: base.n, off };
}

/** `*(u32 *)` -> 'u32' (the llvm token of load/store rows). */
function sizeCast(c: Cursor): Tok {
  c.expect('*');
  c.expect('(');
  const t = c.peek();
  if (t === undefined || t.kind !== 'ident' || !/^[us](8|16|32|64)$/.test(t.text)) c.unexpected('a size u8, u16, u32, u64 (or s8, s16, s32)');
  c.next();
  c.expect('*');
  c.expect(')');
  return t;
}

/** Jump target: +0x3 / -0x3 / 3 (slot offset) or a label name. */
function target(c: Cursor, min: bigint, max: bigint): { value: number; label?: LabelRef } {
  const t = c.peek();
  if (t !== undefined && t.kind === 'ident') {
    if (!LABEL_RE.test(t.text)) fail(c.ctx, t.col, `invalid label '${t.text}'`, 'a label name');
    c.next();
    return { value: 0, label: { name: t.text, column: t.col } };
  }
  return { value: Number(inRange(c, num(c, 'a jump target (label or +offset)'), min, max, 'jump offset')) };
}

function need(c: Cursor, key: string, col: number, what: string): InsnDef {
  const d = row(key);
  if (d === undefined) fail(c.ctx, col, `no instruction ${what}`, 'an instruction of the eBPF ISA');
  return d;
}

function sameWidth(c: Cursor, a: Reg, b: Reg): void {
  if (a.w !== b.w) fail(c.ctx, b.col, `register width mismatch: ${a.w ? 'w' : 'r'}${a.n} with ${b.w ? 'w' : 'r'}${b.n}`, `${a.w ? 'w' : 'r'}${b.n}`);
}

/** Parse one comment-free line (labels `name:` may precede an instruction). */
export function parseLlvmLine(text: string, ctx: LineCtx): ParsedLine {
  // Labels `name:` come first; the tokenizer has no ':' so they are cut off
  // here and replaced by spaces to keep columns.
  const labels: LabelRef[] = [];
  let offset = 0;
  for (;;) {
    const m = /^(\s*)([A-Za-z_.$][A-Za-z0-9_.$]*):/.exec(text.slice(offset));
    if (m === null) break;
    labels.push({ name: m[2]!, column: offset + m[1]!.length + 1 });
    offset += m[0].length;
  }
  // Directives are checked before tokenizing: their operands (`@function`, "ax") are not instructions.
  const dir = /^(\s*)(\.[A-Za-z_][A-Za-z0-9_]*)(?=\s|$)/.exec(text.slice(offset));
  if (dir !== null) {
    if (!IGNORED_DIRECTIVES.has(dir[2]!)) {
      fail(ctx, offset + dir[1]!.length + 1, `unsupported directive '${dir[2]}'`, `an instruction (only ${[...IGNORED_DIRECTIVES].join(' ')} are ignored; build multi-section objects with clang)`);
    }
    return { labels };
  }
  const toks = tokenize(' '.repeat(offset) + text.slice(offset), ctx);
  if (toks.length === 0) return { labels };
  const c = new Cursor(toks, ctx, text.length + 1);
  const insn = statement(c);
  c.end();
  return { labels, insn };
}

/**
 * Assembler directives of `clang -S` output that mean nothing for one flat
 * instruction sequence. Anything else (.section, data) needs an object file.
 */
const IGNORED_DIRECTIVES: ReadonlySet<string> = new Set(['.text', '.file', '.globl', '.p2align', '.type', '.size', '.addrsig', '.addrsig_sym']);

function statement(c: Cursor): ParsedInsn {
  const t = c.peek()!;
  const col = t.col;

  if (t.kind === 'ident') {
    switch (t.text) {
      case 'exit':
        c.next();
        return makeInsn(need(c, `shape ${Shape.Exit}`, col, 'exit'), {}, col);
      case 'goto': {
        c.next();
        const tg = target(c, S16_MIN, S16_MAX);
        return makeInsn(need(c, `shape ${Shape.Ja}`, col, 'goto'), { off: tg.value }, col, tg.label);
      }
      case 'may_goto': {
        c.next();
        const tg = target(c, S16_MIN, S16_MAX);
        return makeInsn(need(c, `shape ${Shape.MayGoto}`, col, 'may_goto'), { off: tg.value }, col, tg.label);
      }
      case 'gotol': {
        c.next();
        const tg = target(c, S32_MIN, S32_MAX);
        return makeInsn(need(c, `shape ${Shape.Ja32}`, col, 'gotol'), { imm: tg.value }, col, tg.label);
      }
      case 'call':
        return call(c, col);
      case 'callx': {
        c.next();
        const r = reg(c, false);
        return makeInsn(need(c, `shape ${Shape.Callx}`, col, 'callx'), { dst: r.n }, col);
      }
      case 'if':
        return cond(c, col);
      case 'lock':
        return lock(c, col);
      case 'ld_pseudo':
        return ldPseudo(c, col);
    }
    if (isRegTok(t)) return assign(c, col);
    if (t.text.startsWith('R_BPF_')) {
      fail(c.ctx, col, `relocation ${t.text} cannot be applied here`, 'an instruction (objects with relocations load through the ELF loader)');
    }
  } else if (t.kind === 'op' && t.text === '*') {
    return store(c, col);
  }
  fail(c.ctx, col, `unknown instruction '${t.text}'`, 'an LLVM BPF instruction such as r0 = 0x1, r1 += r2, if r1 > 0x5 goto +0x3, call 0x1, exit');
}

/** `call 0x1` (helper id) or `call label` (bpf-to-bpf call, resolved pc-relative). */
function call(c: Cursor, col: number): ParsedInsn {
  c.next();
  const t = c.peek();
  if (t !== undefined && t.kind === 'ident') {
    const tg = target(c, S32_MIN, S32_MAX);
    return makeInsn(need(c, `shape ${Shape.CallLocal}`, col, 'call'), { imm: 0 }, col, tg.label);
  }
  return makeInsn(need(c, `shape ${Shape.Call}`, col, 'call'), { imm: imm32(c) }, col);
}

function cond(c: Cursor, col: number): ParsedInsn {
  c.next();
  const dst = reg(c);
  const opTok = c.peek();
  if (opTok === undefined || opTok.kind !== 'op' || !CMP_OPS.has(opTok.text)) c.unexpected(`a comparison (${[...CMP_OPS].join(' ')})`);
  c.next();
  const w = dst.w ? 32 : 64;
  let def: InsnDef;
  let f: Fields;
  if (isRegTok(c.peek())) {
    const src = reg(c);
    sameWidth(c, dst, src);
    def = need(c, `jmp ${opTok.text} ${w} reg`, col, `if ${opTok.text}`);
    f = { dst: dst.n, src: src.n };
  } else {
    def = need(c, `jmp ${opTok.text} ${w} imm`, col, `if ${opTok.text}`);
    f = { dst: dst.n, imm: imm32(c) };
  }
  c.expect('goto');
  const tg = target(c, S16_MIN, S16_MAX);
  f.off = tg.value;
  return makeInsn(def, f, col, tg.label);
}

/** `lock *(u64 *)(r1 + 0x0) += r2` */
function lock(c: Cursor, col: number): ParsedInsn {
  c.next();
  const size = sizeCast(c);
  if (size.text !== 'u32' && size.text !== 'u64') fail(c.ctx, size.col, `atomic access size ${size.text}`, 'u32 or u64');
  const m = memRef(c, true);
  const opTok = c.peek();
  if (opTok === undefined || !LOCK_OPS.has(opTok.text)) c.unexpected(`an atomic operator (${[...LOCK_OPS].join(' ')})`);
  c.next();
  const width = size.text === 'u64' ? 64 : 32;
  const src = reg(c, width === 32);
  return makeInsn(need(c, `atomic ${opTok.text} ${width}`, col, `lock ${opTok.text}`), { dst: m.base, off: m.off, src: src.n }, col);
}

/** `ld_pseudo r1, 0x1, 0x5`: lddw with a pseudo source (map fd, map value...). */
function ldPseudo(c: Cursor, col: number): ParsedInsn {
  c.next();
  const dst = reg(c, false);
  c.expect(',');
  const srcTok = num(c, 'a pseudo source 1..6');
  const src = inRange(c, srcTok, 0n, BigInt(PseudoLd.MAP_IDX_VALUE), 'pseudo source');
  c.expect(',');
  const imm = imm32(c);
  return makeInsn(need(c, `lddw ${src}`, srcTok.col, `lddw with src ${src}`), { dst: dst.n, imm }, col);
}

/** `*(u32 *)(r1 + 0x4) = r2` or `= 0x5` */
function store(c: Cursor, col: number): ParsedInsn {
  const size = sizeCast(c);
  if (!size.text.startsWith('u')) fail(c.ctx, size.col, `store size ${size.text}`, 'u8, u16, u32 or u64');
  const m = memRef(c, true);
  c.expect('=');
  if (isRegTok(c.peek())) {
    const src = reg(c, size.text !== 'u64');
    return makeInsn(need(c, `st ${size.text} reg`, col, 'store'), { dst: m.base, off: m.off, src: src.n }, col);
  }
  return makeInsn(need(c, `st ${size.text} imm`, col, 'store'), { dst: m.base, off: m.off, imm: imm32(c) }, col);
}

/** Everything that starts with a register: ALU ops, moves, loads, lddw, endian, atomics with a result. */
function assign(c: Cursor, col: number): ParsedInsn {
  const dst = reg(c);
  const w = dst.w ? 32 : 64;
  const opTok = c.peek();
  if (opTok === undefined || opTok.kind !== 'op') c.unexpected("'=' or an ALU operator (+=, -=, ...)");
  c.next();
  if (opTok.text !== '=') {
    if (!ALU_OPS.has(opTok.text)) fail(c.ctx, opTok.col, `unknown operator '${opTok.text}'`, `one of = ${[...ALU_OPS].join(' ')}`);
    return alu(c, col, dst, opTok.text);
  }
  const t = c.peek();
  if (t === undefined) c.unexpected('a value after =');
  // r1 = -r1 (neg) versus r1 = -0x5 (mov)
  if (t.text === '-' && isRegTok(c.peek(1))) {
    c.next();
    const src = reg(c);
    if (src.n !== dst.n || src.w !== dst.w) fail(c.ctx, src.col, `neg must name the same register on both sides`, `${dst.w ? 'w' : 'r'}${dst.n}`);
    return makeInsn(need(c, `neg ${w}`, col, 'neg'), { dst: dst.n }, col);
  }
  if (t.kind === 'num' || t.text === '-' || t.text === '+') {
    const n = num(c, 'an immediate');
    if (c.isText('ll')) {
      c.next();
      if (dst.w) fail(c.ctx, dst.col, `lddw needs a 64-bit register`, `r${dst.n}`);
      const v = inRange(c, n, S64_MIN, U64_MAX, 'immediate');
      const { lo, hi } = splitImm64(v);
      return makeInsn(need(c, 'lddw 0', col, 'lddw'), { dst: dst.n, imm: lo, hi }, col);
    }
    if ((n.v < S32_MIN || n.v > U32_MAX) && n.v >= S64_MIN && n.v <= U64_MAX && !dst.w) {
      fail(c.ctx, n.col, `immediate ${n.text} does not fit in 32 bits`, `${n.text} ll (a 64-bit lddw)`);
    }
    const imm = toInt32(inRange(c, n, S32_MIN, U32_MAX, 'immediate'));
    return makeInsn(need(c, `alu = ${w} imm`, col, 'mov'), { dst: dst.n, imm }, col);
  }
  if (isRegTok(t)) return alu(c, col, dst, '=');
  if (t.kind === 'ident' && c.isText('ll', 1)) {
    fail(c.ctx, t.col, `symbolic lddw '${t.text} ll' needs a relocation`, 'a number (objects with maps load through the ELF loader)');
  }
  if (t.text === '(') {
    // r1 = (s8)r2
    c.next();
    const cast = c.peek();
    if (cast === undefined || cast.kind !== 'ident' || !/^s(8|16|32)$/.test(cast.text)) c.unexpected('a sign-extension cast (s8), (s16) or (s32)');
    c.next();
    c.expect(')');
    const src = reg(c);
    sameWidth(c, dst, src);
    return makeInsn(need(c, `movsx (${cast.text}) ${w}`, cast.col, `${dst.w ? 'w' : 'r'} = (${cast.text})`), { dst: dst.n, src: src.n }, col);
  }
  if (t.text === '*') return load(c, col, dst);
  if (t.kind === 'ident') {
    const end = row(`end ${t.text}`);
    if (end !== undefined) {
      c.next();
      const src = reg(c, false);
      if (dst.w || src.n !== dst.n) fail(c.ctx, src.col, `byte swap must name the same 64-bit register on both sides`, `r${dst.n}`);
      return makeInsn(end, { dst: dst.n }, col);
    }
    if (t.text === 'addr_space_cast') return addrSpaceCast(c, col, dst);
    if (t.text.startsWith('atomic_fetch_')) return fetchOp(c, col, dst);
    const call = parseAtomicCallName(t.text);
    if (call !== undefined) return xchgOp(c, col, dst, call.llvm, call.width);
  }
  c.unexpected('a register, immediate, load, cast, byte swap or atomic operation');
}

function alu(c: Cursor, col: number, dst: Reg, op: string): ParsedInsn {
  const w = dst.w ? 32 : 64;
  if (isRegTok(c.peek())) {
    const src = reg(c);
    sameWidth(c, dst, src);
    return makeInsn(need(c, `alu ${op} ${w} reg`, col, `${op}`), { dst: dst.n, src: src.n }, col);
  }
  return makeInsn(need(c, `alu ${op} ${w} imm`, col, `${op}`), { dst: dst.n, imm: imm32(c) }, col);
}

/** `r1 = *(u32 *)(r2 + 0x4)`, `r1 = *(s8 *)(...)`, `r0 = *(u8 *)skb[0x5]`, `r0 = *(u8 *)skb[r2]` */
function load(c: Cursor, col: number, dst: Reg): ParsedInsn {
  const size = sizeCast(c);
  if (c.isText('skb')) {
    c.next();
    if (dst.w || dst.n !== 0) fail(c.ctx, dst.col, 'packet loads always write r0', 'r0');
    if (!size.text.startsWith('u') || size.text === 'u64') fail(c.ctx, size.col, `packet load size ${size.text}`, 'u8, u16 or u32');
    c.expect('[');
    let f: Fields;
    let def: InsnDef;
    if (isRegTok(c.peek())) {
      const src = reg(c, false);
      // LLVM prints `skb[r2]` only; we also read `skb[r2 + 0x4]` so nothing is lost.
      let imm = 0;
      if (c.isText('+') || c.isText('-')) {
        const neg = c.next()!.text === '-';
        const n = num(c, 'an offset');
        imm = toInt32(inRange(c, { ...n, v: neg ? -n.v : n.v }, S32_MIN, S32_MAX, 'offset'));
      }
      def = need(c, `ldind ${size.text}`, col, 'indirect packet load');
      f = { src: src.n, imm };
    } else {
      def = need(c, `ldabs ${size.text}`, col, 'absolute packet load');
      f = { imm: imm32(c) };
    }
    c.expect(']');
    return makeInsn(def, f, col);
  }
  const m = memRef(c, true);
  const def = row(`ld ${size.text}`);
  if (def === undefined) fail(c.ctx, size.col, `no load of size ${size.text}`, 'u8, u16, u32, u64, s8, s16 or s32');
  if (dst.w && (def.shape !== Shape.Load || def.width === 64)) fail(c.ctx, dst.col, `a ${size.text} load needs a 64-bit register`, `r${dst.n}`);
  return makeInsn(def, { dst: dst.n, src: m.base, off: m.off }, col);
}

/** `r1 = addr_space_cast(r2, 0x0, 0x1)`: imm = dst_as << 16 | src_as. */
function addrSpaceCast(c: Cursor, col: number, dst: Reg): ParsedInsn {
  c.next();
  if (dst.w) fail(c.ctx, dst.col, 'addr_space_cast needs a 64-bit register', `r${dst.n}`);
  c.expect('(');
  const src = reg(c, false);
  c.expect(',');
  const dstAs = Number(inRange(c, num(c, 'an address space'), 0n, 0xffffn, 'address space'));
  c.expect(',');
  const srcAs = Number(inRange(c, num(c, 'an address space'), 0n, 0xffffn, 'address space'));
  c.expect(')');
  return makeInsn(need(c, `shape ${Shape.AddrSpaceCast}`, col, 'addr_space_cast'), { dst: dst.n, src: src.n, imm: (dstAs << 16) | srcAs }, col);
}

/** `r2 = atomic_fetch_add((u64 *)(r1 - 0x3), r2)` */
function fetchOp(c: Cursor, col: number, dst: Reg): ParsedInsn {
  const name = c.next()!;
  c.expect('(');
  c.expect('(');
  const size = c.peek();
  if (size === undefined || size.kind !== 'ident' || (size.text !== 'u32' && size.text !== 'u64')) c.unexpected('u32 or u64');
  c.next();
  c.expect('*');
  c.expect(')');
  const m = memRef(c, true);
  c.expect(',');
  const width = size.text === 'u64' ? 64 : 32;
  const src = reg(c, width === 32);
  c.expect(')');
  if (src.n !== dst.n) fail(c.ctx, src.col, 'atomic fetch returns into its source register', `${dst.w ? 'w' : 'r'}${dst.n}`);
  const def = need(c, `atomic ${name.text} ${width}`, name.col, name.text);
  return makeInsn(def, { dst: m.base, off: m.off, src: src.n }, col);
}

/** `r2 = xchg_64(r1 - 0x3, r2)`, `r0 = cmpxchg_64(r1 - 0x3, r0, r2)` */
function xchgOp(c: Cursor, col: number, dst: Reg, llvm: string, width: 32 | 64): ParsedInsn {
  const name = c.next()!;
  if ((width === 32) !== dst.w) fail(c.ctx, dst.col, `${name.text} result register width`, `${width === 32 ? 'w' : 'r'}${dst.n}`);
  c.expect('(');
  const m = memRef(c, false);
  c.expect(',');
  let src: Reg;
  if (llvm === 'cmpxchg') {
    const r0 = reg(c);
    if (r0.n !== 0 || dst.n !== 0) fail(c.ctx, r0.n !== 0 ? r0.col : dst.col, 'cmpxchg compares with and returns into r0', width === 32 ? 'w0' : 'r0');
    c.expect(',');
    src = reg(c);
  } else {
    src = reg(c);
    if (src.n !== dst.n) fail(c.ctx, src.col, 'xchg returns into its source register', `${dst.w ? 'w' : 'r'}${dst.n}`);
  }
  c.expect(')');
  return makeInsn(need(c, `atomic ${llvm} ${width}`, name.col, name.text), { dst: m.base, off: m.off, src: src.n }, col);
}
