// The CLI's argument pieces: map selectors and bpftool-style byte lists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { takeBytes, takeMapSelector, socketFor } from '../../src/registry/cli-args.js';
import { UsageError } from '../../src/internal/errors.js';
import { entryJson, formatDump, spacedHex } from '../../src/registry/format.js';

test('map selectors: id N, name X, bare number or name', () => {
  assert.deepEqual(takeMapSelector(['id', '3', 'key', '1']), { sel: { id: 3 }, rest: ['key', '1'] });
  assert.deepEqual(takeMapSelector(['name', 'drops']), { sel: { name: 'drops' }, rest: [] });
  assert.deepEqual(takeMapSelector(['7', 'key']), { sel: { id: 7 }, rest: ['key'] });
  assert.deepEqual(takeMapSelector(['drops']), { sel: { name: 'drops' }, rest: [] });
  assert.throws(() => takeMapSelector(['id', 'x']), UsageError);
  assert.throws(() => takeMapSelector([]), /expected a map/);
});

test('bytes: decimal, 0x hex, 0 octal, or hex words after "hex"; stops at the next keyword', () => {
  assert.deepEqual(takeBytes(['key', '10', '0x0b', '014', '0', 'value', '1'], 'key', ['value']), { hex: '0a0b0c00', rest: ['value', '1'] });
  assert.deepEqual(takeBytes(['value', 'hex', '0a00', 'ff', 'any'], 'value', ['any']), { hex: '0a00ff', rest: ['any'] });
  assert.throws(() => takeBytes(['key', '256'], 'key', []), /'256' is not a byte/);
  assert.throws(() => takeBytes(['key', 'hex', 'abc'], 'key', []), /'abc' is not hex bytes/);
  assert.throws(() => takeBytes(['key'], 'key', []), /no bytes given/);
  assert.throws(() => takeBytes(['value', '1'], 'key', []), /expected 'key'/);
  assert.throws(() => socketFor('12x'), /--pid takes a process id/);
});

test('dump and entry formats follow bpftool', () => {
  const map = { id: 1, type: 'array', name: 'a', flags: 0, keySize: 4, valueSize: 2, maxEntries: 2, frozen: false, btf: false };
  assert.equal(formatDump({ map, entries: [{ key: '00000000', value: 'ff01' }] }), 'key: 00 00 00 00  value: ff 01\nFound 1 element');
  assert.equal(spacedHex('0a0b'), '0a 0b');
  assert.equal(entryJson({ key: '01', value: '02', formatted: { key: '1', value: '{\n    "x": 18446744073709551615\n}' } }), '{"key":["0x01"],"value":["0x02"],"formatted":{"key":1,"value":{"x": 18446744073709551615}}}');
});
