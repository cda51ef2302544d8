// Loops that never converge run into the 1,000,000-instruction budget, in
// the kernel and here, with the same message; loops that do converge (a
// may_goto loop over an imprecise counter) are accepted by both. The same
// programs are rows of the verifier bench (bench/verifier/verify.bench.ts),
// where the speed of the walk is measured. Kernel verdicts where root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verify } from '../../src/verifier/index.js';
import { decodeProgram } from '../../src/isa/decode.js';
import { assemble } from '../../src/asm/assemble.js';
import { BUDGET_LOOPS } from '../../bench/verifier/loops.js';
import { kernelVerdicts, kernelErrorLine } from './kernel.js';

const SOCKET_FILTER = 1;
const TOO_LARGE = 'BPF program is too large. Processed 1000001 insn';

const CONVERGING: Record<string, string> = {
  // The counter is never compared: widened to unknown, the second iteration is covered by the first.
  'may_goto over an imprecise counter': 'r6 = 0\nr6 += 1\nmay_goto +1\ngoto -3\nr0 = 0\nexit',
  // Two counters, one added into the other and returned: neither is compared, both widen.
  'may_goto with a running sum returned': 'r6 = 0\nr7 = 0\nr6 += 1\nr7 += r6\nmay_goto +1\ngoto -4\nr0 = r7\nexit',
};

test('loops that never converge: rejected at the 1M budget, as the kernel does', (t) => {
  const bytes = BUDGET_LOOPS.map((l) => assemble(l.source, { dialect: 'llvm' }));
  const ours = bytes.map((b) => verify(decodeProgram(b, { validate: false }), { progType: SOCKET_FILTER, logLevel: 0 }));
  BUDGET_LOOPS.forEach((l, i) => {
    assert.equal(ours[i]!.ok, false, l.name);
    assert.equal(ours[i]!.error!.reason, TOO_LARGE, l.name);
    assert.equal(ours[i]!.processed, 1_000_000, l.name);
  });
  const kernel = kernelVerdicts(bytes.map((b) => ({ bytes: b, progType: SOCKET_FILTER, maps: [], logLevel: 4 })));
  if (kernel[0]!.status === 'unavailable') {
    t.skip(`kernel comparison skipped: ${kernel[0]!.log}`);
    return;
  }
  BUDGET_LOOPS.forEach((l, i) => {
    assert.equal(kernel[i]!.status, 'reject', l.name);
    assert.match(kernel[i]!.log, /BPF program is too large/, l.name);
  });
});

test('may_goto loops that converge: accepted, as the kernel does', (t) => {
  const names = Object.keys(CONVERGING);
  const bytes = names.map((n) => assemble(CONVERGING[n]!, { dialect: 'llvm' }));
  const ours = bytes.map((b) => verify(decodeProgram(b, { validate: false }), { progType: SOCKET_FILTER, logLevel: 0 }));
  names.forEach((n, i) => {
    assert.equal(ours[i]!.ok, true, `${n}: ${ours[i]!.error?.reason}`);
    assert.ok(ours[i]!.processed < 100, `${n}: ${ours[i]!.processed} insns`);
  });
  const kernel = kernelVerdicts(bytes.map((b) => ({ bytes: b, progType: SOCKET_FILTER, maps: [] })));
  if (kernel[0]!.status === 'unavailable') {
    t.skip(`kernel comparison skipped: ${kernel[0]!.log}`);
    return;
  }
  names.forEach((n, i) => assert.equal(kernel[i]!.status, 'accept', `${n}: ${kernelErrorLine(kernel[i]!.log)}`));
});

test('a program longer than the 1M-instruction limit is refused before the walk, with a reason', () => {
  const words = new Uint8Array((1_000_001 + 1) * 8);
  for (let i = 0; i <= 1_000_001; i++) words[i * 8] = 0xb7; // r0 = 0
  words[1_000_001 * 8] = 0x95; // exit
  const r = verify(decodeProgram(words, { validate: false }), { progType: SOCKET_FILTER, logLevel: 0 });
  assert.equal(r.ok, false);
  assert.equal(r.error!.reason, 'program of 1000002 insns is too large (limit 1000000)');
});
