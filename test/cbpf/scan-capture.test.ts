// scanCapture (the batched, zero-copy path over a capture file) must give
// the same answers as running ClassicFilter packet by packet, for every
// engine, batch size and buffer size, including pcapng files that switch
// link types between packets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ClassicFilter } from '../../src/cbpf/classic-filter.js';
import { assembleClassic } from '../../src/cbpf/asm.js';
import { scanCapture, type AcceptedPacket } from '../../src/cbpf/scan-capture.js';
import type { ClassicInsn } from '../../src/cbpf/insn.js';
import { linkTypeInfo } from '../../src/pcap/linktype.js';
import { readCaptureSync } from '../../src/pcap/reader.js';
import { engineNames } from '../../src/vm/engines.js';
import { FIXTURES } from '../paths.js';
import { CaptureError } from '../../src/pcap/errors.js';
import { MemorySink, PcapWriter, PcapngWriter, fileSink } from '../../src/pcap/writer.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';

const DIR = join(FIXTURES, 'pcap');

// Accept UDP (IPv4 or IPv6 next header 17) on Ethernet or Linux cooked v1,
// returning a length that depends on the packet, so results are checked, not just counts.
const PROG = assembleClassic(`
        ld #hatype
        jeq #1, ok, drop        ; Ethernet-like devices only
  ok:   ld #len
        jgt #100, big, small
  big:  ldb [23]
        jeq #17, hit, v6
  v6:   ldb [20]
        jeq #17, hit, drop
  small: ldh [12]
        jeq #0x86dd, hit, drop
  hit:  ld #len
        sub #1
        ret a
  drop: ret #0
`);

function perPacket(file: string, prog: readonly ClassicInsn[], engine: string): string[] {
  const filters = new Map<number, ClassicFilter>();
  const out: string[] = [];
  for (const p of readCaptureSync(file)) {
    let f = filters.get(p.linkType);
    if (!f) {
      const info = linkTypeInfo(p.linkType);
      f = new ClassicFilter(prog, { engine, ...(info && { hatype: info.hatype }) });
      filters.set(p.linkType, f);
    }
    const r = f.run(p.data, p.wireLen);
    if (r !== 0) out.push(`${p.tsSec}.${p.tsNsec} ${p.linkType} ${r} ${createHash('md5').update(p.data).digest('hex')}`);
  }
  return out;
}

for (const engine of engineNames()) {
  test(`scanCapture on '${engine}' equals per-packet runs, any batch and buffer size`, () => {
    let nonEmpty = 0;
    const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-scan-'));
    // a big-endian nanosecond copy of lo-ns.pcap, for the driver's byte swaps
    const be = join(tmp, 'be.pcap');
    const w = new PcapWriter(fileSink(be), { linkType: 1, bigEndian: true, nanosecond: true });
    for (const p of readCaptureSync(join(DIR, 'lo-ns.pcap'))) w.write(p);
    w.close();
    for (const file of ['lo-us.pcap', 'lo-ns.pcapng', 'any-sll.pcap', 'two-if.pcapng', be].map((n) => (n === be ? be : join(DIR, n)))) {
      const name = file;
      const want = perPacket(file, PROG, engine);
      if (want.length > 0) nonEmpty++;
      for (const [batch, bufferSize, driver] of [[4096, 2 << 20, true], [4096, 2 << 20, false], [3, 8192, true], [1, 4096, false], [1, 4096, true]] as const) {
        const got: string[] = [];
        const r = scanCapture(file, PROG, {
          engine,
          batch,
          bufferSize,
          driver,
          onAccept: (p) => void got.push(`${p.tsSec}.${p.tsNsec} ${p.linkType} ${p.result} ${createHash('md5').update(p.data).digest('hex')}`),
        });
        assert.deepEqual(got, want, `${name} batch ${batch} buffer ${bufferSize} driver ${driver}`);
        assert.equal(r.accepted, want.length);
        assert.equal(r.engine, engine);
        assert.equal(r.packets, [...readCaptureSync(file)].length);
      }
    }
    rmSync(tmp, { recursive: true });
    assert.ok(nonEmpty >= 4, `only ${nonEmpty} files had accepted packets`);
  });
}

test('scanCapture: a block bigger than the buffer, a corrupt length and a truncated file are CaptureErrors', () => {
  for (const driver of [true, false]) {
    assert.throws(() => scanCapture(join(DIR, 'lo-us.pcap'), PROG, { bufferSize: 1024, driver }), (e: unknown) => e instanceof CaptureError && /does not fit|limit/.test(e.message));
  }
  const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-scan-'));
  try {
    const bytes = new Uint8Array(readFileSync(join(DIR, 'lo-us.pcap')));
    writeFileSync(join(tmp, 'cut.pcap'), bytes.subarray(0, bytes.length - 3));
    const bad = Uint8Array.from(bytes);
    new DataView(bad.buffer).setUint32(24 + 16 + 74 + 8, 0x7fffffff, true); // second record's incl_len
    writeFileSync(join(tmp, 'bad.pcap'), bad);
    for (const driver of [true, false]) {
      assert.throws(() => scanCapture(join(tmp, 'cut.pcap'), PROG, { driver }), (e: unknown) => e instanceof CaptureError && /truncated packet record/.test(e.message));
      assert.throws(() => scanCapture(join(tmp, 'bad.pcap'), PROG, { driver }), (e: unknown) => e instanceof CaptureError && /offset 114: packet record claims 2147483647/.test(e.message));
    }
  } finally {
    rmSync(tmp, { recursive: true });
  }
});

test('scanCapture: the scan driver in far mode (a body past 32767 slots) on the interpreter', () => {
  // ldx #0; 4093 x ldb [x + 20]; ret a: A ends as byte 20 (IPv4 fragment bits on Ethernet)
  const prog: ClassicInsn[] = [{ code: 0x01, jt: 0, jf: 0, k: 0 }];
  for (let i = 0; i < 4093; i++) prog.push({ code: 0x50, jt: 0, jf: 0, k: 20 });
  prog.push({ code: 0x16, jt: 0, jf: 0, k: 0 });
  const file = join(DIR, 'lo-us.pcap');
  const want = [...readCaptureSync(file)].map((p) => (p.data.length > 20 ? p.data[20]! : 0));
  const got: number[] = [];
  const all = [...readCaptureSync(file)];
  let i = 0;
  scanCapture(file, prog, { engine: 'interp', onAccept: (p) => {
    while (all[i]!.tsNsec !== p.tsNsec || all[i]!.tsSec !== p.tsSec) {
      got.push(0);
      i++;
    }
    got.push(p.result);
    i++;
  } });
  while (got.length < want.length) got.push(0);
  assert.deepEqual(got, want);
  assert.ok(want.some((v) => v !== 0));
});

test('scanCapture: a program per link type', () => {
  const seen: number[] = [];
  const byLinkType = (lt: number): ClassicInsn[] => {
    seen.push(lt);
    return [{ code: 0x06, jt: 0, jf: 0, k: lt }]; // ret #linktype
  };
  const results = new Map<number, number>();
  const r = scanCapture(join(DIR, 'two-if.pcapng'), byLinkType, { onAccept: (p) => void results.set(p.linkType, p.result) });
  assert.deepEqual(seen.sort((a, b) => a - b), [1, 113]);
  assert.deepEqual([...results].sort((a, b) => a[0] - b[0]), [[1, 1], [113, 113]]);
  assert.equal(r.accepted, r.packets);
});

test('scanCapture: packet indices, stopping early from onAccept, progress', () => {
  for (const name of ['lo-us.pcap', 'two-if.pcapng']) {
    const file = join(DIR, name);
    const all = [...readCaptureSync(file)];
    const f = new Map<number, ClassicFilter>();
    const want: number[] = [];
    all.forEach((p, i) => {
      if (!f.has(p.linkType)) f.set(p.linkType, new ClassicFilter(PROG, { hatype: linkTypeInfo(p.linkType)!.hatype }));
      if (f.get(p.linkType)!.run(p.data, p.wireLen) !== 0) want.push(i);
    });
    assert.ok(want.length >= 4, name);
    for (const driver of [true, false]) {
      for (const batch of [4096, 2]) {
        const idx: number[] = [];
        let progress = 0;
        const r = scanCapture(file, PROG, { driver, batch, onAccept: (p) => void idx.push(p.index), onProgress: () => progress++ });
        assert.deepEqual(idx, want, `${name} driver ${driver} batch ${batch}`);
        assert.equal(r.stopped, false);
        assert.ok(progress >= 1);
        const stopAt = want[2]!;
        const s = scanCapture(file, PROG, { driver, batch, onAccept: (p) => p.index !== stopAt });
        assert.deepEqual([s.packets, s.accepted, s.stopped], [stopAt + 1, 3, true], `${name} stop, driver ${driver} batch ${batch}`);
      }
    }
  }
});

/** Split a run of little-endian pcap records into `linkType:hex` strings. */
function splitRecords(chunk: Uint8Array, linkType: number, into: string[]): void {
  const dv = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  for (let at = 0; at < chunk.length; ) {
    const len = 16 + dv.getUint32(at + 8, true);
    assert.ok(at + len <= chunk.length, 'a record overruns its chunk');
    into.push(`${linkType}:${Buffer.from(chunk.subarray(at, at + len)).toString('hex')}`);
    at += len;
  }
}

test('scanCapture pcapOut: records as PcapWriter writes them (cut to the accept length and snaplen), any path, order kept, the stopping packet included', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-scan-'));
  try {
    const be = join(tmp, 'be.pcap');
    const w = new PcapWriter(fileSink(be), { linkType: 1, bigEndian: true, nanosecond: true });
    for (const p of readCaptureSync(join(DIR, 'lo-ns.pcap'))) w.write(p);
    w.close();
    for (const file of [join(DIR, 'lo-us.pcap'), join(DIR, 'two-if.pcapng'), join(DIR, 'lo-ns.pcapng'), be]) {
      for (const snaplen of [262144, 40]) {
        for (const [batch, bufferSize, driver] of [[4096, 2 << 20, true], [4096, 2 << 20, false], [3, 8192, true], [2, 4096, false]] as const) {
          for (const stopAfter of [Infinity, 3]) {
            const want: string[] = [];
            const got: string[] = [];
            let seen = 0;
            const r = scanCapture(file, PROG, {
              batch,
              bufferSize,
              driver,
              onAccept: (p) => {
                const sink = new MemorySink();
                const one = new PcapWriter(sink, { linkType: p.linkType, snaplen });
                one.write({ data: p.data.subarray(0, Math.min(p.result, p.data.length)), wireLen: p.wireLen, tsSec: p.tsSec, tsNsec: p.tsNsec });
                one.close();
                want.push(`${p.linkType}:${Buffer.from(sink.bytes().subarray(24)).toString('hex')}`);
                return ++seen < stopAfter;
              },
              pcapOut: { snaplen, write: (chunk, linkType) => splitRecords(chunk, linkType, got) },
            });
            const what = `${file} snaplen ${snaplen} batch ${batch} driver ${driver} stop ${stopAfter}`;
            assert.ok(want.length >= 3, what);
            assert.equal(r.stopped, stopAfter !== Infinity, what);
            assert.deepEqual(got, want, what);
            if (stopAfter === Infinity) {
              // Without onAccept the driver packs alone, and JS sees no packet.
              const alone: string[] = [];
              const a = scanCapture(file, PROG, { batch, bufferSize, driver, pcapOut: { snaplen, write: (chunk, linkType) => splitRecords(chunk, linkType, alone) } });
              assert.deepEqual(alone, want, `${what}, no onAccept`);
              assert.deepEqual([a.packets, a.accepted], [r.packets, r.accepted], `${what}, no onAccept`);
            }
          }
        }
      }
    }
  } finally {
    rmSync(tmp, { recursive: true });
  }
});

test('scanCapture: a timestamp fraction out of range is the parser\'s CaptureError on the driver path too', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-scan-'));
  try {
    const bytes = Uint8Array.from(readFileSync(join(DIR, 'lo-us.pcap')));
    new DataView(bytes.buffer).setUint32(24 + 16 + 74 + 4, 1_000_000, true); // second record's microseconds
    const bad = join(tmp, 'frac.pcap');
    writeFileSync(bad, bytes);
    let parserError = '';
    assert.throws(() => [...readCaptureSync(bad)], (e: unknown) => e instanceof CaptureError && (parserError = e.message) !== '');
    assert.match(parserError, /offset 114: timestamp fraction 1000000 out of range for microsecond pcap/);
    for (const driver of [true, false]) {
      const got: string[] = [];
      assert.throws(
        () => scanCapture(bad, [{ code: 0x06, jt: 0, jf: 0, k: 0xffff }], { driver, pcapOut: { snaplen: 65535, write: (c, lt) => splitRecords(c, lt, got) } }),
        (e: unknown) => e instanceof CaptureError && e.message === parserError,
      );
      assert.equal(got.length, 1, `driver ${driver}: the record before the bad one is written`);
    }
  } finally {
    rmSync(tmp, { recursive: true });
  }
});

test('scanCapture pcapOut on the driver path: a full output array continues where it stopped, on every engine', () => {
  // eth-mixed.pcap: 138 packets of all sizes; accept all, whole or cut to 40 bytes
  const file = join(FIXTURES, 'filter', 'eth-mixed.pcap');
  const all = [...readCaptureSync(file)];
  for (const k of [0xffff, 40]) {
    const want: string[] = [];
    for (const p of all) {
      const sink = new MemorySink();
      const one = new PcapWriter(sink, { linkType: p.linkType });
      one.write({ data: p.data.subarray(0, Math.min(k, p.data.length)), wireLen: p.wireLen, tsSec: p.tsSec, tsNsec: p.tsNsec });
      one.close();
      want.push(`${p.linkType}:${Buffer.from(sink.bytes().subarray(24)).toString('hex')}`);
    }
    for (const engine of engineNames()) {
      // batch 1: room for 16 entries per driver call, so most calls end FULL
      const got: string[] = [];
      let calls = 0;
      const r = scanCapture(file, [{ code: 0x06, jt: 0, jf: 0, k }], {
        engine,
        batch: 1,
        bufferSize: 8192,
        onProgress: () => calls++,
        pcapOut: { snaplen: 262144, write: (chunk, linkType) => splitRecords(chunk, linkType, got) },
      });
      assert.deepEqual([r.packets, r.accepted], [all.length, all.length], `${engine} ret #${k}`);
      assert.ok(calls >= all.length / 16, `${engine}: ${calls} driver calls`);
      assert.deepEqual(got, want, `${engine} ret #${k}`);
    }
  }
});

test('scanCapture pcapng through the scan driver equals the per-packet path: sections of both byte orders, timestamp resolutions, interleaved interfaces, unknown blocks', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-scan-'));
  try {
    const packets = [...readCaptureSync(join(FIXTURES, 'filter', 'eth-mixed.pcap'))].map((p) => ({ ...p, data: p.data.slice() }));
    const section = (bigEndian: boolean, ifaces: { linkType: number; tsDecimals: number }[], order: number[]): Uint8Array => {
      const sink = new MemorySink();
      const w = new PcapngWriter(sink, { bigEndian, interfaces: ifaces });
      order.forEach((iface, k) => {
        const p = packets[k % packets.length]!;
        w.write({ data: p.data, wireLen: p.wireLen, tsSec: p.tsSec + k, tsNsec: p.tsNsec, interfaceId: iface });
      });
      w.close();
      return sink.bytes();
    };
    // runs on one interface, then single packets alternating between interfaces
    const order1 = [...Array<number>(60).fill(0), ...Array<number>(30).fill(1), ...Array.from({ length: 40 }, (_, i) => i % 3), ...Array<number>(20).fill(2)];
    const s1 = section(false, [{ linkType: 1, tsDecimals: 6 }, { linkType: 1, tsDecimals: 3 }, { linkType: 1, tsDecimals: 9 }], order1);
    const unknown = new Uint8Array(16);
    new DataView(unknown.buffer).setUint32(0, 0x40000bad, true);
    new DataView(unknown.buffer).setUint32(4, 16, true);
    new DataView(unknown.buffer).setUint32(12, 16, true);
    const s2 = section(true, [{ linkType: 1, tsDecimals: 9 }, { linkType: 113, tsDecimals: 6 }], [...Array<number>(50).fill(0), 1, 1, 0, 0]);
    const file = join(tmp, 'mixed.pcapng');
    writeFileSync(file, Buffer.concat([s1, unknown, s2]));
    const prog = (lt: number): ClassicInsn[] => (lt === 1 ? assembleClassic('ldh [12]\njeq #0x800, v4, other\nv4: ret #60\nother: jeq #0x86dd, v6, no\nv6: ld #len\nret a\nno: ret #0') : [{ code: 0x06, jt: 0, jf: 0, k: 0xffff }]);
    for (const engine of ['interp', 'jit-verified']) {
      for (const [batch, snaplen] of [[4096, 262144], [1, 40]] as const) {
        const run = (driver: boolean, withAccept: boolean): { seen: string[]; written: string[]; packets: number; accepted: number } => {
          const seen: string[] = [];
          const written: string[] = [];
          const r = scanCapture(file, prog, {
            engine,
            batch,
            driver,
            ...(withAccept && { onAccept: (p: AcceptedPacket) => void seen.push(`${p.index} ${p.linkType} ${p.tsSec}.${p.tsNsec} ${p.wireLen} ${p.result} ${Buffer.from(p.data).toString('hex')}`) }),
            pcapOut: { snaplen, write: (chunk, linkType) => splitRecords(chunk, linkType, written) },
          });
          return { seen, written, packets: r.packets, accepted: r.accepted };
        };
        const want = run(false, true);
        assert.equal(want.packets, order1.length + 54);
        assert.ok(want.accepted > 100 && want.accepted < want.packets, `${want.accepted} accepted`);
        const what = `${engine} batch ${batch} snaplen ${snaplen}`;
        assert.deepEqual(run(true, true), want, what);
        const alone = run(true, false);
        assert.deepEqual([alone.written, alone.packets, alone.accepted], [want.written, want.packets, want.accepted], `${what}, no onAccept`);
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('scanCapture on mutated pcap and pcapng files: the scan driver reports what the per-packet path reports, records or the same CaptureError', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-scan-'));
  try {
    let seed = 99;
    const rnd = (n: number): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
    // What onAccept saw and what pcapOut got (two streams: how their calls interleave is not specified).
    const outcome = (file: string, driver: boolean, engine: string): string => {
      const seen: string[] = [];
      const written: string[] = [];
      const streams = (): string => `${seen.join(',')} | ${written.join(',')}`;
      try {
        const r = scanCapture(file, PROG, {
          driver,
          engine,
          bufferSize: 4096,
          onAccept: (p) => void seen.push(`${p.index} ${p.linkType} ${p.tsSec}.${p.tsNsec} ${p.result}`),
          pcapOut: { snaplen: 100, write: (chunk, linkType) => splitRecords(chunk, linkType, written) },
        });
        return `${r.packets} ${r.accepted} ${streams()}`;
      } catch (e) {
        if (!(e instanceof CaptureError)) throw e;
        return `${streams()} error ${e.message}`;
      }
    };
    let errors = 0;
    for (const name of ['lo-us.pcap', 'lo-ns.pcapng', 'two-if.pcapng']) {
      const base = new Uint8Array(readFileSync(join(DIR, name)));
      for (let i = 0; i < 60; i++) {
        const bytes = Uint8Array.from(base);
        // a few bytes changed in the first 2 KiB: headers, lengths, interface ids, timestamps
        for (let k = 1 + rnd(3); k > 0; k--) bytes[rnd(Math.min(2048, bytes.length))] = rnd(4) === 0 ? 0xff : rnd(256);
        const file = join(tmp, `m-${name}`);
        writeFileSync(file, bytes);
        const want = outcome(file, false, 'jit');
        if (want.includes(' error ')) errors++;
        for (const engine of ['jit', 'jit-verified']) assert.equal(outcome(file, true, engine), want, `${name} mutation ${i} on ${engine}`);
      }
    }
    assert.ok(errors > 10, `only ${errors} mutations were errors`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
