// scanCaptureSplit (a pcap file filtered in two halves on two threads) must
// give exactly what scanCapture gives on one thread: counts, the -w records
// byte for byte and in order, the same error after the same records. The
// split is forced on small files (minBytes 0, whatever the machine's load),
// at chosen offsets, including a capture whose packet bytes look like pcap
// records, so the second thread's guess of a record boundary is wrong and
// the first thread must notice and finish alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileFilter } from '../../src/cbpf/filter/compile.js';
import { scanCapture } from '../../src/cbpf/scan-capture.js';
import { scanCaptureSplit, type SplitOptions, type SplitResult } from '../../src/cbpf/scan-split.js';
import { findPcapSync } from '../../src/cbpf/scan-sync.js';
import type { PcapRecordSink, ScanResult } from '../../src/cbpf/scan-types.js';
import { CaptureError } from '../../src/pcap/errors.js';
import { MemorySink, PcapWriter, parseCapture } from '../../src/pcap/index.js';
import { FIXTURES } from '../paths.js';

const CAP = join(FIXTURES, 'filter', 'eth-mixed.pcap');
const FORCE = { minBytes: 0, whenIdle: false } as const;
const program = (expr: string) => (linkType: number) => compileFilter(expr, { linkType });

/** A pcapOut collecting the records it is given. */
function recordSink(): PcapRecordSink & { bytes(): Uint8Array } {
  const m = new MemorySink();
  return { snaplen: 262144, write: (r) => m.write(r), bytes: () => m.bytes() };
}

interface Run {
  result?: ScanResult;
  error?: unknown;
  out: Uint8Array;
}

function single(file: string, expr: string): Run {
  const sink = recordSink();
  try {
    return { result: scanCapture(file, program(expr), { pcapOut: sink }), out: sink.bytes() };
  } catch (error) {
    return { error, out: sink.bytes() };
  }
}

async function split(file: string, expr: string, options: SplitOptions): Promise<Run & { result?: SplitResult }> {
  const sink = recordSink();
  try {
    return { result: await scanCaptureSplit(file, program(expr), { pcapOut: sink, split: { ...FORCE, ...options } }), out: sink.bytes() };
  } catch (error) {
    return { error, out: sink.bytes() };
  }
}

function assertSame(a: Run, b: Run, what: string): void {
  assert.deepEqual(b.out, a.out, `${what}: records written`);
  if (a.error !== undefined) {
    assert.ok(b.error instanceof CaptureError, `${what}: ${String(b.error)}`);
    assert.equal((b.error as Error).message, (a.error as Error).message, what);
    return;
  }
  assert.equal(b.error, undefined, `${what}: ${String(b.error)}`);
  assert.equal(b.result!.packets, a.result!.packets, `${what}: packets`);
  assert.equal(b.result!.accepted, a.result!.accepted, `${what}: accepted`);
}

/** Stream offsets of the records of a pcap file. */
function recordOffsets(bytes: Uint8Array): number[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const offs: number[] = [];
  for (let p = 24; p + 16 <= bytes.length; p += 16 + dv.getUint32(p + 8, true)) offs.push(p);
  return offs;
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'tsbpf-split-'));

test('scanCaptureSplit equals scanCapture, split anywhere in a real capture; from the middle the halves join', async () => {
  const size = readFileSync(CAP).length;
  for (const expr of ['tcp', 'udp and not port 53', 'ip6 or arp']) {
    const one = single(CAP, expr);
    for (const at of [24, 1000, Math.floor(size / 3), Math.floor(size / 2), size - 300, size - 1]) {
      const two = await split(CAP, expr, { at });
      assertSame(one, two, `'${expr}' split at ${at}`);
      if (at === Math.floor(size / 2)) assert.equal(two.result!.split, 'joined', `'${expr}' split at ${at}`);
    }
  }
});

test('a libpcap program (protochain jumps backward) runs on the second thread too', async () => {
  const chain = join(FIXTURES, 'filter', 'eth-chain.pcap');
  const size = readFileSync(chain).length;
  for (const expr of ['ip6 protochain 17', 'protochain 6 or udp']) {
    const one = single(chain, expr);
    assert.ok(one.result !== undefined && one.result.accepted > 0, `'${expr}' selects something: ${String(one.error)}`);
    const two = await split(chain, expr, { at: Math.floor(size / 2) });
    assertSame(one, two, `'${expr}'`);
    assert.equal(two.result!.split, 'joined');
  }
});

test('findPcapSync: from every offset of a real capture, the first real record boundary at or after it', () => {
  const bytes = new Uint8Array(readFileSync(CAP));
  const offs = recordOffsets(bytes);
  const opts = { bigEndian: false, nanosecond: false, maxCaplen: 262144, firstSec: new DataView(bytes.buffer).getUint32(24, true), atEof: true };
  for (let from = 24; from < bytes.length; from++) {
    const q = findPcapSync(bytes.subarray(from), opts);
    const next = offs.find((o) => o >= from);
    assert.equal(q < 0 ? -1 : from + q, next ?? -1, `from ${from}`);
  }
  // Bytes that cannot be record headers (fraction 0xffffffff), and too short a chain without EOF.
  assert.equal(findPcapSync(new Uint8Array(4096).fill(0xff), opts), -1);
  assert.equal(findPcapSync(bytes.subarray(offs.at(-3)!), { ...opts, atEof: false }), -1);
});

/** Ethernet frames: the capture's own packets, then `big` (one packet) and more of them. */
function craft(big: Uint8Array, before: number, after: number): { file: string; dir: string; bigData: number } {
  const templates = [...parseCapture(new Uint8Array(readFileSync(CAP)), { copy: true })];
  const dir = tmp();
  const file = join(dir, 'crafted.pcap');
  const sink = new MemorySink();
  const w = new PcapWriter(sink, { linkType: 1, snaplen: 262144 });
  let sec = 1_700_000_000;
  let bigData = 24;
  const put = (data: Uint8Array): void => {
    w.write({ data, wireLen: data.length, tsSec: sec++, tsNsec: 0 });
  };
  for (let i = 0; i < before; i++) {
    put(templates[i % templates.length]!.data);
    bigData += 16 + templates[i % templates.length]!.data.length;
  }
  bigData += 16;
  put(big);
  for (let i = 0; i < after; i++) put(templates[(before + i) % templates.length]!.data);
  w.close();
  writeFileSync(file, sink.bytes());
  return { file, dir, bigData };
}

/** `count` plausible pcap records (little-endian, microseconds) of `len` bytes each, as packet bytes. */
function fakeRecords(count: number, len: number): Uint8Array {
  const out = new Uint8Array(count * (16 + len));
  const dv = new DataView(out.buffer);
  for (let i = 0; i < count; i++) {
    const p = i * (16 + len);
    dv.setUint32(p, 1_700_000_050 + i, true);
    dv.setUint32(p + 4, 1000 * i, true);
    dv.setUint32(p + 8, len, true);
    dv.setUint32(p + 12, len, true);
  }
  return out;
}

test('a false sync (packet bytes that look like records) is noticed: one thread finishes, the result is exact', async () => {
  // A packet of 0xff bytes (no record header fits there: the fraction
  // would be out of range) holding 40 fake records.
  const fakes = fakeRecords(40, 24);
  const big = new Uint8Array(200 + fakes.length + 300).fill(0xff);
  big.set(fakes, 200);
  const { file, dir, bigData } = craft(big, 60, 60);
  try {
    for (const expr of ['tcp', 'ip or ip6', 'greater 1000']) {
      const one = single(file, expr);
      // The second thread starts inside the 0xff bytes before the fake records.
      const two = await split(file, expr, { at: bigData + 50 });
      assertSame(one, two, `'${expr}'`);
      assert.equal(two.result!.split, 'false-sync', `'${expr}'`);
      // And from the middle of the records after it: joined.
      const three = await split(file, expr, { at: bigData + big.length + 500 });
      assertSame(one, three, `'${expr}' after the big packet`);
      assert.equal(three.result!.split, 'joined');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('no record boundary after the split point: one thread does everything', async () => {
  const big = new Uint8Array(20000).fill(0xff);
  const { file, dir, bigData } = craft(big, 80, 0);
  try {
    const one = single(file, 'tcp or greater 10000');
    const two = await split(file, 'tcp or greater 10000', { at: bigData + 100 });
    assertSame(one, two, 'no sync');
    assert.equal(two.result!.split, 'no-sync');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an error in the second half comes after the same records as on one thread', async () => {
  const dir = tmp();
  try {
    const bytes = new Uint8Array(readFileSync(CAP));
    const offs = recordOffsets(bytes);
    const dv = new DataView(bytes.buffer);
    // A timestamp fraction out of range, well after the split point.
    const k = Math.floor(offs.length * 0.8);
    dv.setUint32(offs[k]! + 4, 2_000_000, true);
    const bad = join(dir, 'bad-time.pcap');
    writeFileSync(bad, bytes);
    // And a truncated file: the last record cut short.
    const cut = join(dir, 'truncated.pcap');
    writeFileSync(cut, readFileSync(CAP).subarray(0, offs.at(-1)! + 20));
    for (const file of [bad, cut]) {
      const one = single(file, 'ip');
      assert.ok(one.error instanceof CaptureError);
      const two = await split(file, 'ip', { at: Math.floor(bytes.length / 2) });
      assertSame(one, two, file);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the second half\'s records beyond the memory cap go through a spill file, which is removed', async () => {
  const dir = tmp();
  try {
    const size = readFileSync(CAP).length;
    for (const memoryCap of [0, 64, 5000]) {
      const one = single(CAP, 'ip or ip6 or arp');
      const two = await split(CAP, 'ip or ip6 or arp', { at: Math.floor(size / 2), memoryCap, spillDir: dir });
      assertSame(one, two, `cap ${memoryCap}`);
      assert.equal(two.result!.split, 'joined');
      assert.deepEqual(readdirSync(dir), [], 'no spill file left');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('not split: callbacks per packet, pcapng, small files by default; progress counts both halves', async () => {
  const accepted: number[] = [];
  const r = await scanCaptureSplit(CAP, program('tcp'), { onAccept: (p) => void accepted.push(p.index), split: FORCE });
  assert.equal(r.split, 'not-split');
  assert.equal(accepted.length, r.accepted);
  assert.equal((await scanCaptureSplit(CAP, program('tcp'))).split, 'not-split');
  const ng = join(FIXTURES, 'pcap', 'lo-ns.pcapng');
  assert.equal((await scanCaptureSplit(ng, program('udp'), { split: FORCE })).split, 'not-split');
  const progress: number[] = [];
  const size = readFileSync(CAP).length;
  const s = await scanCaptureSplit(CAP, program('tcp'), { bufferSize: 4096, onProgress: (p) => progress.push(p), split: { ...FORCE, at: Math.floor(size / 2) } });
  assert.equal(s.split, 'joined');
  assert.equal(progress.at(-1), s.packets);
  assert.ok(progress.every((p, i) => i === 0 || p >= progress[i - 1]!), `progress never goes back: ${progress.join(' ')}`);
});

test('a worker that cannot start says so at once: one thread does everything, without waiting out the timeout', async () => {
  const size = readFileSync(CAP).length;
  const one = single(CAP, 'tcp');
  const t0 = performance.now();
  // A long timeout, so waiting it out would show (a hang detector, not a speed test).
  const two = await split(CAP, 'tcp', { at: Math.floor(size / 2), syncTimeoutMs: 60_000, workerEntry: { url: 'file:///nonexistent/tsbpf-scan-worker.js', call: 'scanWorkerMain()' } });
  assertSame(one, two, 'failed worker');
  assert.equal(two.result!.split, 'no-sync');
  assert.ok(performance.now() - t0 < 30_000, 'the first thread waited for a worker that had failed');
});

test('without a split point the second thread takes half of what is left when it is ready: exact whatever the timing', async () => {
  // ~6 MB of the capture's packets, read in 64 KiB steps, so the first thread is still reading when the second starts.
  const templates = [...parseCapture(new Uint8Array(readFileSync(CAP)), { copy: true })];
  const dir = tmp();
  try {
    const file = join(dir, 'repeated.pcap');
    const sink = new MemorySink();
    const w = new PcapWriter(sink, { linkType: 1, snaplen: 262144 });
    for (let i = 0; i < 30_000; i++) w.write({ data: templates[i % templates.length]!.data, tsSec: 1_700_000_000 + (i >> 10), tsNsec: (i & 1023) * 1000 });
    w.close();
    writeFileSync(file, sink.bytes());
    const states = new Set<string>();
    for (const expr of ['tcp port 80', 'udp']) {
      const one = single(file, expr);
      const two = await split(file, expr, { minLeft: 1 << 20 });
      assertSame(one, two, `'${expr}'`);
      states.add(two.result!.split);
    }
    // Which of these happened depends on the machine's load; each is exact.
    for (const s of states) assert.ok(['joined', 'no-sync'].includes(s), s);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
