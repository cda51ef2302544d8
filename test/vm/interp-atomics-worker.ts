// The worker side of interp-atomics.test.ts: attaches to the parent's memory
// and runs an atomics program `n` times on the interpreter. Not a test file
// itself (the runner picks *.test.js only).
import { parentPort, workerData } from 'node:worker_threads';
import { RuntimeMemory, type MemoryShare } from '../../src/vm/memory.js';
import { Interpreter } from '../../src/vm/interpreter.js';
import { HelperRegistry } from '../../src/helpers/registry.js';
import { decodeProgram } from '../../src/isa/decode.js';
import { MAX_CALL_FRAMES, STACK_SIZE } from '../../src/isa/fields.js';

export interface AtomicsJob {
  share: MemoryShare;
  program: Uint8Array;
  counter: number;
  n: number;
  /** Address of an i32 the workers count up on, so they all start at once. */
  barrier: number;
  workers: number;
}

const job = workerData as AtomicsJob;
const mem = RuntimeMemory.attach(job.share);
const stack = mem.alloc(MAX_CALL_FRAMES * STACK_SIZE, { name: 'stack', kind: 'stack' });
const interp = new Interpreter(decodeProgram(job.program), { mem, helpers: new HelperRegistry(), stack });
const i32 = new Int32Array(mem.u8.buffer);
const b = job.barrier >>> 2;
Atomics.add(i32, b, 1);
while (Atomics.load(i32, b) < job.workers) Atomics.wait(i32, b, Atomics.load(i32, b), 10);
for (let i = 0; i < job.n; i++) interp.run([job.counter]);
parentPort!.postMessage('done');
