// Kfuncs the runtime runs (src/helpers/kfuncs.ts): clang-built programs
// (test/fixtures/kfuncs) with open-coded iterators and CPU masks are
// verified, loaded (kfunc calls mapped to helper calls) and run on every
// engine, and as root also in the kernel (the same values); kfuncs that
// need the kernel are refused when the program loads, naming the kfunc.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime } from '../../src/runtime/index.js';
import { KFUNC_HELPERS, KFUNC_HELPER_BASE, kfuncsTrustable } from '../../src/helpers/kfuncs.js';
import { objectSpec } from '../runtime/spec-builder.js';
import { loadObject } from '../../src/elf/index.js';
import { KFUNCS } from '../../src/verifier/kfuncs.js';
import { RuntimeMemory } from '../../src/vm/memory.js';
import type { HelperEnv } from '../../src/helpers/registry.js';
import { FIXTURES } from '../paths.js';

const object = (name: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, 'kfuncs', name)));
const ENGINES = ['interp', 'jit'] as const;

/** CPUs of this machine (the kernel's nr_cpu_ids, which cpumasks are bounded by); the runtime is given as many. */
const CPUS = (() => {
  try {
    const m = /(\d+)\s*$/.exec(readFileSync('/sys/devices/system/cpu/possible', 'utf8'));
    return m ? Number(m[1]) + 1 : 4;
  } catch {
    return 4;
  }
})();

function run(file: string, prog: string, engine: string, cpus = 8): number {
  const rt = new Runtime({ engine, cpus });
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
  ['cpumask.o', 'masks', 311], // with 8 CPUs: CPUs 1, 3 and 5 set, 7 set and cleared
];

for (const [file, prog, want] of CASES) {
  test(`${file} ${prog} runs to ${want} on every engine`, () => {
    for (const engine of ENGINES) assert.equal(run(file, prog, engine) | 0, want, engine);
  });
}

test('cpumasks hold the runtime\'s CPUs only (nr_cpu_ids): with 2 CPUs only CPU 1 of 1, 3, 5, 7 is set', () => {
  for (const engine of ENGINES) assert.equal(run('cpumask.o', 'masks', engine, 2), 110, engine);
});

test('every runnable kfunc has a helper under its reserved id, and only those', () => {
  const runnable = KFUNCS.filter((k) => k.runnable).map((k) => k.name).sort();
  assert.deepEqual(KFUNC_HELPERS.map((h) => h.name).sort(), runnable);
  for (const h of KFUNC_HELPERS) assert.equal(KFUNCS[h.id - KFUNC_HELPER_BASE]!.name, h.name);
});

test('programs calling bpf_rdonly_cast are kept off the unchecked engine; iterator programs are not', () => {
  const spec = objectSpec([{ name: 'p', type: 'socket_filter', asm: 'r0 = 0\nexit' }]);
  const withCast = {
    ...spec,
    externs: [{ name: 'bpf_rdonly_cast', kind: 'kfunc' as const, refs: [{ program: 'p', insn: 0 }] }],
    programs: [{ ...spec.programs[0]!, externs: ['bpf_rdonly_cast'] }],
  };
  assert.equal(kfuncsTrustable(withCast, withCast.programs[0]!), false);
  const iters = loadObject(object('iters.o'), { file: 'iters.o' });
  assert.equal(kfuncsTrustable(iters, iters.programs.find((p) => p.name === 'sum_range')!), true);
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

// ---- the kernel as oracle (root, bpftool and bpffs) ----

function kernelSkip(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  if (spawnSync('bpftool', ['version']).status !== 0) return 'needs bpftool';
  if (!existsSync('/sys/fs/bpf')) return 'needs bpffs at /sys/fs/bpf';
  return undefined;
}

/**
 * BPF_PROG_TEST_RUN of a pinned syscall program with an 8-byte context
 * (bpftool prog run always passes repeat, which syscall programs refuse).
 */
const SYSCALL_RUN_PY = `
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(attr, 160)
    r = libc.syscall(321, cmd, buf, 160)
    if r < 0: raise OSError(ctypes.get_errno(), 'bpf')
    return r, buf.raw
path = sys.argv[1].encode() + b'\\0'
pbuf = ctypes.create_string_buffer(path)
fd, _ = bpf(7, struct.pack('<QII', ctypes.addressof(pbuf), 0, 0))
ctx = ctypes.create_string_buffer(8)
attr = struct.pack('<IIIIQQIIIIQQII', fd, 0, 0, 0, 0, 0, 0, 0, 8, 0, ctypes.addressof(ctx), 0, 0, 0)
_, out = bpf(10, attr)
print(struct.unpack_from('<I', out, 4)[0])
`;

function kernelRetvals(file: string, progs: readonly string[], syscall: boolean): Map<string, number> {
  const pin = `/sys/fs/bpf/tsbpf-kfuncs-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'kfuncs-'));
  const out = new Map<string, number>();
  try {
    const load = spawnSync('bpftool', ['prog', 'loadall', join(FIXTURES, 'kfuncs', file), pin], { encoding: 'utf8' });
    assert.equal(load.status, 0, `bpftool prog loadall ${file}: ${load.stderr}`);
    const data = join(dir, 'in');
    writeFileSync(data, new Uint8Array(64));
    for (const p of progs) {
      const r = syscall
        ? spawnSync('python3', ['-c', SYSCALL_RUN_PY, join(pin, p)], { encoding: 'utf8' })
        : spawnSync('bpftool', ['prog', 'run', 'pinned', join(pin, p), 'data_in', data, 'repeat', '1'], { encoding: 'utf8' });
      const m = syscall ? /^(\d+)/.exec(r.stdout.trim()) : /Return value: (\d+)/.exec(r.stdout + r.stderr);
      assert.ok(m, `kernel run of ${p}: ${r.stderr || r.stdout}`);
      out.set(p, Number(m[1]) | 0);
    }
    return out;
  } finally {
    rmSync(pin, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the kernel runs the fixture programs to the same values (root only)', (t) => {
  const skip = kernelSkip();
  if (skip) return t.skip(skip);
  for (const file of ['iters.o', 'cpumask.o']) {
    const progs = CASES.filter((c) => c[0] === file).map((c) => c[1]);
    const kernel = kernelRetvals(file, progs, file === 'cpumask.o');
    for (const p of progs) {
      for (const engine of ENGINES) assert.equal(run(file, p, engine, CPUS) | 0, kernel.get(p), `${file} ${p} on ${engine} with ${CPUS} CPUs`);
    }
  }
});
