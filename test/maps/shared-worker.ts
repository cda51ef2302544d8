// The worker side of shared.test.ts: attaches to the parent's memory and
// maps, and runs map programs as CPU `cpu` on its engine. Not a test file
// itself (the runner picks *.test.js only).
import { parentPort, workerData } from 'node:worker_threads';
import type { MemoryShare } from '../../src/vm/memory.js';
import type { MapHandle } from '../../src/maps/base.js';
import { decodeProgram } from '../../src/isa/decode.js';
import { attachWorker, startTogether } from '../worker-env.js';

export interface WorkerJob {
  share: MemoryShare;
  handles: MapHandle[];
  cpus: number;
  cpu: number;
  engine: string;
  /** Program bytes (map addresses already in them) by name: count, insert, lookup, delete. */
  programs: Record<string, Uint8Array>;
  /** Increments per worker over keys 0..keys-1. */
  n: number;
  keys: number;
  /** Keys that stay in the map during the churn phase; lookups of them must always hit. */
  stable: number[];
  /** Address of an i32 the workers count up on, so they all start at once. */
  barrier: number;
  workers: number;
}

export interface PhaseOne {
  countFailures: number;
  churnFailures: number;
  stableMisses: number;
}

const job = workerData as WorkerJob;
const { mem, maps, vm, ctx } = attachWorker(job.share, job.handles, job.cpus, job.cpu);
const engines = Object.fromEntries(Object.entries(job.programs).map(([k, v]) => [k, vm.engine(decodeProgram(v), job.engine)]));
const run = (name: string, key: number): number => Number(BigInt.asIntN(64, engines[name]!.run([key], { run: ctx }).r0));

// wait until every worker is ready, so the phases really overlap
startTogether(mem, job.barrier, job.workers);

// phase 1: counting (inserts race with inserts of the same keys), then churn
// (inserts and deletes of this worker's keys while stable keys are looked up)
let countFailures = 0;
for (let i = 0; i < job.n; i++) if (run('count', (i * 7 + job.cpu) % job.keys) !== 0) countFailures++;
let churnFailures = 0;
let stableMisses = 0;
for (let i = 0; i < job.n; i++) {
  const k = 1_000_000 * (job.cpu + 1) + (i % 50);
  if (run('insert', k) !== 0) churnFailures++;
  if (run('lookup', job.stable[i % job.stable.length]!) !== 1) stableMisses++;
  if (run('delete', k) !== 0) churnFailures++;
}
parentPort!.postMessage({ countFailures, churnFailures, stableMisses } satisfies PhaseOne);

// phase 2 (on request): every worker deletes every key; the successes add up to the key count
parentPort!.once('message', (keys: number[]) => {
  let deleted = 0;
  for (const k of keys) if (run('delete', k) === 0) deleted++;
  for (const m of maps.list()) maps.close(m);
  vm.dispose();
  parentPort!.postMessage(deleted);
});
