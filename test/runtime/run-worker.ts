// A worker thread that runs one loaded program `n` times over the parent's
// memory and maps (RuntimeMemory.attach, MapTable.attach), as CPU `cpu`,
// with r1 = the run's index and r2 = cpu; a run that returns non-zero counts
// as a failure.
// It starts when all workers are ready (a counter at `ready`) and counts up
// `done` when finished, so the parent can work while they run. Not a test
// file itself (the runner picks *.test.js only).
import { parentPort, workerData } from 'node:worker_threads';
import { RuntimeMemory, type MemoryShare } from '../../src/vm/memory.js';
import { MapTable } from '../../src/maps/table.js';
import type { MapHandle } from '../../src/maps/base.js';
import { createVm } from '../../src/vm/vm.js';
import { standardHelpers, HelperContext } from '../../src/helpers/index.js';
import { decodeProgram } from '../../src/isa/decode.js';
import { mapIntrinsics, setJitDefaults } from '../../src/vm/jit/index.js';

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
const mem = RuntimeMemory.attach(job.share);
const helpers = standardHelpers();
const maps = MapTable.attach(mem, job.handles, { cpus: job.cpus });
setJitDefaults(mem, mapIntrinsics(maps, helpers));
const vm = createVm({ mem, helpers });
const ctx = new HelperContext({ maps, cpu: job.cpu });
const engine = vm.engine(decodeProgram(job.insns), job.engine);
const i32 = new Int32Array(mem.u8.buffer);
Atomics.add(i32, job.ready >>> 2, 1);
while (Atomics.load(i32, job.ready >>> 2) < job.workers) Atomics.wait(i32, job.ready >>> 2, Atomics.load(i32, job.ready >>> 2), 10);
let failures = 0;
for (let i = 0; i < job.n; i++) if (engine.run([i, job.cpu], { run: ctx }).r0 !== 0n) failures++;
Atomics.add(i32, job.done >>> 2, 1);
for (const m of maps.list()) maps.close(m);
vm.dispose();
parentPort!.postMessage(failures);
