// The network helpers of a tc program against the running kernel: the
// fixture test/fixtures/helpers/net_helpers.o (strtol/strtoul, the test
// run's socket through skb->sk and the socket helpers, check_mtu,
// get_hash_recalc, fib_lookup; an XDP program for redirect_map over a devmap,
// devmap_hash, cpumap and xskmap; a cgroup_skb program for get_local_storage;
// sk_storage_get/delete and the skc_to_* casts on the test run's socket;
// skb_ecn_set_ce, skb_load_bytes_relative, csum_update/csum_level, tc's
// redirect_peer/redirect_neigh/clone_redirect)
// reads its cases from the packet and writes
// its results into it; tsbpf (interpreter and JIT, verified) and the kernel
// (bpftool prog loadall + prog run) must return the same data_out. The flow
// hash itself cannot match (the kernel keys it with a random per-boot
// secret): its bytes are masked, and its properties are compared instead.
// The kernel part needs root, bpftool and bpffs and skips otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime } from '../../src/runtime/runtime.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FIXTURE = join(ROOT, 'test', 'fixtures', 'helpers', 'net_helpers.o');
const ENGINES = ['interp', 'jit'] as const;

function kernelSkip(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  if (spawnSync('bpftool', ['version']).status !== 0) return 'needs bpftool';
  if (!existsSync('/sys/fs/bpf')) return 'needs bpffs at /sys/fs/bpf';
  return undefined;
}
const SKIP = kernelSkip();

const enc = new TextEncoder();
const ethernet = (type: number): number[] => [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, type >> 8, type & 0xff];

/** strtox records: [base flags, unsigned?, string]. */
const STRTOX: readonly (readonly [number, number, string])[] = [
  [0, 0, '123'], [0, 0, '  -42xyz'], [16, 0, '0x1F'], [0, 0, '0x1G'], [8, 0, '0777'], [0, 1, '-5'],
  [0, 0, '9223372036854775808'], [0, 0, '-9223372036854775808'], [0, 1, '18446744073709551616'], [3, 0, '1'],
  [0, 0, '   '], [16, 0, '0xg'],
];
const STRTOX2: readonly (readonly [number, number, string])[] = [
  [0, 1, '0x'], [0, 0, '0x'], [10, 1, '18446744073709551615'], [0, 0, '\t\n\v\f\r 7'], [0, 0, '-'], [0, 0, '--1'],
  [0x20, 0, '1'], [0, 0, '0'], [16, 1, 'ffffffffffffffff'], [8, 0, '08'], [0, 0, '+5'], [10, 0, '00012'],
];

function strtoxPacket(recs: readonly (readonly [number, number, string])[]): Uint8Array {
  const p = new Uint8Array(14 + 40 * 12);
  p.set(ethernet(0x88b5));
  recs.forEach(([flags, unsig, s], i) => {
    const o = 14 + 40 * i;
    const b = enc.encode(s);
    p.set([flags, unsig, b.length - 1], o);
    p.set(b, o + 8);
  });
  return p;
}

/** An IPv4/TCP frame (src → dst, ports), 200 bytes long. */
function ipv4(src: number[], dst: number[], sport: number, dport: number): Uint8Array {
  const p = new Uint8Array(200);
  p.set(ethernet(0x0800));
  p.set([0x45, 0, 0, 186, 0, 1, 0, 0, 64, 6, 0, 0, ...src, ...dst], 14);
  p.set([sport >> 8, sport & 0xff, dport >> 8, dport & 0xff], 34);
  return p;
}

/** An IPv4 frame with this TOS byte and a correct header checksum. */
function ipv4Tos(tos: number): Uint8Array {
  const p = ipv4(A, B, 1000, 80);
  p[15] = tos;
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += (p[i]! << 8) | p[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  p[24] = (~sum >>> 8) & 0xff;
  p[25] = ~sum & 0xff;
  return p;
}

function ipv6(src: number[], dst: number[], label = 0): Uint8Array {
  const p = new Uint8Array(200);
  p.set(ethernet(0x86dd));
  p.set([0x60 | 0, (label >> 16) & 0xf, (label >> 8) & 0xff, label & 0xff, 0, 146, 17, 64, ...src, ...dst], 14);
  return p;
}

function mtuPacket(): Uint8Array {
  const p = new Uint8Array(14 + 16 * 8);
  p.set(ethernet(0x88b5));
  const dv = new DataView(p.buffer);
  const cases: [number, number, number, number][] = [
    [0, 0, 0, 0], [1, 1500, 0, 0], [0, 65536, 0, 0], [0, 65537, 0, 0], [0, 0, 65536, 0], [999, 0, 0, 0], [0, 0, 0, 2], [0, 100, 0, 1],
  ];
  cases.forEach(([ifindex, mtuLen, lenDiff, flags], i) => {
    const o = 14 + 16 * i;
    dv.setUint32(o, ifindex, true);
    dv.setUint32(o + 4, mtuLen, true);
    dv.setInt32(o + 8, lenDiff, true);
    dv.setUint32(o + 12, flags, true);
  });
  return p;
}

/** bpf_redirect_map cases: [map (0 devmap, 1 devmap_hash, 2 cpumap, 3 xskmap), key, flags]. */
const REDIRECT: readonly (readonly [number, number, number])[] = [
  [0, 1, 0], [0, 0, 0], [0, 0, 2], [0, 2, 1], [0, 0, 8], [0, 0, 3 | 16], [1, 7, 0], [1, 8, 2], [2, 0, 0], [2, 1, 2], [2, 0, 8], [3, 0, 2],
];
/** Map entries both sides get before the runs: devmap[1] = lo, devmap_hash[7] = lo, cpumap[0] = qsize 192. */
const MAP_ENTRIES: readonly (readonly [string, number, number])[] = [['tx_devmap', 1, 1], ['tx_devhash', 7, 1], ['tx_cpumap', 0, 192]];
const le32 = (v: number): Uint8Array => Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);

function redirectPacket(): Uint8Array {
  const p = new Uint8Array(14 + 12 * REDIRECT.length);
  p.set(ethernet(0x88b5));
  REDIRECT.forEach(([m, k, f], i) => [m, k, f].forEach((v, j) => p.set(le32(v), 14 + 12 * i + 4 * j)));
  return p;
}

/** load_bytes_relative records: [offset, start header]. */
const RELATIVE: readonly (readonly [number, number])[] = [[0, 0], [12, 0], [9, 1], [192, 0], [193, 0], [179, 1], [0, 2], [0x10000, 1]];

function relativePacket(): Uint8Array {
  const p = ipv4(A, B, 1000, 80);
  RELATIVE.forEach(([off, start], i) => {
    p.set(le32(off), 14 + 24 * i);
    p.set(le32(start), 14 + 24 * i + 4);
  });
  return p;
}

interface Case {
  readonly prog: string;
  readonly name: string;
  readonly data: Uint8Array;
  /** Repetitions of the test run (default 1). */
  readonly repeat?: number;
}

const A = [10, 1, 2, 3];
const B = [192, 168, 7, 9];
const V6A = [0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 1];
const V6B = [0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 2];
const CASES: readonly Case[] = [
  { prog: 'strtox', name: 'strtol/strtoul 1', data: strtoxPacket(STRTOX) },
  { prog: 'strtox', name: 'strtol/strtoul 2', data: strtoxPacket(STRTOX2) },
  { prog: 'sock', name: 'socket of an IPv4 frame', data: ipv4(A, B, 1000, 80) },
  { prog: 'sock', name: 'socket of an IPv6 frame', data: ipv6(V6A, V6B) },
  { prog: 'sock', name: 'socket of a non-IP frame', data: Uint8Array.from({ length: 200 }, (_, i) => (i === 12 ? 0x88 : i === 13 ? 0xb5 : 0)) },
  { prog: 'mtu', name: 'check_mtu', data: mtuPacket() },
  { prog: 'mtu_xdp', name: 'check_mtu (xdp)', data: mtuPacket() },
  { prog: 'fib_xdp', name: 'fib_lookup (xdp)', data: ipv4(A, B, 1, 2) },
  { prog: 'fib', name: 'fib_lookup', data: ipv4(A, B, 1, 2) },
  { prog: 'hash', name: 'hash A->B', data: ipv4(A, B, 1000, 80) },
  { prog: 'hash', name: 'hash B->A', data: ipv4(B, A, 80, 1000) },
  { prog: 'hash', name: 'hash other flow', data: ipv4(A, B, 1001, 80) },
  { prog: 'hash', name: 'hash v6 label 5', data: ipv6(V6A, V6B, 5) },
  { prog: 'hash', name: 'hash v6 label 5 back', data: ipv6(V6B, V6A, 5) },
  { prog: 'hash', name: 'hash v6 label 6', data: ipv6(V6A, V6B, 6) },
  { prog: 'redirect', name: 'redirect_map', data: redirectPacket() },
  { prog: 'skstore', name: 'sk_storage and skc_to_* on the test run socket', data: ipv4(A, B, 1, 2) },
  { prog: 'skstore', name: 'sk_storage, second repetition', data: ipv4(A, B, 1, 2), repeat: 2 },
  ...[0, 1, 2, 3, 0xfe, 0xb9].map((tos) => ({ prog: 'ecn', name: `ecn_set_ce, IPv4 tos ${tos}`, data: ipv4Tos(tos) })),
  { prog: 'ecn', name: 'ecn_set_ce, IPv6 ECT(0)', data: ipv6(V6A, V6B, 0x20000) },
  { prog: 'ecn', name: 'ecn_set_ce, IPv6 not ECT', data: ipv6(V6A, V6B, 5) },
  { prog: 'ecn', name: 'ecn_set_ce, not IP', data: strtoxPacket([]) },
  { prog: 'relative', name: 'load_bytes_relative (tc)', data: relativePacket() },
  { prog: 'relative_sf', name: 'load_bytes_relative (socket filter)', data: ipv4(A, B, 1000, 80) },
  { prog: 'csum', name: 'csum_update, csum_level, route realm, classid', data: ipv4(A, B, 1, 2) },
  { prog: 'redirects', name: 'redirect_peer, redirect_neigh, clone_redirect', data: ipv4(A, B, 1, 2) },
  { prog: 'storage', name: 'cgroup storage, one run', data: ipv4(A, B, 1, 2) },
  { prog: 'storage', name: 'cgroup storage, third repetition', data: ipv4(A, B, 1, 2), repeat: 3 },
  { prog: 'storage', name: 'cgroup storage, a new test run', data: ipv4(A, B, 1, 2) },
];

/** Where the hash program writes h1..h3 and skb->hash (masked in the byte comparison). */
const HASH_OUT = 54;

interface Run {
  readonly retval: number;
  readonly data: Uint8Array;
}

function ours(engine: string): Map<string, Run> {
  const rt = new Runtime({ engine });
  try {
    const coll = rt.loadObject(readFileSync(FIXTURE), { file: FIXTURE });
    for (const [m, k, v] of MAP_ENTRIES) coll.map(m).update(le32(k), le32(v));
    const out = new Map<string, Run>();
    for (const c of CASES) {
      const r = coll.program(c.prog).testRun({ dataIn: c.data, repeat: c.repeat ?? 1 });
      out.set(c.name, { retval: r.retval, data: r.dataOut });
    }
    return out;
  } finally {
    rt.dispose();
  }
}

function kernel(): Map<string, Run> {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-nh-'));
  const pin = `/sys/fs/bpf/tsbpf_nh_${process.pid}`;
  const maps = `/sys/fs/bpf/tsbpf_nh_maps_${process.pid}`;
  try {
    const load = spawnSync('bpftool', ['prog', 'loadall', FIXTURE, pin, 'pinmaps', maps], { encoding: 'utf8' });
    assert.equal(load.status, 0, load.stderr);
    for (const [m, k, v] of MAP_ENTRIES) {
      const bytes = (x: number): string[] => [...le32(x)].map(String);
      const u = spawnSync('bpftool', ['map', 'update', 'pinned', `${maps}/${m}`, 'key', ...bytes(k), 'value', ...bytes(v)], { encoding: 'utf8' });
      assert.equal(u.status, 0, `${m}: ${u.stderr}`);
    }
    const out = new Map<string, Run>();
    CASES.forEach((c, i) => {
      const inFile = join(dir, `in${i}`);
      const outFile = join(dir, `out${i}`);
      writeFileSync(inFile, c.data);
      const r = spawnSync('bpftool', ['prog', 'run', 'pinned', `${pin}/${c.prog}`, 'data_in', inFile, 'data_out', outFile, 'repeat', String(c.repeat ?? 1)], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${c.name}: ${r.stderr}`);
      out.set(c.name, { retval: Number(/Return value: (\d+)/.exec(r.stdout)?.[1]), data: new Uint8Array(readFileSync(outFile)) });
    });
    return out;
  } finally {
    rmSync(pin, { recursive: true, force: true });
    rmSync(maps, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

const u32 = (d: Uint8Array, o: number): number => new DataView(d.buffer, d.byteOffset).getUint32(o, true);
const i32 = (d: Uint8Array, o: number): number => new DataView(d.buffer, d.byteOffset).getInt32(o, true);
const i64 = (d: Uint8Array, o: number): bigint => new DataView(d.buffer, d.byteOffset).getBigInt64(o, true);

/** The hash program's output: h1 (computed), h2 (set), h3 (recomputed), skb->hash after h1. */
const hashes = (r: Run): number[] => [0, 1, 2, 3].map((k) => u32(r.data, HASH_OUT + 4 * k));
const masked = (c: Case, r: Run): Uint8Array => {
  const d = r.data.slice();
  if (c.prog === 'hash') d.fill(0, HASH_OUT, HASH_OUT + 16);
  return d;
};

/** The hash properties both sides must show: non-zero, cached in skb->hash, set value returned, recomputed equal, symmetric, per flow. */
function hashProperties(runs: Map<string, Run>): string[] {
  const [ab, ba, other, l5, l5back, l6] = ['hash A->B', 'hash B->A', 'hash other flow', 'hash v6 label 5', 'hash v6 label 5 back', 'hash v6 label 6']
    .map((n) => hashes(runs.get(n)!));
  return [
    `nonzero ${ab![0] !== 0}`, `cached ${ab![3] === ab![0]}`, `set ${ab![1] === 0x1234abcd}`, `recomputed ${ab![2] === ab![0]}`,
    `symmetric ${ab![0] === ba![0]}`, `per flow ${ab![0] !== other![0]}`,
    `v6 symmetric ${l5![0] === l5back![0]}`, `v6 per label ${l5![0] !== l6![0]}`,
  ];
}

for (const engine of ENGINES) {
  test(`net helpers on tsbpf (${engine}): strtol/strtoul, socket, check_mtu, fib_lookup, hash (no kernel needed)`, () => {
    const r = ours(engine);
    const s1 = r.get('strtol/strtoul 1')!.data;
    const rec = (k: number): [bigint, number] => [i64(s1, 14 + 40 * k), i32(s1, 14 + 40 * k + 8)];
    assert.deepEqual(rec(0), [123n, 3]);
    assert.deepEqual(rec(1), [-42n, 5]);
    assert.deepEqual(rec(2), [31n, 4]);
    assert.deepEqual(rec(5), [0n, -22], 'strtoul refuses a sign');
    assert.deepEqual(rec(6), [0n, -34], 'above S64_MAX');
    assert.deepEqual(rec(7), [-(1n << 63n), 20], 'S64_MIN');
    assert.deepEqual(rec(9), [0n, -22], 'base 3');
    const sock = r.get('socket of an IPv4 frame')!;
    assert.equal(sock.retval, 1, 'skb->sk is set');
    const v = (k: number): number => u32(sock.data, 64 + 4 * k);
    assert.deepEqual([v(0), v(1), v(2), v(5)], [1, 1, 2, 7], 'have_sk, fullsock, AF_INET, TCP_CLOSE');
    assert.deepEqual([...sock.data.subarray(64 + 24, 64 + 32)], [...A, ...B], 'src_ip4 = source, dst_ip4 = destination');
    assert.equal(i32(sock.data, 64 + 40), -1, 'rx_queue_mapping');
    const mtu = r.get('check_mtu')!.data;
    assert.deepEqual([i32(mtu, 14), u32(mtu, 18)], [0, 65536], 'loopback MTU');
    assert.equal(i32(mtu, 14 + 16 * 3), 1, 'FRAG_NEEDED past the MTU');
    assert.equal(i32(mtu, 14 + 16 * 5), -19, 'no such device');
    const mx = r.get('check_mtu (xdp)')!.data;
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map((k) => i32(mx, 14 + 16 * k)), [0, 0, 0, 1, 1, -19, -22, -22], 'xdp: no flags at all');
    const fib = r.get('fib_lookup')!.data;
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((k) => i32(fib, 14 + 4 * k)), [-22, -97, -19, 4, 4, 4]);
    assert.deepEqual(['cgroup storage, one run', 'cgroup storage, third repetition', 'cgroup storage, a new test run'].map((n) => r.get(n)!.retval), [1, 0, 1], 'storage: fresh per test run, kept over repetitions');
    const sk = (name: string): number[] => [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((k) => i32(r.get(name)!.data, 64 + 4 * k));
    assert.deepEqual(sk('sk_storage and skc_to_* on the test run socket'), [1, 0x55667788, 0x55667789, 0, -2, 1, 1, 1, 1, 1, 1, 5], 'sk_storage and casts');
    // the socket lives for the whole test run: the second repetition finds the value the first created last
    assert.deepEqual(sk('sk_storage, second repetition'), [0, 0, 1, 0, -2, 1, 1, 1, 1, 1, 1, 5]);
    assert.deepEqual([0, 1, 2, 3, 0xfe, 0xb9].map((tos) => r.get(`ecn_set_ce, IPv4 tos ${tos}`)!.retval), [0, 1, 1, 1, 1, 1]);
    const marked = r.get('ecn_set_ce, IPv4 tos 2')!.data;
    assert.equal(marked[15], 3, 'CE');
    let sum = 0;
    for (let i = 14; i < 34; i += 2) sum += (marked[i]! << 8) | marked[i + 1]!;
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    assert.equal(sum, 0xffff, 'the header checksum still holds');
    const rel = r.get('load_bytes_relative (tc)')!.data;
    assert.deepEqual(RELATIVE.map((_, i) => i32(rel, 14 + 24 * i + 8)), [0, 0, 0, 0, -14, -14, -14, -14], 'load_bytes_relative returns (the last byte, one past it, bad header, offset above 0xffff)');
    assert.deepEqual([...rel.subarray(14 + 24 + 16, 14 + 24 + 24)], [8, 0, 0, 0, 0, 0, 0, 0], 'MAC + 12: the EtherType, then the first record (offset 0, start 0)');
    assert.equal(r.get('load_bytes_relative (socket filter)')!.retval >>> 24, 4, 'a socket filter reaches the Ethernet header; past the end fails');
    const cs = r.get('csum_update, csum_level, route realm, classid')!.data;
    assert.deepEqual(Array.from({ length: 18 }, (_, k) => i32(cs, 120 + 4 * k)), [-524, -13, 0, 0, 3, 0, 2, 0, -13, 0, -13, -22, 0, -13, 0, 0, 0, 0]);
    const tcr = r.get('redirect_peer, redirect_neigh, clone_redirect')!.data;
    assert.deepEqual(Array.from({ length: 8 }, (_, k) => i32(tcr, 64 + 4 * k)), [7, 2, 7, 7, 2, 2, -22, -22], 'TC_ACT_REDIRECT / TC_ACT_SHOT / -EINVAL');
    const red = r.get('redirect_map')!.data;
    assert.deepEqual(REDIRECT.map((_, i) => i32(red, 14 + 12 * i)), [4, 0, 2, 1, 4, 3, 4, 2, 4, 2, 0, 2], 'redirect verdicts');
    assert.deepEqual(hashProperties(r), ['nonzero true', 'cached true', 'set true', 'recomputed true', 'symmetric true', 'per flow true', 'v6 symmetric true', 'v6 per label true']);
  });
}

test('net helpers: tsbpf and the kernel give the same data_out and return values', { skip: SKIP }, () => {
  const k = kernel();
  for (const engine of ENGINES) {
    const r = ours(engine);
    for (const c of CASES) {
      const a = r.get(c.name)!;
      const b = k.get(c.name)!;
      assert.equal(a.retval, b.retval, `${engine} ${c.name}: return value`);
      assert.deepEqual([...masked(c, a)], [...masked(c, b)], `${engine} ${c.name}: data_out`);
    }
    assert.deepEqual(hashProperties(r), hashProperties(k), `${engine}: flow hash properties`);
  }
});
