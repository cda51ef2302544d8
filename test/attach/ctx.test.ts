// Context layouts from BTF and the per-event writer, member by member.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { attachProgram, compileCtxWriter, memberGetter, probe, type CtxField, type CtxLayout } from '../../src/attach/index.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { ROOT } from '../paths.js';

const f = (name: string, offset: number, size: number, kind: CtxField['kind'], extra: Partial<CtxField> = {}): CtxField => ({
  name,
  offset,
  size,
  kind,
  signed: false,
  elemSize: 0,
  count: 0,
  fields: [],
  ...extra,
});

function write(layout: CtxLayout, root: unknown, aliases = {}): { bytes: Uint8Array; dv: DataView } {
  const bytes = new Uint8Array(layout.size + 8).fill(0xee); // garbage: the writer must clear the context
  const dv = new DataView(bytes.buffer);
  compileCtxWriter(layout, aliases)(bytes, dv, 4, root);
  return { bytes: bytes.subarray(4, 4 + layout.size), dv: new DataView(bytes.buffer, 4) };
}

test('integers: sizes, negatives in u64, bigints, booleans, numeric strings, dates; NaN and missing stay zero', () => {
  const layout: CtxLayout = {
    typeName: 't',
    size: 40,
    fields: [f('a', 0, 1, 'int'), f('b', 2, 2, 'int'), f('c', 4, 4, 'int'), f('d', 8, 8, 'int'), f('e', 16, 8, 'int'), f('g', 24, 4, 'int'), f('h', 28, 4, 'int'), f('t', 32, 8, 'int')],
  };
  const when = new Date(1_700_000_000_123);
  const { dv, bytes } = write(layout, { a: 0x1ff, b: -2, c: true, d: -1, e: 2n ** 63n + 5n, g: '42', h: NaN, t: when });
  assert.equal(bytes[0], 0xff);
  assert.equal(bytes[1], 0, 'padding cleared');
  assert.equal(dv.getUint16(2, true), 0xfffe);
  assert.equal(dv.getUint32(4, true), 1);
  assert.equal(dv.getBigInt64(8, true), -1n);
  assert.equal(dv.getBigUint64(16, true), 2n ** 63n + 5n);
  assert.equal(dv.getUint32(24, true), 42);
  assert.equal(dv.getUint32(28, true), 0);
  assert.equal(dv.getBigUint64(32, true), 1_700_000_000_123n);
});

test('strings: UTF-8, cut at a character boundary, always NUL-terminated; buffers copied as bytes', () => {
  const layout: CtxLayout = { typeName: 't', size: 24, fields: [f('s', 0, 8, 'chars', { count: 8, elemSize: 1 }), f('u', 8, 8, 'chars', { count: 8, elemSize: 1 }), f('buf', 16, 4, 'chars', { count: 4, elemSize: 1 }), f('buf_len', 20, 4, 'int')] };
  const { bytes } = write(layout, { s: 'abcdefghijk', u: 'héllo€x', buf: new Uint8Array([1, 2, 3, 4, 5, 6]) });
  assert.deepEqual([...bytes.subarray(0, 8)], [...Buffer.from('abcdefg'), 0]);
  // 'h' 'é'(2) 'l' 'l' 'o' = 6 bytes; '€' needs 3 and does not fit in the 7 left
  assert.deepEqual([...bytes.subarray(8, 16)], [...Buffer.from('héllo'), 0, 0]);
  assert.deepEqual([...bytes.subarray(16, 20)], [1, 2, 3, 4]);
  assert.equal(new DataView(bytes.buffer, bytes.byteOffset).getUint32(20, true), 6, '_len: the byte length of buf');
});

test('floats, bools, int arrays, nested and anonymous structs', () => {
  const layout: CtxLayout = {
    typeName: 't',
    size: 48,
    fields: [
      f('x', 0, 8, 'float'),
      f('y', 8, 4, 'float'),
      f('ok', 12, 1, 'bool'),
      f('v', 16, 12, 'array', { elemSize: 4, count: 3, signed: true }),
      f('inner', 28, 8, 'struct', { fields: [f('p', 28, 4, 'int'), f('q', 32, 4, 'int')] }),
      f('', 36, 4, 'struct', { fields: [f('flat', 36, 4, 'int')] }),
      f('deep__er', 40, 4, 'int'),
      f('status_code', 44, 4, 'int'),
    ],
  };
  const { dv } = write(layout, { x: 0.1, y: 1.5, ok: 'yes', v: Int32Array.of(-1, 2), inner: { p: 7, q: 9 }, flat: 11, deep: { er: 13 }, statusCode: 404 });
  assert.equal(dv.getFloat64(0, true), 0.1);
  assert.equal(dv.getFloat32(8, true), 1.5);
  assert.equal(dv.getUint8(12), 1);
  assert.deepEqual([dv.getInt32(16, true), dv.getInt32(20, true), dv.getInt32(24, true)], [-1, 2, 0]);
  assert.deepEqual([dv.getUint32(28, true), dv.getUint32(32, true)], [7, 9]);
  assert.equal(dv.getUint32(36, true), 11, 'anonymous member: its fields are the parent\'s');
  assert.equal(dv.getUint32(40, true), 13, "'__' walks into objects");
  assert.equal(dv.getUint32(44, true), 404, 'snake_case finds camelCase');
});

test('aliases map a member to a path; getters never throw on primitives or null', () => {
  const get = memberGetter('status', { status: 'response.statusCode' });
  assert.equal(get({ response: { statusCode: 201 } }), 201);
  assert.equal(get({ response: null }), undefined);
  assert.equal(get(7), undefined);
  assert.equal(memberGetter('arg2__url', { arg2: 'args.1' })({ args: [0, { url: '/x' }] }), '/x');
});

test('context structs the layout refuses, with the member and the reason', () => {
  const rt = new Runtime();
  const file = join(ROOT, 'test', 'attach', 'fixtures', 'bad.o');
  const coll = rt.loadObject(readFileSync(file), { file });
  for (const n of ['test:bits', 'test:items', 'test:untyped']) probe.define(n);
  assert.throws(() => attachProgram(coll.program('bits'), { btf: coll.btf }), /program bits: context struct with_bitfield: member 'flags' is a bitfield/);
  assert.throws(() => attachProgram(coll.program('items'), { btf: coll.btf }), /member 'items' is an array of struct inner; arrays must hold integers/);
  assert.throws(() => attachProgram(coll.program('untyped'), { btf: coll.btf }), /program untyped: usdt test:untyped: no context struct/);
  rt.dispose();
});

test('the default fault report is one process warning', async () => {
  // probes.o faults on purpose: loaded without the verifier (explicit opt-out)
  const rt = new Runtime({ verify: false });
  const file = join(ROOT, 'test', 'attach', 'fixtures', 'probes.o');
  const coll = rt.loadObject(readFileSync(file), { file });
  const calc = { bad: (p: number) => p };
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => {
    warnings.push(w);
  };
  process.on('warning', onWarning);
  const link = attachProgram(coll.program('deref'), { btf: coll.btf, functions: { calc } });
  for (let i = 0; i < 5; i++) calc.bad(8);
  await new Promise((r) => setImmediate(r));
  process.removeListener('warning', onWarning);
  link.detach();
  assert.equal(link.stats.faults, 5);
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]!.name, 'TsbpfFaultWarning');
  assert.match(warnings[0]!.message, /deref attached to uprobe\/calc\.bad faulted at pc \d+ \(probes\.c:\d+/);
});
