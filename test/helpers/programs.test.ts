// Programs calling the helpers through the engines: map pointers are the
// descriptor addresses (what the runtime's lddw rewrite will produce), values
// are updated in place with atomics, and user space sees the results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../src/asm/index.js';
import { createVm } from '../../src/vm/index.js';
import { hasEngine } from '../../src/vm/engines.js';
import { RuntimeMemory } from '../../src/vm/memory.js';
import { MapTable } from '../../src/maps/table.js';
import { RingBufMap } from '../../src/maps/ringbuf.js';
import { HelperContext, standardHelpers } from '../../src/helpers/index.js';

const ENGINES = ['interp', ...(hasEngine('jit') ? ['jit'] : [])];

function world() {
  const mem = new RuntimeMemory({ maxBytes: 16 * 1024 * 1024 });
  const maps = new MapTable(mem);
  const vm = createVm({ mem, helpers: standardHelpers() });
  const ctx = new HelperContext({ maps, seed: 1 });
  return { mem, maps, vm, ctx };
}

const hex = (n: number): string => '0x' + n.toString(16);

for (const engine of ENGINES) {
  test(`${engine}: array counter with lookup + atomic add`, () => {
    const { maps, vm, ctx } = world();
    const m = maps.create({ name: 'counts', type: 'array', keySize: 4, valueSize: 8, maxEntries: 4 });
    const prog = assemble(`
      *(u32 *)(r10 - 4) = r1
      r2 = r10
      r2 += -4
      r1 = ${hex(m.desc)} ll
      call 1
      if r0 == 0 goto miss
      r1 = 1
      lock *(u64 *)(r0 + 0) += r1
      r0 = 0
      exit
    miss:
      r0 = 1
      exit`);
    for (let i = 0; i < 10; i++) assert.equal(vm.run(prog, { args: [i % 3], run: ctx, engine }).r0, 0n);
    assert.equal(vm.run(prog, { args: [9], run: ctx, engine }).r0, 1n, 'index out of range: NULL');
    const counts = [0, 1, 2, 3].map((i) => new DataView(m.lookup(Uint8Array.of(i, 0, 0, 0))!.buffer).getBigUint64(0, true));
    assert.deepEqual(counts, [4n, 3n, 3n, 0n]);
  });

  test(`${engine}: hash map insert-or-increment from a program`, () => {
    const { maps, vm, ctx } = world();
    const m = maps.create({ name: 'h', type: 'hash', keySize: 4, valueSize: 8, maxEntries: 16 });
    const prog = assemble(`
      *(u32 *)(r10 - 4) = r1
      r6 = r10
      r6 += -4
      r2 = r6
      r1 = ${hex(m.desc)} ll
      call 1
      if r0 == 0 goto insert
      r1 = 1
      lock *(u64 *)(r0 + 0) += r1
      r0 = 0
      exit
    insert:
      r1 = 1
      *(u64 *)(r10 - 16) = r1
      r3 = r10
      r3 += -16
      r2 = r6
      r1 = ${hex(m.desc)} ll
      r4 = 1
      call 2
      exit`);
    for (const k of [5, 7, 5, 5, 9, 7]) assert.equal(vm.run(prog, { args: [k], run: ctx, engine }).r0, 0n);
    const got = new Map([...m.entries()].map(([k, v]) => [new DataView(k.buffer).getUint32(0, true), new DataView(v.buffer).getBigUint64(0, true)]));
    assert.deepEqual(got, new Map([[5, 3n], [7, 2n], [9, 1n]]));
  });

  test(`${engine}: ring buffer records and trace_printk from a program`, () => {
    const { maps, vm, ctx } = world();
    const rb = maps.create({ name: 'rb', type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 4096 }) as RingBufMap;
    const prog = assemble(`
      r6 = r1
      r1 = ${hex(rb.desc)} ll
      r2 = 8
      r3 = 0
      call 131
      if r0 == 0 goto out
      *(u64 *)(r0 + 0) = r6
      r1 = r0
      r2 = 0
      call 132
      r1 = 0x000a6425
      *(u32 *)(r10 - 8) = r1
      r1 = r10
      r1 += -8
      r2 = 4
      r3 = r6
      call 6
    out:
      r0 = 0
      exit`);
    vm.run(prog, { args: [41], run: ctx, engine });
    vm.run(prog, { args: [42], run: ctx, engine });
    const got: bigint[] = [];
    rb.poll((s) => got.push(new DataView(s.buffer).getBigUint64(0, true)));
    assert.deepEqual(got, [41n, 42n]);
    assert.deepEqual(ctx.tracePipe.readEntries().map((e) => e.message), ['41\n', '42\n']);
  });
}
