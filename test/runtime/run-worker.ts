// A worker thread that runs one loaded program `n` times over the parent's
// memory and maps (RuntimeMemory.attach, MapTable.attach), as CPU `cpu`,
// with r1 = the run's index and r2 = cpu; a run that returns non-zero counts
// as a failure.
// It starts when all workers are ready (a counter at `ready`) and counts up
// `done` when finished, so the parent can work while they run. Not a test
// file itself (the runner picks *.test.js only).
import { parentPort, workerData } from 'node:worker_threads';
import type { MemoryShare } from '../../src/vm/memory.js';
import type { MapHandle } from '../../src/maps/base.js';
import { decodeProgram } from '../../src/isa/decode.js';
import { attachWorker, startTogether } from '../worker-env.js';

export interface RunJob {
  share: MemoryShare;
  handles: MapHandle[];
  cpus: number;
  cpu: number;
  engine: string;
  /** The program's relocated instructions (BpfProgram.insns). */
  insns: Uint8Array;
  n: number;
  /** Addresses of two i32 counters: workers ready, workers done. */
  ready: number;
  done: number;
  workers: number;
}

const job = workerData as RunJob;
const { mem, maps, vm, ctx } = attachWorker(job.share, job.handles, job.cpus, job.cpu);
const engine = vm.engine(decodeProgram(job.insns), job.engine);
startTogether(mem, job.ready, job.workers);
const i32 = new Int32Array(mem.u8.buffer);
let failures = 0;
for (let i = 0; i < job.n; i++) if (engine.run([i, job.cpu], { run: ctx }).r0 !== 0n) failures++;
Atomics.add(i32, job.done >>> 2, 1);
for (const m of maps.list()) maps.close(m);
vm.dispose();
parentPort!.postMessage(failures);
