// Test runs refuse a ctx_in shorter than the furthest context byte the
// verifier saw the program touch (the kernel's max_ctx_offset, checked by
// bpf_prog_test_run_syscall and _raw_tp with EINVAL), checked against the
// running kernel through kernel_test_run.py: the same errno, and the same
// retval where both run. Skips the kernel half without root or python3.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime } from '../../src/runtime/runtime.js';
import { TestRunError } from '../../src/progtypes/errors.js';
import { checkCtxInCoversAccesses } from '../../src/progtypes/tracing.js';
import { MemoryFault } from '../../src/internal/errors.js';
import type { Collection } from '../../src/runtime/collection.js';
import { objectSpec } from './spec-builder.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BPF_F_SLEEPABLE = 16;

interface Run {
  readonly errno: number;
  readonly retval: number | null;
}

interface Case {
  readonly name: string;
  readonly type: 'syscall' | 'raw_tracepoint';
  readonly progType: number;
  readonly asm: string;
  readonly maxCtxOffset: number;
  readonly ctxLengths: readonly number[];
}

const CASES: readonly Case[] = [
  // reads ctx bytes 16..19: 8 and 16 bytes are refused, 20 and 24 run
  { name: 'sys16', type: 'syscall', progType: 31, asm: 'r0 = *(u32 *)(r1 + 16)\nexit', maxCtxOffset: 20, ctxLengths: [0, 8, 16, 20, 24] },
  // a write counts as an access; the furthest of two accesses counts
  { name: 'sysw', type: 'syscall', progType: 31, asm: 'r0 = *(u8 *)(r1 + 2)\n*(u32 *)(r1 + 8) = r0\nexit', maxCtxOffset: 12, ctxLengths: [4, 11, 12] },
  // argument 2 of a raw tracepoint: 16 bytes are refused, 24 run
  { name: 'rawtp', type: 'raw_tracepoint', progType: 17, asm: 'r0 = *(u64 *)(r1 + 16)\nr0 += 1\nexit', maxCtxOffset: 24, ctxLengths: [0, 8, 16, 24, 32] },
];

/** Bytes 0x10, 0x11, ... so every offset reads a different value. */
const ctxOf = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => 0x10 + i);

function load(c: Case, engine: string, verify = true): Collection {
  const spec = objectSpec([{ name: c.name, type: c.type, asm: c.asm }]);
  const sleepable = c.type === 'syscall';
  return new Runtime({ engine, verify }).loadObject({ ...spec, programs: spec.programs.map((p) => ({ ...p, sleepable })) });
}

function tsbpfRun(coll: Collection, c: Case, n: number): Run {
  try {
    return { errno: 0, retval: coll.program(c.name).testRun({ ctxIn: ctxOf(n) }).retval };
  } catch (e) {
    if (e instanceof TestRunError) return { errno: e.errno, retval: null };
    throw e;
  }
}

function kernelRuns(c: Case, insns: Uint8Array): Run[] | string {
  if (process.getuid?.() !== 0) return 'needs root';
  const input = JSON.stringify({
    insns: Buffer.from(insns).toString('hex'), progType: c.progType, progFlags: c.type === 'syscall' ? BPF_F_SLEEPABLE : 0,
    ctxIns: c.ctxLengths.map((n) => Buffer.from(ctxOf(n)).toString('hex')),
  });
  const p = spawnSync('python3', [join(ROOT, 'test', 'runtime', 'kernel_test_run.py')], { input, encoding: 'utf8', timeout: 60_000 });
  if (p.status !== 0 || !p.stdout) return `kernel_test_run.py failed: ${p.stderr || p.error?.message}`;
  const out = JSON.parse(p.stdout) as { status: string; runs?: Run[]; log?: string };
  if (out.status !== 'ok') return `kernel ${out.status}: ${out.log ?? ''}`;
  return out.runs!;
}

for (const c of CASES) {
  test(`${c.name}: the verifier's context extent, and ctx_in lengths ${c.ctxLengths.join('/')} as the kernel answers them`, (t) => {
    const coll = load(c, 'interp');
    const prog = coll.program(c.name);
    assert.equal(prog.maxCtxOffset, c.maxCtxOffset);
    const ours = c.ctxLengths.map((n) => tsbpfRun(coll, c, n));
    // the refusals are our own rule, not a run that faulted
    assert.deepEqual(ours.map((r) => r.errno !== 0), c.ctxLengths.map((n) => n < c.maxCtxOffset));
    const jit = load(c, 'jit');
    assert.deepEqual(c.ctxLengths.map((n) => tsbpfRun(jit, c, n)), ours);
    const kernel = kernelRuns(c, prog.spec.insns);
    if (typeof kernel === 'string') {
      t.skip(kernel);
      return;
    }
    assert.deepEqual(ours, kernel);
  });
}

test('a program loaded without the verifier has no extent: it runs and faults past ctx_in', () => {
  const coll = load(CASES[0]!, 'interp', false);
  assert.equal(coll.program('sys16').maxCtxOffset, 0);
  assert.throws(() => coll.program('sys16').testRun({ ctxIn: ctxOf(8) }), MemoryFault);
  assert.equal(coll.program('sys16').testRun({ ctxIn: ctxOf(20) }).retval, 0x23222120);
});

test('checkCtxInCoversAccesses: EINVAL below the extent, an empty ctx_in included', () => {
  assert.throws(() => checkCtxInCoversAccesses('syscall', 0, 1), (e: unknown) => e instanceof TestRunError && e.errno === 22 && /up to byte 1/.test(e.message));
  assert.throws(() => checkCtxInCoversAccesses('raw_tracepoint', 15, 16), TestRunError);
  checkCtxInCoversAccesses('syscall', 16, 16);
  checkCtxInCoversAccesses('syscall', 0, 0);
});
