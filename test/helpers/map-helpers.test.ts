import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup } from './harness.js';
import { ArrayMap } from '../../src/maps/array.js';
import { STANDARD_HELPERS, standardHelpers } from '../../src/helpers/index.js';
import { BPF_FUNC } from '../../src/internal/uapi.gen.js';
import { ProgramError } from '../../src/internal/errors.js';

test('standard helpers: unique Linux ids, GPL-only as in the kernel', () => {
  const reg = standardHelpers();
  assert.equal(reg.list().length, STANDARD_HELPERS.length);
  for (const d of STANDARD_HELPERS) assert.equal(d.id, BPF_FUNC[d.name], d.name);
  const gpl = (n: string): boolean | undefined => reg.get(BPF_FUNC[n]!)?.gplOnly;
  for (const n of ['trace_printk', 'probe_read', 'probe_read_kernel', 'probe_read_user_str', 'perf_event_output', 'snprintf']) assert.equal(gpl(n), true, n);
  for (const n of ['map_lookup_elem', 'ktime_get_ns', 'get_prandom_u32', 'ringbuf_output', 'tail_call', 'loop', 'strncmp', 'spin_lock', 'csum_diff', 'get_current_comm']) assert.equal(gpl(n), false, n);
});

test('map_lookup_elem returns a pointer into the map memory; update/delete return kernel errno', () => {
  const { maps, call, buf, mem } = setup();
  const arr = maps.create({ name: 'a', type: 'array', keySize: 4, valueSize: 8, maxEntries: 4 }) as ArrayMap;
  const k = buf([2, 0, 0, 0]);
  assert.equal(call('map_lookup_elem', arr.desc, k), BigInt(arr.data + 16));
  const v = buf([1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(call('map_update_elem', arr.desc, k, v, 0), 0n);
  assert.deepEqual([...arr.lookup(Uint8Array.of(2, 0, 0, 0))!], [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(call('map_update_elem', arr.desc, k, v, 1), -17n); // BPF_NOEXIST on an array
  assert.equal(call('map_delete_elem', arr.desc, k), -22n);
  const h = maps.create({ name: 'h', type: 'hash', keySize: 4, valueSize: 8, maxEntries: 1 });
  assert.equal(call('map_lookup_elem', h.desc, k), 0n);
  assert.equal(call('map_update_elem', h.desc, k, v, 2), -2n);
  assert.equal(call('map_update_elem', h.desc, k, v, 0), 0n);
  const p = Number(call('map_lookup_elem', h.desc, k));
  assert.deepEqual([...mem.u8.subarray(p, p + 8)], [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(call('map_update_elem', h.desc, buf([3, 0, 0, 0]), v, 0), -7n); // full
  assert.equal(call('map_update_elem', h.desc, k, v, 0x1_0000_0000n), -22n); // flags are 64-bit
  assert.equal(call('map_delete_elem', h.desc, k), 0n);
  assert.equal(call('map_delete_elem', h.desc, k), -2n);
});

test('map helpers with bad arguments (verification skipped): NULL, -EINVAL, -EFAULT, never a crash', () => {
  const { maps, call, buf } = setup();
  const h = maps.create({ name: 'h', type: 'hash', keySize: 4, valueSize: 8, maxEntries: 4 });
  const k = buf(4);
  assert.equal(call('map_lookup_elem', 0, k), 0n);
  assert.equal(call('map_lookup_elem', h.desc + 8, k), 0n);
  assert.equal(call('map_lookup_elem', k, k), 0n, 'a pointer to ordinary memory is not a map');
  assert.equal(call('map_lookup_elem', h.desc, 0), 0n);
  assert.equal(call('map_update_elem', 12345, k, k, 0), -22n);
  assert.equal(call('map_update_elem', h.desc, k, k, 0), -14n, 'value is 8 bytes, the buffer 4');
  assert.equal(call('map_delete_elem', h.desc, 0xfffffff0), -14n);
  const ro = maps.create({ name: 'ro', type: 'array', keySize: 4, valueSize: 4, maxEntries: 1, flags: 1 << 7 });
  assert.equal(call('map_update_elem', ro.desc, k, k, 0), -1n, 'BPF_F_RDONLY_PROG');
});

test('per-CPU maps: the helper context CPU picks the copy', () => {
  const { maps, ctx, call, buf, mem } = setup(4);
  const m = maps.create({ name: 'pc', type: 'percpu_array', keySize: 4, valueSize: 4, maxEntries: 1 });
  const k = buf(4);
  ctx.cpu = 3;
  const p3 = Number(call('map_lookup_elem', m.desc, k));
  mem.dv.setUint32(p3, 33, true);
  ctx.cpu = 1;
  const p1 = Number(call('map_lookup_elem', m.desc, k));
  assert.equal(p3 - p1, 16);
  assert.equal(call('get_smp_processor_id'), 1n);
  const all = m.lookup(new Uint8Array(4))!;
  assert.equal(new DataView(all.buffer).getUint32(24, true), 33);
  assert.equal(call('map_lookup_percpu_elem', m.desc, k, 3), BigInt(p3));
  assert.equal(call('map_lookup_percpu_elem', m.desc, k, 4), 0n, 'no such CPU');
  const plain = maps.create({ name: 'plain', type: 'array', keySize: 4, valueSize: 4, maxEntries: 1 });
  assert.equal(call('map_lookup_percpu_elem', plain.desc, k, 0), 0n, 'not a per-CPU map');
});

test('map_push/pop/peek_elem on queue, stack and bloom filter', () => {
  const { maps, call, buf, mem } = setup();
  const q = maps.create({ name: 'q', type: 'queue', keySize: 0, valueSize: 4, maxEntries: 2 });
  const v = buf([7, 0, 0, 0]);
  const out = buf(4);
  assert.equal(call('map_push_elem', q.desc, v, 0), 0n);
  mem.u8[v] = 8;
  assert.equal(call('map_push_elem', q.desc, v, 0), 0n);
  assert.equal(call('map_push_elem', q.desc, v, 0), -7n);
  assert.equal(call('map_peek_elem', q.desc, out), 0n);
  assert.equal(mem.u8[out], 7);
  assert.equal(call('map_pop_elem', q.desc, out), 0n);
  assert.equal(call('map_pop_elem', q.desc, out), 0n);
  assert.equal(mem.u8[out], 8);
  assert.equal(call('map_pop_elem', q.desc, out), -2n);
  assert.equal(call('map_update_elem', q.desc, 0, v, 0), -22n, 'programs push with map_push_elem, not update');
  const b = maps.create({ name: 'b', type: 'bloom_filter', keySize: 0, valueSize: 4, maxEntries: 16 });
  assert.equal(call('map_peek_elem', b.desc, v), -2n);
  assert.equal(call('map_push_elem', b.desc, v, 0), 0n);
  assert.equal(call('map_peek_elem', b.desc, v), 0n);
  assert.equal(call('map_pop_elem', b.desc, v), -95n);
});

test('for_each_map_elem calls back per element with key/value pointers until told to stop', () => {
  const { maps, ctx, call, buf, mem } = setup();
  const h = maps.create({ name: 'h', type: 'hash', keySize: 4, valueSize: 4, maxEntries: 8 });
  for (let i = 1; i <= 5; i++) h.update(Uint8Array.of(i, 0, 0, 0), Uint8Array.of(i * 10, 0, 0, 0));
  const cbCtx = buf(8);
  const seen: number[] = [];
  ctx.invoke = (fn, a) => {
    assert.equal(fn, 99);
    assert.equal(a[0], h.desc);
    assert.equal(a[6], cbCtx);
    const key = mem.dv.getUint32(a[2]!, true);
    assert.equal(mem.dv.getUint32(a[4]!, true), key * 10);
    seen.push(key);
    return seen.length === 3 ? 1 : 0;
  };
  assert.equal(call('for_each_map_elem', h.desc, 99, cbCtx, 0), 3n);
  assert.equal(seen.length, 3);
  seen.length = 0;
  ctx.invoke = () => 0;
  const arr = maps.create({ name: 'a', type: 'array', keySize: 4, valueSize: 4, maxEntries: 6 });
  assert.equal(call('for_each_map_elem', arr.desc, 1, 0, 0), 6n);
  assert.equal(call('for_each_map_elem', arr.desc, 1, 0, 1), -22n);
  ctx.invoke = undefined;
  assert.throws(() => call('for_each_map_elem', arr.desc, 1, 0, 0), ProgramError);
});

test('map-in-map from a program: lookup yields the inner map pointer, usable as a map argument', () => {
  const { maps, call, buf, mem } = setup();
  const innerSpec = { name: 'inner', type: 'array', keySize: 4, valueSize: 4, maxEntries: 2 };
  const inner = maps.create(innerSpec);
  const outer = maps.create({ name: 'outer', type: 'hash_of_maps', keySize: 4, valueSize: 4, maxEntries: 2, innerMap: innerSpec });
  outer.update(Uint8Array.of(9, 0, 0, 0), Uint8Array.of(inner.id, 0, 0, 0));
  const k9 = buf([9, 0, 0, 0]);
  const k1 = buf([1, 0, 0, 0]);
  const p = call('map_lookup_elem', outer.desc, k9);
  assert.equal(p, BigInt(inner.desc));
  const v = Number(call('map_lookup_elem', p, k1));
  mem.dv.setUint32(v, 77, true);
  assert.deepEqual([...inner.lookup(Uint8Array.of(1, 0, 0, 0))!], [77, 0, 0, 0]);
  assert.equal(call('map_lookup_elem', outer.desc, k1), 0n);
  assert.equal(call('map_update_elem', outer.desc, k9, k9, 0), -22n, 'programs cannot update map-in-map');
});

test('for_each_map_elem: the callback may delete elements (its own and others) without derailing the walk', () => {
  const { maps, ctx, call, mem } = setup();
  const h = maps.create({ name: 'h', type: 'hash', keySize: 4, valueSize: 4, maxEntries: 4 });
  // four keys in a 4-bucket table: some chains are longer than one
  for (let i = 0; i < 4; i++) h.update(Uint8Array.of(i, 0, 0, 0), Uint8Array.of(i, 0, 0, 0));
  const del = mem.alloc(8, { name: 'k' }).start;
  const seen: number[] = [];
  ctx.invoke = (_fn, a) => {
    const k = mem.dv.getUint32(a[2]!, true);
    seen.push(k);
    // delete this key and the one after it
    for (const d of [k, (k + 1) % 4]) {
      mem.dv.setUint32(del, d, true);
      call('map_delete_elem', h.desc, del);
    }
    return 0;
  };
  const n = Number(call('for_each_map_elem', h.desc, 1, 0, 0));
  assert.equal(n, seen.length);
  assert.ok(n >= 1 && n <= 4);
  assert.equal(new Set(seen).size, seen.length, 'no key visited twice');
  assert.equal([...h.keys()].length, 4 - new Set(seen.flatMap((k) => [k, (k + 1) % 4])).size);
});
