// Stack-slot liveness (src/verifier/stack-liveness.ts), which lets pruning
// ignore stack slots nobody reads again, as the kernel does: falco's
// programs reuse stack scratch space and went past the 1M instruction
// budget without it (pwritev_x, writev_x, recvmsg_x, sendmmsg_x; the kernel
// needs 8k-63k). The masks here are checked directly; that pruning never
// ignores a slot that is read is checked against the kernel by the cases in
// test/fixtures/verifier/cases.txt ("stack liveness: ...").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../src/asm/assemble.js';
import { decodeProgram } from '../../src/isa/decode.js';
import { analyzeCfg } from '../../src/verifier/cfg.js';
import { stackLiveness } from '../../src/verifier/stack-liveness.js';

/** Live slots before each instruction, as fp offsets (slot 63 = fp-8). */
function live(src: string): number[][] {
  const prog = decodeProgram(assemble(src, { dialect: 'llvm' }), { validate: false });
  const sl = stackLiveness(prog, analyzeCfg(prog, true));
  const out: number[][] = [];
  for (let i = 0; i < prog.length; i++) {
    const offs: number[] = [];
    for (let s = 63; s >= 0; s--) if (((s < 32 ? sl.lo[i]! >>> s : sl.hi[i]! >>> (s - 32)) & 1) === 1) offs.push(s * 8 - 512);
    out.push(offs);
  }
  return out;
}

test('stack liveness: a slot is live from its write to its last read, and an 8-byte store through r10 kills it', () => {
  const l = live(`r1 = 0
*(u64 *)(r10 - 8) = r1
r0 = *(u64 *)(r10 - 8)
*(u64 *)(r10 - 8) = r1
r0 = 0
exit`);
  assert.deepEqual(l, [[], [], [-8], [], [], []]);
});

test('stack liveness: a narrow store does not kill the slot', () => {
  const l = live(`r1 = 0
*(u32 *)(r10 - 8) = r1
r0 = *(u64 *)(r10 - 8)
exit`);
  assert.deepEqual(l[1], [-8]);
});

test('stack liveness: a helper reads from its pointer to the top of the frame, unless it only fills the memory', () => {
  const reads = live(`r1 = r10
r1 += -16
r2 = 8
call 6
r0 = 0
exit`);
  assert.deepEqual(reads[3], [-8, -16]); // bpf_trace_printk reads its format
  const fills = live(`r1 = r10
r1 += -16
r2 = 8
r3 = 0
call 113
r0 = 0
exit`);
  assert.deepEqual(fills[4], []); // bpf_probe_read_kernel fills its destination
});

test('stack liveness: a pointer that is fp-8 on one path only still reads fp-8', () => {
  const l = live(`r2 = r10
r2 += -8
if r1 == 0 goto +1
r2 = r1
r0 = *(u64 *)(r2 + 0)
exit`);
  assert.deepEqual(l[4], [-8]);
});

test('stack liveness: code that gets a stack pointer may read the whole frame', () => {
  const l = live(`r1 = r10
r1 += -8
call fn
exit
fn:
r0 = 0
exit`);
  assert.equal(l[2]!.length, 64);
});

test('stack liveness: a stack pointer stored outside the stack makes every slot live everywhere', () => {
  const l = live(`r2 = r10
*(u64 *)(r1 + 0) = r2
r0 = 0
exit`);
  assert.ok(l.every((s) => s.length === 64));
});

test('stack liveness: a stack pointer spilled to the stack comes back with the fill', () => {
  // fp-24 is read through the pointer kept at fp-8, so it is live until that read; fp-16 never is.
  const l = live(`r1 = 0
*(u64 *)(r10 - 24) = r1
*(u64 *)(r10 - 16) = r1
r2 = r10
r2 += -24
*(u64 *)(r10 - 8) = r2
r3 = *(u64 *)(r10 - 8)
r0 = *(u64 *)(r3 + 0)
exit`);
  assert.deepEqual(l[2], [-24]);
  assert.deepEqual(l[6], [-8, -24]);
  assert.deepEqual(l[7], [-24]);
  assert.deepEqual(l[8], []);
});

test('stack liveness: a spill through a maybe-stack pointer keeps what the slot held before', () => {
  // r4 is fp-8 on one path only, so the store may miss the slot: the pointer spilled at 3 (fp-24) stays possible.
  const l = live(`r1 = 0
*(u64 *)(r10 - 24) = r1
r2 = r10
r2 += -24
*(u64 *)(r10 - 8) = r2
r4 = r10
r4 += -8
if r6 == 0 goto +1
r4 = r7
*(u64 *)(r4 + 0) = r1
r3 = *(u64 *)(r10 - 8)
r0 = *(u64 *)(r3 + 0)
exit`);
  assert.deepEqual(l[9], [-8, -24]);
  assert.deepEqual(l[10], [-8, -24]);
});
