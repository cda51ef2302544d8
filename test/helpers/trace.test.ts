import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, bytesAt } from './harness.js';
import { formatTraceLine, TracePipe } from '../../src/helpers/trace-pipe.js';

/** trace_printk(fmt, sizeof fmt, a1, a2, a3) and the message it produced (or undefined). */
function printk(h: ReturnType<typeof setup>, fmt: string, ...args: (number | bigint)[]): { r0: bigint; msg: string | undefined } {
  const f = h.cstr(fmt);
  const r0 = h.call('trace_printk', f, fmt.length + 1, ...args);
  const e = h.ctx.tracePipe.readEntries();
  return { r0, msg: e[0]?.message };
}

test('trace_printk: integer conversions take 32 bits, l/ll take 64', () => {
  const h = setup();
  assert.deepEqual(printk(h, 'd=%d u=%u x=%x\n', -5, 0xffffffff, 0x1ab), { r0: 24n, msg: 'd=-5 u=4294967295 x=1ab\n' });
  assert.equal(printk(h, '%d %i', 0x1_0000_0007n, -1).msg, '7 -1');
  assert.equal(printk(h, '%ld %lld %llu', -2n, 0x1_0000_0000n, -1n).msg, '-2 4294967296 18446744073709551615');
  assert.equal(printk(h, '%llx %X %lX', 0xdead_beef_0000_0001n, 0xabc, 0xab_0000_0000n).msg, 'deadbeef00000001 ABC AB00000000');
  assert.equal(printk(h, '[%5d|%-5d|%05d]', 42, 42, -42).msg, '[   42|42   |-0042]');
  assert.equal(printk(h, '[%+d|% d|%%]', 3, 3).msg, '[+3| 3|%]');
});

test('trace_printk: %s reads memory, %c, pointers and IP addresses', () => {
  const h = setup();
  const s = h.cstr('hello');
  assert.equal(printk(h, '%s|%7s|%c', s, s, 0x41).msg, 'hello|  hello|A');
  assert.equal(printk(h, '<%s>', 0x10).msg, '<>', 'an unreadable string prints empty, as the kernel');
  const ip = h.buf([192, 168, 1, 20]);
  assert.equal(printk(h, '%pI4 %pi4', ip, ip).msg, '192.168.1.20 192.168.001.020');
  const ip6 = h.buf([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.equal(printk(h, '%pI6', ip6).msg, '2001:0db8:0000:0000:0000:0000:0000:0001');
  assert.equal(printk(h, '%pi6', ip6).msg, '20010db8000000000000000000000001');
  assert.equal(printk(h, '%px %pK', 0x1234, 0xff).msg, '0000000000001234 00000000000000ff');
  assert.equal(printk(h, '%pks', s).msg, 'hello');
  const high = h.buf([0x80, 0x9f, 0xff, 0]);
  assert.equal(printk(h, '%s', high).msg, '\x80\x9f\xff', 'string bytes pass through one to one');
});

test('trace_printk: the kernel rejects more than 3 arguments and unsupported or malformed formats', () => {
  const h = setup();
  for (const fmt of ['%d %d %d %d', '%f', '%.2d', '%sx', '%n', '%hd', '%pZ', '%lu%', 'caf\u00e9', 'tab\u0001']) {
    const r = printk(h, fmt, 1, 2, 3);
    assert.deepEqual(r, { r0: -22n, msg: undefined }, fmt);
  }
  // the size must cover the NUL
  const f = h.cstr('abc');
  assert.equal(h.call('trace_printk', f, 3), -22n);
  assert.equal(h.call('trace_printk', 0x10, 4), -14n);
  assert.equal(printk(h, 'no args %%').msg, 'no args %');
});

test('trace_printk: long messages are cut at 1023 bytes; the return value is the full length', () => {
  const h = setup();
  const big = h.cstr('x'.repeat(1500));
  const r = printk(h, '%s!', big);
  assert.equal(r.r0, 1025n, 'the %s argument is read up to 1024 bytes, plus "!"');
  assert.equal(r.msg!.length, 1023);
});

test('trace pipe: kernel-style lines with task, CPU and timestamp; overruns counted', async () => {
  const h = setup(4);
  assert.throws(() => (h.ctx.cpu = 4), /out of range/);
  h.ctx.cpu = 2;
  h.setClock(12_345_678_901n);
  h.call('trace_printk', h.cstr('hi\n'), 4);
  h.setClock(12_345_679_901n);
  const f = h.cstr('bye');
  h.call('trace_printk', f, 4);
  const text = h.ctx.tracePipe.read();
  assert.equal(
    text,
    ' tsbpf-test-comm-1234    [002] .....    12.345678: bpf_trace_printk: hi\n' +
      ' tsbpf-test-comm-1234    [002] .....    12.345679: bpf_trace_printk: bye\n',
  );
  assert.equal(h.ctx.tracePipe.read(), '');
  assert.equal(formatTraceLine({ ns: 1_000_000n, cpu: 0, pid: 1, comm: 'c', message: 'm' }), '               c-1       [000] .....     0.001000: bpf_trace_printk: m\n');
  for (let i = 0; i < 3; i++) h.call('trace_printk', f, 4);
  const small = new TracePipe(2);
  small.write({ ns: 0n, cpu: 0, pid: 1, comm: 'c', message: 'a' });
  small.write({ ns: 0n, cpu: 0, pid: 1, comm: 'c', message: 'b' });
  small.write({ ns: 0n, cpu: 0, pid: 1, comm: 'c', message: 'c' });
  assert.equal(small.overruns, 1);
  assert.deepEqual(small.readEntries().map((e) => e.message), ['b', 'c']);
  h.ctx.tracePipe.read();
  const ac = new AbortController();
  const got: string[] = [];
  const reader = (async () => {
    for await (const line of h.ctx.tracePipe.lines(ac.signal)) {
      got.push(line);
      ac.abort();
    }
  })();
  await new Promise((r) => setTimeout(r, 5));
  h.call('trace_printk', f, 4);
  await reader;
  assert.equal(got.length, 1);
  assert.match(got[0]!, /bpf_trace_printk: bye\n$/);
});

test('snprintf: u64 argument array, truncation with NUL, return is full length + 1', () => {
  const h = setup();
  const out = h.buf(16);
  const fmt = h.cstr('%d-%s-%llx');
  const s = h.cstr('abc');
  const data = h.buf(24);
  h.mem.dv.setBigInt64(data, -7n, true);
  h.mem.dv.setBigUint64(data + 8, BigInt(s), true);
  h.mem.dv.setBigUint64(data + 16, 0x1234_5678_9abcn, true);
  assert.equal(h.call('snprintf', out, 16, fmt, data, 24), 20n);
  assert.deepEqual(bytesAt(h.mem, out, 16), [...new TextEncoder().encode('-7-abc-123456789'), 0].slice(0, 15).concat([0]));
  assert.equal(h.call('snprintf', out, 16, fmt, data, 20), -22n, 'data_len must be a multiple of 8');
  assert.equal(h.call('snprintf', out, 16, fmt, data, 16), -22n, 'three conversions, two arguments');
  assert.equal(h.call('snprintf', out, 16, fmt, data, 13 * 8), -22n, 'at most 12 arguments');
  assert.equal(h.call('snprintf', out, 0, fmt, data, 24), 20n, 'size 0 writes nothing');
});
