// The worker side of shared-types.test.ts: attach to the parent's memory and
// maps at the map level (test/worker-env.ts: RuntimeMemory.attach +
// MapTable.attach, no Runtime), then produce into a ring buffer or a perf
// ring, or churn an LPM trie, from user space, all workers at once. Not a
// test file itself.
import { parentPort, workerData } from 'node:worker_threads';
import type { MemoryShare } from '../../src/vm/memory.js';
import type { MapHandle } from '../../src/maps/base.js';
import type { RingBufMap } from '../../src/maps/ringbuf.js';
import type { PerfEventArrayMap } from '../../src/maps/perf-event-array.js';
import { attachWorker, startTogether } from '../worker-env.js';

export interface TypesJob {
  share: MemoryShare;
  handles: MapHandle[];
  cpus: number;
  cpu: number;
  /** lpm-mixed: even CPUs churn next to stable prefixes, odd CPUs look the stable ones up. */
  kind: 'ringbuf' | 'perf' | 'perf-one' | 'lpm' | 'lpm-mixed';
  /** Which worker this is (the CPU of 'perf-one' workers is 0 for all of them). */
  worker: number;
  n: number;
  barrier: number;
  workers: number;
}

const job = workerData as TypesJob;
const { mem, maps, vm } = attachWorker(job.share, job.handles, job.cpus, job.cpu);
const src = mem.alloc(16, { name: 'sample' }).start;
const lpmKey = (len: number, addr: number): Uint8Array => Uint8Array.of(len, 0, 0, 0, addr >>> 24, (addr >>> 16) & 255, (addr >>> 8) & 255, addr & 255);
startTogether(mem, job.barrier, job.workers);
let failures = 0;
if (job.kind === 'lpm') {
  const trie = maps.byName('trie')!;
  // every round takes and gives back this worker's slots and nodes; the last keeps the odd ones
  for (let r = 0; r < job.n; r++) {
    for (let i = 0; i < 64; i++) trie.update(lpmKey(24, (10 << 24) | (job.cpu << 16) | (i << 8)), Uint8Array.of(job.cpu, i, 0, 0));
    for (let i = r + 1 === job.n ? 0 : 1; i < 64; i += r + 1 === job.n ? 2 : 1) trie.delete(lpmKey(24, (10 << 24) | (job.cpu << 16) | (i << 8)));
    if (r + 1 < job.n) trie.delete(lpmKey(24, (10 << 24) | (job.cpu << 16)));
  }
} else if (job.kind === 'lpm-mixed') {
  const trie = maps.byName('trie')!;
  const net = (w: number, s: number): number => (10 << 24) | (w << 16) | (s << 8);
  if (job.cpu % 2 === 0) {
    // more specific prefixes under the stable /24s and new /24s beside them:
    // nodes are linked in, joined and pruned around the stable ones all the time
    for (let r = 0; r < job.n; r++) {
      for (let s = 0; s < 16; s++) trie.update(lpmKey(25, net(job.cpu, s) | 128), Uint8Array.of(9, 9, 9, 9));
      for (let x = 16; x < 48; x++) trie.update(lpmKey(24, net(job.cpu, x)), Uint8Array.of(8, 8, 8, 8));
      for (let s = 0; s < 16; s++) trie.delete(lpmKey(25, net(job.cpu, s) | 128));
      for (let x = 16; x < 48; x++) trie.delete(lpmKey(24, net(job.cpu, x)));
    }
  } else {
    // the lower half of each stable /24 matches only that /24, whatever happens around it
    for (let r = 0; r < job.n * 8; r++) {
      const w = (r >> 4) % 2 === 0 ? 0 : 2;
      const s = r & 15;
      const v = trie.lookup(lpmKey(32, net(w, s) | 1));
      if (v === undefined || v[0] !== 0x50 || v[1] !== w || v[2] !== s) failures++;
    }
  }
} else {
  const rb = maps.byName(job.kind === 'ringbuf' ? 'rb' : 'events')!;
  for (let i = 0; i < job.n; i++) {
    mem.dv.setUint32(src, job.worker, true);
    mem.dv.setUint32(src + 4, i, true);
    mem.dv.setUint32(src + 8, i ^ 0x5a5a5a5a, true);
    mem.dv.setUint32(src + 12, job.worker, true);
    const r = job.kind === 'ringbuf' ? (rb as RingBufMap).output(src, 16, 0) : (rb as PerfEventArrayMap).output(job.cpu, job.cpu, src, 16);
    if (r !== 0 && r !== -11 && r !== -28) failures++; // full (EAGAIN, ENOSPC) is counted by the map
  }
}
for (const m of maps.list()) maps.close(m);
vm.dispose();
parentPort!.postMessage(failures);
