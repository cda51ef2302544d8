// bpf_strtol / bpf_strtoul parsing rules (kernel/bpf/helpers.c with
// lib/kstrtox.c; the kernel-checked cases are in net-kernel-diff.test.ts),
// and the stack and task helpers a user-space runtime answers without a
// stack or a task: called directly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, bytesAt } from './harness.js';
import { parseUnsigned, strtol, strtoul } from '../../src/helpers/strtol.js';

const b = (s: string): Uint8Array => Uint8Array.from([...s].map((c) => c.charCodeAt(0)));

test('strtol: white space, sign, radix prefixes, digits up to the first that is not one', () => {
  assert.deepEqual(strtol(b('42'), 0, 0), { ret: 2, value: 42n });
  assert.deepEqual(strtol(b(' \t\n\v\f\r-17 apples'), 0, 0), { ret: 9, value: -17n });
  assert.deepEqual(strtol(b('\xa0 5'), 0, 0), { ret: 3, value: 5n }, 'NBSP is space for the kernel');
  assert.deepEqual(strtol(b('0x1f'), 0, 0), { ret: 4, value: 31n }, 'base 0: 0x is hex');
  assert.deepEqual(strtol(b('0x'), 0, 0), { ret: 1, value: 0n }, 'base 0: 0x without a hex digit is octal 0');
  assert.deepEqual(strtol(b('017'), 0, 0), { ret: 3, value: 15n }, 'base 0: leading 0 is octal');
  assert.deepEqual(strtol(b('0x10'), 16, 0), { ret: 4, value: 16n }, 'base 16 skips 0x');
  assert.deepEqual(strtol(b('0x'), 16, 0), { ret: -22, value: 0n }, 'base 16: 0x and no digit');
  assert.deepEqual(strtol(b('ff'), 10, 0), { ret: -22, value: 0n }, 'no digit in base 10');
  assert.deepEqual(strtol(b('19'), 8, 0), { ret: 1, value: 1n }, '9 ends an octal number');
  assert.deepEqual(strtol(b('+1'), 0, 0), { ret: -22, value: 0n }, 'no + sign');
  assert.deepEqual(strtol(b('   '), 0, 0), { ret: -22, value: 0n }, 'nothing after the space');
  assert.deepEqual(strtol(b('-'), 0, 0), { ret: -22, value: 0n });
  assert.deepEqual(strtol(b('1\x002'), 0, 0), { ret: 1, value: 1n }, 'a NUL ends the number');
});

test('strtol: flags carry only the base (0, 8, 10, 16), everything else is -EINVAL', () => {
  for (const base of [2, 3, 7, 9, 11, 15, 17, 31]) assert.equal(strtol(b('1'), base, 0).ret, -22, `base ${base}`);
  assert.equal(strtol(b('1'), 0x20, 0).ret, -22, 'a flag bit above the base');
  assert.equal(strtol(b('1'), 0, 1).ret, -22, 'a flag bit in the high half');
  assert.equal(parseUnsigned(new Uint8Array(0), 0, 0).ret, -22, 'empty buffer');
});

test('strtol / strtoul: ranges (-ERANGE) and the sign rules', () => {
  assert.deepEqual(strtol(b('9223372036854775807'), 0, 0), { ret: 19, value: (1n << 63n) - 1n });
  assert.deepEqual(strtol(b('9223372036854775808'), 0, 0), { ret: -34, value: 0n });
  assert.deepEqual(strtol(b('-9223372036854775808'), 0, 0), { ret: 20, value: -(1n << 63n) });
  assert.deepEqual(strtol(b('-9223372036854775809'), 0, 0), { ret: -34, value: 0n });
  assert.deepEqual(strtoul(b('18446744073709551615'), 0, 0), { ret: 20, value: (1n << 64n) - 1n });
  assert.deepEqual(strtoul(b('18446744073709551616'), 0, 0), { ret: -34, value: 0n }, 'overflows u64');
  assert.deepEqual(strtoul(b('-1'), 0, 0), { ret: -22, value: 0n }, 'strtoul refuses a sign');
  assert.deepEqual(strtoul(b('-0'), 0, 0), { ret: -22, value: 0n });
});

test('strtol: at most 63 bytes after the sign are read (the kernel copies them into a 64-byte buffer)', () => {
  const digits = '0'.repeat(70) + '7';
  assert.deepEqual(strtol(b(digits), 10, 0), { ret: 63, value: 0n });
  assert.deepEqual(strtol(b(` -${'0'.repeat(62)}5`), 10, 0), { ret: 65, value: -5n });
});

test('strtol helper: writes the value (0 on error) and returns the bytes consumed', () => {
  const h = setup();
  const s = h.buf(b('-123x'));
  const res = h.buf([9, 9, 9, 9, 9, 9, 9, 9]);
  assert.equal(h.call('strtol', s, 5, 0, res), 4n);
  assert.equal(new DataView(h.mem.u8.buffer).getBigInt64(res, true), -123n);
  assert.equal(h.call('strtoul', s, 5, 0, res), -22n);
  assert.deepEqual(bytesAt(h.mem, res, 8), [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(h.call('strtol', s, 5, 0, h.buf(8, false)), -14n, 'a result the program cannot write');
  assert.equal(h.call('strtol', s, 5000, 0, res), -14n, 'a buffer past its region');
});

test('get_current_task is NULL, get_stackid and get_stack fail as with no stack to walk (-EFAULT, buffer zeroed)', () => {
  const h = setup();
  assert.equal(h.call('get_current_task'), 0n);
  assert.equal(h.call('get_stackid', 0, 0, 0), -14n);
  assert.equal(h.call('get_stackid', 0, 0, 1 << 12), -22n, 'unknown flag');
  const buf = h.buf(new Array(32).fill(0x77));
  assert.equal(h.call('get_stack', 0, buf, 32, 0), -14n);
  assert.deepEqual(bytesAt(h.mem, buf, 32), new Array(32).fill(0));
  h.mem.u8.fill(0x77, buf, buf + 32);
  assert.equal(h.call('get_stack', 0, buf, 12, 0), -22n, 'not a multiple of 8');
  assert.deepEqual(bytesAt(h.mem, buf, 12), new Array(12).fill(0), 'cleared on every error');
  assert.equal(h.call('get_stack', 0, buf, 32, 1 << 11), -22n, 'build ids need BPF_F_USER_STACK');
  assert.equal(h.call('get_stack', 0, buf, 32, (1 << 11) | (1 << 8)), -14n, '32-byte build-id frames');
});
