// The JIT engine's contract beyond plain semantics: typed errors with the
// interpreter's fields, the budget, helpers and intrinsics, local calls,
// the batch entry, the register dump, memory growth, and atomics on a
// shared memory from several workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { EXIT, JK, K, LD, MOV, ST, STX, X } from '../cases.js';
import { decodeProgram, encodeSlots, programFromSlots, type Program } from '../../../src/isa/decode.js';
import { MAX_CALL_FRAMES, STACK_SIZE, type RawInsn } from '../../../src/isa/fields.js';
import { Op } from '../../../src/isa/table.js';
import { HelperRegistry, argU32, setR0 } from '../../../src/helpers/registry.js';
import { BudgetExceeded, DecodeError, MemoryFault, ProgramError, UsageError } from '../../../src/internal/errors.js';
import { compile, compileAsync, type ExitableEnv } from '../../../src/vm/jit/engine.js';
import { Interpreter } from '../../../src/vm/interpreter.js';
import { RuntimeMemory } from '../../../src/vm/memory.js';
import type { EngineConfig } from '../../../src/vm/types.js';
import { W } from '../../../src/vm/jit/wasm/opcodes.js';
import { printCode } from '../../../src/vm/jit/wasm/print.js';
import { Imp } from '../../../src/vm/jit/abi.js';

const prog = (...parts: RawInsn[][]): Program => programFromSlots(parts.flat());
const CALL = (id: number): RawInsn[] => K(Op.CALL, 0, id);
const CALL_LOCAL = (rel: number): RawInsn[] => K(Op.CALL_LOCAL, 0, rel);

function setup(helpers = new HelperRegistry(), memOptions: ConstructorParameters<typeof RuntimeMemory>[0] = { maxBytes: 16 << 20 }): EngineConfig {
  const mem = new RuntimeMemory(memOptions);
  const stack = mem.alloc(MAX_CALL_FRAMES * STACK_SIZE, { name: 'stack', kind: 'stack' });
  return { mem, helpers, stack };
}

/** Run on both engines; return what each threw (or r0). */
function both(p: Program, config: EngineConfig, args: number[] = [], budget?: number): [unknown, unknown] {
  const go = (f: () => bigint): unknown => {
    try {
      return f();
    } catch (e) {
      return e;
    }
  };
  const opts = budget === undefined ? {} : { budget };
  return [go(() => new Interpreter(p, config).run(args, opts).r0), go(() => compile(p, config).run(args, opts).r0)];
}

test('memory faults carry the interpreter\'s pc, address, size and direction', () => {
  const config = setup();
  const input = config.mem.alloc(13, { name: 'input', kind: 'input' });
  const ro = config.mem.alloc(16, { name: 'ro', kind: 'packet', writable: false });
  const cases: Array<[string, Program, number[]]> = [
    ['read past the end', prog(LD(Op.LDXW, 0, 1, 12), EXIT()), [input.start]],
    ['partial granule: 2 bytes at 12 of a 13-byte region', prog(MOV(0, 0), LD(Op.LDXH, 0, 1, 12), EXIT()), [input.start]],
    ['NULL', prog(LD(Op.LDXDW, 0, 1, 0), EXIT()), [0]],
    ['write to a read-only region', prog(ST(Op.STW, 1, 4, 7), EXIT()), [ro.start]],
    ['negative offset before the region', prog(STX(Op.STXB, 1, 1, -1), EXIT()), [input.start]],
    ['atomic on a read-only region', prog(MOV(2, 1), STX(Op.ATOMIC64_ADD, 1, 2, 0), EXIT()), [ro.start]],
  ];
  for (const [name, p, args] of cases) {
    const [a, b] = both(p, config, args);
    assert.ok(a instanceof MemoryFault, `${name}: interpreter gave ${String(a)}`);
    assert.ok(b instanceof MemoryFault, `${name}: jit gave ${String(b)}`);
    assert.deepEqual([b.pc, b.addr, b.size, b.write, b.message], [a.pc, a.addr, a.size, a.write, a.message], name);
  }
  // the byte inside the partial granule is fine
  assert.equal(compile(prog(LD(Op.LDXB, 0, 1, 12), EXIT()), config).run([input.start]).r0, 0n);
});

test('a misaligned atomic is a MemoryFault naming the alignment', () => {
  const config = setup();
  const input = config.mem.alloc(16, { name: 'input' });
  const p = prog(MOV(2, 1), STX(Op.ATOMIC32_ADD, 1, 2, 2), EXIT());
  assert.throws(() => compile(p, config).run([input.start]), (e: unknown) => e instanceof MemoryFault && e.pc === 1 && /aligned to 4 bytes/.test(e.message));
});

test('budget: a runaway loop stops near the budget; counts match the interpreter', () => {
  const config = setup();
  const loop = prog(MOV(0, 0), K(Op.ADD64_IMM, 0, 1), JK(Op.JA, 0, 0, -2));
  const jit = compile(loop, config);
  assert.throws(() => jit.run([], { budget: 10_000 }), (e: unknown) => e instanceof BudgetExceeded && e.budget === 10_000);
  // counted loop: exact instruction count, same as the interpreter's
  const counted = prog(MOV(0, 0), MOV(1, 1000), X(Op.ADD64_REG, 0, 1), K(Op.SUB64_IMM, 1, 1), JK(Op.JNE64_IMM, 1, 0, -3), EXIT());
  const r1 = compile(counted, config).run([]);
  const r2 = new Interpreter(counted, config).run([]);
  assert.equal(r1.r0, 500500n);
  assert.equal(r1.insns, r2.insns);
  // a budget of exactly the count passes, one less fails
  assert.equal(compile(counted, config).run([], { budget: r2.insns }).r0, 500500n);
  assert.throws(() => compile(counted, config).run([], { budget: r2.insns - 1 }), BudgetExceeded);
  // 0 = unlimited
  assert.equal(compile(counted, config).run([], { budget: 0 }).r0, 500500n);
});

test('helpers: arguments as int32 halves, r0 back, pc and run state; unknown ids are ProgramErrors', () => {
  const seen: unknown[] = [];
  const helpers = new HelperRegistry([
    {
      id: 1000,
      name: 'sum_and_peek',
      fn: (env) => {
        seen.push([env.pc, env.run]);
        setR0(env, argU32(env, 1) + argU32(env, 2) + env.mem.u8[argU32(env, 3)]!);
      },
    },
  ]);
  const config = setup(helpers);
  const input = config.mem.alloc(8, { name: 'input', init: Uint8Array.of(9) });
  const p = prog(MOV(1, 40), MOV(2, 2), CALL(1000), MOV(6, 0), X(Op.ADD64_REG, 0, 6), EXIT());
  const run = { tag: 'state' };
  assert.equal(compile(p, config).run([0, 0, input.start], { run }).r0, 51n);
  assert.deepEqual(seen, [[2, run]]);
  const [a, b] = both(prog(CALL(4242), EXIT()), config);
  assert.ok(b instanceof ProgramError);
  assert.equal(b.message, (a as Error).message);
});

test('intrinsics emit Wasm in place of the helper call', () => {
  const config = setup();
  const intrinsics = new Map([
    [
      77,
      (ctx: { w: { u8x2(a: number, b: number): void; u8(b: number): void }; reg(r: number): number }) => {
        // r0 = r1 * r2, without leaving Wasm
        ctx.w.u8x2(W.local_get, ctx.reg(1));
        ctx.w.u8x2(W.local_get, ctx.reg(2));
        ctx.w.u8(W.i64_mul);
        ctx.w.u8x2(W.local_set, ctx.reg(0));
      },
    ],
  ]);
  const p = prog(CALL(77), EXIT());
  assert.equal(compile(p, config, { intrinsics }).run([6, 7]).r0, 42n);
  // without the intrinsic it is an ordinary (here unknown) helper
  assert.throws(() => compile(p, config).run([6, 7]), ProgramError);
});

test('local calls: r6-r9 preserved, callee frame 512 bytes lower, depth limit as in the interpreter', () => {
  const config = setup();
  // main: r6 = 5; *(u64 *)(r10 - 8) = 11; call f; r0 += r6; r0 += *(r10 - 8); exit
  // f:    r6 = 100; *(u64 *)(r10 - 8) = 22; r0 = *(u64 *)(r10 - 8); exit
  const p = prog(
    MOV(6, 5),
    ST(Op.STDW, 10, -8, 11),
    CALL_LOCAL(4),
    X(Op.ADD64_REG, 0, 6),
    LD(Op.LDXDW, 1, 10, -8),
    X(Op.ADD64_REG, 0, 1),
    EXIT(),
    MOV(6, 100),
    ST(Op.STDW, 10, -8, 22),
    LD(Op.LDXDW, 0, 10, -8),
    EXIT(),
  );
  assert.equal(compile(p, config).run([]).r0, 22n + 5n + 11n);
  const stackEnd = config.stack.start + config.stack.size;
  assert.equal(config.mem.dv.getBigUint64(stackEnd - STACK_SIZE - 8, true), 22n);
  // unbounded recursion
  const rec = prog(K(Op.ADD64_IMM, 0, 1), CALL_LOCAL(-2), EXIT());
  const [a, b] = both(rec, config);
  assert.ok(b instanceof ProgramError && a instanceof ProgramError);
  assert.equal(b.message, a.message);
});

test('batch: one Wasm call runs every record; results equal single runs', () => {
  const config = setup();
  const data = config.mem.alloc(64, { name: 'data', init: Uint8Array.from({ length: 64 }, (_, i) => i * 7) });
  // r0 = r1 * 3 + r2 + data[r3 & 63]; loops r2 times to vary the work
  const p = prog(
    X(Op.MOV64_REG, 0, 1),
    K(Op.MUL64_IMM, 0, 3),
    X(Op.ADD64_REG, 0, 2),
    K(Op.AND64_IMM, 3, 63),
    X(Op.ADD64_REG, 3, 4),
    LD(Op.LDXB, 5, 3, 0),
    X(Op.ADD64_REG, 0, 5),
    EXIT(),
  );
  const inputs = Array.from({ length: 200 }, (_, i) => [i * 1000003, i % 17, i, data.start]);
  for (const verified of [false, true]) {
    const jit = compile(p, config, { verified });
    const batch = jit.runBatch(inputs);
    assert.deepEqual([...batch], inputs.map((args) => jit.run(args).r0), `verified ${verified}`);
  }
  const jit = compile(p, config);
  assert.throws(() => jit.runBatchAt(10, 0, data.start), UsageError);
  // a fault in record k is thrown, and the engine says which record it was
  const bad = inputs.map((a, i) => (i === 123 ? [a[0]!, a[1]!, a[2]!, 0] : a));
  assert.throws(() => jit.runBatch(bad), MemoryFault);
  assert.equal(jit.lastBatchIndex(), 123);
});

test('regsOut receives r0..r10 like the interpreter\'s', () => {
  const config = setup();
  const p = prog(MOV(0, 1), MOV(3, -3), MOV(7, 7), MOV(9, 0x7fffffff), EXIT());
  const a = new Int32Array(22);
  const b = new Int32Array(22);
  new Interpreter(p, config).run([11, 22], { regsOut: a });
  compile(p, config).run([11, 22], { regsOut: b });
  assert.deepEqual([...b], [...a]);
});

test('memory growth after compilation (non-shared memory) keeps helpers and results working', () => {
  const helpers = new HelperRegistry([{ id: 1, name: 'grow', fn: (env) => {
    env.mem.alloc(256 * 1024, { name: 'big' });
    setR0(env, 5);
  } }]);
  const config = setup(helpers, { maxBytes: 16 << 20, shared: false });
  const p = prog(CALL(1), K(Op.ADD64_IMM, 0, 1), EXIT());
  const jit = compile(p, config);
  const before = config.mem.wasm.buffer.byteLength;
  assert.equal(jit.run([]).r0, 6n);
  assert.ok(config.mem.wasm.buffer.byteLength > before);
  assert.equal(jit.run([]).r0, 6n);
});

test('atomics on a shared memory: four workers, no lost updates', async () => {
  const config = setup(new HelperRegistry(), { maxBytes: 16 << 20, shared: true });
  const mem = config.mem;
  assert.equal(mem.shared, true);
  const counter = mem.alloc(16, { name: 'counter' });
  // lock *(u64 *)(r1 + 0) += 1; r2 = 2; r2 = atomic_fetch_add((u64 *)(r1 + 8), r2); r0 = r2; exit
  const p = prog(MOV(2, 1), STX(Op.ATOMIC64_ADD, 1, 2, 0), MOV(2, 2), STX(Op.ATOMIC64_FETCH_ADD, 1, 2, 8), X(Op.MOV64_REG, 0, 2), EXIT());
  const jit = compile(p, config, { verified: true });
  const N = 20_000;
  const WORKERS = 4;
  const jobs = Array.from({ length: WORKERS }, () => {
    const args = mem.alloc(N * 40, { name: 'args' });
    const out = mem.alloc(N * 8, { name: 'out' });
    for (let k = 0; k < N; k++) mem.dv.setUint32(args.start + 40 * k, counter.start, true);
    return { args: args.start, out: out.start };
  });
  // The workers instantiate the same module bytes over the same memory; the
  // program only uses atomics, so the imports other than memory are never called.
  const src = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { bytes, memory, n, args, out } = workerData;
    const fail = () => { throw new Error('unexpected import call'); };
    const env = { mem: memory, helper: fail, slow: fail, fault: fail, budget: fail, err: fail, callx: fail, pkt: fail };
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env });
    inst.exports.batch(n, args, out);
    parentPort.postMessage('done');`;
  await Promise.all(
    jobs.map(
      (j) =>
        new Promise<void>((resolve, reject) => {
          const w = new Worker(src, { eval: true, workerData: { bytes: jit.bytes, memory: mem.wasm, n: N, ...j } });
          w.once('message', () => resolve());
          w.once('error', reject);
        }),
    ),
  );
  mem.refresh();
  assert.equal(mem.dv.getBigUint64(counter.start, true), BigInt(N * WORKERS));
  assert.equal(mem.dv.getBigUint64(counter.start + 8, true), BigInt(2 * N * WORKERS));
  // every fetch-add saw a distinct old value
  const olds = new Set<bigint>();
  for (const j of jobs) for (let k = 0; k < N; k++) olds.add(mem.dv.getBigUint64(j.out + 8 * k, true));
  assert.equal(olds.size, N * WORKERS);
});

test('the tail-call path: a helper ends the whole run with its r0, from any call depth', () => {
  const helpers = new HelperRegistry([
    {
      id: 12,
      name: 'tail_call',
      fn: (env) => {
        // stands in for running the target program: r0 = its result, then end this one
        setR0(env, 4242);
        (env as ExitableEnv).exitProgram();
      },
    },
  ]);
  const config = setup(helpers);
  // main: r0 = 1; call f; r0 = 7; exit.   f: call 12; r0 = 9; exit
  const p = prog(MOV(0, 1), CALL_LOCAL(2), MOV(0, 7), EXIT(), CALL(12), MOV(0, 9), EXIT());
  const jit = compile(p, config);
  assert.equal(jit.run([]).r0, 4242n);
  assert.deepEqual([...jit.runBatch([[], []])], [4242n, 4242n]);
  // without the request, the program continues
  const plain = prog(MOV(0, 1), CALL(13), MOV(0, 7), EXIT());
  helpers.register({ id: 13, name: 'plain', fn: (env) => setR0(env, 5) });
  assert.equal(compile(plain, config).run([]).r0, 7n);
});

test('compileAsync gives the same engine; every batch record gets the whole budget', async () => {
  const config = setup();
  // r0 = 0; r1 = 300; loop { r0 += r1; r1 -= 1 } while r1 != 0; exit  (~903 instructions)
  const p = prog(MOV(0, 0), MOV(1, 300), X(Op.ADD64_REG, 0, 1), K(Op.SUB64_IMM, 1, 1), JK(Op.JNE64_IMM, 1, 0, -3), EXIT());
  const jit = await compileAsync(p, config);
  assert.equal(jit.run([]).r0, 45150n);
  assert.deepEqual([...jit.runBatch([[], [], []], { budget: 1000 })], [45150n, 45150n, 45150n]);
  assert.throws(() => jit.runBatch([[], []], { budget: 500 }), BudgetExceeded);
  assert.match(jit.structureText(), /^func 0\n {2}code 0\n {2}loop L1\n/);
});

test('programs decoded without validation are checked before compiling', () => {
  const config = setup();
  const bytes = (slots: RawInsn[]): Uint8Array => encodeSlots(slots);
  const bad: Array<[string, RawInsn[], number]> = [
    ['unknown opcode', [...MOV(0, 1), { opcode: 0xff, dst: 0, src: 0, off: 0, imm: 0 }, ...EXIT()], 1],
    ['register r11', [{ ...MOV(0, 1)[0]!, dst: 11 }, ...EXIT()], 0],
    ['jump out of the program', [...JK(Op.JA, 0, 0, 5), ...EXIT()], 0],
  ];
  for (const [name, slots, insn] of bad) {
    const p = decodeProgram(bytes(slots), { validate: false });
    assert.throws(() => compile(p, config), (e: unknown) => e instanceof DecodeError && e.insn === insn, name);
  }
});

test('a region unmapped by a helper is not reachable through the partial-granule cache', () => {
  let victim: ReturnType<RuntimeMemory['alloc']> | undefined;
  let smaller: ReturnType<RuntimeMemory['alloc']> | undefined;
  // unmap the 13-byte region and map a 10-byte one in its place: the granule
  // at +8 is partial in both, so only the exact bounds tell +12 apart
  const helpers = new HelperRegistry([
    {
      id: 50,
      name: 'remap',
      fn: (env) => {
        env.mem.free(victim!);
        smaller = env.mem.alloc(10, { name: 'smaller' });
      },
    },
  ]);
  const config = setup(helpers);
  victim = config.mem.alloc(13, { name: 'victim' });
  // r6 = r1; r0 = *(u8 *)(r6 + 12) (partial granule: slow path, cached); call 50; r0 = *(u8 *)(r6 + 12)
  const p = prog(X(Op.MOV64_REG, 6, 1), LD(Op.LDXB, 0, 6, 12), CALL(50), LD(Op.LDXB, 0, 6, 12), EXIT());
  assert.throws(() => compile(p, config).run([victim.start]), (e: unknown) => e instanceof MemoryFault && e.pc === 3);
  assert.equal(smaller!.start, victim.start, 'the allocator reused the hole');
  // and across runs: the region is gone before the second run starts
  const again = config.mem.alloc(13, { name: 'again' });
  const q = prog(LD(Op.LDXB, 0, 1, 12), EXIT());
  const jit = compile(q, config);
  assert.equal(jit.run([again.start]).r0, 0n);
  config.mem.free(again);
  const shorter = config.mem.alloc(10, { name: 'shorter' });
  assert.equal(shorter.start, again.start);
  assert.throws(() => jit.run([again.start]), MemoryFault);
});

test('legacy packet loads: big-endian reads, and out of the packet the run ends with r0 = 0 as in the interpreter', () => {
  const config = setup();
  const pkt = config.mem.alloc(6, { name: 'packet', kind: 'packet', writable: false, init: Uint8Array.of(0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc) });
  const run = { packet: { start: pkt.start, len: 6 } };
  // r6 = 7; r0 = ldabsw[0]; r1 = r0; r0 = ldindh[r2 + 4]; r0 += r1; exit
  const p = prog(MOV(6, 7), K(Op.LD_ABS_W, 0, 0), X(Op.MOV64_REG, 1, 0), [{ ...K(Op.LD_IND_H, 0, 4)[0]!, src: 2 }], X(Op.ADD64_REG, 0, 1), EXIT());
  for (const r2 of [0, 1, 2]) {
    const a = new Int32Array(22);
    const b = new Int32Array(22);
    const want = new Interpreter(p, config).run([0, r2], { run, regsOut: a }).r0;
    assert.equal(compile(p, config).run([0, r2], { run, regsOut: b }).r0, want, `r2 = ${r2}`);
    assert.deepEqual([...b], [...a], `registers, r2 = ${r2}`);
  }
});

test('checked ranges flow into single-predecessor blocks only, never across a merge', () => {
  const config = setup();
  const input = config.mem.alloc(16, { name: 'input' });
  // 0: r7 = r1; 1: r7 += 8; 2: if r2 == 0 goto 5; 3: r7 = r1; 4: r0 = *(u8 *)(r7 + 15)
  // 5: r0 = *(u8 *)(r7 + 15)   <- reached from 2 with r7 = r1 + 8: out of bounds
  const p = prog(X(Op.MOV64_REG, 7, 1), K(Op.ADD64_IMM, 7, 8), JK(Op.JEQ64_IMM, 2, 0, 2), X(Op.MOV64_REG, 7, 1), LD(Op.LDXB, 0, 7, 15), LD(Op.LDXB, 0, 7, 15), EXIT());
  const jit = compile(p, config);
  assert.equal(jit.run([input.start, 1]).r0, 0n);
  assert.throws(() => jit.run([input.start, 0]), (e: unknown) => e instanceof MemoryFault && e.pc === 5);
  // and a fact learned before a branch holds in the block that only the branch leads to
  const q = prog(LD(Op.LDXW, 0, 1, 0), JK(Op.JEQ64_IMM, 2, 0, 1), LD(Op.LDXB, 0, 1, 3), EXIT());
  const text = printCode(compile(q, config).bytes, { from: Imp.count, to: Imp.count + 1 });
  // each inline check reads a shadow byte at SHADOW_BASE (offset=4096)
  assert.equal((text.match(/offset=4096/g) ?? []).length, 1, 'one check (the ldxw); the ldxb at +3 inherits its range');
});
