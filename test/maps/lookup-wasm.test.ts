// The Wasm lookup implements the documented layouts: it must agree with the
// JS maps on every key, hit or miss, for every key size and per-CPU copy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newTable } from './util.js';
import { wasmLookup } from '../../src/maps/lookup-wasm.js';
import { FLAG_REF } from '../../src/maps/hash-layout.js';

test('wasm lookup agrees with the JS hash maps (key sizes 1..13, hits and misses, per-CPU, LRU ref bit)', () => {
  const t = newTable(3);
  const lookup = wasmLookup(t.mem);
  const key = t.mem.alloc(16, { name: 'key' }).start;
  let seed = 7;
  const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16;
  for (const type of ['hash', 'percpu_hash', 'lru_hash', 'lru_percpu_hash']) {
    for (let ks = 1; ks <= 13; ks++) {
      const m = t.create({ name: `${type}${ks}`, type, keySize: ks, valueSize: 4, maxEntries: 64 });
      const keys: Uint8Array[] = [];
      for (let i = 0; i < 40; i++) {
        const k = Uint8Array.from({ length: ks }, () => rnd() & 7);
        keys.push(k);
        m.update(k, new Uint8Array(m.userValueSize));
      }
      for (let i = 0; i < 80; i++) {
        const k = i < 40 ? keys[i]! : Uint8Array.from({ length: ks }, () => rnd() & 7);
        t.mem.u8.set(k, key);
        for (let cpu = 0; cpu < 3; cpu++) {
          const w = lookup(m.desc, key, cpu) >>> 0;
          assert.equal(w, m.lookupAt(key, cpu), `${type} key_size ${ks} key ${k.join(',')} cpu ${cpu}`);
          if (w !== 0 && type.startsWith('lru')) {
            // the flags word of the entry holding this key has the reference bit set
            const e = w - cpu * (type === 'lru_percpu_hash' ? 8 : 0) - 24 - ((ks + 7) & ~7);
            assert.ok((t.mem.dv.getUint32(e + 16, true) & FLAG_REF) !== 0);
          }
        }
      }
    }
  }
});

test('wasm lookup: arrays, per-CPU arrays, out-of-range keys, and -1 for other maps or non-maps', () => {
  const t = newTable(2);
  const lookup = wasmLookup(t.mem);
  const key = t.mem.alloc(8, { name: 'key' }).start;
  const a = t.create({ name: 'a', type: 'array', keySize: 4, valueSize: 12, maxEntries: 5 });
  const pa = t.create({ name: 'pa', type: 'percpu_array', keySize: 4, valueSize: 4, maxEntries: 5 });
  for (const i of [0, 3, 4, 5, 0xffffffff]) {
    t.mem.dv.setUint32(key, i, true);
    for (const cpu of [0, 1]) {
      assert.equal(lookup(a.desc, key, cpu) >>> 0, a.lookupAt(key, cpu));
      assert.equal(lookup(pa.desc, key, cpu) >>> 0, pa.lookupAt(key, cpu));
    }
  }
  const q = t.create({ name: 'q', type: 'queue', keySize: 0, valueSize: 4, maxEntries: 5 });
  assert.equal(lookup(q.desc, key, 0), -1);
  assert.equal(lookup(key, key, 0), -1);
});
