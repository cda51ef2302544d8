// Classic programs in the forms users have them: binary `struct sock_filter`
// arrays, `tcpdump -ddd` (decimal; also the comma-separated one-line form
// that iptables' xt_bpf and tc take), `tcpdump -dd` (a C initialiser list)
// and assembly text (bpf_asm or a tcpdump -d listing, see asm.ts).

import { AsmError, UsageError } from '../internal/errors.js';
import { assembleClassic, parseClassicNumber } from './asm.js';
import { ClassicError } from './errors.js';
import { SOCK_FILTER_SIZE, type ClassicInsn } from './insn.js';

export type ClassicFormat = 'bin' | 'ddd' | 'dd' | 'asm';
export const CLASSIC_FORMATS: readonly (ClassicFormat | 'auto')[] = ['auto', 'bin', 'ddd', 'dd', 'asm'];

export interface ReadClassicOptions {
  /** File name for error messages. */
  file?: string;
  /** Byte order of binary input (struct sock_filter is host-endian; default little). */
  bigEndian?: boolean;
}

/** Binary `struct sock_filter[]`: u16 code, u8 jt, u8 jf, u32 k, 8 bytes each. */
export function readClassicBinary(bytes: Uint8Array, options: ReadClassicOptions = {}): ClassicInsn[] {
  if (bytes.length % SOCK_FILTER_SIZE !== 0) {
    throw new ClassicError(-1, `binary program length ${bytes.length} is not a multiple of ${SOCK_FILTER_SIZE} bytes${options.file ? ` (${options.file})` : ''}`);
  }
  const le = !options.bigEndian;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: ClassicInsn[] = [];
  for (let p = 0; p < bytes.length; p += SOCK_FILTER_SIZE) {
    out.push({ code: dv.getUint16(p, le), jt: bytes[p + 2]!, jf: bytes[p + 3]!, k: dv.getUint32(p + 4, le) });
  }
  return out;
}

/** Instructions -> binary `struct sock_filter[]`. */
export function writeClassicBinary(prog: readonly ClassicInsn[], options: { bigEndian?: boolean } = {}): Uint8Array {
  const out = new Uint8Array(prog.length * SOCK_FILTER_SIZE);
  const dv = new DataView(out.buffer);
  const le = !options.bigEndian;
  prog.forEach((ins, i) => {
    const p = i * SOCK_FILTER_SIZE;
    dv.setUint16(p, ins.code & 0xffff, le);
    out[p + 2] = ins.jt & 0xff;
    out[p + 3] = ins.jf & 0xff;
    dv.setUint32(p + 4, ins.k >>> 0, le);
  });
  return out;
}

interface Tok {
  text: string;
  line: number;
  col: number;
}

/** Split text into tokens separated by whitespace and/or commas, with positions. */
function tokens(text: string, sep: RegExp): Tok[] {
  const out: Tok[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((l, i) => {
    const re = new RegExp(`[^${sep.source}]+`, 'g');
    for (let m = re.exec(l); m; m = re.exec(l)) out.push({ text: m[0], line: i + 1, col: m.index + 1 });
  });
  return out;
}

/** One field of an instruction, range-checked. */
function field(t: Tok, name: string, max: number, file?: string, allowNegative = false): number {
  const v = parseClassicNumber(t.text);
  const raw = /^-/.test(t.text.trim());
  if (v === undefined || (raw && !allowNegative) || (!raw && v > max)) {
    throw new AsmError(t.line, t.col, `bad ${name} '${t.text}'`, `a number 0..${max}`, file);
  }
  return v;
}

/** `tcpdump -ddd`: a count, then four decimal numbers per instruction, separated by whitespace or commas. */
export function parseDdd(text: string, options: ReadClassicOptions = {}): ClassicInsn[] {
  const file = options.file;
  const toks = tokens(text, /\s,/);
  if (toks.length === 0) throw new AsmError(1, 1, 'empty program', 'an instruction count', file);
  const count = field(toks[0]!, 'instruction count', 0xffff, file);
  const want = 1 + 4 * count;
  if (toks.length !== want) {
    const t = toks[Math.min(toks.length, want) - 1]!;
    throw new AsmError(t.line, t.col, `count says ${count} instructions (${want - 1} numbers) but ${toks.length - 1} numbers follow`, undefined, file);
  }
  const out: ClassicInsn[] = [];
  for (let i = 0; i < count; i++) {
    const [c, jt, jf, k] = toks.slice(1 + 4 * i, 5 + 4 * i) as [Tok, Tok, Tok, Tok];
    out.push({ code: field(c, 'code', 0xffff, file), jt: field(jt, 'jt', 0xff, file), jf: field(jf, 'jf', 0xff, file), k: field(k, 'k', 0xffffffff, file, true) });
  }
  return out;
}

/** `tcpdump -dd`: `{ 0x28, 0, 0, 0x0000000c },` per instruction; surrounding C (a declaration, `};`) is ignored. */
export function parseDd(text: string, options: ReadClassicOptions = {}): ClassicInsn[] {
  const file = options.file;
  const out: ClassicInsn[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((l, i) => {
    const re = /\{([^{}]*)\}/g;
    for (let m = re.exec(l); m; m = re.exec(l)) {
      const inner = m[1]!;
      const parts = inner.split(',');
      const col = m.index + 2;
      if (parts.length !== 4 || parts.some((p) => p.trim() === '')) {
        throw new AsmError(i + 1, m.index + 1, `expected four fields in '{${inner}}'`, '{ code, jt, jf, k }', file);
      }
      let off = 0;
      const toks = parts.map((p) => {
        const t: Tok = { text: p.trim(), line: i + 1, col: col + off + (p.length - p.trimStart().length) };
        off += p.length + 1;
        return t;
      });
      out.push({
        code: field(toks[0]!, 'code', 0xffff, file),
        jt: field(toks[1]!, 'jt', 0xff, file),
        jf: field(toks[2]!, 'jf', 0xff, file),
        k: field(toks[3]!, 'k', 0xffffffff, file, true),
      });
    }
  });
  if (out.length === 0) throw new AsmError(1, 1, 'no { code, jt, jf, k } entries found', undefined, file);
  return out;
}

/** Guess the format: binary unless the bytes are text; then C braces, numbers only, or assembly. */
export function detectClassicFormat(bytes: Uint8Array): ClassicFormat {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0 || (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) || b >= 0x7f) return 'bin';
  }
  const text = new TextDecoder().decode(bytes);
  if (/\{[^{}]*,[^{}]*\}/.test(text)) return 'dd';
  if (/^[\s,]*\d/.test(text) && /^[\s,0-9-]*$/.test(text)) return 'ddd';
  return 'asm';
}

/** Read a classic program in any supported format. */
export function readClassic(bytes: Uint8Array, format: ClassicFormat | 'auto' = 'auto', options: ReadClassicOptions = {}): ClassicInsn[] {
  const f = format === 'auto' ? detectClassicFormat(bytes) : format;
  if (f === 'bin') return readClassicBinary(bytes, options);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  switch (f) {
    case 'ddd':
      return parseDdd(text, options);
    case 'dd':
      return parseDd(text, options);
    case 'asm':
      return assembleClassic(text, { file: options.file });
    default:
      throw new UsageError(`unknown classic program format '${String(f)}' (expected ${CLASSIC_FORMATS.join(', ')})`);
  }
}
