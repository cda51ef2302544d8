// Kfuncs the runtime runs (src/helpers/kfuncs.ts): clang-built programs
// (test/fixtures/kfuncs) with open-coded iterators and CPU masks are
// verified, loaded (kfunc calls mapped to helper calls) and run on every
// engine; kfuncs that need the kernel are refused when the program loads,
// naming the kfunc. The expected values are worked out in the C sources.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Runtime } from '../../src/runtime/index.js';
import { KFUNC_HELPERS, KFUNC_HELPER_BASE } from '../../src/helpers/kfuncs.js';
import { KFUNCS } from '../../src/verifier/kfuncs.js';
import { RuntimeMemory } from '../../src/vm/memory.js';
import type { HelperEnv } from '../../src/helpers/registry.js';
import { FIXTURES } from '../paths.js';

const object = (name: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, 'kfuncs', name)));
const ENGINES = ['interp', 'jit'] as const;

function run(file: string, prog: string, engine: string): number {
  const rt = new Runtime({ engine });
  try {
    const coll = rt.loadObject(object(file), { programs: [prog] });
    const p = coll.programs.get(prog)!;
    const res = p.testRun(p.spec.type === 'syscall' ? { ctxIn: new Uint8Array(8) } : { dataIn: new Uint8Array(64) });
    return res.retval;
  } finally {
    rt.dispose();
  }
}

const CASES: readonly [string, string, number][] = [
  ['iters.o', 'sum_range', 5050],
  ['iters.o', 'index_array', 45],
  ['iters.o', 'count_bits', 6269],
  ['iters.o', 'one_word', 257],
  ['iters.o', 'bad_range', -2200],
  ['cpumask.o', 'masks', 311],
];

for (const [file, prog, want] of CASES) {
  test(`${file} ${prog} runs to ${want} on every engine`, () => {
    for (const engine of ENGINES) assert.equal(run(file, prog, engine) | 0, want, engine);
  });
}

test('every runnable kfunc has a helper under its reserved id, and only those', () => {
  const runnable = KFUNCS.filter((k) => k.runnable).map((k) => k.name).sort();
  assert.deepEqual(KFUNC_HELPERS.map((h) => h.name).sort(), runnable);
  for (const h of KFUNC_HELPERS) assert.equal(KFUNCS[h.id - KFUNC_HELPER_BASE]!.name, h.name);
});

test('a kfunc tsbpf cannot run is refused at load, naming it', () => {
  const rt = new Runtime();
  assert.throws(
    () => rt.loadObject(object('kernel_objects.o'), { programs: ['task_lookup'] }),
    (e: unknown) => e instanceof Error && /bpf_task_from_pid, which tsbpf verifies but cannot run: it works on kernel tasks/.test(e.message),
  );
  rt.dispose();
});

test('cpumask lifetime errors are refused by the verifier at load', () => {
  const rt = new Runtime();
  assert.throws(() => rt.loadObject(object('cpumask_bad.o'), { programs: ['double_release'] }), /R1 type=scalar expected=ptr_, trusted_ptr_, rcu_ptr_/);
  assert.throws(() => rt.loadObject(object('cpumask_bad.o'), { programs: ['leak'] }), /reference leak/);
  rt.dispose();
});

/** A helper environment over a fresh memory with one 64-byte writable region; r1..r5 from `args`. */
function helperEnv(args: number[]): { env: HelperEnv; base: number; mem: RuntimeMemory } {
  const mem = new RuntimeMemory();
  const base = mem.alloc(64, { name: 'scratch', kind: 'scratch' }).start;
  const regs = new Int32Array(12);
  args.forEach((a, i) => {
    regs[2 * (i + 1)] = a;
  });
  return { env: { mem, regs, pc: 0, run: undefined }, base, mem };
}

const fn = (name: string): ((env: HelperEnv) => void) => KFUNC_HELPERS.find((h) => h.name === name)!.fn;

test('bpf_iter_num: the kernel\'s bounds (start > end, ranges over BPF_MAX_LOOPS) and the walk', () => {
  const { env, base } = helperEnv([]);
  env.regs[2] = base;
  env.regs[4] = 10;
  env.regs[6] = 3;
  fn('bpf_iter_num_new')(env);
  assert.equal(env.regs[0], -22);
  env.regs[4] = 0;
  env.regs[6] = 8 * 1024 * 1024 + 1;
  fn('bpf_iter_num_new')(env);
  assert.equal(env.regs[0], -7);
  env.regs[6] = 2;
  fn('bpf_iter_num_new')(env);
  assert.equal(env.regs[0], 0);
  const seen: number[] = [];
  for (;;) {
    fn('bpf_iter_num_next')(env);
    if (env.regs[0] === 0) break;
    seen.push(env.mem.dv.getInt32(env.regs[0]!, true));
  }
  assert.deepEqual(seen, [0, 1]);
});

test('bpf_iter_bits: NULL and zero words are -EINVAL, more than 511 words -E2BIG, unreadable memory -EFAULT', () => {
  const { env, base } = helperEnv([]);
  env.regs[2] = base;
  env.regs[4] = 0;
  env.regs[6] = 1;
  fn('bpf_iter_bits_new')(env);
  assert.equal(env.regs[0], -22);
  env.regs[4] = base + 32;
  env.regs[6] = 0;
  fn('bpf_iter_bits_new')(env);
  assert.equal(env.regs[0], -22);
  env.regs[6] = 512;
  fn('bpf_iter_bits_new')(env);
  assert.equal(env.regs[0], -7);
  env.regs[6] = 100; // 800 bytes from base + 32: past the region
  fn('bpf_iter_bits_new')(env);
  assert.equal(env.regs[0], -14);
  fn('bpf_iter_bits_next')(env);
  assert.equal(env.regs[0], 0, 'a failed new() leaves an empty iterator');
});

test('bpf_rdonly_cast returns its first argument, both halves', () => {
  const { env } = helperEnv([0x1234, 7]);
  env.regs[3] = 5;
  fn('bpf_rdonly_cast')(env);
  assert.equal(env.regs[0], 0x1234);
  assert.equal(env.regs[1], 5);
});

test('a kfunc given a pointer outside the program-visible memory faults instead of writing', () => {
  const { env } = helperEnv([8]);
  assert.throws(() => fn('bpf_iter_num_destroy')(env), /MemoryFault|fault|outside|unmapped/i);
});
