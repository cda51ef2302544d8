// Parser for bpf_conformance `.data` test files (see
// /work/shared/conformance/FORMAT.md §1). The file is line based: `#` starts a
// comment anywhere, a line containing `--` is a section header, and the
// sections hold assembly, expected result, input memory, pre-encoded
// instructions or an expected error.

import { AsmError } from '../internal/errors.js';

export interface DataFile {
  /** The assembly text (comments removed, one instruction per line as written). */
  readonly asm: string;
  /**
   * 1-based line of the file where `asm` starts, so that an assembler error
   * at line L of `asm` is at line asmLine + L - 1 of the file. The asm text
   * keeps the file's blank and comment-only lines (as empty lines) between
   * its first and last line so this offset stays exact.
   */
  readonly asmLine: number;
  /** Pre-encoded instructions (8 bytes per slot) that replace the asm. */
  readonly raw?: Uint8Array;
  /** Input memory buffer. */
  readonly mem?: Uint8Array;
  /** Expected r0 as an unsigned 64-bit value. */
  readonly result?: bigint;
  /** Expected error message (possibly empty: the runner must only see a failure). */
  readonly error?: string;
  /** Why the reference runner would skip this file (unknown directive, nothing to check). */
  readonly skipped?: string;
}

type Section = 'asm' | 'result' | 'mem' | 'raw' | 'error' | 'ignored';

/** Section by substring of the header, in the order the reference tool checks. */
function sectionOf(header: string): Section | undefined {
  if (header.includes('asm')) return 'asm';
  if (header.includes('result')) return 'result';
  if (header.includes('mem')) return 'mem';
  if (header.includes('raw')) return 'raw';
  if (header.includes('no register offset')) return 'ignored';
  if (header.includes(' c')) return 'ignored';
  if (header.includes('error')) return 'error';
  return undefined;
}

const U64_MASK = (1n << 64n) - 1n;

/**
 * Parse a `.data` file. Malformed numbers raise AsmError with the file line
 * and column; an unknown directive does not throw but sets `skipped`, as the
 * reference runner does.
 */
export function parseDataFile(text: string, file?: string): DataFile {
  const lines = text.split('\n');
  let section: Section | undefined;
  const asmLines: { line: number; text: string }[] = [];
  const memBytes: number[] = [];
  const rawTokens: { line: number; col: number; tok: string }[] = [];
  let result: { line: number; col: number; text: string } | undefined;
  let error: string | undefined;
  let hasError = false;
  let skipped: string | undefined;

  for (let i = 0; i < lines.length && skipped === undefined; i++) {
    const lineNo = i + 1;
    let line = lines[i]!;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const hash = line.indexOf('#');
    if (hash >= 0) line = line.slice(0, hash);
    if (line.includes('--')) {
      const s = sectionOf(line);
      if (s === undefined) {
        skipped = `unknown directive '${line.trim()}' at line ${lineNo}`;
        break;
      }
      section = s;
      if (s === 'error') hasError = true;
      continue;
    }
    if (section === 'asm') {
      asmLines.push({ line: lineNo, text: line });
      continue;
    }
    if (line.trim() === '') continue;
    switch (section) {
      case 'result':
        result = { line: lineNo, col: firstNonSpace(line), text: line.trim() };
        break;
      case 'error':
        error = line.trim();
        break;
      case 'mem':
        for (const t of tokensOf(line)) memBytes.push(parseByte(t.tok, lineNo, t.col, file));
        break;
      case 'raw':
        for (const t of tokensOf(line)) rawTokens.push({ line: lineNo, ...t });
        break;
      default:
        // Before the first header (licence text) or in an ignored section.
        break;
    }
  }

  // Trim blank asm lines at both ends; keep the inner ones so lines map 1:1.
  let a = 0;
  let b = asmLines.length;
  while (a < b && asmLines[a]!.text.trim() === '') a++;
  while (b > a && asmLines[b - 1]!.text.trim() === '') b--;
  const kept = asmLines.slice(a, b);
  // Lines of asm are contiguous in the file except where another section
  // intervenes (a repeated `-- asm`); pad with empty lines to keep numbering.
  const asmText: string[] = [];
  const asmLine = kept.length > 0 ? kept[0]!.line : 1;
  for (const l of kept) {
    while (asmLine + asmText.length < l.line) asmText.push('');
    asmText.push(l.text);
  }

  const out: {
    asm: string;
    asmLine: number;
    raw?: Uint8Array;
    mem?: Uint8Array;
    result?: bigint;
    error?: string;
    skipped?: string;
  } = { asm: asmText.join('\n'), asmLine };
  if (rawTokens.length > 0) out.raw = parseRaw(rawTokens, file);
  if (memBytes.length > 0) out.mem = Uint8Array.from(memBytes);
  if (result !== undefined) out.result = parseResult(result.text, result.line, result.col, file);
  if (hasError) out.error = error ?? '';
  if (skipped === undefined && out.result === undefined && out.error === undefined) skipped = 'no result or error section';
  if (skipped !== undefined) out.skipped = skipped;
  return out;
}

function firstNonSpace(s: string): number {
  const m = /\S/.exec(s);
  return m ? m.index + 1 : 1;
}

function tokensOf(line: string): { col: number; tok: string }[] {
  const out: { col: number; tok: string }[] = [];
  const re = /\S+/g;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) out.push({ col: m.index + 1, tok: m[0] });
  return out;
}

function parseByte(tok: string, line: number, col: number, file?: string): number {
  if (!/^[0-9a-fA-F]{1,2}$/.test(tok)) throw new AsmError(line, col, `invalid memory byte '${tok}'`, 'two hex digits', file);
  return parseInt(tok, 16);
}

function parseResult(text: string, line: number, col: number, file?: string): bigint {
  const tok = text.split(/\s+/)[0]!;
  let v: bigint | undefined;
  if (tok.includes('0x')) {
    if (/^0x[0-9a-fA-F]{1,16}$/.test(tok)) v = BigInt(tok);
  } else if (/^[0-9]{1,20}$/.test(tok)) {
    v = BigInt(tok);
  }
  if (v === undefined || v > U64_MASK) throw new AsmError(line, col, `invalid result '${tok}'`, 'an unsigned 64-bit value in decimal or 0x hex', file);
  return v;
}

/**
 * Raw instructions come in two forms: one 64-bit word per slot (0x... or
 * decimal), or eight two-hex-digit byte tokens per slot as in the
 * negative/unused-*.data files.
 */
function parseRaw(toks: { line: number; col: number; tok: string }[], file?: string): Uint8Array {
  const byteForm = toks.length % 8 === 0 && toks.every((t) => /^[0-9a-fA-F]{2}$/.test(t.tok));
  if (byteForm) return Uint8Array.from(toks.map((t) => parseInt(t.tok, 16)));
  const out = new Uint8Array(toks.length * 8);
  const view = new DataView(out.buffer);
  toks.forEach((t, i) => {
    let v: bigint | undefined;
    if (/^0x[0-9a-fA-F]{1,16}$/i.test(t.tok)) v = BigInt(t.tok.toLowerCase());
    else if (/^[0-9]{1,20}$/.test(t.tok)) v = BigInt(t.tok);
    if (v === undefined || v > U64_MASK) throw new AsmError(t.line, t.col, `invalid raw instruction '${t.tok}'`, 'a 64-bit word in 0x hex or decimal', file);
    view.setBigUint64(i * 8, v, true);
  });
  return out;
}
