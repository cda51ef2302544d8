// Reviewer findings on the verifier, one test each: the log printer on
// negative 64-bit constants, unknown opcodes reached through a function
// pointer into an lddw, and the one GPL list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verify } from '../../src/verifier/index.js';
import { decodeProgram, encodeSlots } from '../../src/isa/decode.js';
import { assemble } from '../../src/asm/assemble.js';

const asm = (text: string) => decodeProgram(assemble(text, { dialect: 'llvm' }), { validate: false });
const SOCKET_FILTER = 1;
const KPROBE = 2;

test('a rejected program with a negative 64-bit lddw prints it as the kernel does', () => {
  const r = verify(asm('r1 = -2 ll\nr0 = *(u64 *)(r1 + 0)\nexit'), { progType: SOCKET_FILTER });
  assert.equal(r.ok, false);
  assert.equal(r.error!.reason, "R1 invalid mem access 'scalar'");
  assert.match(r.log, /^0: \(18\) r1 = 0xfffffffffffffffe +; R1=-2$/m);
  assert.match(r.log, /^2: \(79\) r0 = \*\(u64 \*\)\(r1 \+0\)$/m);
});

test('a function pointer into the middle of an lddw is an unknown opcode, not a throw', () => {
  // lddw src=4 (BPF_PSEUDO_FUNC) imm=0 points at its own second half (opcode 00).
  const p = decodeProgram(encodeSlots([
    { opcode: 0xb7, dst: 0, src: 0, off: 0, imm: 0 },
    { opcode: 0x18, dst: 1, src: 4, off: 0, imm: 0 },
    { opcode: 0x00, dst: 0, src: 0, off: 0, imm: 0 },
    { opcode: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
  ]), { validate: false });
  const r = verify(p, { progType: SOCKET_FILTER });
  assert.equal(r.ok, false);
  assert.equal(r.error!.reason, 'unknown opcode 00');
});

test('every opcode byte with odd fields in any position is a verdict, never a throw', () => {
  const srcs = [0, 1, 2, 4, 5, 6, 15];
  const imms = [0, 1, 8, 0xe1, 0xf1, -1];
  for (let op = 0; op < 256; op++) {
    for (const src of srcs) {
      for (const imm of imms) {
        const p = decodeProgram(encodeSlots([
          { opcode: 0xb7, dst: 0, src: 0, off: 0, imm: 0 },
          { opcode: op, dst: 1, src, off: 1, imm },
          { opcode: 0xb7, dst: 0, src: 0, off: 0, imm: 0 },
          { opcode: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
        ]), { validate: false });
        const r = verify(p, { progType: SOCKET_FILTER, logLevel: 0 });
        if (!r.ok) assert.ok(r.error!.reason.length > 0);
      }
    }
  }
});

test('callx is refused with the kernel text, two hex digits', () => {
  const p = decodeProgram(encodeSlots([
    { opcode: 0xb7, dst: 1, src: 0, off: 0, imm: 0 },
    { opcode: 0x8d, dst: 1, src: 0, off: 0, imm: 0 },
    { opcode: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
  ]), { validate: false });
  assert.equal(verify(p, { progType: SOCKET_FILTER }).error!.reason, 'unknown opcode 8d');
});

test('GPL-only helpers follow the one license list (src/elf/license.ts)', () => {
  const text = 'r1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\nr2 = 8\nr3 = 0\ncall 4\nr0 = 0\nexit';
  for (const license of ['GPL', 'Dual BSD/GPL', 'GPL and additional rights']) {
    assert.equal(verify(asm(text), { progType: KPROBE, license }).ok, true, license);
  }
  for (const license of ['MIT', 'gpl', 'Proprietary']) {
    assert.equal(verify(asm(text), { progType: KPROBE, license }).error?.reason, 'cannot call GPL-restricted function from non-GPL compatible program', license);
  }
});

test('bpf_trace_printk reads only r1 and r2 (bpf_printk with no arguments)', () => {
  const r = verify(asm('r1 = 10\n*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\nr2 = 1\ncall 6\nr0 = 0\nexit'), { progType: KPROBE });
  assert.equal(r.ok, true, r.log);
});
