// The interpreter's atomics on a shared memory: four worker threads run the
// same program on the same counters; no update may be lost (each atomic
// form, 32- and 64-bit, and a cmpxchg retry loop). Before the interpreter
// used Atomics on shared memory, plain read-modify-write lost updates here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { RuntimeMemory } from '../../src/vm/memory.js';
import { assemble } from '../../src/asm/assemble.js';
import type { AtomicsJob } from './interp-atomics-worker.js';

const PROGRAM = `
  r2 = 1
  lock *(u64 *)(r1 + 0) += r2
  w3 = 2
  w3 = atomic_fetch_add((u32 *)(r1 + 8), w3)
  r4 = 1
  r4 = atomic_fetch_or((u64 *)(r1 + 16), r4)
retry:
  r2 = *(u64 *)(r1 + 24)
  r3 = r2
  r3 += 1
  r0 = r2
  r0 = cmpxchg_64(r1 + 24, r0, r3)
  if r0 != r2 goto retry
  w5 = 1
  w5 = xchg32_32(r1 + 32, w5)
  r0 = 0
  exit`;

test('interpreter atomics on a shared memory: four workers, no lost updates', async () => {
  const mem = new RuntimeMemory({ maxBytes: 16 << 20, shared: true });
  const counter = mem.alloc(40, { name: 'counter' });
  const barrier = mem.alloc(4, { name: 'barrier' });
  const program = assemble(PROGRAM, { dialect: 'llvm' });
  const WORKERS = 4;
  const N = 200_000;
  const jobs: AtomicsJob[] = Array.from({ length: WORKERS }, () => ({ share: mem.share(64 * 1024), program, counter: counter.start, n: N, barrier: barrier.start, workers: WORKERS }));
  await Promise.all(
    jobs.map(
      (job) =>
        new Promise<void>((resolve, reject) => {
          const w = new Worker(new URL('./interp-atomics-worker.js', import.meta.url), { workerData: job });
          w.once('message', () => resolve());
          w.once('error', reject);
        }),
    ),
  );
  mem.refresh();
  const dv = mem.dv;
  assert.equal(dv.getBigUint64(counter.start, true), BigInt(N * WORKERS), 'lock add (64)');
  assert.equal(dv.getUint32(counter.start + 8, true), 2 * N * WORKERS, 'fetch_add (32)');
  assert.equal(dv.getBigUint64(counter.start + 16, true), 1n, 'fetch_or (64)');
  assert.equal(dv.getBigUint64(counter.start + 24, true), BigInt(N * WORKERS), 'cmpxchg loop (64)');
  assert.equal(dv.getUint32(counter.start + 32, true), 1, 'xchg (32)');
});
