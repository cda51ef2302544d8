// Hex text <-> bytes for `tsbpf asm --hex` and `tsbpf dis --hex-input`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatHexSlots, parseHexText } from '../../src/asm/hex-text.js';
import { AsmError } from '../../src/internal/errors.js';

test('hex text: byte tokens, runs, 0x prefixes, commas and comments', () => {
  const text = '# a program\nb7 00 00 00 01 00 00 00  # r0 = 1\n0x9500000000000000,\n  AB,cd\n';
  assert.deepEqual([...parseHexText(text)], [0xb7, 0, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0, 0xab, 0xcd]);
  assert.equal(parseHexText('').length, 0);
});

test('hex text: formatHexSlots writes one slot per line and parses back', () => {
  const bytes = Uint8Array.from([0xb7, 0, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
  const text = formatHexSlots(bytes);
  assert.equal(text, 'b7 00 00 00 01 00 00 00\n95 00 00 00 00 00 00 00\n');
  assert.deepEqual(parseHexText(text), bytes);
  assert.equal(formatHexSlots(new Uint8Array(0)), '');
});

test('hex text: errors name line and column', () => {
  const at = (text: string, line: number, column: number, reason: RegExp): void => {
    assert.throws(() => parseHexText(text, 'p.hex'), (e: unknown) => {
      assert.ok(e instanceof AsmError);
      assert.deepEqual([e.file, e.line, e.column], ['p.hex', line, column]);
      assert.match(e.reason, reason);
      return true;
    });
  };
  at('b7 00\n00 0g', 2, 5, /invalid hex digit 'g'/);
  at('0x12z4', 1, 5, /invalid hex digit 'z'/);
  at('b7 000', 1, 4, /odd number of hex digits in '000'/);
});
