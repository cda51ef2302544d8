// The disassembler must print exactly what llvm-objdump-19 prints: checked
// against the committed fixtures (test/fixtures/llvm/, made by
// gen-llvm-fixtures.ts) and, when llvm-objdump-19 is installed, against a
// live run over the whole conformance corpus.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { disassembleProgram, formatInsn } from '../../src/asm/disassemble.js';
import { decodeProgram } from '../../src/isa/decode.js';
import { conformanceCases, hasConformance, hexToBytes, readFixture, uniqueEncodings } from './corpus.js';
import { objdump, objdumpAvailable } from './llvm-objdump.js';
import { llvmTexts } from './gen-llvm-fixtures.js';

/** Our text for one encoding. Decoded alone, so jump targets are not checked. */
function ours(hex: string, alu32: boolean): string {
  const prog = decodeProgram(hexToBytes(hex), { validate: false });
  assert.ok(prog.op[0]! >= 0, `${hex} is not an instruction of the table`);
  return formatInsn(prog, 0, { alu32 });
}

/** Compare every fixture entry; report all mismatches at once. */
function checkFixture(file: string, alu32: boolean): void {
  const fx = readFixture(file);
  assert.ok(fx.size > 300, `${file} has ${fx.size} entries`);
  const bad: string[] = [];
  for (const [hex, want] of fx) {
    const got = ours(hex, alu32);
    if (got !== want) bad.push(`${hex}: llvm '${want}', ours '${got}'`);
  }
  assert.deepEqual(bad, [], `${bad.length} of ${fx.size} differ`);
}

test('disassembly of every conformance encoding matches llvm-objdump --mcpu=v3 (fixture)', () => {
  checkFixture('conformance-insns.v3.txt', true);
});

test('disassembly of every conformance encoding matches plain llvm-objdump (fixture, alu32: false)', () => {
  checkFixture('conformance-insns.v1.txt', false);
});

test('disassembly of two samples per table row matches llvm-objdump --mcpu=v3 (fixture)', () => {
  checkFixture('table-rows.v3.txt', true);
});

test('disassembly of two samples per table row matches plain llvm-objdump (fixture, alu32: false)', () => {
  checkFixture('table-rows.v1.txt', false);
});
