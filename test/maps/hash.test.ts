import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newTable, u32, readU32, errnoOf } from './util.js';
import { HashMap } from '../../src/maps/hash.js';
import { hash32 } from '../../src/maps/hash-layout.js';
import { Desc } from '../../src/maps/descriptor.js';
import { BPF_EXIST, BPF_NOEXIST, BPF_F_ZERO_SEED } from '../../src/maps/spec.js';
import { E2BIG, EEXIST, EINVAL, ENOENT } from '../../src/maps/errno.js';

test('hash: create checks (sizes, E2BIG for huge elements, NO_COMMON_LRU only for LRU)', () => {
  const t = newTable();
  assert.equal(errnoOf(() => t.create({ name: 'h', type: 'hash', keySize: 0, valueSize: 4, maxEntries: 1 })), EINVAL);
  assert.equal(errnoOf(() => t.create({ name: 'h', type: 'hash', keySize: 4, valueSize: 1 << 22, maxEntries: 1 })), E2BIG);
  assert.equal(t.create({ name: 'h', type: 'hash', keySize: 600, valueSize: 4, maxEntries: 1 }).keySize, 600, 'the kernel allows keys larger than the stack');
  assert.equal(errnoOf(() => t.create({ name: 'h', type: 'hash', keySize: 4, valueSize: 4, maxEntries: 1, flags: 2 })), EINVAL);
});

test('hash: flags BPF_ANY/NOEXIST/EXIST, ENOENT, E2BIG when full, delete frees a slot', () => {
  const t = newTable();
  const m = t.create({ name: 'h', type: 'hash', keySize: 4, valueSize: 8, maxEntries: 2 });
  const v = (x: number): Uint8Array => u32(x, x + 1);
  assert.equal(m.lookup(u32(1)), undefined);
  assert.equal(errnoOf(() => m.update(u32(1), v(1), BPF_EXIST)), ENOENT);
  m.update(u32(1), v(1), BPF_NOEXIST);
  assert.equal(errnoOf(() => m.update(u32(1), v(2), BPF_NOEXIST)), EEXIST);
  m.update(u32(1), v(3), BPF_EXIST);
  assert.deepEqual(m.lookup(u32(1)), v(3));
  m.update(u32(2), v(2));
  assert.equal(errnoOf(() => m.update(u32(3), v(3))), E2BIG);
  m.update(u32(2), v(9)); // replacing an existing key in a full map works
  assert.equal(errnoOf(() => m.update(u32(3), v(3), 4 | 8)), EINVAL);
  assert.equal(errnoOf(() => m.delete(u32(3))), ENOENT);
  m.delete(u32(1));
  assert.equal(m.lookup(u32(1)), undefined);
  m.update(u32(3), v(3));
  assert.deepEqual(new Set([...m.keys()].map((k) => readU32(k))), new Set([2, 3]));
  assert.equal((m as HashMap).size, 2);
  assert.equal(t.mem.dv.getUint32(m.desc + Desc.COUNT, true), 2);
});

test('hash: many keys with collisions, iteration visits each once, get_next_key of a missing key restarts', () => {
  const t = newTable();
  const n = 1000;
  const m = t.create({ name: 'big', type: 'hash', keySize: 12, valueSize: 4, maxEntries: n });
  const key = (i: number): Uint8Array => u32(i, i * 7, 99);
  for (let i = 0; i < n; i++) m.update(key(i), u32(i));
  for (let i = 0; i < n; i++) assert.equal(readU32(m.lookup(key(i))), i);
  const seen = new Set<number>();
  for (const [k, val] of m.entries()) {
    assert.equal(readU32(k), readU32(val));
    seen.add(readU32(val)!);
  }
  assert.equal(seen.size, n);
  for (let i = 0; i < n; i += 2) m.delete(key(i));
  assert.equal([...m.keys()].length, n / 2);
  assert.ok(m.nextKey(key(0)) !== undefined);
  assert.deepEqual(m.nextKey(key(0)), m.nextKey());
});

test('hash: the documented layout: hash32 and the bucket walk find the value', () => {
  const t = newTable();
  const m = t.create({ name: 'h', type: 'hash', keySize: 6, valueSize: 4, maxEntries: 8, flags: BPF_F_ZERO_SEED }) as HashMap;
  const key = new Uint8Array([1, 2, 3, 4, 5, 6]);
  m.update(key, u32(0xabcdef));
  const dv = t.mem.dv;
  const u8 = t.mem.u8;
  const k = t.mem.alloc(8, { name: 'k', init: key }).start;
  assert.equal(dv.getUint32(m.desc + Desc.SEED, true), 0);
  const h = hash32(u8, k, 6, 0) >>> 0;
  let e = dv.getUint32(dv.getUint32(m.desc + Desc.DATA, true) + (h & dv.getUint32(m.desc + Desc.MASK, true)) * 4, true);
  while (e !== 0 && dv.getUint32(e + 4, true) !== h) e = dv.getUint32(e, true);
  assert.notEqual(e, 0);
  const value = e + 24 + dv.getUint32(m.desc + Desc.KEY_STRIDE, true);
  assert.equal(value, m.lookupAt(k, 0));
  assert.equal(dv.getUint32(value, true), 0xabcdef);
});

test('hash32: MurmurHash3 x86_32 reference vectors', () => {
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
  const h = (b: Uint8Array, seed: number): number => hash32(b, 0, b.length, seed) >>> 0;
  assert.equal(h(new Uint8Array(0), 0), 0);
  assert.equal(h(new Uint8Array(0), 1), 0x514e28b7);
  assert.equal(h(enc('hello'), 0), 0x248bfa47);
  assert.equal(h(enc('The quick brown fox jumps over the lazy dog'), 0), 0x2e4ff723);
});

test('lru_hash: a full map evicts the least recently used (unreferenced) element', () => {
  const t = newTable();
  const m = t.create({ name: 'lru', type: 'lru_hash', keySize: 4, valueSize: 4, maxEntries: 3 });
  const k = t.mem.alloc(8, { name: 'k' }).start;
  for (let i = 1; i <= 3; i++) m.update(u32(i), u32(i * 10));
  // a program looks up 1: it becomes referenced
  t.mem.dv.setUint32(k, 1, true);
  assert.notEqual(m.lookupAt(k, 0), 0);
  m.update(u32(4), u32(40)); // evicts 2, the oldest unreferenced
  assert.equal(m.lookup(u32(2)), undefined);
  assert.equal(readU32(m.lookup(u32(1))), 10);
  m.update(u32(5), u32(50)); // 3 is now the oldest unreferenced
  assert.equal(m.lookup(u32(3)), undefined);
  assert.deepEqual(new Set([...m.keys()].map((x) => readU32(x))), new Set([1, 4, 5]));
  assert.equal(errnoOf(() => t.create({ name: 'l', type: 'lru_hash', keySize: 4, valueSize: 4, maxEntries: 3, flags: 1 })), 95);
});

test('percpu_hash and lru_percpu_hash: per-CPU copies; a new element from a program zeroes other CPUs', () => {
  const t = newTable(2);
  for (const type of ['percpu_hash', 'lru_percpu_hash']) {
    const m = t.create({ name: type, type, keySize: 4, valueSize: 4, maxEntries: 4 });
    m.update(u32(1), u32(5, 0, 6, 0));
    const all = m.lookup(u32(1))!;
    assert.deepEqual([readU32(all, 0), readU32(all, 8)], [5, 6]);
    const k = t.mem.alloc(8, { name: 'k' }).start;
    const v = t.mem.alloc(8, { name: 'v' }).start;
    t.mem.dv.setUint32(k, 2, true);
    t.mem.dv.setUint32(v, 9, true);
    assert.equal(m.updateAt(k, v, 0, 1), 0);
    const two = m.lookup(u32(2))!;
    assert.deepEqual([readU32(two, 0), readU32(two, 8)], [0, 9]);
    assert.equal(t.mem.dv.getUint32(m.lookupAt(k, 1), true), 9);
  }
});

test('hash: a map too large for the runtime memory is ENOMEM and leaves nothing allocated', () => {
  const t = newTable();
  const regions = t.mem.list().length;
  assert.equal(errnoOf(() => t.create({ name: 'huge', type: 'hash', keySize: 64, valueSize: 1024, maxEntries: 1 << 20 })), 12);
  assert.equal(t.mem.list().length, regions);
  assert.ok(t.create({ name: 'ok', type: 'hash', keySize: 4, valueSize: 4, maxEntries: 16 }));
});

test('batch operations: paged lookup covers every key once; update/delete batches stop at the first error', () => {
  const t = newTable();
  const m = t.create({ name: 'b', type: 'hash', keySize: 4, valueSize: 4, maxEntries: 10 });
  const keys = Array.from({ length: 10 }, (_, i) => u32(i));
  m.updateBatch(keys.slice(0, 7), keys.slice(0, 7));
  const seen: number[] = [];
  let cursor: Uint8Array | undefined;
  let pages = 0;
  do {
    const r = m.lookupBatch(3, cursor);
    r.keys.forEach((k, i) => {
      assert.deepEqual(r.values[i], k);
      seen.push(readU32(k)!);
    });
    cursor = r.cursor;
    pages++;
  } while (cursor !== undefined);
  assert.deepEqual(seen.sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6]);
  assert.equal(pages, 3);
  const e = (() => {
    try {
      m.updateBatch([u32(7), u32(1)], [u32(7), u32(1)], 1);
    } catch (err) {
      return err as Error & { errno: number };
    }
  })();
  assert.equal(e?.errno, EEXIST);
  assert.match(e!.message, /batch element 1 \(1 done\)/);
  assert.equal(readU32(m.lookup(u32(7))), 7, 'the element before the failure was applied');
  m.deleteBatch([u32(0), u32(1)]);
  assert.equal(errnoOf(() => m.deleteBatch([u32(2), u32(0)])), ENOENT);
  const drained = m.lookupAndDeleteBatch(100);
  assert.equal(drained.keys.length, 5);
  assert.equal([...m.keys()].length, 0);
});
