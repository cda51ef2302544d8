// The bpf_conformance .data parser (FORMAT.md §1).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../src/asm/assemble.js';
import { parseDataFile } from '../../src/asm/data-file.js';
import { AsmError } from '../../src/internal/errors.js';
import { dataFiles, hasConformance } from './corpus.js';

const hex = (b: Uint8Array | undefined): string => (b === undefined ? 'none' : Buffer.from(b).toString('hex'));

test('lddw.data: asm, word-form raw and result', () => {
  const d = parseDataFile(
    [
      '# Copyright (c) Big Switch Networks, Inc',
      '# SPDX-License-Identifier: Apache-2.0',
      '-- asm',
      'lddw %r0, 0x1122334455667788',
      'exit',
      '-- raw',
      '0x5566778800000018',
      '0x1122334400000000',
      '0x0000000000000095',
      '-- result',
      '0x1122334455667788',
    ].join('\n'),
  );
  assert.equal(d.asm, 'lddw %r0, 0x1122334455667788\nexit');
  assert.equal(d.asmLine, 4);
  assert.equal(hex(d.raw), '18000000887766550000000044332211' + '9500000000000000');
  assert.equal(d.result, 0x1122334455667788n);
  assert.equal(d.mem, undefined);
  assert.equal(d.error, undefined);
  assert.equal(d.skipped, undefined);
  assert.equal(hex(assemble(d.asm, { dialect: 'conformance' })), hex(d.raw));
});

test('byte-form raw (negative/unused-*), empty error section', () => {
  const d = parseDataFile('# c\n-- raw\n07 00 01 00 01 00 00 00\n95 00 00 00 00 00 00 00\n-- error\n');
  assert.equal(hex(d.raw), '0700010001000000' + '9500000000000000');
  assert.equal(d.error, '');
  assert.equal(d.skipped, undefined);
  assert.equal(d.asm, '');
});

test('CRLF, comments after instructions, sections in any order, mem bytes in any case', () => {
  const d = parseDataFile('-- result\r\n0xFFFFFFF6 # note\r\n-- mem\r\naa BB\r\n0c\r\n-- asm\r\nmov %r0, 1 # comment\r\n\r\nexit\r\n');
  assert.equal(d.result, 0xfffffff6n);
  assert.equal(hex(d.mem), 'aabb0c');
  assert.equal(d.asm, 'mov %r0, 1 \n\nexit');
  assert.equal(d.asmLine, 7);
});

test('decimal result, last error line wins, headers by substring', () => {
  const d = parseDataFile('--  asm  \nexit\n-- error\nfirst\nsecond\n-- result\n0\n');
  assert.equal(d.result, 0n);
  assert.equal(d.error, 'second');
  assert.equal(d.asm, 'exit');
});

test('a repeated asm section accumulates and keeps line numbers', () => {
  const d = parseDataFile('-- asm\nmov %r0, 1\n-- result\n0x1\n-- asm\nfoo %r0\n');
  assert.equal(d.asm, 'mov %r0, 1\n\n\n\nfoo %r0');
  assert.throws(() => assemble(d.asm, { dialect: 'conformance', firstLine: d.asmLine }), (e: unknown) => e instanceof AsmError && e.line === 6 && e.column === 1);
});

test('ignored sections (-- c, -- no register offset) and skipped files', () => {
  const d = parseDataFile('-- asm\nexit\n-- c\nint main() { return 0; }\n-- no register offset\nstuff\n-- result\n0x0\n');
  assert.equal(d.asm, 'exit');
  assert.equal(d.skipped, undefined);
  assert.match(parseDataFile('-- asm\n-- Unknown directive\n-- error\nx\n').skipped ?? '', /unknown directive '-- Unknown directive' at line 2/);
  assert.match(parseDataFile('-- asm\nexit\n').skipped ?? '', /no result or error/);
});

test('errors in data sections name the file, line and column', () => {
  const check = (text: string, line: number, column: number, reason: RegExp): void => {
    assert.throws(() => parseDataFile(text, 't.data'), (e: unknown) => {
      assert.ok(e instanceof AsmError);
      assert.deepEqual([e.file, e.line, e.column], ['t.data', line, column]);
      assert.match(e.reason, reason);
      return true;
    });
  };
  check('-- mem\n00 0g\n', 2, 4, /invalid memory byte '0g'/);
  check('-- result\n  0x1g\n', 2, 3, /invalid result/);
  check('-- result\n0x10000000000000000\n', 2, 1, /invalid result/);
  check('-- raw\n0x95\nxyz\n', 3, 1, /invalid raw instruction 'xyz'/);
});

test('the whole corpus parses: 313 tests with results, 40 with mem, negatives as described', { skip: hasConformance() ? false : 'conformance corpus not found' }, () => {
  let mem = 0;
  for (const { name, text } of dataFiles('tests')) {
    const d = parseDataFile(text, name);
    assert.equal(d.skipped, undefined, name);
    assert.ok(d.result !== undefined && d.asm.length > 0, name);
    if (d.mem !== undefined) mem++;
  }
  assert.equal(mem, 40);
  const skipped = dataFiles('negative')
    .filter(({ name, text }) => parseDataFile(text, name).skipped !== undefined)
    .map((f) => f.name);
  assert.deepEqual(skipped, ['empty.data', 'invalid_unknown_directive.data']);
});
