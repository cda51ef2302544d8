// Runtime.share / Runtime.attach with real worker threads: four workers
// attach to one runtime and run its (verified) programs at once on each map
// type that used to stay in one thread: ringbuf (many producers, the
// consumer in the parent), perf_event_array (a worker is a CPU), prog_array
// (tail calls, to a program loaded after the workers attached),
// array_of_maps (inner maps created after they attached) and lpm_trie. Each
// test checks the exact final state: nothing lost (or every loss counted),
// nothing torn. Misuse (a share attached twice, a map closed by its creator,
// maps a worker would have to create) gives typed errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Runtime } from '../../src/runtime/runtime.js';
import { LoadError, ShareError } from '../../src/runtime/errors.js';
import type { RingBufMap } from '../../src/maps/ringbuf.js';
import type { PerfEventArrayMap, PerfRecord } from '../../src/maps/perf-event-array.js';
import type { MapSpec } from '../../src/elf/spec.js';
import { counterAsm, mapSpec, objectSpec, type TestMap, type TestProgram } from './spec-builder.js';
import type { Task, WorkerJob, WorkerResult } from './workers-worker.js';

const WORKERS = 4;
const NO_PREALLOC = 1;

const MAPS: TestMap[] = [
  { name: 'counts', type: 'array', keySize: 4, valueSize: 8, maxEntries: 8, pinning: 1 },
  { name: 'rb', type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 16384 }, // 512 records: it wraps many times
  { name: 'events', type: 'perf_event_array', keySize: 4, valueSize: 4, maxEntries: 0 },
  { name: 'jumps', type: 'prog_array', keySize: 4, valueSize: 4, maxEntries: 4, pinning: 1, initValues: [{ index: 0, program: 'count' }] },
  { name: 'trie', type: 'lpm_trie', keySize: 8, valueSize: 8, maxEntries: 2048, flags: NO_PREALLOC },
];
const INNER: TestMap = { name: 'inner', type: 'array', keySize: 4, valueSize: 8, maxEntries: 1 };
const OUTER: MapSpec = { ...mapSpec({ name: 'outer', type: 'array_of_maps', keySize: 4, valueSize: 4, maxEntries: 4 }), innerMap: mapSpec(INNER) };

/** raw_tracepoint programs: ctx is u64 args, a = args[0], b = args[1]. */
const PROGRAMS: TestProgram[] = [
  // reserve 24 bytes, write a, b, b, submit: returns 0, or 1 when the ring is full
  { name: 'rb_out', type: 'raw_tracepoint', maps: [[1, 1]], asm: `r6 = r1
      r1 = 0 ll
      r2 = 24
      r3 = 0
      call 131
      if r0 == 0 goto full
      r1 = *(u64 *)(r6 + 0)
      *(u64 *)(r0 + 0) = r1
      r1 = *(u64 *)(r6 + 8)
      *(u64 *)(r0 + 8) = r1
      *(u64 *)(r0 + 16) = r1
      r1 = r0
      r2 = 0
      call 132
      r0 = 0
      exit
    full:
      r0 = 0
      exit` },
  // perf_event_output(ctx, events, BPF_F_CURRENT_CPU, {a, b}, 16)
  { name: 'perf_out', type: 'raw_tracepoint', maps: [[4, 2]], asm: `r2 = *(u64 *)(r1 + 0)
      *(u64 *)(r10 - 16) = r2
      r2 = *(u64 *)(r1 + 8)
      *(u64 *)(r10 - 8) = r2
      r2 = 0 ll
      r3 = 0xffffffff ll
      r4 = r10
      r4 += -16
      r5 = 16
      call 25
      r0 = 0
      exit` },
  // counts[a] += 1 (atomic)
  { name: 'count', type: 'raw_tracepoint', maps: [[2, 0]], asm: counterAsm('r2 = *(u64 *)(r1 + 0)') },
  // tail call jumps[b]; 2 when the slot is empty
  { name: 'entry', type: 'raw_tracepoint', maps: [[0, 3]], asm: `r2 = 0 ll
      r3 = *(u64 *)(r1 + 8)
      call 12
      r0 = 2
      exit` },
  // the longest prefix of address a: the low word of its value, or 0
  { name: 'lpm_get', type: 'raw_tracepoint', maps: [[5, 4]], asm: `r2 = *(u64 *)(r1 + 0)
      r2 = be32 r2
      *(u32 *)(r10 - 4) = r2
      r2 = 32
      *(u32 *)(r10 - 8) = r2
      r1 = 0 ll
      r2 = r10
      r2 += -8
      call 1
      if r0 == 0 goto miss
      r0 = *(u32 *)(r0 + 0)
      exit
    miss:
      r0 = 0
      exit` },
];

/** outer[a] is an array; its element 0 += 1 (atomic); 1 when a slot or element is missing. */
const INNER_COUNT: TestProgram = { name: 'inner_count', type: 'raw_tracepoint', maps: [[3, 5]], asm: `r6 = r1
    r2 = *(u64 *)(r6 + 0)
    *(u32 *)(r10 - 4) = r2
    r1 = 0 ll
    r2 = r10
    r2 += -4
    call 1
    if r0 == 0 goto miss
    r1 = r0
    r2 = 0
    *(u32 *)(r10 - 8) = r2
    r2 = r10
    r2 += -8
    call 1
    if r0 == 0 goto miss
    r1 = 1
    lock *(u64 *)(r0 + 0) += r1
    r0 = 0
    exit
  miss:
    r0 = 1
    exit` };

/** counts[a + 4] += 1: loaded after the workers attached, reached by their tail calls. */
const COUNT_LATE: TestProgram = { name: 'count_late', type: 'raw_tracepoint', maps: [[3, 0]], asm: counterAsm('r2 = *(u64 *)(r1 + 0)\n    r2 += 4') };

const u32 = (v: number): Uint8Array => Uint8Array.of(v, v >>> 8, v >>> 16, v >>> 24);
const u64 = (b: Uint8Array | undefined, at = 0): number => Number(new DataView(b!.buffer, b!.byteOffset).getBigUint64(at, true));
const lpmKey = (len: number, addr: number): Uint8Array => Uint8Array.of(len, 0, 0, 0, addr >>> 24, (addr >>> 16) & 255, (addr >>> 8) & 255, addr & 255);
const u64le = (v: number): Uint8Array => new Uint8Array(new BigUint64Array([BigInt(v)]).buffer);

function parentRuntime(): { rt: Runtime } {
  const rt = new Runtime({ cpus: WORKERS, engine: 'jit' });
  const spec = objectSpec([...PROGRAMS, INNER_COUNT], MAPS, 'workers.o');
  rt.loadObject({ ...spec, maps: [...spec.maps, OUTER] });
  return { rt };
}

interface Crew {
  /** Start the workers' loops at once; resolves with their results. */
  go(): Promise<WorkerResult[]>;
}

/** Start WORKERS workers attached to `rt`, each with `task`; resolves when all of them have attached. */
async function crew(rt: Runtime, task: Task, n: number, engine?: string): Promise<Crew> {
  const workers: Worker[] = [];
  const results: Promise<WorkerResult>[] = [];
  const ready: Promise<void>[] = [];
  for (let w = 0; w < WORKERS; w++) {
    const job: WorkerJob = { share: rt.share(), worker: w, n, task, ...(engine ? { engine } : {}) };
    const worker = new Worker(new URL('./workers-worker.js', import.meta.url), { workerData: job });
    workers.push(worker);
    let first = true;
    ready.push(new Promise((resolve, reject) => {
      worker.once('error', reject);
      results.push(new Promise((res, rej) => {
        worker.on('message', (m: 'ready' | WorkerResult) => {
          if (first) {
            first = false;
            resolve();
          } else res(m as WorkerResult);
        });
        worker.once('error', rej);
      }));
      results[results.length - 1]!.catch(() => undefined); // awaited in go(); a worker that fails before it is ready rejects `ready` instead
    }));
  }
  await Promise.all(ready);
  return {
    go: async () => {
      for (const w of workers) w.postMessage('go');
      try {
        return await Promise.all(results);
      } finally {
        await Promise.all(workers.map((w) => w.terminate()));
      }
    },
  };
}

test('ringbuf: four workers produce, the parent consumes as they go; every record arrives whole and in order or is counted as dropped', { timeout: 60_000 }, async () => {
  const { rt } = parentRuntime();
  const rb = rt.map('rb') as RingBufMap;
  const N = 3000;
  const c = await crew(rt, { kind: 'seq', prog: 'rb_out' }, N);
  const got: Uint8Array[] = [];
  const ac = new AbortController();
  const consumer = (async () => {
    for await (const s of rb.records(ac.signal)) got.push(s);
  })();
  const res = await c.go();
  rb.poll((s) => got.push(s));
  ac.abort();
  await consumer;
  assert.deepEqual(res.map((r) => r.failures), [0, 0, 0, 0]);
  assert.ok(res.every((r) => r.verified), 'the programs arrived with their verdict');
  const last = [-1, -1, -1, -1];
  for (const s of got) {
    assert.equal(s.length, 24);
    const w = u64(s, 0);
    const seq = u64(s, 8);
    assert.ok(w < WORKERS, `worker field ${w}`);
    assert.equal(u64(s, 16), seq, 'a record is never torn');
    assert.ok(seq > last[w]!, `worker ${w}: ${seq} after ${last[w]}`);
    last[w] = seq;
  }
  assert.equal(got.length + rb.dropped, WORKERS * N, `${got.length} received + ${rb.dropped} dropped`);
  assert.ok(got.length >= 512, `at least a ring's worth arrives (${got.length})`);
  assert.equal(rb.producerPos, rb.consumerPos, 'nothing left reserved or unread');
  rt.dispose();
});

test('perf_event_array: each worker is a CPU writing to its own ring, opened after it attached; the parent reads them all', { timeout: 60_000 }, async () => {
  const { rt } = parentRuntime();
  const events = rt.map('events') as PerfEventArrayMap;
  const N = 3000;
  const c = await crew(rt, { kind: 'seq', prog: 'perf_out' }, N);
  events.openAll(8192); // room for 256 records per CPU: the reader has to keep up, or losses are counted
  const recs: PerfRecord[] = [];
  const ac = new AbortController();
  const reader = (async () => {
    for await (const r of events.events(ac.signal)) recs.push(r);
  })();
  const res = await c.go();
  recs.push(...events.read());
  ac.abort();
  await reader;
  assert.deepEqual(res.map((r) => r.failures), [0, 0, 0, 0]);
  const cpuOf = new Map(res.map((r, w) => [w, r.cpu]));
  assert.deepEqual([...cpuOf.values()].sort(), [0, 1, 2, 3], 'four workers, four CPUs');
  const seen = [0, 0, 0, 0];
  const lost = [0, 0, 0, 0];
  const last = [-1, -1, -1, -1];
  for (const r of recs) {
    if (r.lost !== undefined) {
      lost[r.cpu]! += r.lost;
      continue;
    }
    const w = u64(r.data, 0);
    assert.equal(cpuOf.get(w), r.cpu, `worker ${w}'s samples are on its CPU's ring`);
    const seq = u64(r.data, 8);
    assert.ok(seq > last[w]!, `worker ${w}: ${seq} after ${last[w]}`);
    last[w] = seq;
    seen[r.cpu]!++;
  }
  for (let cpu = 0; cpu < WORKERS; cpu++) {
    assert.equal(seen[cpu]! + lost[cpu]!, N, `cpu ${cpu}: ${seen[cpu]} read + ${lost[cpu]} lost`);
    assert.equal(events.lost(cpu), lost[cpu]);
  }
  rt.dispose();
});

test('prog_array: workers tail-call programs by slot, one of them loaded in the parent after they attached', { timeout: 60_000 }, async () => {
  const { rt } = parentRuntime();
  const N = 2000;
  const c = await crew(rt, { kind: 'spread', prog: 'entry', mod: 1, alt: 2 }, N, 'jit-verified');
  // a second object after the workers attached: its maps are the pinned ones, its program goes into slot 1
  const late = rt.loadObject(objectSpec([COUNT_LATE], [MAPS[0]!]), {});
  rt.map('jumps').update(u32(1), u32(late.program('count_late').id));
  const res = await c.go();
  // each worker ran a = (i + w) % 1 = 0 and b = i % 2: half through slot 0 (count), half through slot 1 (count_late)
  assert.deepEqual(res.map((r) => r.failures), [0, 0, 0, 0]);
  const counts = rt.map('counts');
  assert.equal(u64(counts.lookup(u32(0))), WORKERS * N / 2, 'counts[0] via slot 0');
  assert.equal(u64(counts.lookup(u32(4))), WORKERS * N / 2, 'counts[4] via the late program in slot 1');
  rt.dispose();
});

test('array_of_maps: inner maps created after the workers attached are found through the outer map', { timeout: 60_000 }, async () => {
  const { rt } = parentRuntime();
  const N = 2000;
  const c = await crew(rt, { kind: 'spread', prog: 'inner_count', mod: 4, alt: 1 }, N);
  const inners = [0, 1, 2, 3].map((i) => rt.maps.create({ ...mapSpec(INNER), name: `inner${i}` }));
  inners.forEach((m, i) => rt.map('outer').update(u32(i), u32(m.id)));
  const res = await c.go();
  assert.deepEqual(res.map((r) => r.failures), [0, 0, 0, 0]);
  // worker w ran a = (i + w) % 4: each inner map got N / 4 from each of the four
  for (const m of inners) assert.equal(u64(m.lookup(u32(0))), N, m.name);
  rt.dispose();
});

test('lpm_trie: workers insert and delete prefixes from user space while their programs look up; the final trie is exact', { timeout: 60_000 }, async () => {
  const { rt } = parentRuntime();
  const trie = rt.map('trie');
  for (let w = 0; w < WORKERS; w++) trie.update(lpmKey(16, (10 << 24) | (w << 16)), u64le(90000 + w));
  const P = 200;
  const c = await crew(rt, { kind: 'lpm', prog: 'lpm_get', prefixes: P, rounds: 40 }, 0);
  const res = await c.go();
  assert.deepEqual(res.map((r) => r.failures), [0, 0, 0, 0]);
  const want = new Map<string, number>();
  for (let w = 0; w < WORKERS; w++) {
    want.set(lpmKey(16, (10 << 24) | (w << 16)).join(','), 90000 + w);
    for (let i = 1; i < P; i += 2) want.set(lpmKey(24, (10 << 24) | (w << 16) | (i << 8)).join(','), w * 1000 + i);
  }
  const have = new Map([...trie.entries()].map(([key, value]) => [key.join(','), u64(value)]));
  assert.deepEqual(have, want);
  rt.dispose();
});

test('misuse: a share attached twice, a map its creator closed, maps a worker would create, shares from a worker', () => {
  const { rt } = parentRuntime();
  const share = rt.share();
  const a = Runtime.attach(share);
  assert.throws(() => Runtime.attach(share), ShareError);
  assert.throws(() => a.share(), ShareError);
  assert.equal(a.map('counts').id, rt.map('counts').id, 'the same map by name and id');
  assert.equal(a.programNamed('count').id, rt.programNamed('count').id);
  // a map the creator makes and closes before the attached runtime looks at it
  const gone = rt.maps.create({ name: 'gone', type: 'hash', keySize: 4, valueSize: 4, maxEntries: 4 });
  rt.maps.close(gone);
  assert.throws(() => a.map('gone'), (e: unknown) => e instanceof ShareError && /closed by the runtime that created it/.test(e.message));
  // an object whose map the parent does not have
  assert.throws(() => a.loadObject(objectSpec([PROGRAMS[2]!], [{ ...MAPS[0]!, name: 'elsewhere' }])), (e: unknown) => e instanceof LoadError && e.cause instanceof ShareError);
  // the same definition binds to the shared map; the program loaded here gets a runtime-wide id the parent learns
  const coll = a.loadObject(objectSpec([{ ...PROGRAMS[2]!, name: 'count_here' }], [MAPS[0]!]));
  const id = coll.program('count_here').id;
  assert.equal(rt.program(id)?.name, 'count_here');
  a.dispose();
  rt.dispose();
});

test('examples/workers: the flow counter on two workers counts exactly what one thread counts', { timeout: 60_000 }, () => {
  const script = fileURLToPath(new URL('../../../examples/workers/flowcount-workers.mjs', import.meta.url));
  // the script checks every flow against a one-thread run itself and exits non-zero on a difference
  const out = execFileSync(process.execPath, [script, '20', '2'], { encoding: 'utf8' });
  assert.match(out, /380 packets on 2 workers .* every count is exactly 20 x the one-thread count/);
});
