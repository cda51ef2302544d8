// Static stack liveness (src/verifier/stack-liveness.ts): a helper that fills
// stack memory (bpf_probe_read_kernel's destination) overwrites the whole
// 8-byte slots it certainly covers, so what was there before is dead; only
// when the pointer (r10 + K) and the size (a constant) are set in the
// straight-line code just before the call. Found on tetragon's execve
// program, where a slot filled by probe_read before its next read kept
// states apart at a join point.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../src/asm/assemble.js';
import { decodeProgram } from '../../src/isa/decode.js';
import { analyzeCfg } from '../../src/verifier/cfg.js';
import { stackLiveness } from '../../src/verifier/stack-liveness.js';

/** Live slots before each instruction, as fp offsets. */
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

const READ_AFTER_FILL = (size: number, off: number): string => `r1 = 0
*(u64 *)(r10 - 16) = r1
*(u64 *)(r10 - 8) = r1
r1 = r10
r1 += ${off}
r2 = ${size}
r3 = 0
call 113
r0 = *(u64 *)(r10 - 16)
r0 = *(u64 *)(r10 - 8)
exit`;

test('stack liveness: probe_read of 16 bytes at fp-16 overwrites both slots: the earlier stores are dead', () => {
  const l = live(READ_AFTER_FILL(16, -16));
  assert.deepEqual(l[7], []); // before the call: nothing it overwrites is live
  assert.deepEqual(l[3], []); // so the stores' values are never read
  assert.deepEqual(l[8], [-8, -16]);
});

test('stack liveness: a fill that covers a slot only partly does not kill it', () => {
  const l = live(READ_AFTER_FILL(12, -16));
  assert.deepEqual(l[7], [-8]); // fp-16 filled whole, fp-8 only 4 of 8 bytes
  const m = live(READ_AFTER_FILL(8, -12));
  assert.deepEqual(m[7], [-8, -16]); // [fp-12, fp-4) covers no slot whole
});

test('stack liveness: no kill when the size or the pointer is not certain at the call', () => {
  // The size joins from two paths.
  const size = live(`r1 = 0
*(u64 *)(r10 - 16) = r1
r2 = 16
if r6 == 0 goto +1
r2 = 8
r1 = r10
r1 += -16
r3 = 0
call 113
r0 = *(u64 *)(r10 - 16)
exit`);
  assert.deepEqual(size[8], [-16]);
  // The pointer is fp-16 on one path only (a map value on the other).
  const ptr = live(`r1 = 0
*(u64 *)(r10 - 16) = r1
r1 = r10
r1 += -16
if r6 == 0 goto +1
r1 = r7
r2 = 8
r3 = 0
call 113
r0 = *(u64 *)(r10 - 16)
exit`);
  assert.deepEqual(ptr[8], [-16]);
  // A call in between (r2 clobbered and set again is fine; a call between the pointer and the call is not followed).
  const call = live(`r1 = 0
*(u64 *)(r10 - 16) = r1
r1 = r10
r1 += -16
r2 = 8
call 7
r3 = 0
call 113
r0 = *(u64 *)(r10 - 16)
exit`);
  assert.deepEqual(call[7], [-16]);
});
