// The instruction table is the one description of the ISA; these tests keep it
// honest: encodings are unique, every row decodes back to itself, reserved
// fields are enforced, and every row is exercised by the conformance suite
// unless it is on the committed list of rows the suite cannot express.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { INSNS, lookup, Field, Shape, decodeProgram, encodeSlots, type InsnDef } from '../../src/isa/index.js';
import { DecodeError } from '../../src/internal/errors.js';
import { assemble } from '../../src/asm/assemble.js';
import { parseDataFile } from '../../src/asm/data-file.js';
import { CONFORMANCE_DIR } from '../paths.js';

/** A valid encoding of a row: discriminator set, used registers r1/r2, zero elsewhere. */
function sample(d: InsnDef): { opcode: number; dst: number; src: number; off: number; imm: number }[] {
  const s = { opcode: d.opcode, dst: 0, src: 0, off: 0, imm: 0 };
  if (!(d.zero & Field.DST)) s.dst = 1;
  if (!(d.zero & Field.SRC)) s.src = 2;
  if (!(d.zero & Field.OFF)) s.off = 0;
  if (d.discr) s[d.discr.field] = d.discr.value;
  if (d.imms) s.imm = d.imms[0]!;
  const slots = [s];
  if (d.slots === 2) slots.push({ opcode: 0, dst: 0, src: 0, off: 0, imm: 7 });
  return [...slots, { opcode: 0x95, dst: 0, src: 0, off: 0, imm: 0 }];
}

test('every row decodes back to itself', () => {
  for (const d of INSNS) {
    const prog = decodeProgram(encodeSlots(sample(d)));
    assert.equal(prog.op[0], d.op, d.name);
    assert.equal(lookup(d.opcode, prog.src[0]!, prog.off[0]!, prog.imm[0]!), d);
  }
});

test('reserved fields are rejected with the instruction index', () => {
  for (const d of INSNS) {
    for (const [bit, field] of [
      [Field.DST, 'dst'],
      [Field.SRC, 'src'],
      [Field.OFF, 'off'],
      [Field.IMM, 'imm'],
    ] as const) {
      if (!(d.zero & bit) || d.discr?.field === field) continue;
      const slots = sample(d);
      slots[0]![field] = 1;
      assert.throws(
        () => decodeProgram(encodeSlots(slots)),
        (e: unknown) => e instanceof DecodeError && e.insn === 0 && /reserved|invalid/.test(e.reason),
        `${d.name} with ${field}=1`,
      );
    }
  }
});

test('unknown opcodes, bad registers, truncated lddw and wild jumps are rejected', () => {
  const exit = { opcode: 0x95, dst: 0, src: 0, off: 0, imm: 0 };
  const bad = (slots: Parameters<typeof encodeSlots>[0], re: RegExp, insn: number) =>
    assert.throws(() => decodeProgram(encodeSlots(slots)), (e: unknown) => e instanceof DecodeError && e.insn === insn && re.test(e.message));
  bad([{ opcode: 0xff, dst: 0, src: 0, off: 0, imm: 0 }, exit], /unknown opcode 0xff/, 0);
  bad([exit, { opcode: 0xbf, dst: 11, src: 1, off: 0, imm: 0 }, exit], /invalid dst register r11/, 1);
  bad([{ opcode: 0x18, dst: 1, src: 0, off: 0, imm: 0 }], /second half/, 0);
  bad([{ opcode: 0x05, dst: 0, src: 0, off: 5, imm: 0 }, exit], /out of range/, 0);
  bad([{ opcode: 0x05, dst: 0, src: 0, off: 1, imm: 0 }, { opcode: 0x18, dst: 1, src: 0, off: 0, imm: 0 }, { opcode: 0, dst: 0, src: 0, off: 0, imm: 0 }, exit], /middle of lddw/, 0);
  assert.throws(() => decodeProgram(new Uint8Array(12)), DecodeError);
  // addr_space_cast defines only the casts between address spaces 0 and 1
  bad([{ opcode: 0xbf, dst: 1, src: 2, off: 1, imm: 2 }, exit], /addr_space_cast: immediate 2 is not defined/, 0);
  bad([{ opcode: 0xbf, dst: 1, src: 2, off: 2, imm: 1 }, exit], /invalid off 2 for opcode 0xbf/, 0);
  // may_goto's src selects the BPF_JCOND condition; only 0 (may_goto) exists
  bad([{ opcode: 0xe5, dst: 0, src: 1, off: 0, imm: 0 }, exit], /invalid src 1 for opcode 0xe5 \(may_goto\)/, 0);
  bad([{ opcode: 0xe5, dst: 0, src: 0, off: 3, imm: 0 }, exit], /out of range/, 0);
});

/**
 * Rows the conformance suite cannot express (its asm dialect has no syntax for
 * them, FORMAT.md §2.3). This list may only shrink.
 */
const NOT_IN_CONFORMANCE = new Set([
  'lddw map_fd', 'lddw map_value', 'lddw btf_id', 'lddw func', 'lddw map_idx', 'lddw map_idx_value',
  'ldabsb', 'ldabsh', 'ldabsw', 'ldindb', 'ldindh', 'ldindw',
  'call runtime',
  // Newer than the upstream suite (Linux 6.9); test/vm/semantics.test.ts and the
  // disassembler fixtures cover them.
  'may_goto', 'addr_space_cast',
]);

test('every row has a conformance case (or is listed as inexpressible there)', () => {
  const seen = new Set<number>();
  for (const f of readdirSync(join(CONFORMANCE_DIR, 'tests'))) {
    const data = parseDataFile(readFileSync(join(CONFORMANCE_DIR, 'tests', f), 'utf8'));
    const bytes = data.raw ?? assemble(data.asm, { dialect: 'conformance' });
    const prog = decodeProgram(bytes, { validate: false });
    for (let i = 0; i < prog.length; i++) if (prog.op[i]! >= 0) seen.add(prog.op[i]!);
  }
  const missing = INSNS.filter((d) => !seen.has(d.op) && !NOT_IN_CONFORMANCE.has(d.name)).map((d) => `${d.name}/shape ${d.shape}`);
  assert.deepEqual(missing, []);
  const stale = INSNS.filter((d) => seen.has(d.op) && NOT_IN_CONFORMANCE.has(d.name)).map((d) => d.name);
  assert.deepEqual(stale, [], 'rows on the exemption list that the suite now covers: remove them from the list');
});

test('semantic fields: every ALU row names its operation, every conditional jump its comparison, every byte swap its kind, and they agree with the opcode', () => {
  const aluOp: Record<string, number> = { add: 0x00, sub: 0x10, mul: 0x20, div: 0x30, sdiv: 0x30, or: 0x40, and: 0x50, lsh: 0x60, rsh: 0x70, mod: 0x90, smod: 0x90, xor: 0xa0, mov: 0xb0, arsh: 0xc0 };
  const jmpOp: Record<string, number> = { eq: 0x10, gt: 0x20, ge: 0x30, set: 0x40, ne: 0x50, sgt: 0x60, sge: 0x70, lt: 0xa0, le: 0xb0, slt: 0xc0, sle: 0xd0 };
  for (const d of INSNS) {
    const alu = d.shape === Shape.AluImm || d.shape === Shape.AluReg;
    const jmp = d.shape === Shape.JmpImm || d.shape === Shape.JmpReg;
    assert.equal(d.alu !== undefined, alu, `${d.name}: alu field`);
    assert.equal(d.cmp !== undefined, jmp, `${d.name}: cmp field`);
    assert.equal(d.endian !== undefined, d.shape === Shape.Endian, `${d.name}: endian field`);
    if (alu) {
      assert.equal(d.opcode & 0xf0, aluOp[d.alu!], `${d.name}: opcode of ${d.alu}`);
      assert.equal(d.discr?.value ?? 0, d.alu === 'sdiv' || d.alu === 'smod' ? 1 : 0, `${d.name}: signed division is off 1`);
    }
    if (jmp) assert.equal(d.opcode & 0xf0, jmpOp[d.cmp!], `${d.name}: opcode of ${d.cmp}`);
    if (d.endian !== undefined) assert.equal(d.opcode, d.endian === 'bswap' ? 0xd7 : d.endian === 'le' ? 0xd4 : 0xdc, d.name);
  }
});
