// RuntimeMemory: regions, the shadow map, holes, fault descriptions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RuntimeMemory, NULL_GUARD, type Region } from '../../src/vm/memory.js';
import { MemoryFault, UsageError } from '../../src/internal/errors.js';

test('check() allows exactly the bytes of a region, with its permission', () => {
  const mem = new RuntimeMemory({ maxBytes: 1 << 20 });
  const a = mem.alloc(13, { name: 'a' });
  const ro = mem.alloc(16, { name: 'ro', writable: false });
  for (let size = 1; size <= 8; size++) {
    for (let off = -9; off < 13 + 9; off++) {
      const inside = off >= 0 && off + size <= 13;
      assert.equal(mem.check(a.start + off, size, false), inside, `read ${size} at +${off}`);
      assert.equal(mem.check(a.start + off, size, true), inside, `write ${size} at +${off}`);
    }
  }
  assert.equal(mem.check(ro.start, 8, false), true);
  assert.equal(mem.check(ro.start, 8, true), false);
  assert.equal(mem.check(0, 1, false), false);
  assert.equal(mem.check(NULL_GUARD - 1, 1, false), false);
});

test('regions never touch, freed space is reused, and nothing overlaps (random alloc/free)', () => {
  const mem = new RuntimeMemory({ maxBytes: 4 << 20 });
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const live: Region[] = [];
  for (let step = 0; step < 3000; step++) {
    if (live.length > 0 && rnd(3) === 0) {
      const r = live.splice(rnd(live.length), 1)[0]!;
      mem.free(r);
      assert.equal(mem.check(r.start, 1, false), false, 'freed region unmapped');
    } else {
      const size = rnd(5) === 0 ? rnd(5000) : rnd(100);
      const align = [8, 16, 64, 4096][rnd(4)]!;
      const r = mem.alloc(size, { name: `r${step}`, align, init: Uint8Array.of(7) });
      assert.equal(r.start % align, 0);
      if (size > 0) assert.equal(mem.u8[r.start], 7);
      if (size > 1) assert.equal(mem.u8[r.start + 1], 0, 'the rest is zeroed');
      live.push(r);
    }
  }
  const sorted = [...live].sort((x, y) => x.start - y.start);
  assert.deepEqual(mem.list().map((r) => r.id), sorted.map((r) => r.id));
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    assert.ok(prev.start + Math.max(prev.size, 1) < sorted[i]!.start, 'a guard gap separates regions');
  }
  for (const r of sorted) {
    if (r.size > 0) {
      assert.ok(mem.check(r.start, 1, true) && mem.check(r.start + r.size - 1, 1, true));
      assert.equal(mem.regionOf(r.start + r.size - 1), r);
    }
    assert.equal(mem.check(r.start + r.size, 1, false), false, 'one past the end faults');
  }
  // freeing everything lets a big region reuse the space from the start
  for (const r of live) mem.free(r);
  const first = mem.alloc(64, { name: 'again' });
  assert.equal(first.start, mem.heapBase);
});

test('protect, read/write, describe and fault', () => {
  const mem = new RuntimeMemory({ maxBytes: 1 << 20 });
  let r = mem.alloc(8, { name: 'data', kind: 'global' });
  mem.write(r.start, Uint8Array.of(1, 2, 3));
  assert.deepEqual([...mem.read(r.start, 3)], [1, 2, 3]);
  r = mem.protect(r, false);
  assert.throws(() => mem.write(r.start, Uint8Array.of(1)), (e: unknown) => e instanceof MemoryFault && /read-only/.test(e.message));
  assert.throws(() => mem.read(r.start + 4, 8), MemoryFault);
  assert.match(mem.describe(r.start + 8, 1), /nearest is 'data' \(global, 0x[0-9a-f]+\.\.0x[0-9a-f]+\), 0 bytes after the end of it/);
  assert.match(mem.describe(r.start + 6, 4), /4 bytes at offset 6 overrun region 'data'/);
  assert.equal(mem.describe(0, 1), 'NULL pointer');
  const f = mem.fault(3, r.start + 9, 2, false);
  assert.equal(f.pc, 3);
  assert.match(f.message, /^pc 3: invalid read of 2 bytes at 0x/);
  assert.throws(() => mem.alloc(-1, { name: 'bad' }), UsageError);
  assert.throws(() => mem.alloc(2 << 20, { name: 'too big' }), /runtime memory exhausted/);
});

test('alloc zeroes every byte of a region: reused holes, old memory above the top, and freshly grown memory', () => {
  const mem = new RuntimeMemory({ maxBytes: 8 << 20 });
  const a = mem.alloc(100_000, { name: 'a' });
  // Dirty everything the memory has now, also past the used top (alloc zeroes only what was there before a grow).
  mem.u8.fill(0xa5, a.start, mem.u8.length);
  mem.free(a);
  const reused = mem.alloc(100_000, { name: 'reused' });
  assert.equal(reused.start, a.start);
  const before = mem.u8.length;
  const grown = mem.alloc(3 << 20, { name: 'grown' });
  mem.refresh();
  assert.ok(grown.start < before && grown.start + grown.size > before, 'the region starts in dirty old memory and ends in grown memory');
  for (const r of [reused, grown]) assert.equal(mem.u8.subarray(r.start, r.start + r.size).findIndex((b) => b !== 0), -1, `${r.name} is all zero`);
});
