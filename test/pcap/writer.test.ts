// Writers: what we write reads back identically with our reader and, when
// tshark is installed, with tshark (an independent reader), in both byte
// orders and both timestamp precisions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { MemorySink, PcapWriter, PcapngWriter, parseCapture, readCaptureSync, fileSink, setTimestamp, LINKTYPE, type PacketRecord } from '../../src/pcap/index.js';
import { FIXTURES } from '../paths.js';
import { UsageError } from '../../src/internal/errors.js';

const DIR = join(FIXTURES, 'pcap');
const haveTshark = spawnSync('tshark', ['--version']).status === 0;

function line(r: PacketRecord, withIf: boolean): string {
  const md5 = createHash('md5').update(r.data).digest('hex');
  return [`${r.tsSec}.${String(r.tsNsec).padStart(9, '0')}`, r.data.length, r.wireLen, withIf ? r.interfaceId : '', md5].join('\t');
}

function tshark(path: string): string[] {
  const r = spawnSync('tshark', ['-o', 'frame.generate_md5_hash:TRUE', '-r', path, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'frame.cap_len', '-e', 'frame.len', '-e', 'frame.interface_id', '-e', 'frame.md5_hash'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trimEnd().split('\n');
}

const copies = (name: string): PacketRecord[] => [...readCaptureSync(join(DIR, name), { copy: true })];

for (const bigEndian of [false, true]) {
  for (const nanosecond of [false, true]) {
    test(`pcap writer: ${bigEndian ? 'big' : 'little'}-endian, ${nanosecond ? 'nano' : 'micro'}seconds`, () => {
      const src = copies(nanosecond ? 'lo-ns.pcap' : 'lo-us.pcap');
      const sink = new MemorySink();
      const w = new PcapWriter(sink, { linkType: LINKTYPE.ETHERNET, nanosecond, bigEndian });
      for (const r of src) w.write(r);
      w.close();
      const bytes = sink.bytes();
      assert.equal(bytes[0], bigEndian ? 0xa1 : nanosecond ? 0x4d : 0xd4);
      const back = [...parseCapture(bytes)];
      assert.deepEqual(back.map((r) => line(r, false)), src.map((r) => line(r, false)));
      if (!nanosecond && !bigEndian) assert.deepEqual(bytes, new Uint8Array(readFileSync(join(DIR, 'lo-us.pcap'))), 'byte-identical to tcpdump');
      if (haveTshark) {
        const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-pcap-'));
        try {
          writeFileSync(join(tmp, 'x.pcap'), bytes);
          assert.deepEqual(tshark(join(tmp, 'x.pcap')), readFileSync(join(DIR, (nanosecond ? 'lo-ns.pcap' : 'lo-us.pcap') + '.tsv'), 'utf8').trimEnd().split('\n'));
        } finally {
          rmSync(tmp, { recursive: true });
        }
      }
    });
  }
}

test('pcapng writer: two interfaces with their own link types and resolutions, both byte orders', () => {
  const src = copies('two-if.pcapng');
  for (const bigEndian of [false, true]) {
    const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-pcapng-'));
    try {
      const path = join(tmp, 'x.pcapng');
      const w = new PcapngWriter(fileSink(path), { bigEndian });
      assert.equal(w.addInterface({ linkType: LINKTYPE.ETHERNET, tsDecimals: 9, name: 'lo' }), 0);
      assert.equal(w.addInterface({ linkType: LINKTYPE.LINUX_SLL, tsDecimals: 9 }), 1);
      for (const r of src) w.write(r);
      w.close();
      const back = [...readCaptureSync(path)];
      assert.deepEqual(back.map((r) => line(r, true)), src.map((r) => line(r, true)));
      assert.deepEqual(back.map((r) => r.linkType), src.map((r) => r.linkType));
      if (haveTshark) assert.deepEqual(tshark(path), readFileSync(join(DIR, 'two-if.pcapng.tsv'), 'utf8').trimEnd().split('\n'));
    } finally {
      rmSync(tmp, { recursive: true });
    }
  }
});

test('pcapng timestamps: exact split at the edges of the range and resolutions', () => {
  for (const tsDecimals of [0, 3, 6, 9]) {
    const sink = new MemorySink();
    const w = new PcapngWriter(sink, { interfaces: [{ linkType: 1, tsDecimals }] });
    const times = [
      [0, 0],
      [1, 999_999_999],
      [1_795_598_350, 525_098_278],
      [2 ** 32 - 1, 999_999_999],
    ] as const;
    for (const [s, ns] of times) w.write({ data: new Uint8Array(3), tsSec: s, tsNsec: ns });
    w.close();
    const back = [...parseCapture(sink.bytes())];
    const scale = 10 ** (9 - tsDecimals);
    assert.deepEqual(
      back.map((r) => [r.tsSec, r.tsNsec]),
      times.map(([s, ns]) => [s, Math.floor(ns / scale) * scale]),
      `decimals ${tsDecimals}`,
    );
  }
  // binary resolution (2^-20) and a resolution finer than nanoseconds go through the exact slow path
  const rec = { tsSec: 0, tsNsec: 0 };
  setTimestamp(rec, 0, (3 << 20) | (1 << 19), { linkType: 1, snaplen: 0, tsResolution: { base: 2, exp: 20 }, tsOffset: 0 });
  assert.deepEqual(rec, { tsSec: 3, tsNsec: 500_000_000 });
  setTimestamp(rec, 0x3b9ac, 0xa1234567, { linkType: 1, snaplen: 0, tsResolution: { base: 10, exp: 12 }, tsOffset: 10 });
  const t = (0x3b9acn << 32n) | 0xa1234567n;
  assert.deepEqual(rec, { tsSec: Number(t / 10n ** 12n) + 10, tsNsec: Number((t % 10n ** 12n) / 1000n) });
  // the double-arithmetic path equals BigInt division for every decimal resolution, over the whole 64-bit range
  let seed = 12345;
  const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  for (let exp = 0; exp <= 9; exp++) {
    for (let i = 0; i < 500; i++) {
      const hi = i === 0 ? 0xffffffff : i === 1 ? 0 : next() >>> (next() & 31);
      const lo = i === 0 ? 0xffffffff : next();
      setTimestamp(rec, hi, lo, { linkType: 1, snaplen: 0, tsResolution: { base: 10, exp }, tsOffset: 0 });
      const v = (BigInt(hi) << 32n) | BigInt(lo);
      const d = 10n ** BigInt(exp);
      assert.deepEqual(rec, { tsSec: Number(v / d), tsNsec: Number(((v % d) * 10n ** 9n) / d) }, `10^-${exp}: ${hi}:${lo}`);
    }
  }
});

test('writers truncate to the snap length and reject bad input', () => {
  const sink = new MemorySink();
  const w = new PcapWriter(sink, { linkType: 1, snaplen: 4 });
  w.write({ data: Uint8Array.of(1, 2, 3, 4, 5, 6), tsSec: 5 });
  w.close();
  const [r] = [...parseCapture(sink.bytes())];
  assert.deepEqual([...r!.data], [1, 2, 3, 4]);
  assert.equal(r!.wireLen, 6);
  assert.throws(() => w.write({ data: new Uint8Array(1), tsSec: -1 }), UsageError);
  assert.throws(() => w.write({ data: new Uint8Array(1), tsNsec: 1e9 }), UsageError);
  const ng = new PcapngWriter(new MemorySink());
  assert.throws(() => ng.write({ data: new Uint8Array(1) }), /no interface 0/);
  assert.throws(() => ng.addInterface({ linkType: 1, tsDecimals: 12 }), /tsDecimals/);
});
