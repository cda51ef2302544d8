// Runtime: objects into a runtime (maps created, map references resolved),
// BTF-typed map access, pins, tail calls, callbacks and the kernel's
// behaviour on bad input. Each behaviour runs on the interpreter and the JIT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCapture } from '../../src/pcap/reader.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { LoadError } from '../../src/runtime/errors.js';
import { ProgArrayMap } from '../../src/maps/prog-array.js';
import { RingBufMap } from '../../src/maps/ringbuf.js';
import { BudgetExceeded, ProgramError } from '../../src/internal/errors.js';
import { frame, objectSpec } from './spec-builder.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ENGINES = ['interp', 'jit'] as const;
const read = (...p: string[]): Uint8Array => new Uint8Array(readFileSync(join(ROOT, ...p)));
const u32 = (v: number): Uint8Array => new Uint8Array(new Uint32Array([v]).buffer);
const u64 = (b: Uint8Array | undefined): bigint => (b === undefined ? -1n : new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
const i64 = (b: Uint8Array | undefined): bigint => (b === undefined ? -1n : new DataView(b.buffer, b.byteOffset).getBigInt64(0, true));

/** Per-flow packet and byte counts computed from the capture by parsing it here, independently of the program. */
function expectedFlows(frames: Uint8Array[]): Map<string, { packets: number; bytes: number }> {
  const flows = new Map<string, { packets: number; bytes: number }>();
  for (const f of frames) {
    if (f.length < 34 || f[12] !== 0x08 || f[13] !== 0x00) continue;
    const ihl = (f[14]! & 15) * 4;
    const proto = f[23]!;
    let sport = 0;
    let dport = 0;
    if (proto === 6 || proto === 17) {
      sport = (f[14 + ihl]! << 8) | f[15 + ihl]!;
      dport = (f[16 + ihl]! << 8) | f[17 + ihl]!;
    }
    const key = `${[...f.subarray(26, 30)].join('.')}:${sport}>${[...f.subarray(30, 34)].join('.')}:${dport}/${proto}`;
    const e = flows.get(key) ?? { packets: 0, bytes: 0 };
    e.packets++;
    e.bytes += f.length;
    flows.set(key, e);
  }
  return flows;
}

for (const engine of ENGINES) {
  test(`flowcount over the bundled capture counts every flow (${engine})`, () => {
    const rt = new Runtime({ engine });
    const coll = rt.loadObject(read('examples', 'xdp', 'flowcount.o'), { file: 'flowcount.o' });
    const prog = coll.program('flowcount');
    const frames = [...parseCapture(read('examples', 'xdp', 'flows.pcap'), { copy: true })].map((r) => r.data);
    for (const f of frames) assert.equal(prog.testRun({ dataIn: f }).retval, 2); // XDP_PASS
    const flows = coll.typedMap('flows');
    const got = new Map<string, { packets: number; bytes: number }>();
    for (const { key, value } of flows.entries()) {
      const k = key as { saddr: number[]; daddr: number[]; sport: number; dport: number; proto: number };
      const v = value as { packets: number; bytes: number };
      got.set(`${k.saddr.join('.')}:${k.sport}>${k.daddr.join('.')}:${k.dport}/${k.proto}`, { packets: v.packets, bytes: v.bytes });
    }
    assert.deepEqual(got, expectedFlows(frames));
    // a lookup by decoded key object, and by bytes
    const web = flows.lookup({ saddr: [10, 0, 0, 1], daddr: [10, 0, 0, 2], sport: 40000, dport: 80, proto: 6 });
    assert.deepEqual(web, { packets: 4, bytes: expectedFlows(frames).get('10.0.0.1:40000>10.0.0.2:80/6')!.bytes });
    const keyBytes = flows.encodeKey({ saddr: [10, 0, 0, 1], daddr: [10, 0, 0, 2], sport: 40000, dport: 80, proto: 6 });
    assert.equal(keyBytes.length, 16);
    assert.ok(coll.map('flows').lookup(keyBytes) !== undefined);
    // stats: parsed, not IPv4, truncated, other L4 (ICMP)
    const stats = coll.typedMap('stats');
    const nonIp = frames.filter((f) => !(f[12] === 8 && f[13] === 0)).length;
    assert.deepEqual([0, 1, 2, 3].map((i) => stats.lookup(i)), [frames.length - nonIp - 1, nonIp, 1, 2]);
    rt.dispose();
  });

  test(`map state persists across repeated runs, as in the kernel (${engine})`, () => {
    const rt = new Runtime({ engine });
    const coll = rt.loadObject(read('examples', 'xdp', 'flowcount.o'));
    const frames = [...parseCapture(read('examples', 'xdp', 'flows.pcap'), { copy: true })].map((r) => r.data);
    const r = coll.program('flowcount').testRun({ dataIn: frames[0]!, repeat: 5 });
    assert.equal(r.retval, 2);
    const [entry] = [...coll.typedMap('flows').entries()];
    assert.deepEqual(entry!.value, { packets: 5, bytes: 5 * frames[0]!.length });
    assert.ok(r.durationNs >= 0);
  });

  test(`tail calls: the initial prog_array slot from the object, an empty slot, the 33-call limit (${engine})`, () => {
    const rt = new Runtime({ engine });
    const coll = rt.loadObject(read('examples', 'maps.o'), { file: 'maps.o' });
    // count_packets tail-calls jumps[2] = tail_target, which returns XDP_DROP
    assert.equal(coll.program('count_packets').testRun({ dataIn: frame() }).retval, 1);
    assert.equal(u64(coll.map('counters').lookup(u32(0))), 1n);
    // an empty slot: the call fails and the program continues (XDP_PASS)
    (coll.map('jumps') as ProgArrayMap).set(2, undefined);
    assert.equal(coll.program('count_packets').testRun({ dataIn: frame() }).retval, 2);
    // the ring buffer got one record per run, readable by the consumer
    const rb = coll.map('events') as RingBufMap;
    const samples: Uint8Array[] = [];
    rb.poll((s) => samples.push(s));
    assert.deepEqual(samples.map((s) => [...s]), [[0, 0, 0, 0], [0, 0, 0, 0]]);

    // a program that counts its runs in an array and tail-calls itself
    const self = rt.loadObject(
      objectSpec(
        [{
          name: 'again', type: 'xdp', maps: [[3, 0], [11, 1]],
          asm: `r6 = r1
            r1 = 0
            *(u32 *)(r10 - 4) = r1
            r1 = 0 ll
            r2 = r10
            r2 += -4
            call 1
            if r0 == 0x0 goto +2
            r1 = 1
            lock *(u64 *)(r0 + 0) += r1
            r2 = 0 ll
            r1 = r6
            r3 = 0
            call 12
            r0 = 0x2a
            exit`,
        }],
        [
          { name: 'runs', type: 'array', keySize: 4, valueSize: 8, maxEntries: 1 },
          { name: 'progs', type: 'prog_array', keySize: 4, valueSize: 4, maxEntries: 1, initValues: [{ index: 0, program: 'again' }] },
        ],
      ),
    );
    const r = self.program('again').testRun({ dataIn: frame() });
    // the first run plus MAX_TAIL_CALL_CNT (33) tail calls; the last one fails and falls through
    assert.equal(r.retval, 42);
    assert.equal(u64(self.map('runs').lookup(u32(0))), 34n);
    // the count starts again with each run
    self.program('again').testRun({ dataIn: frame() });
    assert.equal(u64(self.map('runs').lookup(u32(0))), 68n);
    rt.dispose();
  });

  test(`bpf_loop callbacks run on their own stack (${engine})`, () => {
    const rt = new Runtime({ engine });
    const coll = rt.loadObject(read('examples', 'subprogs.o'));
    const first = coll.program('first');
    const r = first.testRun({ dataIn: frame(0, 60) });
    assert.equal(typeof r.retval, 'number');
    // a callback value no lddw func produced is refused, not jumped to
    assert.throws(() => first.invoke(12345, new Int32Array(10)), ProgramError);
  });

  test(`bad input behaves as in the kernel: map full, bad helper pointers, ring buffer full (${engine})`, () => {
    // the runtime's own checks, without the verifier (explicit opt-out)
    const rt = new Runtime({ engine, verify: false });
    const coll = rt.loadObject(
      objectSpec(
        [
          {
            // two updates into a hash of one entry: 0, then -E2BIG; results in an array
            name: 'full', type: 'xdp', maps: [[8, 0], [18, 0], [28, 1], [37, 1]],
            asm: `r1 = 1
              *(u32 *)(r10 - 4) = r1
              r1 = 2
              *(u32 *)(r10 - 8) = r1
              r1 = 0
              *(u64 *)(r10 - 16) = r1
              r2 = r10
              r2 += -4
              r1 = 0 ll
              r3 = r10
              r3 += -16
              r4 = 0
              call 2
              r6 = r0
              r2 = r10
              r2 += -8
              r3 = r10
              r1 = 0 ll
              r3 += -16
              r4 = 0
              call 2
              r7 = r0
              r1 = 0
              *(u32 *)(r10 - 4) = r1
              r2 = r10
              r2 += -4
              r1 = 0 ll
              call 1
              if r0 == 0x0 goto +1
              *(u64 *)(r0 + 0) = r6
              r1 = 1
              *(u32 *)(r10 - 4) = r1
              r2 = r10
              r2 += -4
              r1 = 0 ll
              call 1
              if r0 == 0x0 goto +1
              *(u64 *)(r0 + 0) = r7
              r0 = 2
              exit`,
          },
          {
            // helpers handed garbage map pointers (no verifier): NULL from lookup, -EINVAL from update
            name: 'garbage', type: 'xdp',
            asm: `r1 = 0x12345678 ll
              r2 = 0x10
              call 1
              r6 = r0
              r1 = 0x12345678 ll
              r2 = 0x10
              r3 = 0x20
              r4 = 0
              call 2
              r0 += r6
              exit`,
          },
          {
            // ringbuf_output of the 3000-byte context into a 4096-byte ring
            name: 'ring', type: 'syscall', maps: [[1, 2]],
            asm: `r6 = r1
              r1 = 0 ll
              r2 = r6
              r3 = 3000
              r4 = 0
              call 130
              exit`,
          },
        ],
        [
          { name: 'one', type: 'hash', keySize: 4, valueSize: 8, maxEntries: 1 },
          { name: 'results', type: 'array', keySize: 4, valueSize: 8, maxEntries: 2 },
          { name: 'rb', type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 4096 },
        ],
      ),
    );
    assert.equal(coll.program('full').testRun({ dataIn: frame() }).retval, 2);
    assert.equal(i64(coll.map('results').lookup(u32(0))), 0n);
    assert.equal(i64(coll.map('results').lookup(u32(1))), -7n); // -E2BIG
    assert.equal(coll.program('garbage').testRun({ dataIn: frame() }).r0, BigInt.asUintN(64, -22n)); // NULL + -EINVAL (no such map)
    // the first record fits; the second does not (-EAGAIN) and is counted as dropped; after the consumer reads, it fits again
    const ring = coll.program('ring');
    const ctxIn = new Uint8Array(3000).fill(7);
    const rb = coll.map('rb') as RingBufMap;
    assert.equal(ring.testRun({ ctxIn }).retval, 0);
    assert.equal(BigInt.asIntN(32, BigInt(ring.testRun({ ctxIn }).retval)), -11n);
    assert.equal(rb.dropped, 1);
    const got: Uint8Array[] = [];
    assert.equal(rb.poll((s) => got.push(s)), 1);
    assert.equal(got[0]!.length, 3000);
    assert.ok(got[0]!.every((x) => x === 7));
    assert.equal(ring.testRun({ ctxIn }).retval, 0);
    // a source range outside every region: -EFAULT, nothing written
    assert.equal(BigInt.asIntN(32, BigInt(ring.testRun({ ctxIn: new Uint8Array(8) }).retval)), -14n);
    rt.dispose();
  });
}

for (const engine of ENGINES) {
  test(`a runaway program stops at the budget with a typed error, and the runtime stays usable (${engine})`, () => {
    const rt = new Runtime({ engine, budget: 10_000, verify: false });
    const coll = rt.loadObject(objectSpec([{ name: 'spin', type: 'xdp', asm: 'r0 = 0\nr0 += 1\ngoto -2\nexit' }, { name: 'ok', type: 'xdp', asm: 'r0 = 2\nexit' }]));
    assert.throws(() => coll.program('spin').testRun({ dataIn: frame() }), (e) => e instanceof BudgetExceeded && e.budget === 10_000);
    assert.throws(() => coll.program('spin').testRun({ dataIn: frame(), budget: 50 }), (e) => e instanceof BudgetExceeded && e.budget === 50);
    assert.equal(coll.program('ok').testRun({ dataIn: frame() }).retval, 2);
  });
}

test('pin by name: a second object shares the pinned map; a different definition is refused', () => {
  const rt = new Runtime();
  const a = rt.loadObject(read('examples', 'maps.o'));
  const b = rt.loadObject(read('examples', 'maps.o'));
  assert.equal(a.map('lru'), b.map('lru'));
  assert.notEqual(a.map('counters'), b.map('counters'));
  assert.equal(rt.pinned('lru'), a.map('lru'));
  const clash = objectSpec([], [{ name: 'lru', type: 'lru_hash', keySize: 8, valueSize: 8, maxEntries: 256, flags: 2, pinning: 1 }]);
  assert.throws(() => rt.loadObject(clash), (e) => e instanceof LoadError && /pinned by name with a different definition/.test(e.message));
  // closing a collection keeps its pinned maps
  a.close();
  assert.equal(b.map('lru').lookup(new Uint8Array(8)), undefined);
  assert.equal(rt.maps.byId(a.map('counters').id), undefined);
  assert.equal(rt.maps.byId(b.map('lru').id), b.map('lru'));
  assert.ok(rt.unpin('lru'));
  assert.notEqual(rt.loadObject(read('examples', 'maps.o')).map('lru'), a.map('lru'));
});

test('load errors name the program and the instruction', () => {
  const rt = new Runtime();
  assert.throws(
    () => rt.loadObject(objectSpec([{ name: 'bad', type: 'xdp', asm: 'call 999\nexit' }])),
    (e) => e instanceof LoadError && e.message === 'program bad (section xdp): instruction 0: invalid func unknown#999',
  );
  assert.throws(
    () => rt.loadObject(objectSpec([{ name: 'mit', type: 'kprobe', license: 'MIT', asm: 'r1 = r10\nr1 += -8\nr2 = 8\ncall 6\nexit' }])),
    /program mit \(section kprobe\): instruction 3: cannot call GPL-restricted function from non-GPL compatible program/,
  );
  assert.throws(() => rt.loadObject(read('examples', 'core.o')), (e) => e instanceof LoadError && /CO-RE relocation/.test(e.message));
  assert.throws(() => rt.loadObject(read('examples', 'maps.bpfeb.o')), /big-endian/);
  // a failed load leaves no maps behind
  assert.equal(rt.maps.list().length, 0);
});

test('programs option loads only the named programs', () => {
  const rt = new Runtime();
  const coll = rt.loadObject(read('examples', 'programs.o'), { programs: ['sock', 'xdp.frags'] });
  assert.deepEqual([...coll.programs.keys()], ['sock', 'frags']);
  assert.throws(() => rt.loadObject(read('examples', 'maps.o'), { programs: ['nosuch'] }), /no program named or in section 'nosuch' \(have: tail_target, count_packets\)/);
});

test('with verify: true a program touches only the context fields its type allows', () => {
  const load = (type: string, asm: string): unknown => new Runtime({ verify: true }).loadObject(objectSpec([{ name: 'p', type, asm }]));
  // __sk_buff->data: a packet pointer for tc, not readable by socket filters
  assert.ok(load('sched_cls', 'r0 = *(u32 *)(r1 + 76)\nr0 = 0\nexit'));
  assert.throws(() => load('socket_filter', 'r0 = *(u32 *)(r1 + 76)\nexit'), /instruction 0: invalid bpf_context access off=76 size=4/);
  // mark is writable by tc, not by socket filters; xdp_md is read-only
  assert.ok(load('sched_cls', 'r2 = 1\n*(u32 *)(r1 + 8) = r2\nr0 = 0\nexit'));
  assert.throws(() => load('socket_filter', 'r2 = 1\n*(u32 *)(r1 + 8) = r2\nr0 = 0\nexit'), /instruction 1: invalid bpf_context access off=8 size=4/);
  assert.throws(() => load('xdp', 'r2 = 1\n*(u32 *)(r1 + 0) = r2\nr0 = 0\nexit'), /invalid bpf_context access off=0 size=4/);
});

test('verify: true runs the verifier at load time', () => {
  const rt = new Runtime({ verify: true });
  const coll = rt.loadObject(read('examples', 'xdp', 'flowcount.o'));
  assert.match(coll.program('flowcount').verifierLog ?? '', /processed \d+ insns/);
  // the unchecked JIT runs verified programs only
  const frame60 = new Uint8Array(60);
  assert.equal(coll.program('flowcount').testRun({ dataIn: frame60, engine: 'jit-verified' }).retval, 2);
  const unverified = new Runtime({ verify: false }).loadObject(read('examples', 'xdp', 'flowcount.o'));
  assert.throws(() => unverified.program('flowcount').testRun({ dataIn: frame60, engine: 'jit-verified' }), /must be loaded with verify: true/);
  const bad = objectSpec([{ name: 'oob', type: 'xdp', asm: 'r2 = *(u32 *)(r1 + 0)\nr0 = *(u8 *)(r2 + 0)\nexit' }]);
  assert.throws(() => rt.loadObject(bad), (e) => e instanceof LoadError && /program oob \(section xdp\): instruction 1: /.test(e.message));
});

test('ring buffer records arrive through the async iterator while programs run', async () => {
  const rt = new Runtime();
  const coll = rt.loadObject(read('examples', 'maps.o'));
  const rb = coll.map('events') as RingBufMap;
  const ac = new AbortController();
  const got: number[][] = [];
  const consumer = (async () => {
    for await (const s of rb.records(ac.signal)) {
      got.push([...s]);
      if (got.length === 3) ac.abort();
    }
  })();
  for (let i = 0; i < 3; i++) {
    coll.program('count_packets').testRun({ dataIn: frame() });
    await new Promise((r) => setImmediate(r));
  }
  await consumer;
  assert.deepEqual(got, [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]);
});
