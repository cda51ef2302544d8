// Maps shared by worker threads: four workers attach to the same hash, LRU
// hash and per-CPU hash (MapTable.attach over RuntimeMemory.attach) and run
// programs on the interpreter and the JIT (two workers each) that count into
// the same keys, insert and delete their own keys, and look up keys that must
// always be found, all at once. Afterwards nothing is lost or leaked. Queues,
// stacks and bloom filters get concurrent pushes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { RuntimeMemory } from '../../src/vm/memory.js';
import { MapTable } from '../../src/maps/table.js';
import { HashMap } from '../../src/maps/hash.js';
import { assemble } from '../../src/asm/assemble.js';
import type { MapHandle } from '../../src/maps/base.js';
import type { PhaseOne, WorkerJob } from './shared-worker.js';
import type { RunJob } from '../runtime/run-worker.js';

const WORKERS = 4;
const N = 3000;
/**
 * [type, max_entries, counted keys, stable keys]. The small table puts the
 * churned entries in the stable keys' chains, so lookups walk entries that
 * are being freed and reused. (The exact race the NULLS restart and the
 * generation check guard against, a reader standing on an entry while it is
 * freed and reused elsewhere, needs the entry to come round the FIFO free
 * list within the reader's few nanoseconds there; this test does not
 * provoke it reliably: disabling the restart does not make it fail.)
 */
const CASES: readonly (readonly [string, number, number, number])[] = [
  ['hash', 512, 64, 32],
  ['lru_hash', 512, 64, 32],
  ['percpu_hash', 512, 64, 32],
  ['hash', 32, 4, 12],
];

const u32 = (v: number): Uint8Array => Uint8Array.of(v, v >>> 8, v >>> 16, v >>> 24);

/**
 * The programs of worker `cpu`, r1 = the key; they return 0 on success. Each
 * worker counts in its own u64 of the 32-byte value (plain load, add, store):
 * what is tested is that no insert or delete is lost, not the engines'
 * atomics (the interpreter's are atomic only within one thread).
 */
function programs(desc: number, cpu: number): Record<string, Uint8Array> {
  const keyOnStack = `*(u32 *)(r10 - 4) = r1
    r2 = r10
    r2 += -4`;
  const asm = (s: string): Uint8Array => assemble(s, { dialect: 'llvm' });
  return {
    // lookup; if missing, insert a value with 1 in our slot (BPF_NOEXIST); if
    // someone inserted first, look up again; then add 1 to our slot
    count: asm(`r6 = r1
      ${keyOnStack}
      r1 = ${desc} ll
      call 1
      if r0 != 0 goto add
      *(u32 *)(r10 - 4) = r6
      r1 = 0
      *(u64 *)(r10 - 40) = r1
      *(u64 *)(r10 - 32) = r1
      *(u64 *)(r10 - 24) = r1
      *(u64 *)(r10 - 16) = r1
      r1 = 1
      *(u64 *)(r10 - ${40 - 8 * cpu}) = r1
      r2 = r10
      r2 += -4
      r3 = r10
      r3 += -40
      r4 = 1
      r1 = ${desc} ll
      call 2
      if r0 == 0 goto out
      r2 = r10
      r2 += -4
      r1 = ${desc} ll
      call 1
      if r0 == 0 goto fail
    add:
      r1 = *(u64 *)(r0 + ${8 * cpu})
      r1 += 1
      *(u64 *)(r0 + ${8 * cpu}) = r1
    out:
      r0 = 0
      exit
    fail:
      r0 = 1
      exit`),
    insert: asm(`${keyOnStack}
      r1 = 7
      *(u64 *)(r10 - 40) = r1
      *(u64 *)(r10 - 32) = r1
      *(u64 *)(r10 - 24) = r1
      *(u64 *)(r10 - 16) = r1
      r3 = r10
      r3 += -40
      r4 = 0
      r1 = ${desc} ll
      call 2
      exit`),
    lookup: asm(`${keyOnStack}
      r1 = ${desc} ll
      call 1
      if r0 == 0 goto out
      r0 = 1
    out:
      exit`),
    delete: asm(`${keyOnStack}
      r1 = ${desc} ll
      call 3
      exit`),
  };
}

interface Spawned {
  one: Promise<PhaseOne>;
  two: (keys: number[]) => Promise<number>;
  stop: () => Promise<number>;
}

function spawn(job: WorkerJob): Spawned {
  const w = new Worker(new URL('./shared-worker.js', import.meta.url), { workerData: job });
  const failed = new Promise<never>((_, reject) => w.once('error', reject));
  const one = Promise.race([new Promise<PhaseOne>((resolve) => w.once('message', resolve)), failed]);
  const two = async (keys: number[]): Promise<number> => {
    await one;
    const done = new Promise<number>((resolve) => w.once('message', resolve));
    w.postMessage(keys);
    const n = await Promise.race([done, failed]);
    await w.terminate();
    return n;
  };
  return { one, two, stop: () => w.terminate() };
}

for (const [type, max, keyCount, stableCount] of CASES) {
  test(`${type} (${max} entries): four workers (interpreter and JIT) update, delete and look up concurrently; nothing lost or leaked`, { timeout: 60_000 }, async () => {
    const mem = new RuntimeMemory({ maxBytes: 32 << 20, shared: true });
    const table = new MapTable(mem, { cpus: WORKERS });
    const map = table.create({ name: 'shared', type, keySize: 4, valueSize: 8 * WORKERS, maxEntries: max }) as HashMap;
    const stable = Array.from({ length: stableCount }, (_, i) => 500_000 + i);
    const zero = new Uint8Array(map.userValueSize);
    for (const k of stable) map.update(u32(k), zero);
    const barrier = mem.alloc(8, { name: 'barrier' }).start;
    const workers = Array.from({ length: WORKERS }, (_, cpu) =>
      spawn({
        share: mem.share(256 << 10),
        handles: [map.handle()],
        cpus: WORKERS,
        cpu,
        engine: cpu % 2 === 0 ? 'interp' : 'jit',
        programs: programs(map.desc, cpu),
        n: N,
        keys: keyCount,
        stable,
        barrier,
        workers: WORKERS,
      }),
    );
    // a failed assertion must not leave workers (and this process) running
    try {
      await check(mem, map, workers, stable, keyCount);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
  });
}

async function check(mem: RuntimeMemory, map: HashMap, workers: Spawned[], stable: number[], keyCount: number): Promise<void> {
  const ones = await Promise.all(workers.map((w) => w.one));
  for (const [cpu, r] of ones.entries()) assert.deepEqual(r, { countFailures: 0, churnFailures: 0, stableMisses: 0 }, `worker ${cpu}`);
  mem.resync();
  // every increment landed: per key, the sum over the slots (and per-CPU copies)
  let total = 0n;
  for (let k = 0; k < keyCount; k++) {
    const v = map.lookup(u32(k));
    assert.ok(v !== undefined, `key ${k} exists`);
    const dv = new DataView(v.buffer);
    for (let off = 0; off < v.length; off += 8) total += dv.getBigUint64(off, true);
  }
  assert.equal(total, BigInt(WORKERS * N));
  // the churned keys are all gone; iteration sees each remaining key once
  const keys = [...map.keys()].map((k) => new DataView(k.buffer).getUint32(0, true));
  assert.equal(keys.length, keyCount + stable.length);
  assert.equal(new Set(keys).size, keys.length);
  assert.deepEqual([...keys].sort((a, b) => a - b), [...Array.from({ length: keyCount }, (_, i) => i), ...stable]);
  assert.equal(map.size, keyCount + stable.length);
  // phase 2: all workers delete every key at once; each key is deleted exactly once
  const deleted = await Promise.all(workers.map((w) => w.two(keys)));
  assert.equal(deleted.reduce((a, b) => a + b, 0), keys.length);
  assert.equal(map.size, 0);
  assert.equal(map.freeCount(), map.capacity, 'every entry is back on the free list');
  assert.equal([...map.keys()].length, 0);
  assert.equal(map.refs, 1, 'the workers released their references');
}

/** Run `insns` in four workers (two interpreters, two JITs) `n` times each with r1 = index, r2 = cpu; the failures of each. */
function runInWorkers(mem: RuntimeMemory, handles: MapHandle[], insns: Uint8Array, n: number): Promise<number[]> {
  return runInWorkersWith(mem, handles, insns, n, mem.alloc(8, { name: 'counters' }).start);
}

/** runInWorkers with the workers' ready and done counters at `counters` and `counters + 4`, for a caller that works meanwhile. */
async function runInWorkersWith(mem: RuntimeMemory, handles: MapHandle[], insns: Uint8Array, n: number, counters: number): Promise<number[]> {
  const workers = Array.from({ length: WORKERS }, (_, cpu) => {
    const job: RunJob = { share: mem.share(256 << 10), handles, cpus: WORKERS, cpu, engine: cpu % 2 === 0 ? 'interp' : 'jit', insns, n, ready: counters, done: counters + 4, workers: WORKERS };
    return new Worker(new URL('../runtime/run-worker.js', import.meta.url), { workerData: job });
  });
  try {
    return await Promise.all(workers.map((w) => new Promise<number>((resolve, reject) => (w.once('message', resolve), w.once('error', reject)))));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
    mem.resync();
  }
}

test('queue, stack and bloom_filter: four workers push at once; every value arrives exactly once', { timeout: 60_000 }, async () => {
  const n = 2000;
  for (const type of ['queue', 'stack', 'bloom_filter']) {
    const mem = new RuntimeMemory({ maxBytes: 32 << 20, shared: true });
    const table = new MapTable(mem, { cpus: WORKERS });
    const map = table.create({ name: type, type, keySize: 0, valueSize: 4, maxEntries: WORKERS * n });
    // value = cpu * 1000000 + index; push (bpf_map_push_elem, flags 0)
    const push = assemble(
      `r2 *= 1000000
      r1 += r2
      *(u32 *)(r10 - 4) = r1
      r2 = r10
      r2 += -4
      r3 = 0
      r1 = ${map.desc} ll
      call 87
      exit`,
      { dialect: 'llvm' },
    );
    assert.deepEqual(await runInWorkers(mem, [map.handle()], push, n), [0, 0, 0, 0], `${type}: every push succeeded`);
    const expected = Array.from({ length: WORKERS * n }, (_, k) => Math.floor(k / n) * 1_000_000 + (k % n));
    if (type === 'bloom_filter') {
      for (const v of expected) assert.ok(map.has(u32(v)), `${type}: ${v} is in the set`);
      continue;
    }
    const got: number[] = [];
    for (let v = map.pop(); v !== undefined; v = map.pop()) got.push(new DataView(v.buffer).getUint32(0, true));
    assert.equal(got.length, expected.length, `${type}: as many values as pushed`);
    assert.deepEqual(got.sort((a, b) => a - b), expected, `${type}: each value once`);
  }
});

test('hash: updates of one key from four workers replace its entry; lookups never see a mix of two values', { timeout: 60_000 }, async () => {
  const mem = new RuntimeMemory({ maxBytes: 32 << 20, shared: true });
  const table = new MapTable(mem, { cpus: WORKERS });
  const WORDS = 16;
  const map = table.create({ name: 'one', type: 'hash', keySize: 4, valueSize: 4 * WORDS, maxEntries: 4 }) as HashMap;
  map.update(u32(0), new Uint8Array(4 * WORDS));
  // value = WORDS copies of (cpu << 16 | index), then update key 0 (BPF_ANY)
  const stores = Array.from({ length: WORDS }, (_, w) => `*(u32 *)(r10 - ${4 * WORDS + 8 - 4 * w}) = r1`).join('\n');
  const update = assemble(
    `r2 <<= 16
    r1 |= r2
    ${stores}
    r1 = 0
    *(u32 *)(r10 - 4) = r1
    r2 = r10
    r2 += -4
    r3 = r10
    r3 += -${4 * WORDS + 8}
    r4 = 0
    r1 = ${map.desc} ll
    call 2
    exit`,
    { dialect: 'llvm' },
  );
  const counters = mem.alloc(8, { name: 'counters' }).start;
  const runs = runInWorkersWith(mem, [map.handle()], update, 20_000, counters);
  const i32 = new Int32Array(mem.u8.buffer);
  while (Atomics.load(i32, counters >>> 2) < WORKERS) Atomics.wait(i32, counters >>> 2, Atomics.load(i32, counters >>> 2), 10);
  let torn = 0;
  let lookups = 0;
  while (Atomics.load(i32, (counters + 4) >>> 2) < WORKERS) {
    const v = map.lookup(u32(0))!;
    const dv = new DataView(v.buffer);
    const first = dv.getUint32(0, true);
    for (let w = 1; w < WORDS; w++) if (dv.getUint32(4 * w, true) !== first) {
      torn++;
      break;
    }
    lookups++;
  }
  assert.deepEqual(await runs, [0, 0, 0, 0]);
  assert.ok(lookups > 100, `the lookups overlapped the updates (${lookups})`);
  assert.equal(torn, 0, `${torn} of ${lookups} lookups saw two values mixed`);
  assert.equal(map.size, 1);
});
