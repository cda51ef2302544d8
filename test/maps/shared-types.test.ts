// The map types that became shareable (ringbuf, perf_event_array, lpm_trie)
// at the map level: four workers attach with MapTable.attach (no Runtime, no
// registry) and use them from user space at the same moment; afterwards the
// state is exact. test/runtime/workers.test.ts does the same through
// programs and Runtime.attach.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { RuntimeMemory } from '../../src/vm/memory.js';
import { MapTable } from '../../src/maps/table.js';
import type { RingBufMap } from '../../src/maps/ringbuf.js';
import type { PerfEventArrayMap } from '../../src/maps/perf-event-array.js';
import type { LpmTrieMap } from '../../src/maps/lpm-trie.js';
import type { TypesJob } from './shared-types-worker.js';

const WORKERS = 4;

function setup(cpus = WORKERS): { mem: RuntimeMemory; t: MapTable; barrier: number } {
  const mem = new RuntimeMemory({ maxBytes: 32 << 20, shared: true });
  const t = new MapTable(mem, { cpus });
  t.create({ name: 'rb', type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 8192 });
  t.create({ name: 'events', type: 'perf_event_array', keySize: 4, valueSize: 4, maxEntries: 0 });
  t.create({ name: 'trie', type: 'lpm_trie', keySize: 8, valueSize: 4, maxEntries: 512, flags: 1 });
  const barrier = mem.alloc(8, { name: 'barrier' }).start;
  return { mem, t, barrier };
}

/** Four workers; worker w runs as CPU w (all as CPU 0 for 'perf-one', on a table of one CPU). */
async function run(mem: RuntimeMemory, t: MapTable, barrier: number, kind: TypesJob['kind'], n: number): Promise<number[]> {
  const share = mem.share(256 << 10);
  mem.dv.setInt32(barrier, 0, true);
  const handles = t.list().map((m) => m.handle());
  return Promise.all(Array.from({ length: WORKERS }, (_, cpu) => {
    const one = kind === 'perf-one';
    const job: TypesJob = { share: cpu === 0 ? share : mem.share(256 << 10), handles, cpus: one ? 1 : WORKERS, cpu: one ? 0 : cpu, worker: cpu, kind, n, barrier, workers: WORKERS };
    const w = new Worker(new URL('./shared-types-worker.js', import.meta.url), { workerData: job });
    return new Promise<number>((resolve, reject) => w.once('message', resolve).once('error', reject)).finally(() => w.terminate());
  }));
}

const u32 = (b: Uint8Array, at: number): number => new DataView(b.buffer, b.byteOffset).getUint32(at, true);

test('ringbuf: four producer threads, a consumer draining meanwhile: every record whole, in order per producer, or counted as dropped', { timeout: 60_000 }, async () => {
  const { mem, t, barrier } = setup();
  const rb = t.byName('rb') as RingBufMap;
  const N = 5000;
  const got: Uint8Array[] = [];
  const ac = new AbortController();
  const consumer = (async () => {
    for await (const s of rb.records(ac.signal)) got.push(s);
  })();
  assert.deepEqual(await run(mem, t, barrier, 'ringbuf', N), [0, 0, 0, 0]);
  rb.poll((s) => got.push(s));
  ac.abort();
  await consumer;
  const last = [-1, -1, -1, -1];
  for (const s of got) {
    const w = u32(s, 0);
    assert.equal(u32(s, 12), w, 'not torn');
    assert.equal(u32(s, 8), (u32(s, 4) ^ 0x5a5a5a5a) >>> 0, 'not torn');
    assert.ok(u32(s, 4) > last[w]!, 'in order');
    last[w] = u32(s, 4);
  }
  assert.equal(got.length + rb.dropped, WORKERS * N);
  assert.equal(rb.producerPos, rb.consumerPos);
});

test('perf_event_array: each thread a CPU on its own ring; read back exactly, losses counted', { timeout: 60_000 }, async () => {
  const { mem, t, barrier } = setup();
  const pe = t.byName('events') as PerfEventArrayMap;
  pe.openAll(1 << 16);
  const N = 1500; // 32 bytes a record: all fit
  assert.deepEqual(await run(mem, t, barrier, 'perf', N), [0, 0, 0, 0]);
  const recs = pe.read();
  for (let cpu = 0; cpu < WORKERS; cpu++) {
    const mine = recs.filter((r) => r.cpu === cpu);
    assert.equal(mine.length, N);
    mine.forEach((r, i) => assert.deepEqual([u32(r.data!, 0), u32(r.data!, 4)], [cpu, i]));
    assert.equal(pe.lost(cpu), 0);
  }
});

test('lpm_trie: four threads insert and delete their prefixes for 30 rounds; the trie ends exact and its free lists whole', { timeout: 60_000 }, async () => {
  const { mem, t, barrier } = setup();
  const trie = t.byName('trie') as LpmTrieMap;
  assert.deepEqual(await run(mem, t, barrier, 'lpm', 30), [0, 0, 0, 0]);
  const keys = [...trie.keys()].map((k) => `${k[5]}.${k[6]}`).sort();
  const want: string[] = [];
  for (let w = 0; w < WORKERS; w++) for (let i = 1; i < 64; i += 2) want.push(`${w}.${i}`);
  assert.deepEqual(keys, want.sort());
  // every slot is usable again: fill the trie to max_entries
  for (let i = 0; trie.size < 512; i++) trie.update(Uint8Array.of(32, 0, 0, 0, 192, 168, i >>> 8, i & 255), Uint8Array.of(1, 0, 0, 0));
  assert.equal(trie.size, 512);
});

test('lpm_trie: lookups of stable prefixes never miss or see a wrong value while two other threads restructure the trie around them', { timeout: 60_000 }, async () => {
  const { mem, t, barrier } = setup();
  const trie = t.byName('trie') as LpmTrieMap;
  for (const w of [0, 2]) for (let s = 0; s < 16; s++) trie.update(Uint8Array.of(24, 0, 0, 0, 10, w, s, 0), Uint8Array.of(0x50, w, s, 0));
  // readers (odd CPUs) count lookups that missed or saw another value
  assert.deepEqual(await run(mem, t, barrier, 'lpm-mixed', 300), [0, 0, 0, 0]);
  assert.equal(trie.size, 32);
});

test('perf_event_array with one CPU: four threads write the same ring (the map lock keeps them apart); nothing torn or lost', { timeout: 60_000 }, async () => {
  const { mem, t, barrier } = setup(1);
  const pe = t.byName('events') as PerfEventArrayMap;
  pe.openAll(1 << 22);
  const N = 25000; // long enough to overlap on a busy machine; 4 x 25000 records of 32 bytes fit in 4 MiB
  assert.deepEqual(await run(mem, t, barrier, 'perf-one', N), [0, 0, 0, 0]);
  const recs = pe.read();
  assert.equal(recs.length, WORKERS * N);
  const next = [0, 0, 0, 0];
  for (const r of recs) {
    const w = u32(r.data!, 0);
    assert.equal(u32(r.data!, 12), w, 'not torn');
    assert.equal(u32(r.data!, 4), next[w]!++, `worker ${w} in order`);
  }
  assert.equal(pe.lost(0), 0);
});
