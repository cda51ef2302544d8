// Random valid instructions of every table row, with random registers,
// offsets and immediates: bytes -> our LLVM text -> our assembler gives the
// same bytes, and (when installed) llvm-mc-19 agrees on what the text means.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../src/asm/assemble.js';
import { disassembleProgram } from '../../src/asm/disassemble.js';
import { decodeProgram, encodeSlots } from '../../src/isa/decode.js';
import { Field, MAX_REG, type RawInsn } from '../../src/isa/fields.js';
import { INSNS, Shape, type InsnDef } from '../../src/isa/table.js';
import { llvmMc, llvmMcAvailable } from './llvm-objdump.js';

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

/** Rows whose LLVM text carries every field (see disassemble.ts for the lossy ones). */
function printable(def: InsnDef): boolean {
  return def.shape !== Shape.CallLocal && def.shape !== Shape.CallKfunc && !(def.shape === Shape.Lddw && def.discr!.value !== 0);
}

/** n random instructions (lddw takes two slots); jump targets stay inside the program. */
function randomProgram(n: number, seed: number, rows: readonly InsnDef[]): Uint8Array {
  const next = rng(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1));
  // Mostly small values, sometimes the extremes, so both short and long hex forms appear.
  const imm32 = (): number => [int(-16, 16), int(-0x8000_0000, 0x7fff_ffff), -0x8000_0000, 0x7fff_ffff][int(0, 3)]!;
  const off16 = (): number => [int(-16, 16), int(-0x8000, 0x7fff), -0x8000, 0x7fff][int(0, 3)]!;
  const slots: RawInsn[] = [];
  while (slots.length < n) {
    const def = rows[int(0, rows.length - 1)]!;
    const s: RawInsn = { opcode: def.opcode, dst: int(0, MAX_REG), src: int(0, MAX_REG), off: off16(), imm: imm32() };
    if (def.zero & Field.DST) s.dst = 0;
    if (def.zero & Field.SRC) s.src = 0;
    if (def.zero & Field.OFF) s.off = 0;
    if (def.zero & Field.IMM) s.imm = 0;
    if (def.shape === Shape.LdInd) s.imm = 0; // llvm cannot write skb[rN + imm]
    if (def.discr !== undefined) s[def.discr.field] = def.discr.value;
    if (def.imms !== undefined) s.imm = def.imms[int(0, def.imms.length - 1)]!;
    slots.push(s);
    if (def.slots === 2) slots.push({ opcode: 0, dst: 0, src: 0, off: 0, imm: imm32() });
  }
  // Aim jumps at a random instruction of the program (never the middle of an lddw).
  const isStart = new Set<number>();
  for (let i = 0; i < slots.length; i++) {
    isStart.add(i);
    if (slots[i]!.opcode === LDDW_OPCODE) i++;
  }
  const targets = [...isStart];
  for (let i = 0; i < slots.length; i++) {
    if (!isStart.has(i)) continue;
    const def = rows.find((d) => d.opcode === slots[i]!.opcode && (d.discr === undefined || slots[i]![d.discr.field] === d.discr.value))!;
    const rel = targets[int(0, targets.length - 1)]! - (i + 1);
    if (def.shape === Shape.Ja32) slots[i]!.imm = rel;
    else if (def.shape === Shape.Ja || def.shape === Shape.JmpImm || def.shape === Shape.JmpReg || def.shape === Shape.MayGoto) slots[i]!.off = rel;
  }
  return encodeSlots(slots);
}

const LDDW_OPCODE = INSNS.find((d) => d.shape === Shape.Lddw)!.opcode;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ROWS = INSNS.filter(printable);

test('random programs round trip through our LLVM text (alu32 and v1 printing, with and without labels)', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const bytes = randomProgram(400, seed, ROWS);
    const prog = decodeProgram(bytes); // valid by construction
    for (const labels of [false, true]) {
      const text = disassembleProgram(prog, { labels }).join('\n');
      assert.equal(hex(assemble(text, { dialect: 'llvm' })), hex(bytes), `seed ${seed} labels ${labels}`);
    }
    const noAtomic32 = ROWS.filter((d) => !(d.shape === Shape.Atomic && d.width === 32));
    const v1 = randomProgram(400, seed + 1000, noAtomic32);
    const v1text = disassembleProgram(decodeProgram(v1), { alu32: false }).join('\n');
    assert.equal(hex(assemble(v1text, { dialect: 'llvm' })), hex(v1), `v1 seed ${seed}`);
  }
});

test('live: llvm-mc-19 assembles our text of random programs to the same bytes', { skip: llvmMcAvailable() ? false : 'llvm-mc-19 / llvm-objcopy-19 not installed' }, () => {
  for (let seed = 1; seed <= 3; seed++) {
    const bytes = randomProgram(1500, seed * 7919, ROWS);
    const text = disassembleProgram(decodeProgram(bytes)).join('\n') + '\n';
    assert.equal(hex(llvmMc(text)), hex(bytes), `seed ${seed}`);
  }
});
