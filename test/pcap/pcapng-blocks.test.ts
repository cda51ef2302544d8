// pcapng blocks the fixtures do not have, built byte by byte here: simple
// packet blocks, the obsolete packet block, blocks a reader must skip, a
// second section in the other byte order, binary and offset timestamps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCapture, CaptureError, CaptureParser } from '../../src/pcap/index.js';

/** Builds pcapng blocks in one byte order. */
class Blocks {
  private parts: number[] = [];
  constructor(private readonly le: boolean) {}
  private u32(v: number): number[] {
    const b = [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
    return this.le ? b : b.reverse();
  }
  private u16(v: number): number[] {
    const b = [v & 0xff, (v >>> 8) & 0xff];
    return this.le ? b : b.reverse();
  }
  private pad(b: number[]): number[] {
    while (b.length % 4) b.push(0);
    return b;
  }
  block(type: number, body: number[]): this {
    const len = 12 + this.pad(body).length;
    this.parts.push(...this.u32(type), ...this.u32(len), ...body, ...this.u32(len));
    return this;
  }
  shb(): this {
    return this.block(0x0a0d0d0a, [...this.u32(0x1a2b3c4d), ...this.u16(1), ...this.u16(0), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  }
  idb(linkType: number, snaplen: number, opts: number[][] = []): this {
    const o: number[] = [];
    for (const [code, ...value] of opts) o.push(...this.u16(code!), ...this.u16(value.length), ...this.pad([...value]));
    if (o.length) o.push(0, 0, 0, 0);
    return this.block(1, [...this.u16(linkType), 0, 0, ...this.u32(snaplen), ...o]);
  }
  epb(ifid: number, hi: number, lo: number, data: number[], wire = data.length): this {
    return this.block(6, [...this.u32(ifid), ...this.u32(hi), ...this.u32(lo), ...this.u32(data.length), ...this.u32(wire), ...data]);
  }
  spb(wire: number, data: number[]): this {
    return this.block(3, [...this.u32(wire), ...data]);
  }
  pb(ifid: number, hi: number, lo: number, data: number[], wire = data.length): this {
    return this.block(2, [...this.u16(ifid), ...this.u16(0), ...this.u32(hi), ...this.u32(lo), ...this.u32(data.length), ...this.u32(wire), ...data]);
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

const cat = (...xs: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(xs.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of xs) {
    out.set(x, o);
    o += x.length;
  }
  return out;
};

test('simple, obsolete and enhanced packet blocks; skipped blocks; two sections of different byte order', () => {
  const le = new Blocks(true)
    .shb()
    .idb(1, 4) // Ethernet, snaplen 4: simple packet blocks are cut to it
    .idb(101, 0, [[9, 0x80 | 10], [14, 5, 0, 0, 0, 0, 0, 0, 0], [2, ...new TextEncoder().encode('eth9')]]) // raw IP, 2^-10 s units, +5 s
    .block(4, [0, 0, 0, 0]) // name resolution block: skipped
    .spb(6, [1, 2, 3, 4, 5, 6, 0, 0]) // 6 bytes on the wire, 4 captured (snaplen)
    .pb(1, 0, (7 << 10) | 512, [9, 9, 9], 10)
    .block(5, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) // interface statistics: skipped
    .epb(0, 0, 1_500_000, [0xaa])
    .bytes();
  const be = new Blocks(false).shb().idb(113, 65535, [[9, 9]]).epb(0, 0x3b9a, 0xca00_0001, [1, 2, 3, 4, 5]).bytes();
  let parser: CaptureParser | undefined;
  const recs = [...parseCapture(cat(le, be), { onParser: (p) => (parser = p) })].map((r) => ({ ...r, data: [...r.data] }));
  assert.deepEqual(recs, [
    { data: [1, 2, 3, 4], wireLen: 6, tsSec: 0, tsNsec: 0, linkType: 1, interfaceId: 0 },
    { data: [9, 9, 9], wireLen: 10, tsSec: 12, tsNsec: 500_000_000, linkType: 101, interfaceId: 1 },
    { data: [0xaa], wireLen: 1, tsSec: 1, tsNsec: 500_000_000, linkType: 1, interfaceId: 0 },
    // 0x3b9aca000001 ns = 65536000000001 ns
    { data: [1, 2, 3, 4, 5], wireLen: 5, tsSec: 65536, tsNsec: 1, linkType: 113, interfaceId: 0 },
  ]);
  // the second section replaced the interfaces and the byte order
  assert.equal(parser!.bigEndian, true);
  assert.deepEqual(parser!.interfaces.map((i) => i.linkType), [113]);
});

test('pcapng errors: unknown interface, packet overrunning its block, bad byte-order magic', () => {
  const noIf = new Blocks(true).shb().epb(0, 0, 0, [1]).bytes();
  assert.throws(() => [...parseCapture(noIf)], (e: unknown) => e instanceof CaptureError && /offset 28: packet refers to interface 0, but the section describes 0/.test(e.message));
  const over = new Blocks(true).shb().idb(1, 0).block(6, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 99, 0, 0, 0, 99, 0, 0, 0]).bytes();
  assert.throws(() => [...parseCapture(over)], /captured length 99 exceeds the block/);
  const badBom = new Blocks(true).shb().bytes();
  badBom[8] = 0x11;
  assert.throws(() => [...parseCapture(badBom)], /bad byte-order magic/);
});
