// Capture readers against an independent reader: the fixtures were captured
// by tcpdump/dumpcap on loopback, and tshark's view of every packet (time,
// lengths, interface, md5 of the bytes) is committed next to each file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureParser, parseCapture, readCapture, readCaptureSync, CaptureError, LINKTYPE, type PacketRecord } from '../../src/pcap/index.js';
import { FIXTURES } from '../paths.js';

const DIR = join(FIXTURES, 'pcap');
const FILES: readonly [name: string, linkTypes: number[]][] = [
  ['lo-us.pcap', [LINKTYPE.ETHERNET]],
  ['lo-ns.pcap', [LINKTYPE.ETHERNET]],
  ['any-sll.pcap', [LINKTYPE.LINUX_SLL]],
  ['any-sll2.pcap', [LINKTYPE.LINUX_SLL2]],
  ['lo-ns.pcapng', [LINKTYPE.ETHERNET]],
  ['two-if.pcapng', [LINKTYPE.ETHERNET, LINKTYPE.LINUX_SLL]],
];

/** A record as tshark prints it: epoch.nanoseconds, caplen, wire length, interface (pcapng), md5. */
function line(r: PacketRecord, pcapng: boolean): string {
  const md5 = createHash('md5').update(r.data).digest('hex');
  return [`${r.tsSec}.${String(r.tsNsec).padStart(9, '0')}`, r.data.length, r.wireLen, pcapng ? r.interfaceId : '', md5].join('\t');
}

function expected(name: string): string[] {
  return readFileSync(join(DIR, name + '.tsv'), 'utf8').trimEnd().split('\n');
}

for (const [name, linkTypes] of FILES) {
  test(`${name}: every packet as tshark reads it, for any chunk size`, () => {
    const want = expected(name);
    const pcapng = name.endsWith('.pcapng');
    for (const chunkSize of [1 << 20, 4096, 7, 1]) {
      let parser: CaptureParser | undefined;
      const seen = new Set<number>();
      const got = [...readCaptureSync(join(DIR, name), { chunkSize, onParser: (p) => (parser = p) })].map((r) => {
        seen.add(r.linkType);
        return line(r, pcapng);
      });
      assert.deepEqual(got, want, `chunk size ${chunkSize}`);
      assert.equal(parser!.format, pcapng ? 'pcapng' : 'pcap');
      assert.deepEqual(parser!.interfaces.map((i) => i.linkType), linkTypes);
      assert.deepEqual([...seen].sort((a, b) => a - b), [...linkTypes].sort((a, b) => a - b));
    }
  });
}

test('async reader (path and stream) and in-memory parser agree with the sync reader', async () => {
  for (const [name] of FILES) {
    const pcapng = name.endsWith('.pcapng');
    const want = expected(name);
    const fromPath: string[] = [];
    for await (const r of readCapture(join(DIR, name), { chunkSize: 1000 })) fromPath.push(line(r, pcapng));
    assert.deepEqual(fromPath, want, name);
    const bytes = readFileSync(join(DIR, name));
    async function* pieces(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < bytes.length; i += 333) yield bytes.subarray(i, i + 333);
    }
    const fromStream: string[] = [];
    for await (const r of readCapture(pieces())) fromStream.push(line(r, pcapng));
    assert.deepEqual(fromStream, want, name);
    assert.deepEqual([...parseCapture(bytes)].map((r) => line(r, pcapng)), want, name);
  }
});

test('copy: true gives records that stay valid', () => {
  const recs = [...readCaptureSync(join(DIR, 'lo-us.pcap'), { chunkSize: 512, copy: true })];
  assert.deepEqual(recs.map((r) => line(r, false)), expected('lo-us.pcap'));
});

test('malformed captures give CaptureError with the offset', () => {
  const good = readFileSync(join(DIR, 'lo-us.pcap'));
  const err = (bytes: Uint8Array, re: RegExp): void => {
    assert.throws(() => [...parseCapture(bytes, { file: 'x.pcap' })], (e: unknown) => e instanceof CaptureError && re.test(e.message), String(re));
  };
  err(new Uint8Array(0), /empty file/);
  err(Uint8Array.of(1, 2), /too short/);
  err(new Uint8Array(64), /^x\.pcap: offset 0: not a pcap or pcapng file \(magic 0x00000000\)/);
  err(good.subarray(0, good.length - 5), /truncated packet record/);
  const corrupt = Uint8Array.from(good);
  new DataView(corrupt.buffer).setUint32(24 + 8, 0x7fffffff, true);
  err(corrupt, /offset 24: packet record claims 2147483647 captured bytes/);
  const ng = readFileSync(join(DIR, 'lo-ns.pcapng'));
  err(ng.subarray(0, ng.length - 1), /truncated block/);
  const badLen = Uint8Array.from(ng);
  new DataView(badLen.buffer).setUint32(4, 30, true);
  err(badLen, /invalid length 30/);
});

test('memory stays bounded while streaming a large capture', () => {
  // 200,000 packets generated on the fly, fed in 64 KiB pieces
  const parser = new CaptureParser();
  const hdr = new Uint8Array(24);
  const dv = new DataView(hdr.buffer);
  dv.setUint32(0, 0xa1b2c3d4, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, 65535, true);
  dv.setUint32(20, 1, true);
  parser.push(hdr);
  const rec = new Uint8Array(16 + 60);
  const rdv = new DataView(rec.buffer);
  const piece = new Uint8Array(65536 - (65536 % rec.length));
  let count = 0;
  let n = 0;
  while (n < 200_000) {
    for (let o = 0; o < piece.length; o += rec.length, n++) {
      rdv.setUint32(0, n, true);
      rdv.setUint32(8, 60, true);
      rdv.setUint32(12, 60, true);
      piece.set(rec, o);
    }
    parser.push(piece);
    for (let r = parser.next(); r; r = parser.next()) {
      assert.equal(r.tsSec, count);
      count++;
    }
  }
  parser.finish();
  assert.equal(count, n);
  assert.ok(parser.capacity <= 1 << 17, `buffer grew to ${parser.capacity}`);
});
