// BPF_PROG_TEST_RUN per program type: contexts built from data_in / ctx_in,
// data_out after head, tail and metadata adjustments, ctx_out, the kernel's
// refusals (as TestRunError with its errno). Expected packets were taken
// from the kernel (bpftool prog run) and are checked against it live by
// test/runtime/kernel-diff.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime } from '../../src/runtime/runtime.js';
import { TestRunError } from '../../src/progtypes/errors.js';
import { verdictName, passesPacket } from '../../src/progtypes/verdicts.js';
import { ethTypeTrans, PACKET_BROADCAST, PACKET_HOST, PACKET_MULTICAST, PACKET_OTHERHOST, SKB } from '../../src/progtypes/skb.js';
import { objectSpec } from '../runtime/spec-builder.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (...p: string[]): Uint8Array => new Uint8Array(readFileSync(join(ROOT, ...p)));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const fromHex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const ENGINES = ['interp', 'jit'] as const;
const errno = (f: () => unknown): number => {
  try {
    f();
  } catch (e) {
    if (e instanceof TestRunError) return e.errno;
    throw e;
  }
  return 0;
};
const s64 = (b: Uint8Array | undefined): bigint => new DataView(b!.buffer, b!.byteOffset).getBigInt64(0, true);

for (const engine of ENGINES) {
  test(`xdp: adjust_head, adjust_tail and adjust_meta move data, data_end and data_meta as in the kernel (${engine})`, () => {
    const coll = new Runtime({ engine }).loadObject(read('examples', 'xdp', 'adjust.o'));
    const p = coll.program('adjust');
    const pkt = (op: number): Uint8Array => fromHex(`0${op}112233445566778899aabbccddeeff`);
    const results = (): bigint[] => [0, 1, 2, 3].map((i) => s64(coll.map('results').lookup(new Uint8Array([i, 0, 0, 0]))));
    // [op, retval, data_out, results] with data_out from the kernel
    const cases: [number, number, string, bigint[]][] = [
      [1, 3, 'efbeadde01112233445566778899aabbccddeeff', [0n, 0n, 0n, 0n]],
      [2, 2, '2233445566778899aabbccddeeff', [0n, 0n, 0n, 0n]],
      [3, 2, '03112233445566778899aabbccddeeff000000000000', [0n, 0n, 0n, 0n]],
      [4, 2, '04112233445566778899aabbccddeeff', [-22n, 0n, 0n, 0n]], // 13 bytes would be less than ETH_HLEN
      [5, 2, '080706050403020105112233445566778899aabbccddeeff', [0n, 0n, 0n, 0n]], // metadata comes first in data_out
      [6, 2, '06112233445566778899aabbccddeeff', [-22n, -22n, -13n, -22n]],
    ];
    for (const [op, retval, out, res] of cases) {
      for (let i = 0; i < 4; i++) coll.map('results').update(new Uint8Array([i, 0, 0, 0]), new Uint8Array(8));
      const r = p.testRun({ dataIn: pkt(op) });
      assert.deepEqual([r.retval, hex(r.dataOut), results()], [retval, out, res], `op ${op}`);
    }
    // repeat runs on the same context: the head moves twice
    const twice = p.testRun({ dataIn: fromHex('02112233445566778899aabbccddeeff0011'), repeat: 2 });
    assert.equal(hex(twice.dataOut), '2233445566778899aabbccddeeff0011');
  });

  test(`xdp: ctx_in metadata, ctx_out offsets, and the kernel's refusals (${engine})`, () => {
    const coll = new Runtime({ engine }).loadObject(read('test', 'fixtures', 'pcap-runtime', 'ctx_fields.o'), { programs: ['xdp_fields'] });
    const p = coll.program('xdp_fields');
    const md = (data: number, end: number, more: number[] = []): Uint8Array => new Uint8Array(new Uint32Array([data, end, ...more]).buffer);
    const field = (slot: number): bigint => s64(coll.map('fields').lookup(new Uint8Array([slot, 0, 0, 0])));
    const pkt = new Uint8Array(40).map((_, i) => i);
    const r = p.testRun({ dataIn: pkt, ctxIn: md(8, 40) });
    assert.equal(field(48), 32n); // data_end - data
    assert.equal(field(49), 8n); // data - data_meta
    assert.equal(field(50), 1n); // loopback
    assert.equal(hex(r.ctxOut!), hex(md(8, 40, [0, 0, 0, 0])));
    assert.equal(hex(r.dataOut), hex(pkt));
    // data_end short of the size: the linear part is smaller, the rest comes back as a fragment
    p.testRun({ dataIn: pkt, ctxIn: md(0, 30) });
    assert.equal(field(48), 30n);
    assert.equal(errno(() => p.testRun({ dataIn: pkt, ctxIn: md(6, 40) })), 22); // metadata not a multiple of 4
    assert.equal(errno(() => p.testRun({ dataIn: pkt, ctxIn: md(0, 41) })), 22);
    assert.equal(errno(() => p.testRun({ dataIn: pkt, ctxIn: md(0, 40, [4]) })), 22); // data_meta must be 0
    assert.equal(errno(() => p.testRun({ dataIn: pkt, ctxIn: md(0, 40, [0, 0, 1]) })), 22); // no rx queue 1
    assert.equal(errno(() => p.testRun({ dataIn: new Uint8Array(13) })), 22); // less than ETH_HLEN
    assert.equal(errno(() => p.testRun({ dataIn: pkt, ctxIn: new Uint8Array(32).fill(1) })), 7); // bytes past xdp_md
  });

  test(`__sk_buff: tc sees the frame, socket filters the network header; writable fields come back in ctx_out (${engine})`, () => {
    const coll = new Runtime({ engine }).loadObject(read('test', 'fixtures', 'pcap-runtime', 'ctx_fields.o'));
    const field = (slot: number): bigint => s64(coll.map('fields').lookup(new Uint8Array([slot, 0, 0, 0])));
    // broadcast ARP frame of 42 bytes
    const arp = fromHex('ffffffffffff020000000001080600010800060400010200000000010a0000010000000000000a000002');
    const tc = coll.program('tc_fields').testRun({ dataIn: arp });
    assert.equal(tc.retval, 0);
    assert.deepEqual([0, 1, 4, 8, 13, 18].map(field), [42n, BigInt(PACKET_BROADCAST), 0x0608n, 1n, 42n, 0x0806n]);
    assert.equal(field(19), 0n); // skb_load_bytes ok
    assert.equal(field(20), 0xffffffffn); // the first 4 bytes
    assert.equal(field(21), -14n); // past the end: -EFAULT
    assert.equal(field(22), 0n); // skb_store_bytes
    assert.equal(field(23), -22n); // bad flags
    assert.equal(hex(tc.dataOut.subarray(0, 2)), '0a0b');
    const ctxOut = new DataView(tc.ctxOut!.buffer);
    assert.deepEqual([ctxOut.getUint32(SKB.mark, true), ctxOut.getUint32(SKB.priority, true), ctxOut.getUint32(SKB.cb + 4, true)], [0x1234, 7, 0xcafe]);

    const sock = coll.program('sock_fields').testRun({ dataIn: arp });
    assert.equal(sock.retval, 0); // the LD_ABS past the end ended the program with 0
    assert.deepEqual([32, 34, 35, 40, 41].map(field), [28n, 0x0608n, 1n, 0n, 0x00010a00n]); // LD_ABS offsets count from the ARP header
    // the kernel hands back the frame with a zeroed Ethernet header
    assert.equal(hex(sock.dataOut), '0'.repeat(28) + hex(arp.subarray(14)));
    assert.equal(errno(() => coll.program('tc_fields').testRun({ dataIn: fromHex('000000000000000000000000080045') })), 22); // IPv4 without a header
    const badCtx = new Uint8Array(192);
    badCtx[SKB.len] = 1;
    assert.equal(errno(() => coll.program('tc_fields').testRun({ dataIn: arp, ctxIn: badCtx })), 22);
  });

  test(`every program type of programs.o test-runs with its context (${engine})`, () => {
    const coll = new Runtime({ engine }).loadObject(read('examples', 'programs.o'));
    const frame = new Uint8Array(60);
    frame[12] = 0x08;
    frame[13] = 0x06;
    const got = Object.fromEntries(
      [...coll.programs.values()].map((p) => {
        const packet = ['socket_filter', 'sched_cls', 'cgroup_skb', 'xdp'].includes(p.type);
        return [p.name, p.testRun(packet ? { dataIn: frame } : { ctxIn: new Uint8Array(p.type === 'raw_tracepoint' ? 16 : 8) }).retval];
      }),
    );
    assert.deepEqual(got, { on_open: 0, on_open_ret: 0, on_enter_openat: 0, on_switch: 0, on_malloc: 0, sock: 46, tc_in: 0, cls: 0, egress: 1, frags: 2, sys: 0, perf: 0 });
  });

  test(`raw tracepoint arguments, kprobe pt_regs and syscall ctx_out (${engine})`, () => {
    // the test-run layer's own checks: loaded without the verifier (explicit opt-out)
    const coll = new Runtime({ engine, verify: false }).loadObject(
      objectSpec([
        { name: 'rawtp', type: 'raw_tracepoint', asm: 'r0 = *(u64 *)(r1 + 8)\nr1 = *(u64 *)(r1 + 0)\nr0 -= r1\nexit' },
        { name: 'kp', type: 'kprobe', asm: 'r0 = *(u64 *)(r1 + 112)\nexit' }, // pt_regs->di on x86-64
        { name: 'sys', type: 'syscall', asm: 'r2 = *(u32 *)(r1 + 0)\nr2 *= 3\n*(u32 *)(r1 + 4) = r2\nr0 = 0\nexit' },
      ]),
    );
    const args = new BigUint64Array([5n, 47n]);
    assert.equal(coll.program('rawtp').testRun({ ctxIn: new Uint8Array(args.buffer) }).retval, 42);
    const regs = new BigUint64Array(21);
    regs[14] = 0x1234n;
    assert.equal(coll.program('kp').testRun({ ctxIn: new Uint8Array(regs.buffer) }).retval, 0x1234);
    const r = coll.program('sys').testRun({ ctxIn: new Uint8Array(new Uint32Array([7, 0]).buffer) });
    assert.deepEqual([...new Uint32Array(r.ctxOut!.buffer)], [7, 21]);
    assert.equal(errno(() => coll.program('rawtp').testRun({ ctxIn: new Uint8Array(12) })), 22); // not whole u64s
    assert.equal(errno(() => coll.program('rawtp').testRun({ ctxIn: new Uint8Array(13 * 8) })), 22); // more than 12
    assert.equal(errno(() => coll.program('sys').testRun({ dataIn: new Uint8Array(20) })), 22); // no data_in
    assert.equal(errno(() => coll.program('kp').testRun({ ctxIn: new Uint8Array(200) })), 7);
    // a kprobe cannot write its pt_regs
    const w = new Runtime({ engine, verify: false }).loadObject(objectSpec([{ name: 'w', type: 'kprobe', asm: 'r2 = 1\n*(u64 *)(r1 + 0) = r2\nr0 = 0\nexit' }]));
    assert.throws(() => w.program('w').testRun({ ctxIn: new Uint8Array(168) }), /read-only/);
  });
}

test('program types without a test run are refused with EOPNOTSUPP', () => {
  const coll = new Runtime().loadObject(objectSpec([{ name: 'lsm', type: 'lsm', asm: 'r0 = 0\nexit' }]));
  assert.equal(errno(() => coll.program('lsm').testRun({})), 95);
});

test('eth_type_trans: protocol as the program reads it, and pkt_type on the loopback device', () => {
  const f = (dst: string, type: string): Uint8Array => fromHex(`${dst}020000000001${type}0000`);
  assert.deepEqual(ethTypeTrans(f('000000000000', '0800')), { protocol: 0x0008, pktType: PACKET_HOST });
  assert.deepEqual(ethTypeTrans(f('ffffffffffff', '86dd')), { protocol: 0xdd86, pktType: PACKET_BROADCAST });
  assert.deepEqual(ethTypeTrans(f('01005e0000fb', '0800')).pktType, PACKET_MULTICAST);
  assert.deepEqual(ethTypeTrans(f('020000000002', '0800')).pktType, PACKET_OTHERHOST);
  // 802.3 length field: 802.2 LLC, or raw 802.3 when the payload starts with ffff
  assert.equal(ethTypeTrans(fromHex('000000000000020000000001002effff')).protocol, 0x0100);
  assert.equal(ethTypeTrans(fromHex('000000000000020000000001002eaaaa')).protocol, 0x0400);
});

test('verdict names and which verdicts pass a packet on', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 9].map((r) => verdictName('xdp', r)), ['XDP_ABORTED', 'XDP_DROP', 'XDP_PASS', 'XDP_TX', 'XDP_REDIRECT', '9']);
  assert.deepEqual([0, 2, 7, 0xffffffff].map((r) => verdictName('sched_cls', r)), ['TC_ACT_OK', 'TC_ACT_SHOT', 'TC_ACT_REDIRECT', 'TC_ACT_UNSPEC']);
  assert.deepEqual([0, 40].map((r) => verdictName('socket_filter', r)), ['drop', 'keep 40']);
  assert.deepEqual([0, 1, 2, 3].map((r) => passesPacket('xdp', r)), [false, false, true, true]);
  assert.deepEqual([0, 2].map((r) => passesPacket('sched_cls', r)), [true, false]);
});

test('a reused context starts clean: headroom bytes from an earlier run do not leak', () => {
  const coll = new Runtime().loadObject(objectSpec([{ name: 'push', type: 'xdp', asm: 'r2 = -4\ncall 44\nr0 = 2\nexit' }]));
  const p = coll.program('push');
  const pkt = new Uint8Array(20).fill(0xaa);
  // first run: 8 bytes of metadata (0xaa) sit just below data in the headroom
  assert.equal(hex(p.testRun({ dataIn: pkt, ctxIn: new Uint8Array(new Uint32Array([8, 20, 0, 0, 0, 0]).buffer) }).dataOut), 'aa'.repeat(4) + 'aa'.repeat(20));
  // second run on the same frame: the 4 pushed bytes are zero, as in a freshly allocated one
  assert.equal(hex(p.testRun({ dataIn: pkt }).dataOut), '00000000' + 'aa'.repeat(20));
});

for (const engine of ENGINES) {
  test(`tc packet resizing: skb_pull_data, skb_change_tail, skb_change_head (${engine})`, () => {
    const coll = new Runtime({ engine }).loadObject(read('test', 'fixtures', 'pcap-runtime', 'resize.o'));
    const frame = Uint8Array.from({ length: 60 }, (_, i) => i + 1);
    frame[12] = 0x88;
    frame[13] = 0xb5;
    const r = coll.program('resize').testRun({ dataIn: frame });
    const log = [...Array(12).keys()].map((i) => s64(coll.map('resize_log').lookup(new Uint8Array([i, 0, 0, 0]))));
    // pull ok, pull past the end -ENOMEM, grow to 70, shrink to 57, below ETH_HLEN and bad flags -EINVAL, push 4 -> 61
    assert.deepEqual(log, [0n, -12n, 0n, 70n, 0n, 57n, -22n, -22n, 0n, 61n, -22n, 61n]);
    assert.equal(r.retval, 0);
    assert.equal(hex(r.dataOut), '44332211' + hex(frame.subarray(0, 57)));
  });
}

test('xdp multi-buffer helpers read and write across the linear part and the fragments', () => {
  const coll = new Runtime().loadObject(read('test', 'fixtures', 'pcap-runtime', 'ctx_fields.o'), { programs: ['xdp_mb'] });
  const field = (slot: number): bigint => s64(coll.map('fields').lookup(new Uint8Array([slot, 0, 0, 0])));
  const pkt = Uint8Array.from({ length: 60 }, (_, i) => i + 1);
  const r = coll.program('xdp_mb').testRun({ dataIn: pkt, ctxIn: new Uint8Array(new Uint32Array([0, 40, 0, 0, 0, 0]).buffer) });
  assert.equal(r.retval, 2);
  // whole length, linear length, load ok, the last 4 bytes, store ok, load past the end -EINVAL
  assert.deepEqual([53, 54, 55, 56, 57, 58].map(field), [60n, 40n, 0n, 0x3c3b3a39n, 0n, -22n]);
  const want = pkt.slice();
  want[58] = 0xee;
  want[59] = 58;
  assert.equal(hex(r.dataOut), hex(want));
  assert.equal(r.ctxOut!.length, 24); // an xdp_md
});

test('bpf_skb_adjust_room: room after the IP header or the Ethernet header, the kernel\'s refusals', () => {
  const coll = new Runtime().loadObject(read('test', 'fixtures', 'pcap-runtime', 'resize.o'), { programs: ['room'] });
  const frame = (id: number): Uint8Array => {
    const f = new Uint8Array(90).map((_, i) => (i * 7 + id) & 0xff);
    f.set([0x08, 0x00, 0x45, 0, 0, 76, 0, id, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 12);
    return f;
  };
  const got = [0, 1, 2, 3, 4, 5, 6, 7].map((id) => {
    const r = coll.program('room').testRun({ dataIn: frame(id) });
    const log = (i: number): bigint => s64(coll.map('resize_log').lookup(new Uint8Array([i, 0, 0, 0])));
    return [log(12), log(13), r.dataOut.length];
  });
  // NET +8, NET -8, MAC +4, MAC +20 with ENCAP_L3_IPV4, ENCAP on a shrink (-EINVAL), bad mode (-ENOTSUPP), DECAP -20, 0x1000 (-EFAULT)
  assert.deepEqual(got, [[0n, 98n, 98], [0n, 82n, 82], [0n, 94n, 94], [0n, 110n, 110], [-22n, 90n, 90], [-524n, 90n, 90], [0n, 70n, 70], [-14n, 90n, 90]]);
  const f = frame(0);
  const out = coll.program('room').testRun({ dataIn: f }).dataOut;
  // the headers stay in front, 8 zero bytes follow the IP header, then the rest
  assert.equal(hex(out), hex(f.subarray(0, 34)) + '00'.repeat(8) + hex(f.subarray(34)));
});

test('VLAN push and pop: the accelerated tag, a tag moved into the packet, tags popped from it', () => {
  const coll = new Runtime().loadObject(read('test', 'fixtures', 'pcap-runtime', 'resize.o'), { programs: ['vlan'] });
  const log = (op: number, k: number): bigint => s64(coll.map('vlan_log').lookup(new Uint8Array([op * 8 + k, 0, 0, 0])));
  const macs = [0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1];
  const ip = [0x08, 0x00, 0x45, 0, 0, 40, 0, 9, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...new Array(20).fill(0x5a)];
  const frame = (sel: number, tags: number[] = []): Uint8Array => Uint8Array.from([...macs.slice(0, 6), sel, ...macs.slice(7), ...tags.flatMap((v) => [v >> 8, v & 0xff]), ...ip]);
  // case 0: one push: only the skb's tag fields change
  const plain = frame(0);
  assert.equal(hex(coll.program('vlan').testRun({ dataIn: plain }).dataOut), hex(plain));
  assert.deepEqual([2, 3, 4, 5].map((k) => log(0, k)), [0x0008n, 1n, 5n, 0x0081n]);
  // case 1: a second push moves the first tag (802.1ad, TCI 6) into the packet
  const pushed = coll.program('vlan').testRun({ dataIn: frame(1) }).dataOut;
  assert.equal(hex(pushed), hex(frame(1, [0x88a8, 6])));
  assert.deepEqual([2, 3, 4, 5, 6].map((k) => log(1, k)), [0xa888n, 1n, 7n, 0x0081n, BigInt(pushed.length)]);
  // case 5: pop a tag from the packet
  assert.equal(hex(coll.program('vlan').testRun({ dataIn: frame(5, [0x8100, 7]) }).dataOut), hex(frame(5)));
  // case 6: QinQ: the outer tag goes, the inner one becomes the accelerated tag, the second pop drops it
  assert.equal(hex(coll.program('vlan').testRun({ dataIn: frame(6, [0x88a8, 100, 0x8100, 7]) }).dataOut), hex(frame(6)));
  assert.deepEqual([0, 1, 2, 3].map((k) => log(6, k)), [0n, 0n, 0x0008n, 0n]);
});

test('skb metadata helpers: skb_change_type within PACKET_HOST..PACKET_OTHERHOST, set_hash, set_hash_invalid', () => {
  const coll = new Runtime().loadObject(read('test', 'fixtures', 'pcap-runtime', 'resize.o'), { programs: ['meta'] });
  const r = coll.program('meta').testRun({ dataIn: new Uint8Array(60) });
  const log = (i: number): bigint => s64(coll.map('resize_log').lookup(new Uint8Array([i, 0, 0, 0])));
  // change to OTHERHOST ok; to 4: -EINVAL (x100) plus pkt_type still 3; the hash set, then cleared
  assert.deepEqual([log(14), log(15)], [-2200n + 3n, 0x1234abcdn]);
  assert.equal(r.retval, 3);
});

test('cgroup_skb sees the test run socket: family and addresses from the IP header', () => {
  const coll = new Runtime().loadObject(read('test', 'fixtures', 'pcap-runtime', 'ctx_fields.o'), { programs: ['cg_fields'] });
  const field = (slot: number): bigint => s64(coll.map('fields').lookup(new Uint8Array([slot, 0, 0, 0])));
  // Ethernet (dst, src, IPv4) + an IPv4 header from 10.0.0.1 to 10.0.0.2
  const ip4 = fromHex('000000000000' + '020000000001' + '0800' + '4500001400000000401100000a0000010a000002');
  assert.equal(ip4.length, 34);
  assert.equal(coll.program('cg_fields').testRun({ dataIn: ip4 }).retval, 1);
  // AF_INET; local = source 10.0.0.1, remote = destination 10.0.0.2 (as the program's u32 loads read them)
  assert.deepEqual([59, 60, 61, 63].map(field), [2n, 0x0100000an, 0x0200000an, 20n]);
});
