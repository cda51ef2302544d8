// BTF parsing (every kind, both byte orders), bounded walks over malformed
// type graphs, and the bpftool-style value printer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBtf } from '../../src/btf/parse-btf.js';
import { btfValue, formatBtfValue } from '../../src/btf/print.js';
import { BtfKind } from '../../src/btf/types.js';
import { BtfError } from '../../src/internal/errors.js';
import { BtfBuilder } from './build.js';

const K = BtfKind;

/** One type of every kind, returning the builder and the ids. */
function everyKind(): { b: BtfBuilder; ids: Record<string, number> } {
  const b = new BtfBuilder();
  const ids: Record<string, number> = {};
  ids.int = b.add(K.INT, 'int', 0, 4, [(1 << 24) | 32]); // signed, 32 bits
  ids.u8 = b.add(K.INT, 'unsigned char', 0, 1, [8]);
  ids.char = b.add(K.INT, 'char', 0, 1, [(2 << 24) | 8]);
  ids.bool = b.add(K.INT, '_Bool', 0, 1, [(4 << 24) | 8]);
  ids.u64 = b.add(K.INT, 'unsigned long long', 0, 8, [64]);
  ids.ptr = b.add(K.PTR, '', 0, ids.int);
  ids.name = b.add(K.ARRAY, '', 0, 0, [ids.char, ids.int, 8]);
  ids.color = b.add(K.ENUM, 'color', 2, 4, [b.str('RED'), 0, b.str('BLUE'), 0xffffffff], true);
  ids.big = b.add(K.ENUM64, 'big', 1, 8, [b.str('HUGE'), 1, 0x00200000]); // 2^53 + 1
  ids.fwd = b.add(K.FWD, 'opaque', 0, 0, [], true);
  ids.td = b.add(K.TYPEDEF, 'u64_t', 0, ids.u64);
  ids.vol = b.add(K.VOLATILE, '', 0, ids.td);
  ids.cst = b.add(K.CONST, '', 0, ids.vol);
  ids.rst = b.add(K.RESTRICT, '', 0, ids.ptr);
  ids.tag = b.add(K.TYPE_TAG, 'user', 0, ids.int);
  ids.flt = b.add(K.FLOAT, 'double', 0, 8);
  // struct rec { int a; unsigned x:3, y:5; char name[8]; enum color c; const volatile u64_t v; bool ok; double d; }  (kflag: bitfields)
  ids.rec = b.add(K.STRUCT, 'rec', 8, 48, [
    b.str('a'), ids.int, 0,
    b.str('x'), ids.u64, (3 << 24) | 32,
    b.str('y'), ids.int, (5 << 24) | 35,
    b.str('name'), ids.name, 64,
    b.str('c'), ids.color, 128,
    b.str('v'), ids.cst, 192,
    b.str('ok'), ids.bool, 256,
    b.str('d'), ids.flt, 264,
  ], true);
  ids.un = b.add(K.UNION, 'u', 2, 8, [b.str('i'), ids.int, 0, b.str('l'), ids.u64, 0]);
  ids.proto = b.add(K.FUNC_PROTO, '', 2, ids.int, [b.str('p'), ids.ptr, 0, 0]); // (int *p, ...)
  ids.func = b.add(K.FUNC, 'handler', 1, ids.proto);
  ids.var = b.add(K.VAR, 'global', 0, ids.rec, [1]);
  ids.sec = b.add(K.DATASEC, '.data', 1, 48, [ids.var, 0, 48]);
  ids.decl = b.add(K.DECL_TAG, 'my_tag', 0, ids.rec, [-1 >>> 0]);
  ids.arr2 = b.add(K.ARRAY, '', 0, 0, [ids.int, ids.int, 3]);
  return { b, ids };
}

test('every BTF kind parses, in both byte orders', () => {
  const { b, ids } = everyKind();
  for (const le of [true, false]) {
    const btf = parseBtf(b.bytes(le));
    assert.equal(btf.littleEndian, le);
    assert.equal(btf.types.length, Object.keys(ids).length + 1);
    const rec = btf.type(ids.rec!);
    assert.ok(rec.kind === K.STRUCT);
    assert.deepEqual(rec.members.map((m) => [m.name, m.bitOffset, m.bitSize]).slice(0, 3), [['a', 0, 0], ['x', 32, 3], ['y', 35, 5]]);
    const color = btf.type(ids.color!);
    assert.ok(color.kind === K.ENUM && color.signed);
    assert.deepEqual(color.values.map((v) => [v.name, v.value]), [['RED', 0], ['BLUE', -1]]);
    const big = btf.type(ids.big!);
    assert.ok(big.kind === K.ENUM64);
    assert.equal(big.values[0]!.big, (1n << 53n) + 1n);
    const proto = btf.type(ids.proto!);
    assert.ok(proto.kind === K.FUNC_PROTO && proto.variadic && proto.params.length === 1);
    const decl = btf.type(ids.decl!);
    assert.ok(decl.kind === K.DECL_TAG && decl.componentIdx === -1);
    const fwd = btf.type(ids.fwd!);
    assert.ok(fwd.kind === K.FWD && fwd.union);
    assert.equal(btf.sizeOf(ids.cst!), 8);
    assert.equal(btf.sizeOf(ids.arr2!), 12);
    assert.equal(btf.sizeOf(ids.var!), 48);
    assert.equal(btf.describe(ids.rst!), 'int *');
    assert.equal(btf.skipModifiers(ids.cst!).id, ids.u64);
    assert.deepEqual(btf.idsByName('rec'), [ids.rec]);
    assert.throws(() => btf.sizeOf(ids.func!), BtfError);
  }
});

test('the value printer formats structs, bitfields, strings, enums, bools and floats', () => {
  const { b, ids } = everyKind();
  for (const le of [true, false]) {
    const btf = parseBtf(b.bytes(le));
    const v = new Uint8Array(48);
    const dv = new DataView(v.buffer);
    dv.setInt32(0, -5, le);
    // x = 5 (3 bits at bit 32), y = -3 (5 bits at bit 35): little-endian packs from the low bit.
    if (le) v[4] = 5 | ((-3 & 0x1f) << 3);
    else v[4] = (5 << 5) | (-3 & 0x1f);
    v.set(new TextEncoder().encode('edge\0'), 8);
    dv.setUint32(16, 0xffffffff, le);
    dv.setBigUint64(24, (1n << 63n) + 1n, le);
    v[32] = 1;
    dv.setFloat64(33, 2.5, le); // 'd' at byte 33 is unaligned on purpose
    const got = btfValue(btf, ids.rec!, v);
    assert.deepEqual(got, { a: -5, x: 5, y: -3, name: 'edge', c: 'BLUE', v: (1n << 63n) + 1n, ok: true, d: 2.5 });
    const text = formatBtfValue(btf, ids.sec!, v);
    assert.match(text, /"global": \{\n {8}"a": -5,/);
    assert.match(text, /"v": 9223372036854775809/);
    assert.deepEqual(btfValue(btf, ids.arr2!, new Uint8Array(12).fill(0)), [0, 0, 0]);
    // A char array without a NUL prints as numbers, not as a truncated string.
    assert.deepEqual(btfValue(btf, ids.name!, new TextEncoder().encode('abcdefgh')), [97, 98, 99, 100, 101, 102, 103, 104]);
    assert.throws(() => btfValue(btf, ids.rec!, new Uint8Array(10)), BtfError);
  }
});

test('cycles in the type graph are errors, not hangs', () => {
  const b = new BtfBuilder();
  b.add(K.TYPEDEF, 'a', 0, 2);
  b.add(K.TYPEDEF, 'b', 0, 1);
  b.add(K.ARRAY, '', 0, 0, [4, 1, 2]);
  b.add(K.ARRAY, '', 0, 0, [3, 1, 2]);
  b.add(K.PTR, '', 0, 6);
  b.add(K.CONST, '', 0, 5); // pointer cycles are legal: const -> ptr -> const
  const btf = parseBtf(b.bytes());
  const t0 = performance.now();
  assert.throws(() => btf.sizeOf(1), /cycle/);
  assert.throws(() => btf.skipModifiers(1), /cycle/);
  assert.throws(() => btf.sizeOf(3), /cycle/);
  assert.equal(btf.sizeOf(6), 8);
  assert.equal(btf.describe(1), 'a');
  assert.throws(() => btfValue(btf, 3, new Uint8Array(64)), BtfError);
  assert.ok(performance.now() - t0 < 100);
});

test('malformed BTF is rejected with the offset of the bad record', () => {
  const self = new BtfBuilder();
  self.add(K.TYPEDEF, 'loop', 0, 1);
  assert.throws(() => parseBtf(self.bytes()), /refers to itself/);

  const dangling = new BtfBuilder();
  dangling.add(K.STRUCT, 's', 1, 4, [dangling.str('m'), 99, 0]);
  assert.throws(() => parseBtf(dangling.bytes()), /member m refers to type 99/);

  const huge = new BtfBuilder();
  huge.add(K.STRUCT, 's', 0xffff, 4);
  assert.throws(() => parseBtf(huge.bytes()), (e: unknown) => e instanceof BtfError && /members/.test(e.message) && e.offset !== undefined);

  const kind = new BtfBuilder();
  kind.add(25, 'x', 0, 0);
  assert.throws(() => parseBtf(kind.bytes()), /unknown kind/);

  const okBytes = everyKind().b.bytes();
  const badStr = new Uint8Array(okBytes);
  new DataView(badStr.buffer).setUint32(24, 0xffffff, true); // first type's name_off
  assert.throws(() => parseBtf(badStr), /string offset/);
  const badVersion = new Uint8Array(okBytes);
  badVersion[2] = 2;
  assert.throws(() => parseBtf(badVersion), /version 2/);
  assert.throws(() => parseBtf(okBytes.subarray(0, 30)), BtfError);
  for (let n = 0; n < okBytes.length; n++) {
    try {
      parseBtf(okBytes.subarray(0, n));
    } catch (e) {
      assert.ok(e instanceof BtfError, `cut at ${n}: ${String(e)}`);
    }
  }
});

test('map dump like bpftool: typed entries with BTF, hex bytes without', async () => {
  const { formatMapDump } = await import('../../src/btf/map-dump.js');
  const { loadObject } = await import('../../src/elf/load.js');
  const { readFileSync } = await import('node:fs');
  const spec = loadObject(new Uint8Array(readFileSync(new URL('../../../examples/maps.o', import.meta.url))));
  const flows = spec.maps.find((m) => m.name === 'flows')!;
  const key = new Uint8Array(16);
  new DataView(key.buffer).setUint32(0, 0x0100007f, true);
  key[12] = 6;
  const value = new Uint8Array(24);
  value[0] = 3;
  value.set(new TextEncoder().encode('web\0'), 16);
  const text = formatMapDump(spec.btf, flows, [[key, value]]);
  assert.deepEqual(JSON.parse(text), [{ key: { saddr: 0x0100007f, daddr: 0, sport: 0, dport: 0, proto: 6 }, value: { packets: 3, bytes: 0, tag: 'web' } }]);
  const plain = formatMapDump(undefined, flows, [[key.subarray(0, 4), value.subarray(0, 2)]]);
  assert.equal(plain, 'key: 7f 00 00 01  value: 03 00\nFound 1 element');
});

test('encodeBtf round-trips every kind and the example objects', async () => {
  const { encodeBtf } = await import('../../src/btf/encode.js');
  const { loadObject } = await import('../../src/elf/load.js');
  const { readFileSync, readdirSync } = await import('node:fs');
  const btf = parseBtf(everyKind().b.bytes(false));
  assert.deepEqual(parseBtf(encodeBtf(btf)).types, btf.types);
  const dir = new URL('../../../examples/', import.meta.url);
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.o'))) {
    const spec = loadObject(new Uint8Array(readFileSync(new URL(f, dir))));
    if (spec.btf) assert.deepEqual(parseBtf(encodeBtf(spec.btf)).types, spec.btf.types, f);
  }
});
