// probe_read*, time and task, ring buffer and perf output, tail calls,
// strncmp, csum_diff, spin locks and bpf_loop, called directly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, bytesAt } from './harness.js';
import { ProgramError } from '../../src/internal/errors.js';
import { RingBufMap } from '../../src/maps/ringbuf.js';
import { PerfEventArrayMap } from '../../src/maps/perf-event-array.js';
import { ProgArrayMap } from '../../src/maps/prog-array.js';

test('probe_read / probe_read_kernel / probe_read_user: copy, or -EFAULT with the buffer zeroed', () => {
  const h = setup();
  const src = h.buf([1, 2, 3, 4, 5, 6]);
  for (const name of ['probe_read', 'probe_read_kernel', 'probe_read_user']) {
    const dst = h.buf([9, 9, 9, 9]);
    assert.equal(h.call(name, dst, 4, src + 1), 0n);
    assert.deepEqual(bytesAt(h.mem, dst, 4), [2, 3, 4, 5]);
    assert.equal(h.call(name, dst, 4, src + 4), -14n, 'runs past the region');
    assert.deepEqual(bytesAt(h.mem, dst, 4), [0, 0, 0, 0]);
    assert.equal(h.call(name, dst, 4, 0), -14n, 'NULL');
    assert.equal(h.call(name, h.buf(4), 4, h.buf(4, false)), 0n, 'read-only source is readable');
    assert.equal(h.call(name, h.buf([7, 7], false), 2, src), -14n, 'read-only destination');
  }
});

test('probe_read_str: length including NUL, truncation always terminated, -EFAULT before a NUL', () => {
  const h = setup();
  const s = h.cstr('abcdef');
  for (const name of ['probe_read_str', 'probe_read_kernel_str', 'probe_read_user_str']) {
    const dst = h.buf(16);
    assert.equal(h.call(name, dst, 16, s), 7n);
    assert.deepEqual(bytesAt(h.mem, dst, 7), [97, 98, 99, 100, 101, 102, 0]);
    assert.equal(h.call(name, dst, 4, s), 4n);
    assert.deepEqual(bytesAt(h.mem, dst, 4), [97, 98, 99, 0]);
    const unterminated = h.buf([65, 66, 67]);
    h.mem.u8.fill(0x55, dst, dst + 16);
    assert.equal(h.call(name, dst, 16, unterminated), -14n);
    assert.deepEqual(bytesAt(h.mem, dst, 16), new Array(16).fill(0));
    assert.equal(h.call(name, dst, 0, s), 0n);
  }
});

test('time, CPU, ids and comm come from the helper context', () => {
  const h = setup();
  h.setClock(7_000_000_123n);
  assert.equal(h.call('ktime_get_ns'), 7_000_000_123n);
  assert.equal(h.call('ktime_get_boot_ns'), 7_000_000_123n);
  assert.equal(h.call('jiffies64'), 0x1_0000_0000n - 300n * 250n + 7n * 250n);
  assert.equal(h.call('get_current_pid_tgid'), (1200n << 32n) | 1234n);
  assert.equal(h.call('get_current_uid_gid'), (100n << 32n) | 1000n);
  const comm = h.buf(16);
  h.mem.u8.fill(0xff, comm, comm + 16);
  assert.equal(h.call('get_current_comm', comm, 16), 0n);
  assert.equal(new TextDecoder().decode(h.mem.u8.subarray(comm, comm + 15)), 'tsbpf-test-comm');
  assert.equal(h.mem.u8[comm + 15], 0);
  assert.equal(h.call('get_current_comm', comm, 4), 0n);
  assert.deepEqual(bytesAt(h.mem, comm, 4), [116, 115, 98, 0]);
  const r = new Set<bigint>();
  for (let i = 0; i < 100; i++) r.add(h.call('get_prandom_u32'));
  assert.ok(r.size > 95);
  for (const v of r) assert.ok(v >= 0n && v < 1n << 32n);
  const again = setup();
  assert.equal(again.call('get_prandom_u32'), setup().call('get_prandom_u32'), 'a seed makes it reproducible');
  const real = setup();
  real.ctx.clock = process.hrtime.bigint;
  const a = real.call('ktime_get_ns');
  const b = real.call('ktime_get_ns');
  assert.ok(b >= a && a > 0n);
});

test('ringbuf helpers: reserve/submit/discard/output/query; bad records are a ProgramError', () => {
  const h = setup();
  const rb = h.maps.create({ name: 'rb', type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 4096 }) as RingBufMap;
  const p = Number(h.call('ringbuf_reserve', rb.desc, 12, 0));
  assert.notEqual(p, 0);
  h.mem.u8.set([1, 2, 3], p);
  h.call('ringbuf_submit', p, 0);
  const q = Number(h.call('ringbuf_reserve', rb.desc, 4, 0));
  h.call('ringbuf_discard', q, 0);
  assert.throws(() => h.call('ringbuf_submit', q, 0), ProgramError, 'already committed');
  assert.throws(() => h.call('ringbuf_submit', h.buf(16) + 8, 0), ProgramError);
  const data = h.buf([5, 6]);
  assert.equal(h.call('ringbuf_output', rb.desc, data, 2, 0), 0n);
  assert.equal(h.call('ringbuf_output', rb.desc, data, 5000, 0), -14n);
  assert.equal(h.call('ringbuf_output', data, data, 2, 0), -22n);
  assert.equal(h.call('ringbuf_query', rb.desc, 1), 4096n);
  assert.equal(h.call('ringbuf_query', rb.desc, 0), 56n, '24 + 16 (discarded) + 16 bytes not yet consumed');
  const got: number[] = [];
  rb.poll((s) => got.push(s.length));
  assert.deepEqual(got, [12, 2]);
  assert.equal(h.call('ringbuf_reserve', rb.desc, 4096, 0), 0n);
  assert.equal(rb.dropped, 1);
});

test('perf_event_output: BPF_F_CURRENT_CPU, slot errors, ctx length unsupported', () => {
  const h = setup(2);
  const pe = h.maps.create({ name: 'pe', type: 'perf_event_array', keySize: 4, valueSize: 4, maxEntries: 0 }) as PerfEventArrayMap;
  pe.openAll();
  const data = h.buf([1, 2, 3, 4]);
  h.ctx.cpu = 1;
  assert.equal(h.call('perf_event_output', 0, pe.desc, 0xffffffff, data, 4), 0n);
  assert.equal(h.call('perf_event_output', 0, pe.desc, 2, data, 4), -7n);
  assert.equal(h.call('perf_event_output', 0, pe.desc, 0x1_ffffffffn, data, 4), -95n);
  assert.equal(h.call('perf_event_output', 0, pe.desc, 0x1000_0000_0000_0000n, data, 4), -22n);
  assert.deepEqual(pe.read(), [{ cpu: 1, data: Uint8Array.of(1, 2, 3, 4) }]);
});

test('tail_call: records the target; empty slot, bad index and the 33-call limit fail', () => {
  const h = setup();
  const target = { name: 'next' };
  const pa = h.maps.create({ name: 'jmp', type: 'prog_array', keySize: 4, valueSize: 4, maxEntries: 2 }) as ProgArrayMap;
  pa.set(1, target);
  h.ctx.beginRun();
  assert.equal(h.call('tail_call', 0, pa.desc, 0), -2n);
  assert.equal(h.call('tail_call', 0, pa.desc, 2), -2n);
  assert.equal(h.ctx.pendingTailCall, undefined);
  for (let i = 0; i < 33; i++) {
    assert.equal(h.call('tail_call', 0, pa.desc, 1), 0n);
    assert.equal(h.ctx.pendingTailCall, target);
    h.ctx.pendingTailCall = undefined;
  }
  assert.equal(h.call('tail_call', 0, pa.desc, 1), -7n);
  assert.equal(h.ctx.pendingTailCall, undefined);
  h.ctx.beginRun();
  assert.equal(h.call('tail_call', 0, pa.desc, 1), 0n);
});

test('strncmp: kernel results', () => {
  const h = setup();
  const a = h.cstr('abcd');
  assert.equal(h.call('strncmp', a, 4, h.cstr('abcd')), 0n);
  assert.equal(h.call('strncmp', a, 3, h.cstr('abcz')), 0n);
  assert.equal(h.call('strncmp', a, 4, h.cstr('abcz')), -1n);
  assert.equal(h.call('strncmp', a, 5, h.cstr('abc')), 1n);
  assert.equal(h.call('strncmp', a, 4, 0x20), -14n);
});

test('csum_diff: the folded one\'s-complement sum (Linux 6.13+), i.e. the RFC 1071 checksum; size checks', () => {
  const h = setup();
  const bytes = [0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7];
  const to = h.buf(bytes);
  const sum = Number(h.call('csum_diff', 0, 0, to, 20, 0));
  assert.ok(sum <= 0xffff, 'folded to 16 bits');
  let f = (sum & 0xffff) + (sum >>> 16);
  f = (f & 0xffff) + (f >>> 16);
  const le = ~f & 0xffff;
  const csum = ((le & 0xff) << 8) | (le >>> 8); // the sum was over little-endian words
  assert.equal(csum, 0xb861, 'the textbook IPv4 header checksum');
  // replacing a word: diff(from, to) added to the old sum gives the new sum
  const from = h.buf([0xc0, 0xa8, 0x00, 0xc7]);
  const repl = h.buf([0x0a, 0x00, 0x00, 0x01]);
  const d = Number(h.call('csum_diff', from, 4, repl, 4, sum));
  h.mem.u8.set([0x0a, 0x00, 0x00, 0x01], to + 16);
  const fresh = Number(h.call('csum_diff', 0, 0, to, 20, 0));
  const fold = (x: number): number => {
    let y = (x & 0xffff) + (x >>> 16);
    y = (y & 0xffff) + (y >>> 16);
    return y;
  };
  assert.equal(fold(d), fold(fresh));
  assert.equal(h.call('csum_diff', 0, 0, to, 6, 0), -22n);
  assert.equal(h.call('csum_diff', to, 260, to, 260, 0), -22n);
});

test('spin_lock / spin_unlock; a double lock is reported instead of hanging', () => {
  const h = setup();
  const m = h.maps.create({ name: 'l', type: 'array', keySize: 4, valueSize: 8, maxEntries: 1 });
  const k = h.buf(4);
  const v = Number(h.call('map_lookup_elem', m.desc, k));
  assert.equal(h.call('spin_lock', v), 0n);
  assert.equal(h.mem.dv.getUint32(v, true), 1);
  assert.throws(() => h.call('spin_lock', v), /already held|not released/);
  assert.equal(h.call('spin_unlock', v), 0n);
  assert.equal(h.mem.dv.getUint32(v, true), 0);
  assert.throws(() => h.call('spin_lock', v + 1), ProgramError);
});

test('loop: callback(i, ctx) until non-zero; E2BIG and EINVAL as the kernel', () => {
  const h = setup();
  const calls: number[] = [];
  h.ctx.invoke = (fn, a) => {
    assert.equal(fn, 5);
    assert.equal(a[2], 0x777);
    calls.push(a[0]!);
    return a[0] === 3 ? 1 : 0;
  };
  assert.equal(h.call('loop', 10, 5, 0x777, 0), 4n);
  assert.deepEqual(calls, [0, 1, 2, 3]);
  h.ctx.invoke = () => 0;
  assert.equal(h.call('loop', 6, 5, 0, 0), 6n);
  assert.equal(h.call('loop', 8 * 1024 * 1024 + 1, 5, 0, 0), -7n);
  assert.equal(h.call('loop', 1, 5, 0, 1), -22n);
});
