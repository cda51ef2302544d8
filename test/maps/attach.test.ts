// Attaching to maps from another thread's handle, without threads: the
// checks (types whose state is not all in the memory, stale handles) and the
// lock's refusal to wait for itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RuntimeMemory } from '../../src/vm/memory.js';
import { MapTable } from '../../src/maps/table.js';
import { MapError } from '../../src/maps/errno.js';
import { lockWord, unlockWord } from '../../src/maps/lock.js';

const errnoOf = (f: () => unknown): number | undefined => {
  try {
    f();
  } catch (e) {
    if (e instanceof MapError) return e.errno;
    throw e;
  }
  return undefined;
};

test('attach: a second table over the same memory sees and changes the same hash; refs count it', () => {
  const mem = new RuntimeMemory({ maxBytes: 16 << 20, shared: true });
  const a = new MapTable(mem);
  const m = a.create({ name: 'h', type: 'hash', keySize: 4, valueSize: 4, maxEntries: 8 });
  m.update(Uint8Array.of(1, 0, 0, 0), Uint8Array.of(7, 0, 0, 0));
  const other = RuntimeMemory.attach(mem.share(64 << 10));
  const b = MapTable.attach(other, [m.handle()]);
  const m2 = b.byId(m.id)!;
  assert.equal(m.refs, 2);
  assert.deepEqual([...m2.lookup(Uint8Array.of(1, 0, 0, 0))!], [7, 0, 0, 0]);
  m2.update(Uint8Array.of(2, 0, 0, 0), Uint8Array.of(9, 0, 0, 0));
  m2.delete(Uint8Array.of(1, 0, 0, 0));
  assert.deepEqual([...m.keys()].map((k) => k[0]), [2]);
  b.close(m2);
  assert.equal(m.refs, 1);
  assert.ok(a.byDesc(m.desc) === m, 'the attached side closing does not free the creator\'s map');
});

test('attach: types with JS-side state refuse; a stale handle is refused', () => {
  const mem = new RuntimeMemory({ maxBytes: 16 << 20, shared: true });
  const a = new MapTable(mem);
  // devmap slots hold JS device objects (lpm_trie, ringbuf and the fd maps used to be here: their state is in the memory now)
  const dev = a.create({ name: 'd', type: 'devmap', keySize: 4, valueSize: 4, maxEntries: 4 });
  const arr = a.create({ name: 'a', type: 'array', keySize: 4, valueSize: 4, maxEntries: 4 });
  const share = mem.share(64 << 10);
  const handle = arr.handle();
  const other = RuntimeMemory.attach(share);
  assert.equal(errnoOf(() => MapTable.attach(other, [dev.handle()])), 95);
  a.close(arr);
  assert.equal(errnoOf(() => MapTable.attach(other, [handle])), 22, 'the map is gone');
});

test('lock: a lock this thread already holds is an error, not a hang (memory no other thread sees)', () => {
  const i32 = new Int32Array(4);
  lockWord(i32, 1, 'm');
  assert.equal(errnoOf(() => lockWord(i32, 1, 'm')), 16);
  unlockWord(i32, 1);
  lockWord(i32, 1, 'm');
  unlockWord(i32, 1);
  assert.equal(i32[1], 0);
});
