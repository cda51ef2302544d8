// BPF_F_LOCK: values with a struct bpf_spin_lock (offset from BTF) are
// copied under that lock by user-space lookups and updates, as the kernel's
// selftest map_lock checks: programs (test/fixtures/helpers/map_lock.c, after
// the kernel's test_map_lock) fill every var[] of the value with one random
// number under the lock in four worker threads, while the main thread's BPF_F_LOCK lookups
// must never see two different numbers in one value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Runtime } from '../../src/runtime/runtime.js';
import { MapError } from '../../src/maps/errno.js';
import { ROOT } from '../paths.js';
import type { RunJob } from './run-worker.js';

const OBJECT = join(ROOT, 'test', 'fixtures', 'helpers', 'map_lock.o');
const WORKERS = 4;
const VARS = 16;

const errnoOf = (f: () => unknown): number | undefined => {
  try {
    f();
  } catch (e) {
    if (e instanceof MapError) return e.errno;
    throw e;
  }
  return undefined;
};

/** Distinct numbers among var[0..15] of a value whose lock is at offset 0. */
function distinct(v: Uint8Array): number {
  const dv = new DataView(v.buffer, v.byteOffset);
  return new Set(Array.from({ length: VARS }, (_, i) => dv.getInt32(4 + 4 * i, true))).size;
}

test('the bpf_spin_lock offset comes from BTF; BPF_F_LOCK copies leave the lock word alone and hide it', () => {
  // the program is verified (the lock at the value's BTF offset, taken and released on every path)
  const rt = new Runtime();
  const coll = rt.loadObject(readFileSync(OBJECT), { file: OBJECT });
  const hash = coll.map('hash_map');
  const array = coll.map('array_map');
  assert.equal(hash.spinLockOff, 0);
  assert.equal(array.spinLockOff, 0);
  const key = new Uint8Array(4);
  const value = new Uint8Array(68).fill(0x11);
  for (const m of [hash, array]) {
    m.update(key, value, 4 /* BPF_F_LOCK */);
    const v = m.lookup(key, 4)!;
    assert.deepEqual([...v.subarray(0, 4)], [0, 0, 0, 0], `${m.typeName}: the lock word reads as 0`);
    assert.ok(v.subarray(4).every((b) => b === 0x11), `${m.typeName}: the rest is copied`);
    assert.deepEqual([...m.lookup(key)!.subarray(0, 4)], [0, 0, 0, 0], `${m.typeName}: also without BPF_F_LOCK`);
    assert.equal(errnoOf(() => m.lookup(key, 8)), 22, `${m.typeName}: other lookup flags are EINVAL`);
  }
  // a program holds the lock: a plain update still copies (not the lock word), BPF_F_LOCK would wait for it
  const e = rt.mem.dv;
  const arrayValue = (array as unknown as { data: number }).data;
  e.setUint32(arrayValue, 1, true);
  array.update(key, new Uint8Array(68).fill(0x22));
  assert.equal(e.getUint32(arrayValue, true), 1, 'a plain update does not overwrite the lock word');
  e.setUint32(arrayValue, 0, true);
  rt.dispose();
});

test('BPF_F_LOCK without a bpf_spin_lock in the value is EINVAL; spin locks only in hash and array values', () => {
  const rt = new Runtime();
  const m = rt.maps.create({ name: 'h', type: 'hash', keySize: 4, valueSize: 8, maxEntries: 4 });
  assert.equal(errnoOf(() => m.update(new Uint8Array(4), new Uint8Array(8), 4)), 22);
  m.update(new Uint8Array(4), new Uint8Array(8));
  assert.equal(errnoOf(() => m.lookup(new Uint8Array(4), 4)), 22);
  assert.equal(errnoOf(() => rt.maps.create({ name: 'l', type: 'lru_hash', keySize: 4, valueSize: 8, maxEntries: 4, spinLockOff: 0 })), 95);
  assert.equal(errnoOf(() => rt.maps.create({ name: 'p', type: 'percpu_array', keySize: 4, valueSize: 8, maxEntries: 4, spinLockOff: 0 })), 95);
  assert.equal(errnoOf(() => rt.maps.create({ name: 'o', type: 'hash', keySize: 4, valueSize: 8, maxEntries: 4, spinLockOff: 6 })), 22);
  // a lock left held (non-shared memory: only this thread could release it) is an error, not a hang
  const rt2 = new Runtime({ memory: { shared: false } });
  const a = rt2.maps.create({ name: 'a', type: 'array', keySize: 4, valueSize: 8, maxEntries: 1, spinLockOff: 0 });
  rt2.mem.dv.setUint32((a as unknown as { data: number }).data, 1, true);
  assert.equal(errnoOf(() => a.update(new Uint8Array(4), new Uint8Array(8), 4)), 16);
  rt.dispose();
  rt2.dispose();
});

test('four workers (interpreter and JIT) write values under the lock; BPF_F_LOCK lookups never see a torn value', { timeout: 60_000 }, async () => {
  const rt = new Runtime({ cpus: WORKERS, memory: { shared: true } });
  const coll = rt.loadObject(readFileSync(OBJECT), { file: OBJECT });
  const hash = coll.map('hash_map');
  const array = coll.map('array_map');
  const key = new Uint8Array(4);
  hash.update(key, new Uint8Array(68));
  const prog = coll.program('bpf_map_lock_test');
  const counters = rt.mem.alloc(8, { name: 'counters' }).start;
  const workers = Array.from({ length: WORKERS }, (_, cpu) => {
    const job: RunJob = {
      share: rt.mem.share(256 << 10),
      handles: [hash.handle(), array.handle()],
      cpus: WORKERS,
      cpu,
      engine: cpu % 2 === 0 ? 'interp' : 'jit',
      insns: prog.insns,
      n: 20_000,
      ready: counters,
      done: counters + 4,
      workers: WORKERS,
    };
    return new Worker(new URL('./run-worker.js', import.meta.url), { workerData: job });
  });
  try {
    const results = workers.map((w) => new Promise<number>((resolve, reject) => (w.once('message', resolve), w.once('error', reject))));
    const i32 = new Int32Array(rt.mem.u8.buffer);
    while (Atomics.load(i32, counters >>> 2) < WORKERS) Atomics.wait(i32, counters >>> 2, Atomics.load(i32, counters >>> 2), 10);
    let torn = 0;
    let lookups = 0;
    while (Atomics.load(i32, (counters + 4) >>> 2) < WORKERS) {
      for (const m of [hash, array]) {
        if (distinct(m.lookup(key, 4)!) !== 1) torn++;
        lookups++;
      }
    }
    assert.deepEqual(await Promise.all(results), [0, 0, 0, 0], 'every run found its values');
    assert.ok(lookups > 100, `the lookups overlapped the runs (${lookups})`);
    assert.equal(torn, 0, `${torn} of ${lookups} BPF_F_LOCK lookups saw a torn value`);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
    rt.dispose();
  }
});
