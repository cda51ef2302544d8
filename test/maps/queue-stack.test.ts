import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newTable, u32, readU32, errnoOf } from './util.js';
import { BPF_EXIST, BPF_NOEXIST } from '../../src/maps/spec.js';
import { E2BIG, EINVAL, ENOENT } from '../../src/maps/errno.js';

test('queue: FIFO order, E2BIG when full, BPF_EXIST drops the oldest, empty pop', () => {
  const t = newTable();
  assert.equal(errnoOf(() => t.create({ name: 'q', type: 'queue', keySize: 4, valueSize: 4, maxEntries: 3 })), EINVAL);
  const q = t.create({ name: 'q', type: 'queue', keySize: 0, valueSize: 4, maxEntries: 3 });
  for (const v of [1, 2, 3]) q.push(u32(v));
  assert.equal(errnoOf(() => q.push(u32(4))), E2BIG);
  assert.equal(errnoOf(() => q.push(u32(4), BPF_NOEXIST)), EINVAL);
  q.push(u32(4), BPF_EXIST);
  assert.equal(readU32(q.peek()), 2);
  assert.equal(readU32(q.lookup(new Uint8Array(0))), 2);
  assert.deepEqual([q.pop(), q.pop(), q.pop()].map((v) => readU32(v)), [2, 3, 4]);
  assert.equal(q.pop(), undefined);
  q.update(new Uint8Array(0), u32(9));
  assert.equal(readU32(q.lookupAndDelete()), 9);
});

test('stack: LIFO order; program pop of an empty stack zeroes the buffer and returns -ENOENT', () => {
  const t = newTable();
  const s = t.create({ name: 's', type: 'stack', keySize: 0, valueSize: 4, maxEntries: 2 });
  s.push(u32(1));
  s.push(u32(2));
  s.push(u32(3), BPF_EXIST); // drops 1, the oldest
  assert.deepEqual([s.pop(), s.pop()].map((v) => readU32(v)), [3, 2]);
  const out = t.mem.alloc(8, { name: 'out' }).start;
  t.mem.dv.setUint32(out, 0xdead, true);
  assert.equal(s.popAt(out, true), -ENOENT);
  assert.equal(t.mem.dv.getUint32(out, true), 0);
});
