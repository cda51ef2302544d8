// A large, deterministic Ethernet capture for the filter benchmark: every
// packet of test/fixtures/filter/eth-mixed.pcap (TCP, UDP, DNS, ICMP, ARP,
// IPv6 with extension headers and fragments, VLAN...) used as a template,
// with IPv4 addresses, IPv6 interface ids and TCP/UDP ports rewritten from a
// small seeded generator, so `host`, `net` and `port` expressions select a
// realistic share of the packets instead of all or none.
// Written once into the temporary directory and reused while its size says
// it is complete.

import { existsSync, readFileSync, renameSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapWriter, PcapngWriter, fileSink, parseCapture, readCaptureSync, type PacketRecord } from '../../src/pcap/index.js';
import { ROOT } from '../paths.js';

export const TEMPLATE_CAPTURE = join(ROOT, 'test', 'fixtures', 'filter', 'eth-mixed.pcap');

/** Bump when the generator changes, so an old file is not reused. */
const VERSION = 1;

export interface BigCapture {
  path: string;
  format: 'pcap' | 'pcapng';
  packets: number;
  bytes: number;
}

/** xorshift32: small, fast, the same sequence everywhere. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

// Address and port pools, weighted by repetition: a few hosts and the
// well-known ports are common, the rest is spread out.
const V4_HOSTS = [0x0a000001, 0x0a000001, 0x0a000002, 0x0a000003, 0xc0a80101, 0xc0a80164, 0xc0a8fe0a, 0xac100001, 0x08080808, 0x01010101];
const PORTS = [80, 80, 443, 443, 443, 53, 53, 22, 8080, 123];

function pick<T>(pool: readonly T[], r: number): T {
  return pool[r % pool.length]!;
}

/** Rewrite addresses and ports of an Ethernet frame in place (untagged IPv4/IPv6 only; others stay as they are). */
function vary(p: Uint8Array, next: () => number): void {
  if (p.length < 14) return;
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const type = dv.getUint16(12);
  let l4 = -1;
  let proto = -1;
  if (type === 0x0800 && p.length >= 34) {
    const ihl = (p[14]! & 0x0f) * 4;
    const fragOff = dv.getUint16(20) & 0x1fff;
    // src: a pool host or a random 10/8 or 192.168/16 address; dst from the pool
    const r = next();
    const src = r & 1 ? pick(V4_HOSTS, r >>> 1) : (r & 2 ? 0x0a000000 : 0xc0a80000) | ((r >>> 8) & 0xffff);
    dv.setUint32(26, src >>> 0);
    dv.setUint32(30, pick(V4_HOSTS, next()) >>> 0);
    proto = p[23]!;
    if (fragOff === 0) l4 = 14 + ihl;
  } else if (type === 0x86dd && p.length >= 54) {
    // interface ids of src and dst (the prefixes keep link-local/multicast meaning)
    dv.setUint16(14 + 8 + 14, next() & 0xff);
    dv.setUint16(14 + 24 + 14, next() & 0xff);
    proto = p[20]!;
    l4 = 54;
  }
  if ((proto === 6 || proto === 17) && l4 >= 0 && p.length >= l4 + 4) {
    const r = next();
    const known = pick(PORTS, r >>> 2);
    const ephemeral = 32768 + ((r >>> 8) % 28000);
    // one side a service port, the other ephemeral; which side varies
    dv.setUint16(l4, r & 1 ? known : ephemeral);
    dv.setUint16(l4 + 2, r & 1 ? ephemeral : known);
  }
}

/** The capture (written now if it is missing): `count` packets, one per microsecond-ish. */
export function bigCapture(count = 1_000_000, log: (m: string) => void = () => {}): BigCapture {
  const path = join(tmpdir(), `tsbpf-bench-filter-v${VERSION}-${count}.pcap`);
  const templates: PacketRecord[] = [...parseCapture(new Uint8Array(readFileSync(TEMPLATE_CAPTURE)), { copy: true })];
  const bytes = 24 + 16 * count + Array.from({ length: count }, (_, i) => templates[i % templates.length]!.data.length).reduce((a, b) => a + b, 0);
  if (existsSync(path) && statSync(path).size === bytes) return { path, format: 'pcap', packets: count, bytes };
  log(`writing ${count} packets to ${path}...`);
  const tmp = `${path}.${process.pid}.tmp`;
  const w = new PcapWriter(fileSink(tmp), { linkType: 1, snaplen: 262144 });
  const next = rng(0x7eb9f);
  const scratch = new Uint8Array(65536);
  let sec = 1_700_000_000;
  let usec = 0;
  for (let i = 0; i < count; i++) {
    const t = templates[i % templates.length]!;
    const p = scratch.subarray(0, t.data.length);
    p.set(t.data);
    vary(p, next);
    usec += 1 + (next() & 63);
    if (usec >= 1_000_000) {
      sec++;
      usec -= 1_000_000;
    }
    w.write({ data: p, wireLen: t.wireLen, tsSec: sec, tsNsec: usec * 1000 });
  }
  w.close();
  renameSync(tmp, path);
  return { path, format: 'pcap', packets: count, bytes };
}

/** The same packets as bigCapture(count), as pcapng (one Ethernet interface, microseconds), made from the pcap once. */
export function bigCapturePcapng(count = 1_000_000, log: (m: string) => void = () => {}): BigCapture {
  const pcap = bigCapture(count, log);
  const path = pcap.path.replace(/\.pcap$/, '.pcapng');
  // Section header 28 + interface description 20; an enhanced packet block is
  // 32 + the data padded to 4; the pcap record was 16 + the data.
  let bytes = 28 + 20;
  const sizes = [...parseCapture(new Uint8Array(readFileSync(TEMPLATE_CAPTURE)))].map((p) => 32 + ((p.data.length + 3) & ~3));
  for (let i = 0; i < count; i++) bytes += sizes[i % sizes.length]!;
  if (existsSync(path) && statSync(path).size === bytes) return { path, format: 'pcapng', packets: count, bytes };
  log(`writing ${count} packets to ${path}...`);
  const tmp = `${path}.${process.pid}.tmp`;
  const w = new PcapngWriter(fileSink(tmp), { interfaces: [{ linkType: 1, snaplen: 262144 }] });
  for (const p of readCaptureSync(pcap.path)) w.write(p);
  w.close();
  renameSync(tmp, path);
  return { path, format: 'pcapng', packets: count, bytes };
}
