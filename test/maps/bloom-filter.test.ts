import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newTable, u32, errnoOf } from './util.js';
import { EINVAL, EOPNOTSUPP } from '../../src/maps/errno.js';
import { BloomFilterMap } from '../../src/maps/bloom-filter.js';

test('bloom_filter: no false negatives, few false positives, kernel errors', () => {
  const t = newTable();
  assert.equal(errnoOf(() => t.create({ name: 'b', type: 'bloom_filter', keySize: 0, valueSize: 4, maxEntries: 10, mapExtra: 16 })), EINVAL);
  const b = t.create({ name: 'b', type: 'bloom_filter', keySize: 0, valueSize: 4, maxEntries: 1000, mapExtra: 3 }) as BloomFilterMap;
  assert.equal(b.hashes, 3);
  for (let i = 0; i < 1000; i++) b.push(u32(i * 2654435761));
  for (let i = 0; i < 1000; i++) assert.equal(b.has(u32(i * 2654435761)), true);
  let fp = 0;
  for (let i = 0; i < 10000; i++) if (b.has(u32(0x80000000 + i))) fp++;
  assert.ok(fp < 1500, `false positive rate too high: ${fp}/10000`);
  assert.equal(errnoOf(() => b.pop()), EOPNOTSUPP);
  assert.equal(errnoOf(() => b.push(u32(1), 2)), EINVAL);
});
