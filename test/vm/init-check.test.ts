// The register-init check (src/verifier/init-check.ts). Lives under test/vm
// because test/verifier belongs to the full verifier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../src/asm/assemble.js';
import { decodeProgram, encodeSlots } from '../../src/isa/decode.js';
import { checkRegisterInit, type InitCheckOptions } from '../../src/verifier/init-check.js';
import { VerifierError } from '../../src/internal/errors.js';
import { Op } from '../../src/isa/table.js';
import { EXIT, MOV, X, LD } from './cases.js';
import { INSNS } from '../../src/isa/table.js';

const check = (asm: string, options?: InitCheckOptions): void =>
  checkRegisterInit(decodeProgram(assemble(asm, { dialect: 'conformance' })), options);

function rejects(asm: string, insn: number, message: string, options?: InitCheckOptions): void {
  assert.throws(
    () => check(asm, options),
    (e: unknown) => e instanceof VerifierError && e.insn === insn && e.reason === message && e.message === `instruction ${insn}: ${message}`,
  );
}

test('reading r0 before writing it (negative/error.data)', () => {
  rejects('or %r0, %r10\nexit', 0, 'R0 !read_ok');
});

test('exit reads r0', () => {
  rejects('mov %r1, 1\nexit', 1, 'R0 !read_ok');
  check('mov %r0, 1\nexit');
});

test('entry: r1 and r10 by default, r1..rN with entryArgs', () => {
  check('mov %r0, %r1\nadd %r0, %r10\nexit');
  rejects('mov %r0, %r2\nexit', 0, 'R2 !read_ok');
  check('mov %r0, %r2\nexit', { entryArgs: 2 });
  rejects('mov %r0, %r3\nexit', 0, 'R3 !read_ok', { entryArgs: 2 });
  check('mov %r0, %r5\nexit', { entryArgs: 5 });
  rejects('mov %r0, %r6\nexit', 0, 'R6 !read_ok', { entryArgs: 5 });
});

test('a write on only one path does not count', () => {
  const asm = `mov %r0, 0
mov %r3, 10
jeq %r3, 5, skip
mov %r2, 1
skip:
add %r0, %r2
exit`;
  rejects(asm, 4, 'R2 !read_ok');
  check(asm.replace('mov %r0, 0', 'mov %r2, 0\nmov %r0, 0'));
});

test('loops reach a fixpoint', () => {
  check(`mov %r0, 0
mov %r3, 3
loop:
add %r0, %r3
mov %r4, %r0
sub %r3, 1
jne %r3, 0, loop
mov %r0, %r4
exit`);
  // r4 is read at the loop head before the body writes it
  rejects(`mov %r0, 0
mov %r3, 3
loop:
add %r0, %r4
mov %r4, %r3
sub %r3, 1
jne %r3, 0, loop
exit`, 2, 'R4 !read_ok');
});

test('helper calls set r0 and clobber r1..r5', () => {
  check('mov %r1, 1\ncall 5\nexit');
  rejects('mov %r1, 1\ncall 5\nmov %r0, %r1\nexit', 2, 'R1 !read_ok');
  rejects('mov %r5, 1\nmov %r0, 0\ncall 5\nadd %r0, %r5\nexit', 3, 'R5 !read_ok');
  check('mov %r6, 1\ncall 5\nadd %r0, %r6\nexit');
  // callx reads its register
  rejects('call %r3\nexit', 0, 'R3 !read_ok');
});

test('local calls: callee gets r1..r5 and r10, caller keeps r6..r9', () => {
  check(`mov %r6, 1
mov %r1, 2
call local f
add %r0, %r6
exit
f:
mov %r0, %r1
add %r0, %r10
exit`);
  rejects(`mov %r6, 1
call local f
exit
f:
mov %r0, %r6
exit`, 3, 'R6 !read_ok');
  rejects(`mov %r1, 1
call local f
mov %r0, %r1
exit
f:
mov %r0, 0
exit`, 2, 'R1 !read_ok');
  // the callee does not see the caller's r0
  rejects(`mov %r0, 1
call local f
exit
f:
add %r0, 1
exit`, 3, 'R0 !read_ok');
});

test('lddw writes its register; stores and atomics read theirs', () => {
  check('lddw %r0, 0x1122334455667788\nexit');
  rejects('stxdw [%r10-8], %r3\nmov %r0, 0\nexit', 0, 'R3 !read_ok');
  rejects('stdw [%r4], 1\nmov %r0, 0\nexit', 0, 'R4 !read_ok');
  rejects('mov %r1, 0\nlock cmpxchg [%r10-8], %r1\nexit', 1, 'R0 !read_ok');
  check('mov %r1, 0\nmov %r0, 0\nlock cmpxchg [%r10-8], %r1\nexit');
  rejects('mov %r0, 0\nlock add [%r10-8], %r2\nexit', 1, 'R2 !read_ok');
});

test('the frame pointer is read only', () => {
  rejects('mov %r10, 0\nmov %r0, 0\nexit', 0, 'frame pointer is read only');
  rejects('mov %r0, 0\nldxdw %r10, [%r10-8]\nexit', 1, 'frame pointer is read only');
});

test('legacy packet loads read r6 and clobber r1..r5', () => {
  const ldabs = { opcode: INSNS[Op.LD_ABS_B]!.opcode, dst: 0, src: 0, off: 0, imm: 0 };
  const prog = (slots: ReturnType<typeof MOV>[]) => decodeProgram(encodeSlots(slots.flat()));
  assert.throws(() => checkRegisterInit(prog([[ldabs], EXIT()])), /instruction 0: R6 !read_ok/);
  checkRegisterInit(prog([X(Op.MOV64_REG, 6, 1), [ldabs], EXIT()]));
  assert.throws(() => checkRegisterInit(prog([X(Op.MOV64_REG, 6, 1), [ldabs], LD(Op.LDXB, 0, 1, 0), EXIT()])), /instruction 2: R1 !read_ok/);
});

test('unreachable code is not checked', () => {
  check('mov %r0, 0\nexit\nmov %r0, %r7\nexit');
});

test('addr_space_cast reads src and writes dst; may_goto reaches both of its successors', () => {
  check('addr_space_cast %r0, %r1, 0, 1\nexit');
  rejects('addr_space_cast %r0, %r2, 1, 0\nexit', 0, 'R2 !read_ok');
  // the taken edge of may_goto skips the write of r0
  rejects('may_goto +1\nmov %r0, 1\nexit', 2, 'R0 !read_ok');
  check('mov %r0, 0\nmay_goto +1\nmov %r0, 1\nexit');
});
