import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newTable, u32, readU32, errnoOf } from './util.js';
import { ArrayMap } from '../../src/maps/array.js';
import { BPF_EXIST, BPF_NOEXIST, BPF_F_NO_PREALLOC } from '../../src/maps/spec.js';
import { Desc } from '../../src/maps/descriptor.js';
import { E2BIG, EEXIST, EINVAL, EPERM } from '../../src/maps/errno.js';

test('array: create checks follow the kernel (key_size 4, value_size and max_entries non-zero, flags)', () => {
  const t = newTable();
  assert.equal(errnoOf(() => t.create({ name: 'a', type: 'array', keySize: 8, valueSize: 4, maxEntries: 1 })), EINVAL);
  assert.equal(errnoOf(() => t.create({ name: 'a', type: 'array', keySize: 4, valueSize: 0, maxEntries: 1 })), EINVAL);
  assert.equal(errnoOf(() => t.create({ name: 'a', type: 'array', keySize: 4, valueSize: 4, maxEntries: 0 })), EINVAL);
  assert.equal(errnoOf(() => t.create({ name: 'a', type: 'array', keySize: 4, valueSize: 4, maxEntries: 1, flags: BPF_F_NO_PREALLOC })), EINVAL);
  assert.equal(errnoOf(() => t.create({ name: 'a', type: 'no_such_type', keySize: 4, valueSize: 4, maxEntries: 1 })), EINVAL);
  assert.equal(errnoOf(() => t.create({ name: 'a', type: 'user_ringbuf', keySize: 0, valueSize: 0, maxEntries: 4096 })), 95);
});

test('array: elements exist zeroed; update flags, bounds and delete as the kernel', () => {
  const t = newTable();
  const m = t.create({ name: 'arr', type: 2, keySize: 4, valueSize: 4, maxEntries: 3 });
  assert.deepEqual(m.lookup(u32(0)), u32(0));
  assert.equal(m.lookup(u32(3)), undefined);
  m.update(u32(1), u32(42));
  assert.equal(readU32(m.lookup(u32(1))), 42);
  m.update(u32(1), u32(43), BPF_EXIST);
  assert.equal(readU32(m.lookup(u32(1))), 43);
  assert.equal(errnoOf(() => m.update(u32(1), u32(1), BPF_NOEXIST)), EEXIST);
  assert.equal(errnoOf(() => m.update(u32(3), u32(1))), E2BIG);
  assert.equal(errnoOf(() => m.update(u32(0), u32(1), 8)), EINVAL);
  assert.equal(errnoOf(() => m.delete(u32(0))), EINVAL);
  assert.equal(errnoOf(() => m.update(u32(0), new Uint8Array(3))), EINVAL);
  assert.deepEqual([...m.keys()].map((k) => readU32(k)), [0, 1, 2]);
  assert.equal(readU32(m.nextKey(u32(7))), 0, 'an out-of-range key restarts at 0');
  assert.equal(m.nextKey(u32(2)), undefined);
});

test('array: values are contiguous at DATA + i * round_up(value_size, 8), as the descriptor says', () => {
  const t = newTable();
  const m = t.create({ name: 'arr', type: 'array', keySize: 4, valueSize: 5, maxEntries: 4 }) as ArrayMap;
  m.update(u32(2), new Uint8Array([1, 2, 3, 4, 5]));
  const dv = t.mem.dv;
  const data = dv.getUint32(m.desc + Desc.DATA, true);
  assert.equal(dv.getUint32(m.desc + Desc.ELEM_STRIDE, true), 8);
  assert.deepEqual([...t.mem.u8.subarray(data + 16, data + 21)], [1, 2, 3, 4, 5]);
  assert.equal(m.lookupAt(stage(t, 2), 0), data + 16);
  assert.equal(t.byDesc(m.desc), m);
  assert.equal(t.byDesc(m.desc + 8), undefined);
  assert.equal(t.byDesc(data), undefined);
});

function stage(t: ReturnType<typeof newTable>, v: number): number {
  const r = t.mem.alloc(8, { name: 'k' });
  t.mem.dv.setUint32(r.start, v, true);
  return r.start;
}

test('percpu_array: programs see their CPU copy; user space sees all, 8-byte padded', () => {
  const t = newTable(3);
  const m = t.create({ name: 'pc', type: 'percpu_array', keySize: 4, valueSize: 4, maxEntries: 2 });
  assert.equal(m.userValueSize, 24);
  const k = stage(t, 1);
  const v = t.mem.alloc(8, { name: 'v' }).start;
  t.mem.dv.setUint32(v, 7, true);
  assert.equal(m.updateAt(k, v, 0, 2), 0);
  const all = m.lookup(u32(1))!;
  assert.deepEqual([readU32(all, 0), readU32(all, 8), readU32(all, 16)], [0, 0, 7]);
  const p2 = m.lookupAt(k, 2);
  assert.equal(t.mem.dv.getUint32(p2, true), 7);
  assert.equal(t.mem.dv.getUint32(m.lookupAt(k, 0), true), 0);
  m.update(u32(0), new Uint8Array(24).fill(1));
  assert.equal(t.mem.dv.getUint32(m.lookupAt(stage(t, 0), 1), true), 0x01010101);
});

test('global data: initial contents, frozen maps refuse user writes and program writes fault', () => {
  const t = newTable();
  const ro = t.create({ name: '.rodata', type: 'array', keySize: 4, valueSize: 6, maxEntries: 1, initial: new Uint8Array([104, 105]), frozen: true }) as ArrayMap;
  assert.deepEqual(ro.lookup(u32(0)), new Uint8Array([104, 105, 0, 0, 0, 0]));
  assert.equal(errnoOf(() => ro.update(u32(0), new Uint8Array(6))), EPERM);
  assert.equal(t.mem.check(ro.data, 1, true), false);
  assert.equal(t.mem.check(ro.data, 1, false), true);
  const bss = t.create({ name: '.bss', type: 'array', keySize: 4, valueSize: 8, maxEntries: 1 }) as ArrayMap;
  assert.equal(t.mem.check(bss.data, 8, true), true);
  assert.equal(t.mem.list().find((r) => r.start === bss.data)?.kind, 'global');
  assert.equal(errnoOf(() => t.create({ name: '.data', type: 'array', keySize: 4, valueSize: 2, maxEntries: 1, initial: new Uint8Array(3) })), EINVAL);
});
