// verify() as an API: verdict fields, the kernel-format log at both levels,
// source lines, budgets, and robustness against arbitrary instruction bytes
// (never a throw, never a hang).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verify } from '../../src/verifier/index.js';
import { decodeProgram, encodeSlots } from '../../src/isa/decode.js';
import { assemble } from '../../src/asm/assemble.js';
import { VerifierError } from '../../src/internal/errors.js';

const asm = (text: string) => decodeProgram(assemble(text, { dialect: 'llvm' }), { validate: false });
const SOCKET_FILTER = 1;

test('an accepted program reports ok, processed count and a level-1 log of statistics only', () => {
  const r = verify(asm('r0 = 0\nexit'), { progType: SOCKET_FILTER });
  assert.equal(r.ok, true);
  assert.equal(r.processed, 2);
  assert.equal(r.log, 'processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n');
  assert.equal(r.error, undefined);
});

test('a rejection carries a VerifierError with the instruction, reason and the failing path', () => {
  const r = verify(asm('r0 = 0\nr2 = *(u32 *)(r1 + 0)\nif r2 == 0 goto +2\nr0 = 1\nexit\nr0 = *(u64 *)(r2 - 8)\nexit'), { progType: SOCKET_FILTER });
  assert.equal(r.ok, false);
  assert.ok(r.error instanceof VerifierError);
  assert.equal(r.error.insn, 5);
  assert.equal(r.error.reason, "R2 invalid mem access 'scalar'");
  assert.equal(r.error.code, 'EVERIFY');
  // Level 1 shows the path that failed, not the branch that verified.
  assert.ok(!r.log.includes('3: (b7) r0 = 1'), r.log);
  assert.match(r.log, /^0: R1=ctx\(\) R10=fp0$/m);
  // Byte for byte the kernel's line (6.18), column alignment included.
  assert.ok(r.log.includes('1: (61) r2 = *(u32 *)(r1 +0)          ; R1=ctx() R2=scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff))\n'), r.log);
  assert.match(r.log, /^5: \(79\) r0 = \*\(u64 \*\)\(r2 -8\)\nR2 invalid mem access 'scalar'\nprocessed 6 insns/m);
});

test('level 2 logs every path with from/to state lines', () => {
  const r = verify(asm('r0 = 0\nr2 = *(u32 *)(r1 + 0)\nif r2 == 0 goto +1\nr0 = 1\nexit'), { progType: SOCKET_FILTER, logLevel: 2 });
  assert.equal(r.ok, true);
  assert.match(r.log, /^3: \(b7\) r0 = 1 +; R0=1$/m);
  assert.match(r.log, /^from 2 to 4: R0=0 R1=ctx\(\) R2=0 R10=fp0$/m);
});

test('level 0 keeps no log but the same verdict', () => {
  const r = verify(asm('exit'), { progType: SOCKET_FILTER, logLevel: 0 });
  assert.equal(r.ok, false);
  assert.equal(r.error!.reason, 'R0 !read_ok');
});

test('BTF line info names the source line of the failure', () => {
  const lineInfo = [
    { insn: 0, file: 'prog.c', line: 41, text: 'int f(void *ctx) {' },
    { insn: 1, file: 'prog.c', line: 42, text: '  return *v > 10;' },
  ];
  const r = verify(asm('r1 = 0\nr0 = *(u64 *)(r1 + 0)\nexit'), { progType: SOCKET_FILTER, lineInfo });
  assert.equal(r.error!.sourceLine, 'return *v > 10; @ prog.c:42');
  assert.match(r.log, /^; return \*v > 10; @ prog\.c:42\n1: \(79\) r0 = \*\(u64 \*\)\(r1 \+0\)$/m);
});

test('an instruction budget stops long walks with the kernel message', () => {
  const p = asm('r0 = 0\nr1 = *(u32 *)(r1 + 0)\nr0 += 1\nif r0 != r1 goto -2\nexit');
  const r = verify(p, { progType: SOCKET_FILTER, insnLimit: 5000 });
  assert.equal(r.ok, false);
  assert.equal(r.error!.reason, 'BPF program is too large. Processed 5001 insn');
});

test('unknown opcodes and unknown program types are rejected, not thrown', () => {
  const p = decodeProgram(encodeSlots([{ opcode: 0xb7, dst: 0, src: 0, off: 0, imm: 0 }, { opcode: 0xf5, dst: 0, src: 0, off: 0, imm: 0 }, { opcode: 0x95, dst: 0, src: 0, off: 0, imm: 0 }]), { validate: false });
  assert.equal(verify(p, { progType: SOCKET_FILTER }).error!.reason, 'unknown opcode f5');
  // e5 with src 1 is not may_goto (BPF_MAY_GOTO is src 0).
  const q = decodeProgram(encodeSlots([{ opcode: 0xb7, dst: 0, src: 0, off: 0, imm: 0 }, { opcode: 0xe5, dst: 0, src: 1, off: 1, imm: 0 }, { opcode: 0x95, dst: 0, src: 0, off: 0, imm: 0 }]), { validate: false });
  assert.equal(verify(q, { progType: SOCKET_FILTER }).error!.reason, 'unknown opcode e5');
  assert.equal(verify(asm('r0 = 0\nexit'), { progType: 999 }).error!.reason, 'unknown program type 999');
});

test('arbitrary instruction bytes never throw and never hang', () => {
  let seed = 7;
  const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const opcodes = [0x07, 0x0f, 0x17, 0x1f, 0x27, 0xb7, 0xbf, 0xb4, 0xbc, 0x61, 0x69, 0x71, 0x79, 0x62, 0x63, 0x7a, 0x7b, 0x15, 0x1d, 0x25, 0x2d, 0x55, 0x5d, 0xa5, 0x16, 0x05, 0x85, 0x95, 0x18, 0x00, 0xdb, 0xc3, 0x30, 0x87, 0xd4, 0xdc, 0x37, 0x97, 0xff];
  for (let n = 0; n < 2000; n++) {
    const len = 1 + Math.floor(rnd() * 24);
    const slots = Array.from({ length: len }, () => ({
      opcode: opcodes[Math.floor(rnd() * opcodes.length)]!,
      dst: Math.floor(rnd() * 11),
      src: rnd() < 0.8 ? Math.floor(rnd() * 11) : Math.floor(rnd() * 16),
      off: Math.floor(rnd() * 40) - 20,
      imm: rnd() < 0.7 ? Math.floor(rnd() * 64) - 8 : (rnd() * 2 ** 32) | 0,
    }));
    slots.push({ opcode: 0x95, dst: 0, src: 0, off: 0, imm: 0 });
    const prog = decodeProgram(encodeSlots(slots), { validate: false });
    const r = verify(prog, { progType: [1, 6, 2][n % 3]!, maps: [{ type: 2, keySize: 4, valueSize: 8, maxEntries: 1 }], insnLimit: 20000, logLevel: n % 2 });
    assert.equal(typeof r.ok, 'boolean');
    if (!r.ok) assert.ok(r.error!.reason.length > 0);
  }
});

test('without privilege: back-edges, uninitialised stack, pointer comparisons and leaks are refused', () => {
  const unpriv = (text: string) => verify(asm(text), { progType: SOCKET_FILTER, privileged: false }).error?.reason;
  assert.equal(unpriv('r0 = 0\nr0 += 1\nif r0 < 4 goto -2\nexit'), 'back-edge from insn 2 to 1');
  assert.equal(unpriv('r0 = *(u64 *)(r10 - 8)\nexit'), 'invalid read from stack off -8+0 size 8');
  assert.equal(unpriv('r2 = r10\nif r1 > r2 goto +0\nr0 = 0\nexit'), 'R1 pointer comparison prohibited');
  assert.equal(unpriv('r0 = r1\nexit'), 'R0 leaks addr as return value');
  // The same programs pass as root, as the kernel lets root run them.
  assert.equal(verify(asm('r0 = 0\nr0 += 1\nif r0 < 4 goto -2\nexit'), { progType: SOCKET_FILTER }).ok, true);
  assert.equal(verify(asm('r0 = *(u64 *)(r10 - 8)\nexit'), { progType: SOCKET_FILTER }).ok, true);
});
