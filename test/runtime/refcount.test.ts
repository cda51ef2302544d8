// Map reference counts, as the kernel keeps them: a loaded program holds the
// maps it uses, so closing a map's handle leaves it working for the program;
// the memory goes back to the allocator when the last holder lets go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../../src/runtime/runtime.js';
import type { ArrayMap } from '../../src/maps/array.js';
import { frame, objectSpec } from './spec-builder.js';

// r0 = *(u64 *)lookup(arr, 1), or -1 when the lookup fails
const GET = `r1 = 1
  *(u32 *)(r10 - 4) = r1
  r2 = r10
  r2 += -4
  r1 = 0 ll
  call 1
  if r0 == 0 goto miss
  r0 = *(u64 *)(r0 + 0)
  exit
miss:
  r0 = -1
  exit`;

function load(rt: Runtime) {
  return rt.loadObject(
    objectSpec(
      [{ name: 'get', type: 'xdp', asm: GET, maps: [[4, 0]] }],
      [
        { name: 'arr', type: 'array', keySize: 4, valueSize: 8, maxEntries: 4 },
        { name: 'unused', type: 'hash', keySize: 4, valueSize: 8, maxEntries: 4 },
      ],
    ),
  );
}

const key1 = Uint8Array.of(1, 0, 0, 0);
const u64 = (v: number): Uint8Array => new Uint8Array(new BigUint64Array([BigInt(v)]).buffer);

test('a map closed while a program uses it keeps working until the program is closed; then its memory is reused', () => {
  const rt = new Runtime({ verify: false });
  const coll = load(rt);
  const arr = coll.map('arr');
  const prog = coll.program('get');
  arr.update(key1, u64(42));
  assert.equal(arr.refs, 2, 'the handle and the program');
  assert.equal(coll.map('unused').refs, 1, 'a map the program does not refer to is not held');
  const desc = arr.desc;
  const data = (arr as ArrayMap).region;
  rt.maps.close(arr);
  assert.equal(arr.refs, 1);
  assert.equal(rt.maps.byDesc(desc), arr, 'still a map to the program');
  assert.ok(rt.mem.regionOf(desc) !== undefined, 'its memory is still mapped');
  assert.equal(prog.testRun({ dataIn: frame() }).retval, 42);
  prog.close();
  assert.equal(rt.maps.byDesc(desc), undefined, 'freed with its last holder');
  assert.equal(rt.mem.regionOf(desc), undefined);
  assert.throws(() => prog.testRun({ dataIn: frame() }), /closed/);
  assert.equal(rt.mem.regionOf(data.start), undefined);
  // the freed space is handed out again: a map of the same shape lands where the old one was
  const again = rt.maps.create({ name: 'again', type: 'array', keySize: 4, valueSize: 8, maxEntries: 4 }) as ArrayMap;
  const lo = Math.min(desc, data.start);
  const hi = Math.max(desc, data.start + data.size);
  assert.ok(again.desc >= lo && again.desc < hi && again.data >= lo && again.data < hi, 'descriptor and values reuse the freed range');
  assert.equal(again.lookup(key1)!.every((b) => b === 0), true, 'a new map starts zeroed');
  rt.dispose();
});

test('closing the program first, then the map, frees the map at its close; Collection.close releases both', () => {
  const rt = new Runtime({ verify: false });
  const coll = load(rt);
  const arr = coll.map('arr');
  coll.program('get').close();
  assert.equal(arr.refs, 1);
  assert.ok(rt.maps.byDesc(arr.desc) === arr, 'the handle keeps it');
  rt.maps.close(arr);
  assert.equal(rt.maps.byDesc(arr.desc), undefined);
  const coll2 = load(rt);
  const arr2 = coll2.map('arr');
  coll2.close();
  assert.equal(rt.maps.byDesc(arr2.desc), undefined, 'the collection closed its program and its maps');
  assert.equal(rt.maps.list().length, 1, 'only the first collection\'s unused map is left');
  rt.dispose();
});

test('a pinned map survives its collection; a failed load releases what it took', () => {
  const rt = new Runtime({ verify: false });
  const coll = load(rt);
  const arr = coll.map('arr');
  rt.pin('arr', arr);
  coll.close();
  assert.equal(rt.maps.byDesc(arr.desc), arr, 'the pin keeps it');
  const before = rt.maps.list().length;
  assert.throws(() =>
    rt.loadObject(
      objectSpec(
        [
          { name: 'get', type: 'xdp', asm: GET, maps: [[4, 0]] },
          { name: 'bad', type: 'xdp', asm: 'r0 = 0 ll\nexit', maps: [[0, 5]] },
        ],
        [{ name: 'arr2', type: 'array', keySize: 4, valueSize: 8, maxEntries: 4 }],
      ),
    ),
  );
  assert.equal(rt.maps.list().length, before, 'the failed load left no map behind');
  rt.dispose();
});
