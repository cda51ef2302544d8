// The package root's API as the README uses it: open an object, run a
// program over a packet, read a map with decoded keys and values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Runtime, MapError, TestRunError, LoadError, TsbpfError } from '../../src/index.js';

const obj = (p: string): Uint8Array => new Uint8Array(readFileSync(fileURLToPath(new URL(`../../../${p}`, import.meta.url))));

test('the root API: load, test-run, typed map access, errors', () => {
  const coll = new Runtime().loadObject(obj('examples/xdp/flowcount.o'));
  const packet = new Uint8Array(64);
  packet.set([0x08, 0x00, 0x45, 0, 0, 50, 0, 0, 0, 0, 64, 17, 0, 0, 192, 168, 0, 1, 192, 168, 0, 2, 0x30, 0x39, 0, 53], 12);
  const { retval, dataOut } = coll.program('flowcount').testRun({ dataIn: packet });
  assert.equal(retval, 2);
  assert.deepEqual(dataOut, packet);
  const flows = coll.typedMap('flows');
  assert.deepEqual([...flows.entries()], [
    { key: { saddr: [192, 168, 0, 1], daddr: [192, 168, 0, 2], sport: 12345, dport: 53, proto: 17 }, value: { packets: 1, bytes: 64 } },
  ]);
  flows.update({ saddr: [1, 2, 3, 4], daddr: [5, 6, 7, 8], sport: 1, dport: 2, proto: 6 }, { packets: 10, bytes: 20n });
  assert.deepEqual(flows.lookup({ saddr: [1, 2, 3, 4], daddr: [5, 6, 7, 8], sport: 1, dport: 2, proto: 6 }), { packets: 10, bytes: 20 });
  // batches of decoded entries
  flows.updateBatch([
    { key: { saddr: [9, 9, 9, 1], proto: 1 }, value: { packets: 1, bytes: 1 } },
    { key: { saddr: [9, 9, 9, 2], proto: 1 }, value: { packets: 2, bytes: 2 } },
  ]);
  const first = flows.lookupBatch(2);
  const rest = flows.lookupBatch(10, first.cursor);
  assert.equal(first.entries.length + rest.entries.length, 4);
  assert.equal(rest.cursor, undefined);
  flows.deleteBatch([{ saddr: [9, 9, 9, 1], proto: 1 }, { saddr: [9, 9, 9, 2], proto: 1 }]);
  assert.equal([...flows.keys()].length, 2);
  assert.throws(() => flows.lookup({ saddr: [1, 2, 3, 4], nosuch: 1 }), /has no member 'nosuch'/);
  assert.throws(() => flows.update({ sport: 70000 }, { packets: 0 }), /key.sport: 70000 does not fit in 2 bytes/);
  assert.throws(() => coll.map('stats').update(new Uint8Array(4).fill(9), new Uint8Array(8)), (e) => e instanceof MapError && e.errno === 7);
  assert.throws(() => coll.program('flowcount').testRun({ dataIn: new Uint8Array(4) }), (e) => e instanceof TestRunError && e instanceof TsbpfError);
  assert.throws(() => coll.program('nosuch'), /no program 'nosuch' in .* \(have: flowcount\)/);
  assert.ok(new LoadError('program', 'p', 'x') instanceof TsbpfError);
});
