// prog_array, perf_event_array and the map-in-map types: maps whose values are other objects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newTable, u32, readU32, errnoOf } from './util.js';
import { ProgArrayMap } from '../../src/maps/prog-array.js';
import { PerfEventArrayMap } from '../../src/maps/perf-event-array.js';
import { E2BIG, EINVAL, ENOENT, ENOSPC } from '../../src/maps/errno.js';
import { BPF_F_INNER_MAP } from '../../src/maps/spec.js';
import { USER } from '../../src/maps/base.js';

test('prog_array: slots by id through the resolver; programs cannot update; lookups report ids', () => {
  const t = newTable();
  const progs = new Map<number, object>([[7, { name: 'p7' }]]);
  t.resolveProgram = (id) => progs.get(id);
  const pa = t.create({ name: 'jmp', type: 'prog_array', keySize: 4, valueSize: 4, maxEntries: 4 }) as ProgArrayMap;
  pa.update(u32(1), u32(7));
  assert.equal(pa.get(1), progs.get(7));
  assert.equal(readU32(pa.lookup(u32(1))), 7);
  assert.equal(pa.get(0), undefined);
  assert.equal(errnoOf(() => pa.update(u32(2), u32(8))), EINVAL);
  assert.equal(errnoOf(() => pa.update(u32(4), u32(7))), E2BIG);
  pa.delete(u32(1));
  assert.equal(errnoOf(() => pa.delete(u32(1))), ENOENT);
  assert.equal(errnoOf(() => t.create({ name: 'j', type: 'prog_array', keySize: 4, valueSize: 8, maxEntries: 4 })), EINVAL);
});

test('perf_event_array: max_entries defaults to the CPU count; output errors; lost samples counted', () => {
  const t = newTable(2);
  const pe = t.create({ name: 'ev', type: 'perf_event_array', keySize: 4, valueSize: 4, maxEntries: 0 }) as PerfEventArrayMap;
  assert.equal(pe.maxEntries, 2);
  const src = t.mem.alloc(64, { name: 'src', init: new Uint8Array([9, 8, 7]) }).start;
  assert.equal(pe.output(0, 0, src, 3), -ENOENT);
  assert.equal(pe.output(5, 0, src, 3), -E2BIG);
  pe.open(0, 64);
  assert.equal(pe.output(0, 0, src, 3), 0);
  assert.equal(pe.output(0, 0, src, 30), 0);
  assert.equal(pe.output(0, 0, src, 3), -ENOSPC);
  const recs = pe.read();
  assert.deepEqual(recs[0], { cpu: 0, data: new Uint8Array([9, 8, 7]) });
  assert.equal(recs[1]!.data!.length, 30);
  assert.deepEqual(recs[2], { cpu: 0, lost: 1 });
  assert.equal(pe.lost(0), 1);
});

test('array_of_maps / hash_of_maps: user space uses ids, programs get the inner map pointer', () => {
  const t = newTable();
  const innerSpec = { name: 'inner', type: 'hash', keySize: 4, valueSize: 4, maxEntries: 8 };
  const inner = t.create(innerSpec);
  const other = t.create({ ...innerSpec, name: 'other', maxEntries: 9 });
  for (const type of ['array_of_maps', 'hash_of_maps']) {
    const outer = t.create({ name: type, type, keySize: 4, valueSize: 4, maxEntries: 4, innerMap: innerSpec });
    assert.equal(outer.lookup(u32(1)), undefined);
    outer.update(u32(1), u32(inner.id));
    assert.equal(readU32(outer.lookup(u32(1))), inner.id);
    const k = t.mem.alloc(8, { name: 'k', init: u32(1) }).start;
    assert.equal(outer.lookupAt(k, 0), inner.desc);
    assert.equal(t.byDesc(outer.lookupAt(k, 0)), inner);
    assert.equal(errnoOf(() => outer.update(u32(2), u32(other.id))), EINVAL, 'max_entries differs from the template');
    assert.equal(errnoOf(() => outer.update(u32(2), u32(999))), EINVAL);
    assert.equal(outer.updateAt(k, k, 0, 0), -EINVAL, 'programs cannot update map-in-map');
    outer.delete(u32(1));
    assert.equal(outer.lookupAt(k, 0), 0);
    assert.equal(outer.lookupAt(k, USER), 0);
  }
  const arr = { name: 'a', type: 'array', keySize: 4, valueSize: 8, maxEntries: 4 };
  const loose = t.create({ name: 'loose', type: 'array_of_maps', keySize: 4, valueSize: 4, maxEntries: 2, innerMap: { ...arr, flags: BPF_F_INNER_MAP } });
  loose.update(u32(0), u32(t.create({ ...arr, maxEntries: 100 }).id)); // BPF_F_INNER_MAP: any max_entries
  assert.equal(errnoOf(() => loose.update(u32(1), u32(inner.id))), EINVAL, 'wrong type');
  assert.equal(errnoOf(() => t.create({ name: 'x', type: 'array_of_maps', keySize: 4, valueSize: 4, maxEntries: 2 })), EINVAL);
});

test('perf_event_array: events() delivers records as they are output', async () => {
  const t = newTable();
  const pe = t.create({ name: 'ev', type: 'perf_event_array', keySize: 4, valueSize: 4, maxEntries: 1 }) as PerfEventArrayMap;
  pe.openAll(4096);
  const src = t.mem.alloc(8, { name: 'src', init: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) }).start;
  const ac = new AbortController();
  const got: number[] = [];
  const reader = (async () => {
    for await (const r of pe.events(ac.signal)) {
      got.push(r.data!.length);
      if (got.length === 2) ac.abort();
    }
  })();
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(pe.output(0, 0, src, 8), 0);
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(pe.output(0, 0, src, 3), 0);
  await reader;
  assert.deepEqual(got, [8, 3]);
});
