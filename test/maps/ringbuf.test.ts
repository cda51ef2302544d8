import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newTable, errnoOf } from './util.js';
import { EINVAL } from '../../src/maps/errno.js';
import { RingBufMap, BPF_RINGBUF_BUSY_BIT, BPF_RB_AVAIL_DATA, BPF_RB_RING_SIZE, BPF_RB_PROD_POS } from '../../src/maps/ringbuf.js';

function ring(size = 4096): { rb: RingBufMap; src: number; t: ReturnType<typeof newTable> } {
  const t = newTable();
  const rb = t.create({ name: 'rb', type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: size }) as RingBufMap;
  const src = t.mem.alloc(4096, { name: 'src' }).start;
  for (let i = 0; i < 4096; i++) t.mem.u8[src + i] = i & 255;
  return { rb, src, t };
}

test('ringbuf: size must be a power of two multiple of the page; key/value sizes 0', () => {
  const t = newTable();
  assert.equal(errnoOf(() => t.create({ name: 'r', type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 6000 })), EINVAL);
  assert.equal(errnoOf(() => t.create({ name: 'r', type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 2048 })), EINVAL);
  assert.equal(errnoOf(() => t.create({ name: 'r', type: 'ringbuf', keySize: 4, valueSize: 0, maxEntries: 4096 })), EINVAL);
});

test('ringbuf: kernel record layout; the consumer stops at a busy record and skips discarded ones', () => {
  const { rb, t } = ring();
  const a = rb.reserve(5, 0);
  const b = rb.reserve(3, 0);
  assert.equal(b - a, 16, 'records are 8-byte headers plus samples padded to 8');
  const dv = t.mem.dv;
  assert.equal(dv.getUint32(a - 8, true), (5 | BPF_RINGBUF_BUSY_BIT) >>> 0);
  t.mem.u8.set([1, 2, 3], b);
  rb.commit(b, false, 0);
  assert.equal(rb.poll(), 0, 'the first record is still busy');
  rb.commit(a, true, 0);
  const got: Uint8Array[] = [];
  assert.equal(rb.poll((s) => got.push(s)), 1);
  assert.deepEqual(got, [new Uint8Array([1, 2, 3])]);
  assert.equal(rb.query(BPF_RB_AVAIL_DATA), 0);
  assert.equal(rb.query(BPF_RB_RING_SIZE), 4096);
  assert.equal(rb.query(BPF_RB_PROD_POS), 32);
  assert.equal(rb.reserve(1, 1), 0, 'flags must be 0');
});

test('ringbuf: full buffer fails with -EAGAIN and counts drops; records wrap around the end intact', () => {
  const { rb, src } = ring();
  let ok = 0;
  while (rb.output(src, 1000, 0) === 0) ok++;
  assert.equal(ok, 4, '4 records of 1008 bytes fit in 4096');
  assert.equal(rb.output(src, 1000, 0), -11);
  assert.equal(rb.dropped, 2);
  assert.equal(rb.output(src, 1, 4), -EINVAL);
  assert.equal(rb.poll(), 4);
  // the producer is at 4032: a 200-byte record now spans the end of the data area
  const got: Uint8Array[] = [];
  assert.equal(rb.output(src + 7, 200, 0), 0);
  rb.poll((s) => got.push(s));
  assert.equal(got.length, 1);
  assert.deepEqual([...got[0]!], Array.from({ length: 200 }, (_, i) => (i + 7) & 255));
  assert.equal(rb.reserve(5000, 0), 0, 'larger than the ring');
});

test('ringbuf: async iterator wakes on submit', async () => {
  const { rb, src } = ring();
  const ac = new AbortController();
  const seen: number[] = [];
  const reader = (async () => {
    for await (const s of rb.records(ac.signal)) {
      seen.push(s.length);
      if (seen.length === 2) ac.abort();
    }
  })();
  await new Promise((r) => setTimeout(r, 5));
  rb.output(src, 10, 0);
  await new Promise((r) => setTimeout(r, 5));
  rb.output(src, 20, 0);
  await reader;
  assert.deepEqual(seen, [10, 20]);
});
