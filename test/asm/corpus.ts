// Test support: the bpf_conformance corpus as assembled programs, the set of
// distinct instruction encodings it uses, and one sample encoding per table
// row. Shared by the llvm fixture generator and the tests that read them.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { assemble } from '../../src/asm/assemble.js';
import { parseDataFile, type DataFile } from '../../src/asm/data-file.js';
import { decodeProgram, encodeSlots } from '../../src/isa/decode.js';
import { Field, type RawInsn } from '../../src/isa/fields.js';
import { INSNS, Shape } from '../../src/isa/table.js';
import { CONFORMANCE_DIR, FIXTURES } from '../paths.js';

export const LLVM_FIXTURES = join(FIXTURES, 'llvm');

export interface DataCase {
  readonly name: string;
  readonly data: DataFile;
  /** The assembled `-- asm` section. */
  readonly bytes: Uint8Array;
}

export function hasConformance(): boolean {
  return existsSync(join(CONFORMANCE_DIR, 'tests'));
}

export function dataFiles(sub: 'tests' | 'negative'): { name: string; text: string }[] {
  const dir = join(CONFORMANCE_DIR, sub);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.data'))
    .sort()
    .map((name) => ({ name, text: readFileSync(join(dir, name), 'utf8') }));
}

/** Every tests/*.data file, parsed and assembled from its asm section. */
export function conformanceCases(): DataCase[] {
  return dataFiles('tests').map(({ name, text }) => {
    const data = parseDataFile(text, name);
    const bytes = assemble(data.asm, { dialect: 'conformance', file: name, firstLine: data.asmLine });
    return { name, data, bytes };
  });
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Distinct instruction encodings (8 bytes, 16 for lddw) of programs, as hex, sorted. */
export function uniqueEncodings(programs: readonly Uint8Array[]): string[] {
  const seen = new Set<string>();
  for (const bytes of programs) {
    const prog = decodeProgram(bytes);
    for (let i = 0; i < prog.length; i++) {
      const def = INSNS[prog.op[i]!]!;
      seen.add(hex(bytes.subarray(i * 8, (i + def.slots) * 8)));
      i += def.slots - 1;
    }
  }
  return [...seen].sort();
}

/**
 * Two sample encodings per table row, with every used field non-zero and
 * both signs of offsets and immediates, so the fixture covers each row's
 * printing (ld_pseudo, packet loads, kfunc calls...) beyond the corpus.
 * LLVM prints `skb[rN]` without the immediate, so indirect loads keep imm 0
 * (our printer adds a non-zero one on purpose).
 */
export function tableRowEncodings(): string[] {
  const out: string[] = [];
  const samples: RawInsn[] = [
    { opcode: 0, dst: 1, src: 2, off: -3, imm: -5 },
    { opcode: 0, dst: 10, src: 9, off: 0x7fff, imm: 0x12345 },
  ];
  for (const def of INSNS) {
    for (const sample of samples) {
      const s: RawInsn = { ...sample, opcode: def.opcode };
      if (def.zero & Field.DST) s.dst = 0;
      if (def.zero & Field.SRC) s.src = 0;
      if (def.zero & Field.OFF) s.off = 0;
      if (def.zero & Field.IMM || def.shape === Shape.LdInd) s.imm = 0;
      if (def.discr !== undefined) s[def.discr.field] = def.discr.value;
      const slots = def.slots === 2 ? [s, { opcode: 0, dst: 0, src: 0, off: 0, imm: sample.imm === -5 ? -1 : 7 }] : [s];
      out.push(hex(encodeSlots(slots)));
    }
  }
  return [...new Set(out)];
}

export interface Fixture {
  /** hex encoding -> llvm-objdump text (without the ` <.text+0x..>` annotation). */
  readonly v3: ReadonlyMap<string, string>;
  readonly v1: ReadonlyMap<string, string>;
}

/** Read a fixture file: `hex<TAB>text` lines; `#` lines are comments. */
export function readFixture(file: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of readFileSync(join(LLVM_FIXTURES, file), 'utf8').split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const tab = line.indexOf('\t');
    m.set(line.slice(0, tab), line.slice(tab + 1));
  }
  return m;
}

export function hexToBytes(h: string): Uint8Array {
  return Uint8Array.from(Buffer.from(h, 'hex'));
}
