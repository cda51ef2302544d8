import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newTable, readU32, u32, errnoOf } from './util.js';
import { BPF_EXIST, BPF_NOEXIST, BPF_F_NO_PREALLOC } from '../../src/maps/spec.js';
import { EEXIST, EINVAL, ENOENT, ENOSPC } from '../../src/maps/errno.js';

/** struct { u32 prefixlen; u8 addr[4]; } for an IPv4 prefix like "10.1.0.0/16". */
function key(cidr: string): Uint8Array {
  const [ip, len] = cidr.split('/');
  const k = new Uint8Array(8);
  new DataView(k.buffer).setUint32(0, Number(len ?? 32), true);
  k.set(ip!.split('.').map(Number), 4);
  return k;
}

const spec = { name: 'lpm', type: 'lpm_trie', keySize: 8, valueSize: 4, maxEntries: 8, flags: BPF_F_NO_PREALLOC };

test('lpm_trie: create requires BPF_F_NO_PREALLOC and sane sizes', () => {
  const t = newTable();
  assert.equal(errnoOf(() => t.create({ ...spec, flags: 0 })), EINVAL);
  assert.equal(errnoOf(() => t.create({ ...spec, keySize: 4 })), EINVAL);
});

test('lpm_trie: longest prefix wins; exact-match update flags; ENOSPC when full', () => {
  const t = newTable();
  const m = t.create(spec);
  m.update(key('10.0.0.0/8'), u32(8));
  m.update(key('10.1.0.0/16'), u32(16));
  m.update(key('10.1.2.0/24'), u32(24));
  m.update(key('0.0.0.0/0'), u32(0));
  m.update(key('192.168.0.0/16'), u32(192));
  const look = (a: string): number | undefined => readU32(m.lookup(key(a + '/32')));
  assert.equal(look('10.1.2.3'), 24);
  assert.equal(look('10.1.3.3'), 16);
  assert.equal(look('10.2.0.1'), 8);
  assert.equal(look('11.0.0.1'), 0);
  assert.equal(look('192.168.7.7'), 192);
  assert.equal(errnoOf(() => m.update(key('10.1.0.0/16'), u32(1), BPF_NOEXIST)), EEXIST);
  assert.equal(errnoOf(() => m.update(key('10.9.0.0/16'), u32(1), BPF_EXIST)), ENOENT);
  assert.equal(errnoOf(() => m.update(key('10.0.0.0/33'), u32(1))), EINVAL);
  m.update(key('10.1.0.0/16'), u32(160), BPF_EXIST);
  assert.equal(look('10.1.9.9'), 160);
  for (const c of ['1.0.0.0/8', '2.0.0.0/8', '3.0.0.0/8']) m.update(key(c), u32(1));
  assert.equal(errnoOf(() => m.update(key('4.0.0.0/8'), u32(1))), ENOSPC);
  m.update(key('3.0.0.0/8'), u32(3)); // replacing in a full trie is fine
});

test('lpm_trie: delete keeps the other prefixes reachable; iteration is post-order and complete', () => {
  const t = newTable();
  const m = t.create({ ...spec, maxEntries: 64 });
  const cidrs = ['10.0.0.0/8', '10.1.0.0/16', '10.1.2.0/24', '10.128.0.0/9', '0.0.0.0/0', '10.1.2.3/32', '172.16.0.0/12'];
  cidrs.forEach((c, i) => m.update(key(c), u32(i)));
  const keys = [...m.keys()];
  assert.equal(keys.length, cidrs.length);
  const str = (k: Uint8Array): string => `${[...k.subarray(4)].join('.')}/${readU32(k)}`;
  const order = keys.map(str);
  // post-order: a prefix comes after every more specific prefix inside it
  assert.ok(order.indexOf('10.1.2.3/32') < order.indexOf('10.1.2.0/24'));
  assert.ok(order.indexOf('10.1.0.0/16') < order.indexOf('10.0.0.0/8'));
  assert.equal(order[order.length - 1], '0.0.0.0/0');
  assert.equal(errnoOf(() => m.delete(key('10.1.0.0/15'))), ENOENT);
  m.delete(key('10.1.0.0/16'));
  m.delete(key('10.0.0.0/8'));
  assert.equal(readU32(m.lookup(key('10.1.2.3/32'))), 5);
  assert.equal(readU32(m.lookup(key('10.1.2.4/32'))), 2);
  assert.equal(readU32(m.lookup(key('10.200.0.1/32'))), 3);
  assert.equal(readU32(m.lookup(key('10.2.0.1/32'))), 4);
  assert.equal([...m.keys()].length, 5);
  for (const c of ['10.1.2.0/24', '0.0.0.0/0', '10.1.2.3/32', '10.128.0.0/9', '172.16.0.0/12']) m.delete(key(c));
  assert.equal([...m.keys()].length, 0);
  assert.equal(m.lookup(key('10.1.2.3/32')), undefined);
});

test('lpm_trie: agrees with a brute-force longest match on random prefixes', () => {
  const t = newTable();
  const m = t.create({ ...spec, maxEntries: 300 });
  let seed = 12345;
  const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  const stored = new Map<string, number>();
  for (let i = 0; i < 400; i++) {
    const len = rnd() % 33;
    const addr = len === 0 ? 0 : (rnd() & (~0 << (32 - len))) >>> 0;
    const k = `${addr}/${len}`;
    const kb = key(`${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}/${len}`);
    if (rnd() % 4 === 0 && stored.size > 0) {
      const victim = [...stored.keys()][rnd() % stored.size]!;
      const [va, vl] = victim.split('/').map(Number);
      m.delete(key(`${va! >>> 24}.${(va! >>> 16) & 255}.${(va! >>> 8) & 255}.${va! & 255}/${vl}`));
      stored.delete(victim);
    } else if (stored.size < 300) {
      m.update(kb, u32(i));
      stored.set(k, i);
    }
  }
  for (let j = 0; j < 500; j++) {
    const a = rnd();
    let best = -1;
    let want: number | undefined;
    for (const [k, v] of stored) {
      const [pa, pl] = k.split('/').map(Number);
      const mask = pl === 0 ? 0 : (~0 << (32 - pl!)) >>> 0;
      if (((a & mask) >>> 0) === pa && pl! > best) {
        best = pl!;
        want = v;
      }
    }
    assert.equal(readU32(m.lookup(key(`${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/32`))), want);
  }
  assert.equal([...m.keys()].length, stored.size);
});
