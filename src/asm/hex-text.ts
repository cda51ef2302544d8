// Instruction bytes as hex text, for `tsbpf asm --hex` and
// `tsbpf dis --hex-input` (and anyone pasting programs into tests).

import { AsmError } from '../internal/errors.js';

/**
 * Hex text -> bytes, in memory order: `b7 00 00 00 01 00 00 00`, or runs of
 * digits like `b700000001000000`; whitespace and commas separate, `#` starts
 * a comment, a `0x` prefix on a run is allowed. Errors name line and column.
 */
export function parseHexText(text: string, file?: string): Uint8Array {
  const out: number[] = [];
  const lines = text.split('\n');
  for (let li = 0; li < lines.length; li++) {
    let line = lines[li]!;
    const hash = line.indexOf('#');
    if (hash >= 0) line = line.slice(0, hash);
    const re = /[^\s,]+/g;
    for (let m = re.exec(line); m !== null; m = re.exec(line)) {
      let tok = m[0];
      let col = m.index + 1;
      if (/^0x/i.test(tok)) {
        tok = tok.slice(2);
        col += 2;
      }
      const bad = /[^0-9a-fA-F]/.exec(tok);
      if (bad !== null) throw new AsmError(li + 1, col + bad.index, `invalid hex digit '${bad[0]}'`, 'hex bytes such as b7 00 00 00', file);
      if (tok.length % 2 !== 0) throw new AsmError(li + 1, col, `odd number of hex digits in '${m[0]}'`, 'whole bytes (two digits each)', file);
      for (let k = 0; k < tok.length; k += 2) out.push(parseInt(tok.slice(k, k + 2), 16));
    }
  }
  return Uint8Array.from(out);
}

/** Bytes -> hex text, one 8-byte instruction slot per line. */
export function formatHexSlots(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let p = 0; p < bytes.length; p += 8) {
    lines.push(Array.from(bytes.subarray(p, p + 8), (b) => b.toString(16).padStart(2, '0')).join(' '));
  }
  return lines.join('\n') + (lines.length > 0 ? '\n' : '');
}
