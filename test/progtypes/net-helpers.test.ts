// Incremental checksum updates (bpf_l3/l4_csum_replace) against checksums
// recomputed from scratch, and bpf_redirect's verdicts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { csumReplace } from '../../src/progtypes/net-helpers.js';
import { parseCapture } from '../../src/pcap/reader.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { objectSpec } from '../runtime/spec-builder.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (...p: string[]): Uint8Array => new Uint8Array(readFileSync(join(ROOT, ...p)));

/** The Internet checksum of `b` (big-endian 16-bit words), as stored in a header. */
function inet(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

test('csumReplace equals recomputing the checksum after the change (2- and 4-byte fields, any byte order)', () => {
  let seed = 12345;
  const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8;
  for (let n = 0; n < 500; n++) {
    const data = Uint8Array.from({ length: 20 }, () => rnd() & 0xff);
    data[10] = data[11] = 0;
    const c = inet(data);
    data[10] = c >> 8;
    data[11] = c & 0xff;
    const dv = new DataView(data.buffer);
    const size = n % 2 === 0 ? 4 : 2;
    const at = 12 + 2 * (rnd() % 3);
    const from = size === 4 ? dv.getUint32(at, true) : dv.getUint16(at, true);
    const to = size === 4 ? rnd() * 257 >>> 0 : rnd() & 0xffff;
    if (size === 4) dv.setUint32(at, to, true);
    else dv.setUint16(at, to, true);
    dv.setUint16(10, csumReplace(dv.getUint16(10, true), from, to, size), true);
    // a correct header sums to zero (0 or its one's-complement twin)
    const check = inet(data);
    assert.ok(check === 0 || check === 0xffff, `case ${n}: residue ${check.toString(16)}`);
  }
});

test('dnat rewrites address and port with valid IP, TCP and UDP checksums', () => {
  const coll = new Runtime().loadObject(read('test', 'fixtures', 'pcap-runtime', 'nat.o'));
  const frames = [...parseCapture(read('examples', 'xdp', 'flows.pcap'), { copy: true })].map((r) => r.data);
  let rewritten = 0;
  for (const f of frames) {
    if (f.length < 34 || f[12] !== 8 || f[13] !== 0) continue;
    const r = coll.program('dnat').testRun({ dataIn: f });
    const out = r.dataOut;
    const proto = out[23]!;
    if (proto !== 6 && proto !== 17) {
      assert.equal(r.retval, 0); // TC_ACT_OK, untouched
      assert.deepEqual(out, f);
      continue;
    }
    rewritten++;
    assert.equal(r.retval, 7); // TC_ACT_REDIRECT
    assert.deepEqual([...out.subarray(30, 34)], [192, 168, 0, 100]);
    assert.equal((out[36]! << 8) | out[37]!, 8080);
    assert.equal(inet(out.subarray(14, 34)), 0, 'IP header checksum');
    const l4 = out.subarray(34);
    const pseudo = Uint8Array.from([...out.subarray(26, 34), 0, proto, l4.length >> 8, l4.length & 0xff]);
    const whole = new Uint8Array(pseudo.length + l4.length);
    whole.set(pseudo);
    whole.set(l4, pseudo.length);
    assert.ok([0, 0xffff].includes(inet(whole)), `${proto === 6 ? 'TCP' : 'UDP'} checksum`);
  }
  assert.equal(rewritten, 14);
  // every helper call succeeded except the three bad requests per packet (-EFAULT, -EINVAL, -EINVAL)
  const res = (i: number): bigint => new DataView(coll.map('nat_results').lookup(new Uint8Array([i, 0, 0, 0]))!.buffer).getBigInt64(0, true);
  assert.deepEqual([res(0), res(1), res(2), res(3)], [0n, 0n, 0n, 14n * (-14n - 22n - 22n)]);
});

test('bpf_redirect: XDP_REDIRECT, or XDP_ABORTED with flags; TC_ACT_REDIRECT, or TC_ACT_SHOT with flags other than BPF_F_INGRESS', () => {
  const prog = (type: string, flags: number) => ({ name: `${type}_${flags}`, type, asm: `r1 = 1\nr2 = ${flags}\ncall 23\nexit` });
  const coll = new Runtime().loadObject(objectSpec([prog('xdp', 0), prog('xdp', 1), prog('sched_cls', 0), prog('sched_cls', 1), prog('sched_cls', 2)]));
  const frame = new Uint8Array(60);
  assert.deepEqual(['xdp_0', 'xdp_1', 'sched_cls_0', 'sched_cls_1', 'sched_cls_2'].map((n) => coll.program(n).testRun({ dataIn: frame }).retval), [4, 0, 7, 7, 2]);
});

test('perf_event_output with BPF_F_CTXLEN_MASK appends packet bytes to the record (XDP and tc)', async () => {
  const { PerfEventArrayMap } = await import('../../src/maps/perf-event-array.js');
  const asm = (len: number): string => `r6 = r1
    r1 = 0x61626364
    *(u32 *)(r10 - 4) = r1
    r1 = r6
    r2 = 0 ll
    r3 = 0x${len.toString(16)}ffffffff ll
    r4 = r10
    r4 += -4
    r5 = 4
    call 25
    exit`;
  const coll = new Runtime().loadObject(
    objectSpec(
      [
        { name: 'x', type: 'xdp', asm: asm(16), maps: [[4, 0]] },
        { name: 't', type: 'sched_cls', asm: asm(3), maps: [[4, 0]] },
        { name: 'big', type: 'xdp', asm: asm(100), maps: [[4, 0]] },
      ],
      [{ name: 'events', type: 'perf_event_array', keySize: 4, valueSize: 4, maxEntries: 1 }],
    ),
  );
  const events = coll.map('events') as InstanceType<typeof PerfEventArrayMap>;
  events.openAll();
  const frame = Uint8Array.from({ length: 60 }, (_, i) => i);
  assert.equal(coll.program('x').testRun({ dataIn: frame }).retval, 0);
  assert.equal(coll.program('t').testRun({ dataIn: frame }).retval, 0);
  assert.equal(BigInt.asIntN(32, BigInt(coll.program('big').testRun({ dataIn: frame }).retval)), -14n); // more than the packet
  const recs = events.read().map((r) => [...(r.data ?? [])]);
  assert.deepEqual(recs, [
    [0x64, 0x63, 0x62, 0x61, ...frame.subarray(0, 16)],
    [0x64, 0x63, 0x62, 0x61, 0, 1, 2],
  ]);
});
