// The worker side of workers.test.ts: attach to the parent's runtime with
// Runtime.attach (nothing else: no memory, map or JIT plumbing), say ready,
// and on 'go' run the task's program `n` times as this thread's CPU with
// raw_tracepoint arguments (a, b) from the task, then report. Not a test
// file itself (the runner picks *.test.js only).
import { parentPort, workerData } from 'node:worker_threads';
import { Runtime } from '../../src/runtime/runtime.js';
import type { RuntimeShare } from '../../src/runtime/share.js';

export type Task =
  /** Run `prog` with a = this worker's index, b = i; count non-zero returns. */
  | { kind: 'seq'; prog: string }
  /** Run `prog` with a = (i + worker) % mod, b = i % alt. */
  | { kind: 'spread'; prog: string; mod: number; alt: number }
  /** LPM: insert this worker's prefixes from user space, look up through `prog` meanwhile, delete every other one. */
  | { kind: 'lpm'; prog: string; prefixes: number; rounds: number };

export interface WorkerJob {
  share: RuntimeShare;
  worker: number;
  n: number;
  task: Task;
  engine?: string;
}

export interface WorkerResult {
  failures: number;
  /** What the worker saw of the verdict its programs arrived with. */
  verified: boolean;
  cpu: number;
}

const job = workerData as WorkerJob;
const rt = Runtime.attach(job.share, job.engine !== undefined ? { engine: job.engine } : {});

const args = new Uint8Array(16);
const dv = new DataView(args.buffer);
function run(prog: string, a: number, b: number): number {
  dv.setBigUint64(0, BigInt(a), true);
  dv.setBigUint64(8, BigInt(b), true);
  return rt.programNamed(prog).testRun({ ctxIn: args }).retval;
}

/** An lpm_trie key: prefix length, then 4 address bytes, most significant first. */
const lpmKey = (len: number, addr: number): Uint8Array => Uint8Array.of(len, 0, 0, 0, addr >>> 24, (addr >>> 16) & 255, (addr >>> 8) & 255, addr & 255);

function lpm(prog: string, prefixes: number, rounds: number): number {
  const trie = rt.map('trie');
  let failures = 0;
  const net = (w: number, i: number): number => (10 << 24) | (w << 16) | (i << 8);
  const value = (v: number): Uint8Array => new Uint8Array(new BigUint64Array([BigInt(v)]).buffer);
  // churn: every round inserts this worker's /24s and deletes them again, so
  // the four workers take and give back slots and nodes of one trie all the time
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < prefixes; i++) trie.update(lpmKey(24, net(job.worker, i)), value(job.worker * 1000 + i));
    for (let i = 0; i < prefixes; i++) trie.delete(lpmKey(24, net(job.worker, i)));
  }
  // 10.<worker>.<i>.0/24 -> value worker*1000+i; a /16 of this worker exists from the parent
  for (let i = 0; i < prefixes; i++) {
    trie.update(lpmKey(24, net(job.worker, i)), value(job.worker * 1000 + i));
    // the program returns the low word of the longest match for a = address
    if (run(prog, net(job.worker, i) | 7, 0) !== job.worker * 1000 + i) failures++;
    // an address of a /24 another worker may be adding right now matches at least the parent's /16
    const other = (job.worker + 1) % 4;
    const r = run(prog, net(other, i) | 9, 0);
    if (r !== other * 1000 + i && r !== 90000 + other) failures++;
  }
  for (let i = 0; i < prefixes; i += 2) trie.delete(lpmKey(24, net(job.worker, i)));
  for (let i = 0; i < prefixes; i++) {
    const want = i % 2 === 0 ? 90000 + job.worker : job.worker * 1000 + i;
    if (run(prog, net(job.worker, i) | 1, 0) !== want) failures++;
  }
  return failures;
}

parentPort!.postMessage('ready');
parentPort!.once('message', () => {
  let failures = 0;
  const t = job.task;
  if (t.kind === 'seq') for (let i = 0; i < job.n; i++) failures += run(t.prog, job.worker, i) !== 0 ? 1 : 0;
  else if (t.kind === 'spread') for (let i = 0; i < job.n; i++) failures += run(t.prog, (i + job.worker) % t.mod, i % t.alt) !== 0 ? 1 : 0;
  else failures = lpm(t.prog, t.prefixes, t.rounds);
  const verified = rt.programNamed(t.prog).verifierLog !== undefined;
  const cpu = rt.cpu;
  rt.dispose();
  parentPort!.postMessage({ failures, verified, cpu } satisfies WorkerResult);
});
