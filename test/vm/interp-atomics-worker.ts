// The worker side of interp-atomics.test.ts: attaches to the parent's memory
// and runs an atomics program `n` times on the interpreter. Not a test file
// itself (the runner picks *.test.js only).
import { parentPort, workerData } from 'node:worker_threads';
import { RuntimeMemory, type MemoryShare } from '../../src/vm/memory.js';
import { Interpreter } from '../../src/vm/interpreter.js';
import { HelperRegistry } from '../../src/helpers/registry.js';
import { decodeProgram } from '../../src/isa/decode.js';
import { MAX_CALL_FRAMES, STACK_SIZE } from '../../src/isa/fields.js';
import { startTogether } from '../worker-env.js';

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
startTogether(mem, job.barrier, job.workers);
for (let i = 0; i < job.n; i++) interp.run([job.counter]);
parentPort!.postMessage('done');
