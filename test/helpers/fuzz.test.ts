// Helpers called with arbitrary arguments, as an unverified program may: each
// call returns or throws a TsbpfError, and nothing outside the memory a
// program may write changes (read-only regions, map descriptors, the shadow
// map, the region list).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RuntimeMemory, SHADOW_BASE } from '../../src/vm/memory.js';
import { MapTable } from '../../src/maps/table.js';
import { HelperContext, STANDARD_HELPERS } from '../../src/helpers/index.js';
import { TsbpfError } from '../../src/internal/errors.js';
import type { HelperEnv } from '../../src/helpers/registry.js';
import { PerfEventArrayMap } from '../../src/maps/perf-event-array.js';
import { ProgArrayMap } from '../../src/maps/prog-array.js';
import { HashMap } from '../../src/maps/hash.js';

test('fuzz: helpers with arbitrary arguments never escape their regions or throw untyped errors', () => {
  const mem = new RuntimeMemory({ maxBytes: 8 * 1024 * 1024, shared: false });
  const maps = new MapTable(mem, { cpus: 2 });
  const specs = [
    { name: 'a', type: 'array', keySize: 4, valueSize: 8, maxEntries: 4 },
    { name: 'pa', type: 'percpu_array', keySize: 4, valueSize: 8, maxEntries: 4 },
    { name: 'h', type: 'hash', keySize: 4, valueSize: 8, maxEntries: 4 },
    { name: 'lru', type: 'lru_percpu_hash', keySize: 8, valueSize: 4, maxEntries: 4 },
    { name: 'q', type: 'queue', keySize: 0, valueSize: 8, maxEntries: 4 },
    { name: 's', type: 'stack', keySize: 0, valueSize: 8, maxEntries: 4 },
    { name: 'b', type: 'bloom_filter', keySize: 0, valueSize: 4, maxEntries: 4 },
    { name: 'lpm', type: 'lpm_trie', keySize: 8, valueSize: 4, maxEntries: 4, flags: 1 },
    { name: 'rb', type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 4096 },
    { name: 'pe', type: 'perf_event_array', keySize: 4, valueSize: 4, maxEntries: 2 },
    { name: 'pa2', type: 'prog_array', keySize: 4, valueSize: 4, maxEntries: 2 },
    { name: 'ro', type: 'array', keySize: 4, valueSize: 16, maxEntries: 1, initial: new Uint8Array(16).fill(7), frozen: true },
  ];
  const made = specs.map((s) => maps.create(s));
  (made[9] as PerfEventArrayMap).open(0, 256);
  (made[10] as ProgArrayMap).set(0, {});
  const ctx = new HelperContext({ maps, seed: 3, clock: () => 1n });
  let budget = 0;
  ctx.invoke = () => (++budget % 3 === 0 ? 1 : 0);
  const buf = mem.alloc(256, { name: 'buf', kind: 'stack' });
  const canary = mem.alloc(64, { name: 'canary', init: new Uint8Array(64).fill(0xcc), writable: false });
  const fmt = mem.alloc(32, { name: 'fmt', init: new TextEncoder().encode('%d %s %llx %pI4\0'), writable: false });
  const points = [0, 1, 8, 4095, 4096, buf.start, buf.start + 128, buf.start + 250, buf.start + 256, canary.start, fmt.start, 0xfffffff8, ...made.map((m) => m.desc), ...made.map((m) => m.desc + 8)];
  const frozenData = [...mem.u8.subarray(canary.start, canary.start + 64)];
  const snapshot = (): string => {
    const u8 = mem.u8;
    const parts: number[] = [];
    // the immutable fields; COUNT, FREE and the LRU/queue positions (56..72) change with the contents
    for (const m of made) for (let i = 0; i < 80; i++) if (i < 56 || i >= 72) parts.push(u8[m.desc + i]!);
    return parts.join(',');
  };
  const descBefore = snapshot();
  const shadowBefore = mem.u8.slice(SHADOW_BASE, mem.heapBase);
  const regionsBefore = mem.list().length;
  let s = 99;
  const rnd = (n: number): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 4) % n;
  const arg = (): number => {
    switch (rnd(5)) {
      case 0:
        return points[rnd(points.length)]!;
      case 1:
        return points[rnd(points.length)]! + rnd(64) - 8;
      case 2:
        return rnd(16);
      case 3:
        return rnd(2) ? 0xffffffff : 0x80000000;
      default:
        return (rnd(0x10000) << 16) | rnd(0x10000);
    }
  };
  const regs = new Int32Array(12);
  const env: HelperEnv = { mem, regs, pc: 0, run: ctx };
  let calls = 0;
  let forEach = 0;
  let typed = 0;
  for (let n = 0; n < 20000; n++) {
    const def = STANDARD_HELPERS[rnd(STANDARD_HELPERS.length)]!;
    for (let i = 1; i <= 5; i++) {
      regs[2 * i] = arg() | 0;
      regs[2 * i + 1] = rnd(8) === 0 ? arg() | 0 : 0;
    }
    // keep loop counts small: the work per call, not the count, is under test
    if (def.name === 'loop') regs[2] = rnd(100);
    // make the well-formed case common for the callback helpers
    if (def.name === 'for_each_map_elem' && rnd(2) === 0) {
      regs[2] = made[rnd(made.length)]!.desc;
      regs[8] = 0;
      regs[9] = 0;
      forEach++;
    }
    ctx.beginRun();
    try {
      def.fn(env);
      calls++;
    } catch (e) {
      assert.ok(e instanceof TsbpfError, `${def.name} threw ${String(e)}`);
      typed++;
    }
  }
  assert.ok(calls > 15000, `${calls} calls returned`);
  assert.ok(typed > 0, 'some bad pointers reached the typed-error paths');
  assert.ok(forEach > 100);
  assert.deepEqual([...mem.u8.subarray(canary.start, canary.start + 64)], frozenData);
  assert.equal(snapshot(), descBefore, 'descriptors\' fixed fields unchanged');
  assert.deepEqual(mem.u8.slice(SHADOW_BASE, mem.heapBase), shadowBefore, 'shadow map unchanged');
  assert.equal(mem.list().length, regionsBefore);
  // the maps are still consistent: iteration agrees with the element counts
  for (const m of made)
    if (m instanceof HashMap) {
      assert.equal([...m.keys()].length, m.size, m.name);
      assert.ok(m.size <= m.maxEntries);
      assert.equal(mem.dv.getUint32(m.desc + 56, true), m.size);
    }
  assert.deepEqual([...made[11]!.lookup(new Uint8Array(4))!], new Array(16).fill(7), 'frozen global data unchanged');
});
