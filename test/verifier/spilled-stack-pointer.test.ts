// The pattern behind tetragon's execve program (bpf_execve_event.o
// event_execve) going 1.9x over the kernel's instruction count: at a join, a
// stack slot holds a 4-byte spill of an imprecise 0 on one path and 8 bytes of
// data from bpf_probe_read_kernel on the other; the slot is filled by
// probe_read again before it is next read, so it is dead at the join and the
// kernel prunes there. tsbpf's static stack liveness (stack-liveness.ts) gave
// up on the whole frame as soon as the program spilled a stack pointer to its
// own stack (clang keeps `&local` there across calls), so every slot stayed
// live and nothing was pruned: 2^N paths through N such joins. Now the spilled
// pointer is tracked in its slot; the kernel's verdict and instruction count
// are the reference (root only).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verify } from '../../src/verifier/index.js';
import { decodeProgram } from '../../src/isa/decode.js';
import { assemble } from '../../src/asm/assemble.js';
import { kernelVerdicts, kernelErrorLine } from './kernel.js';

const KPROBE = 2;
const JOINS = 10;
/** Join i's slot: fp-144, fp-152, ... */
const slot = (i: number): number => 144 + 8 * i;

/** Join i: a random branch, its slot a 4-byte spill of 0 on one side and probe_read's data on the other. */
const join = (i: number): string => `call 7
if r0 > 100 goto +3
r1 = 0
*(u32 *)(r10 - ${slot(i)}) = r1
goto +5
r1 = r10
r1 += -${slot(i)}
r2 = 8
r3 = 0
call 113
`;

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/**
 * After the joins one probe_read fills every join's slot before any is read,
 * so all are dead at the joins: pruned, one state per join. `spill`: keep a
 * pointer to fp-64 at fp-8 and read through it at the end (what switched the
 * liveness off). `readBeforeFill`: read the slots before that fill, so they
 * are live: every combination of their contents is a distinct state (2^JOINS
 * paths, in the kernel too).
 */
function program(spill: boolean, readBeforeFill: boolean): string {
  const init = range(JOINS).map((i) => `*(u64 *)(r10 - ${slot(i)}) = r1\n`).join('');
  const start = spill ? '*(u64 *)(r10 - 64) = r1\nr1 = r10\nr1 += -64\n*(u64 *)(r10 - 8) = r1\n' : '';
  const early = readBeforeFill ? range(JOINS).map((i) => `r0 = *(u64 *)(r10 - ${slot(i)})\n`).join('') : '';
  const end = spill ? 'r2 = *(u64 *)(r10 - 8)\nr0 = *(u64 *)(r2 + 0)\n' : '';
  return `r1 = 0
${init}${start}${range(JOINS).map(join).join('')}${early}r1 = r10
r1 += -${slot(JOINS - 1)}
r2 = ${8 * JOINS}
r3 = 0
call 113
r0 = *(u64 *)(r10 - ${slot(0)})
${end}r0 = 0
exit`;
}

const CASES = [
  { name: 'stack pointer spilled, slot dead at the joins', spill: true, live: false },
  { name: 'no spill, slot dead at the joins', spill: false, live: false },
  { name: 'stack pointer spilled, slot read after the joins', spill: true, live: true },
];

test('a slot dead at a join is ignored even when the program spills a stack pointer; the kernel prunes the same joins', (t) => {
  const bytes = CASES.map((c) => assemble(program(c.spill, c.live), { dialect: 'llvm' }));
  const ours = bytes.map((b) => verify(decodeProgram(b, { validate: false }), { progType: KPROBE, logLevel: 0 }));
  CASES.forEach((c, i) => assert.equal(ours[i]!.ok, true, `${c.name}: ${ours[i]!.error?.reason}`));
  // Pruned at every join: linear in the joins, with the spill as without it.
  assert.ok(ours[0]!.processed < 40 * JOINS, `spill: ${ours[0]!.processed} insns`);
  assert.ok(ours[0]!.processed <= ours[1]!.processed + 10, `spill ${ours[0]!.processed} vs no spill ${ours[1]!.processed}`);
  // Live slots keep every combination apart: exponential.
  assert.ok(ours[2]!.processed > 2 ** JOINS * 5, `live: ${ours[2]!.processed} insns`);

  const kernel = kernelVerdicts(bytes.map((b) => ({ bytes: b, progType: KPROBE, maps: [] })));
  if (kernel[0]!.status === 'unavailable') {
    t.skip(`kernel comparison skipped: ${kernel[0]!.log}`);
    return;
  }
  CASES.forEach((c, i) => {
    assert.equal(kernel[i]!.status, 'accept', `${c.name}: ${kernelErrorLine(kernel[i]!.log)}`);
    const k = Number(/processed (\d+) insns/.exec(kernel[i]!.log)?.[1]);
    assert.ok(Number.isFinite(k), `${c.name}: no instruction count in the kernel's log`);
    // Within a factor of two of the kernel's count, either way.
    assert.ok(ours[i]!.processed <= 2 * k && k <= 2 * ours[i]!.processed, `${c.name}: tsbpf ${ours[i]!.processed} insns, kernel ${k}`);
  });
});
