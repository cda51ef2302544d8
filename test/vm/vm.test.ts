// The VM facade and the interpreter's edges: hook, register output, entry
// arguments, fault messages, helpers that grow memory, the engine registry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../src/asm/assemble.js';
import { createVm } from '../../src/vm/vm.js';
import { engineNames, hasEngine, registerEngine } from '../../src/vm/engines.js';
import { Interpreter } from '../../src/vm/interpreter.js';
import { HelperRegistry, argU32, setR0 } from '../../src/helpers/registry.js';
import { conformanceHelpers } from '../../src/helpers/test-helpers.js';
import { BudgetExceeded, MemoryFault, UsageError, DecodeError } from '../../src/internal/errors.js';
import { REG_FILE_LENGTH } from '../../src/vm/types.js';
import { decodeProgram, encodeSlots } from '../../src/isa/decode.js';
import { MOV, EXIT } from './cases.js';

const asm = (text: string): Uint8Array => assemble(text, { dialect: 'conformance' });

test('the hook sees every instruction and can stop the run', () => {
  const vm = createVm();
  const prog = vm.load(asm('mov %r0, 1\nadd %r0, 2\nadd %r0, 3\nexit'));
  const seen: number[] = [];
  const r = vm.run(prog, { hook: (pc) => void seen.push(pc) });
  assert.deepEqual(seen, [0, 1, 2, 3]);
  assert.equal(r.r0, 6n);
  assert.equal(r.insns, 4);
  const stopped = vm.run(prog, { hook: (pc, _p, regs) => pc === 2 && regs[0] === 3 });
  assert.equal(stopped.r0, 3n);
  assert.equal(stopped.insns, 2);
});

test('regsOut receives the final registers', () => {
  const vm = createVm();
  const out = new Int32Array(REG_FILE_LENGTH);
  vm.run(asm('lddw %r6, 0x1122334455667788\nmov %r0, -1\nexit'), { regsOut: out });
  assert.equal(out[12] >>> 0, 0x55667788);
  assert.equal(out[13], 0x11223344);
  assert.equal(out[0], -1);
  assert.equal(out[20], vm.stack.start + vm.stack.size);
});

test('entry arguments: numbers as u32, bigints as 64-bit', () => {
  const vm = createVm();
  const prog = vm.load(asm('mov %r0, %r1\nadd %r0, %r5\nexit'));
  assert.equal(vm.run(prog, { args: [7, 0, 0, 0, 8] }).r0, 15n);
  assert.equal(vm.run(prog, { args: [0xffffffff, 0, 0, 0, 1] }).r0, 0x100000000n);
  assert.equal(vm.run(prog, { args: [-1n, 0, 0, 0, 0] }).r0, 0xffffffffffffffffn);
  assert.throws(() => vm.run(prog, { args: [1.5] }), UsageError);
  // with mem, args become r3..r5
  const p2 = vm.load(asm('mov %r0, %r3\nadd %r0, %r2\nexit'));
  assert.equal(vm.run(p2, { mem: new Uint8Array(4), args: [10] }).r0, 14n);
});

test('a memory fault names the pc, the address and the nearest region', () => {
  const vm = createVm();
  const prog = vm.load(asm('mov %r0, 0\nldxw %r0, [%r1+6]\nexit'));
  assert.throws(
    () => vm.run(prog, { mem: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) }),
    (e: unknown) => {
      assert.ok(e instanceof MemoryFault);
      assert.equal(e.pc, 1);
      assert.equal(e.size, 4);
      assert.equal(e.write, false);
      assert.match(e.message, /^pc 1: invalid read of 4 bytes at 0x[0-9a-f]+: .*'input'/);
      return true;
    },
  );
  // the input region is freed even when the run faults
  assert.deepEqual(vm.mem.list().map((r) => r.name), ['stack']);
  assert.throws(() => vm.run(asm('mov %r1, 0\nstb [%r1+16], 1\nexit')), /pc 1: invalid write of 1 byte at 0x10: address in the unmapped first page/);
});

test('writes to a read-only region fault', () => {
  const vm = createVm();
  const ro = vm.mem.alloc(16, { name: 'rodata', kind: 'global', writable: false, init: Uint8Array.of(42) });
  const prog = vm.load(asm('ldxb %r0, [%r1]\nstb [%r1], 1\nexit'));
  assert.throws(() => vm.run(prog, { args: [ro.start] }), /pc 1: invalid write .*read-only/);
  const lock = vm.load(asm('mov %r2, 1\nlock add32 [%r1], %r2\nmov %r0, 0\nexit'));
  assert.throws(() => vm.run(lock, { args: [ro.start] }), MemoryFault);
  assert.equal(vm.run(vm.load(asm('ldxb %r0, [%r1]\nexit')), { args: [ro.start] }).r0, 42n);
});

test('helpers that grow the memory: the interpreter re-reads its views', () => {
  const helpers = new HelperRegistry([
    {
      id: 100,
      name: 'alloc_big',
      // maps a region larger than the current memory, so the buffer is replaced
      fn: (env) => {
        const r = env.mem.alloc(4 * 65536, { name: 'big', init: Uint8Array.of(0, 0, 0, 0, 0x99) });
        setR0(env, r.start);
      },
    },
    { id: 101, name: 'arg', fn: (env) => setR0(env, argU32(env, 1) * 2) },
  ]);
  const vm = createVm({ helpers, memOptions: { maxBytes: 8 * 1024 * 1024 } });
  const before = vm.mem.wasm.buffer.byteLength;
  const r = vm.run(asm('call 100\nstb [%r0+5], 7\nldxh %r0, [%r0+4]\nexit'));
  assert.ok(vm.mem.wasm.buffer.byteLength > before, 'memory grew');
  assert.equal(r.r0, 0x0799n);
  assert.equal(vm.run(asm('mov %r1, 21\ncall 101\nexit')).r0, 42n);
});

test('budget', () => {
  const vm = createVm();
  const prog = vm.load(asm('mov %r0, 0\nloop:\nadd %r0, 1\nja loop\nexit'));
  assert.throws(() => vm.run(prog, { budget: 100 }), (e: unknown) => e instanceof BudgetExceeded && e.budget === 100 && /instruction budget of 100/.test(e.message));
  const ok = vm.load(asm('mov %r0, 0\nmov %r1, 50\nloop:\nadd %r0, 1\nsub %r1, 1\njne %r1, 0, loop\nexit'));
  assert.equal(vm.run(ok, { budget: 153 }).insns, 153);
  assert.throws(() => vm.run(ok, { budget: 152 }), BudgetExceeded);
  assert.equal(vm.run(ok, { budget: 0 }).r0, 50n, '0 means unlimited');
  assert.throws(() => vm.run(ok, { budget: -1 }), UsageError);
  assert.throws(() => vm.run(ok, { budget: NaN }), UsageError);
});

test('engine registry', () => {
  assert.ok(hasEngine('interp'));
  assert.ok(engineNames().includes('interp'));
  assert.throws(() => registerEngine('interp', () => { throw new Error('unused'); }), UsageError);
  const vm = createVm({ helpers: conformanceHelpers() });
  const prog = vm.load(asm('mov %r0, 1\nexit'));
  assert.throws(() => vm.run(prog, { engine: 'no-such-engine' }), /engine 'no-such-engine' is not available \(have: interp/);
  assert.equal(vm.engine(prog), vm.engine(prog), 'engines are cached per program');
  registerEngine('test-double', (p, config) => {
    const inner = new Interpreter(p, config);
    return { run: (args, opts) => ({ ...inner.run(args, opts), r0: 99n }) };
  });
  assert.equal(vm.run(prog, { engine: 'test-double' }).r0, 99n);
});

test('the interpreter validates programs decoded without validation', () => {
  const vm = createVm();
  // mov r11, 1 is structurally invalid
  const bad = decodeProgram(encodeSlots([{ ...MOV(0, 1)[0]!, dst: 11 }, ...EXIT()]), { validate: false });
  assert.throws(() => vm.engine(bad), DecodeError);
});
