// The XDP flow counter of examples/xdp on four worker threads: the main
// thread loads flowcount.o once (maps created, programs verified), makes one
// share per worker with rt.share(), and each worker runs the same program
// with Runtime.attach(share) over its part of the packets, counting into the
// same hash map. The totals are then exactly those of one thread over all
// the packets, which this script checks before printing the table.
//
//   npm run build && node examples/workers/flowcount-workers.mjs [PASSES] [WORKERS]
import { readFileSync } from 'node:fs';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Runtime } from '../../dist/src/runtime/runtime.js';
import { parseCapture } from '../../dist/src/pcap/index.js';

const object = new URL('../xdp/flowcount.o', import.meta.url);
const capture = new URL('../xdp/flows.pcap', import.meta.url);
/** The capture's frames, copied out of the parser's buffer. */
const frames = () => [...parseCapture(readFileSync(capture))].map((p) => p.data.slice());

if (isMainThread) {
  const passes = Number(process.argv[2] ?? 500);
  const workers = Number(process.argv[3] ?? 4);
  const rt = new Runtime({ engine: 'jit', cpus: workers });
  const coll = rt.loadObject(readFileSync(object), { file: 'flowcount.o' });
  const t0 = performance.now();
  const done = [];
  for (let w = 0; w < workers; w++) {
    const worker = new Worker(new URL(import.meta.url), { workerData: { share: rt.share(), worker: w, workers, passes } });
    done.push(new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject)));
  }
  const runs = (await Promise.all(done)).reduce((a, b) => a + b, 0);
  const ms = performance.now() - t0;

  // what one thread would have counted: every flow's single-pass counts times the passes
  const one = new Runtime();
  const single = one.loadObject(readFileSync(object), { file: 'flowcount.o' });
  for (const f of frames()) single.program('flowcount').testRun({ dataIn: f });
  const want = new Map([...single.typedMap('flows').entries()].map((e) => [JSON.stringify(e.key), e.value]));
  let rows = 0;
  for (const { key, value } of coll.typedMap('flows').entries()) {
    const w = want.get(JSON.stringify(key));
    if (w === undefined || BigInt(value.packets) !== BigInt(w.packets) * BigInt(passes) || BigInt(value.bytes) !== BigInt(w.bytes) * BigInt(passes))
      throw new Error(`flow ${JSON.stringify(key)}: ${JSON.stringify(value)}, expected ${passes} x ${JSON.stringify(w)}`);
    console.log(`${JSON.stringify(key)} => ${JSON.stringify(value)}`);
    rows++;
  }
  if (rows !== want.size) throw new Error(`${rows} flows, expected ${want.size}`);
  console.log(`${runs} packets on ${workers} workers in ${ms.toFixed(0)} ms (start-up included); every count is exactly ${passes} x the one-thread count`);
  one.dispose();
  rt.dispose();
} else {
  const { share, worker, workers, passes } = workerData;
  const rt = Runtime.attach(share); // the same maps and the verified program, nothing re-verified
  const prog = rt.programNamed('flowcount');
  const fs = frames();
  let runs = 0;
  // packet i of the repeated capture goes to worker i % workers
  for (let i = worker; i < passes * fs.length; i += workers, runs++) prog.testRun({ dataIn: fs[i % fs.length] });
  rt.dispose();
  parentPort.postMessage(runs);
}
