// The classic checker: each kernel rule accepts a program right at its limit
// and rejects one just past it, with a message naming the instruction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkClassic } from '../../src/cbpf/check.js';
import { assembleClassic } from '../../src/cbpf/asm.js';
import { ClassicError } from '../../src/cbpf/errors.js';
import type { ClassicInsn } from '../../src/cbpf/insn.js';

const ins = (code: number, k = 0, jt = 0, jf = 0): ClassicInsn => ({ code, jt, jf, k });
const RET0 = ins(0x06, 0);

function rejects(prog: readonly ClassicInsn[], at: number, re: RegExp, mode: 'socket' | 'seccomp' = 'socket'): void {
  assert.throws(
    () => checkClassic(prog, { mode }),
    (e: unknown) => e instanceof ClassicError && e.insn === at && re.test(e.message),
    `expected rejection at ${at} matching ${re}`,
  );
}

test('length: 1..4096 instructions', () => {
  rejects([], -1, /empty/);
  checkClassic(Array.from({ length: 4096 }, () => RET0));
  rejects(Array.from({ length: 4097 }, () => RET0), -1, /4097 instructions/);
});

test('opcodes: unknown and non-kernel codes are rejected', () => {
  rejects([ins(0xff), RET0], 0, /unknown opcode 0xff/);
  rejects([ins(0x0e), RET0], 0, /not allowed in Linux/); // ret x: libpcap only
  rejects([ins(0x28 | 0x100, 12), RET0], 0, /unknown opcode/);
});

test('constant division by zero, big shifts, scratch index', () => {
  rejects(assembleClassic('div #0\nret a'), 0, /div by constant zero/);
  rejects(assembleClassic('mod #0\nret a'), 0, /mod by constant zero/);
  checkClassic(assembleClassic('div x\nlsh #31\nret a'));
  rejects(assembleClassic('rsh #32\nret a'), 0, /less than 32/);
  rejects([ins(0x02, 16), RET0], 0, /M\[16\] out of range/);
  checkClassic([ins(0x02, 15), RET0]);
});

test('jumps stay inside the program', () => {
  checkClassic([ins(0x05, 1), RET0, RET0]);
  rejects([ins(0x05, 2), RET0, RET0], 0, /past the end/);
  checkClassic([ins(0x15, 0, 1, 0), RET0, RET0]);
  rejects([ins(0x15, 0, 2, 0), RET0, RET0], 0, /past the end/);
  rejects([ins(0x15, 0, 0, 2), RET0, RET0], 0, /past the end/);
});

test('last instruction must be ret', () => {
  rejects([RET0, ins(0x00, 1)], 1, /must end in 'ret'/);
});

test('scratch memory: read only after a write on every path', () => {
  checkClassic(assembleClassic('st M[3]\nld M[3]\nret a'));
  rejects(assembleClassic('ld M[3]\nret a'), 0, /M\[3\] is read before/);
  // written on one branch only
  rejects(assembleClassic('ldb [0]\njeq #1, w, r\nw: st M[0]\nr: ld M[0]\nret a'), 3, /M\[0\]/);
  // written on both branches
  checkClassic(assembleClassic('ldb [0]\njeq #1, w, v\nw: st M[0]\nja r\nv: stx M[0]\nr: ld M[0]\nret a'));
});

test('ancillary loads must be known', () => {
  checkClassic(assembleClassic('ld #vlan_tci\nret a'));
  rejects([ins(0x20, (-0x1000 + 64) >>> 0), RET0], 0, /unknown ancillary/);
  rejects([ins(0x20, (-0x1000 + 2) >>> 0), RET0], 0, /unknown ancillary/);
  checkClassic([ins(0x20, (-0x100000 + 9) >>> 0), RET0]); // SKF_NET_OFF area is fine
});

test('seccomp rules', () => {
  checkClassic(assembleClassic('ld [60]\nld #len\nret a'), { mode: 'seccomp' });
  rejects(assembleClassic('ld [64]\nret a'), 0, /inside struct seccomp_data/, 'seccomp');
  rejects(assembleClassic('ld [1]\nret a'), 0, /aligned/, 'seccomp');
  rejects(assembleClassic('ldb [0]\nret a'), 0, /not allowed in seccomp/, 'seccomp');
  rejects(assembleClassic('ld [x + 0]\nret a'), 0, /not allowed in seccomp/, 'seccomp');
  rejects(assembleClassic('ldx 4*([0]&0xf)\nret a'), 0, /not allowed in seccomp/, 'seccomp');
});
