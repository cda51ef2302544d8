// LEB128 encoders checked against a BigInt reference encoder, and the
// module builder against WebAssembly.validate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writer } from '../../../../src/vm/jit/wasm/writer.js';
import { beginBody, endBody, writeExports, writeFunctions, writeHeader, writeTypes } from '../../../../src/vm/jit/wasm/module.js';
import { T, W } from '../../../../src/vm/jit/wasm/opcodes.js';
import { Prng } from '../../../../src/vm/fuzz/prng.js';

/** Reference signed LEB128 of a BigInt. */
function slebRef(v: bigint): number[] {
  const out: number[] = [];
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function ulebRef(v: bigint): number[] {
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return out;
}

const bytesOf = (f: (w: Writer) => void): number[] => {
  const w = new Writer(1);
  f(w);
  return [...w.finish()];
};

test('s64, s32 and u32 LEB128 match the reference on edges and random values', () => {
  const r = new Prng(7);
  const values: bigint[] = [0n, 1n, -1n, 63n, 64n, -64n, -65n, 2n ** 31n - 1n, -(2n ** 31n), 2n ** 63n - 1n, -(2n ** 63n), 0x123456789abcdefn];
  for (let i = 0; i < 2000; i++) values.push(BigInt.asIntN(64, (BigInt(r.next()) << 32n) | BigInt(r.next())) >> BigInt(r.int(64)));
  for (const v of values) {
    const lo = Number(BigInt.asIntN(32, v));
    const hi = Number(BigInt.asIntN(32, v >> 32n));
    assert.deepEqual(bytesOf((w) => w.s64(lo, hi)), slebRef(v), `s64 ${v}`);
    if (v >= -(2n ** 31n) && v < 2n ** 31n) assert.deepEqual(bytesOf((w) => w.s32(Number(v))), slebRef(v), `s32 ${v}`);
    const u = BigInt.asUintN(32, v);
    assert.deepEqual(bytesOf((w) => w.u32(Number(u))), ulebRef(u), `u32 ${u}`);
  }
});

test('patched placeholders are valid 5-byte LEBs', () => {
  const w = new Writer(1);
  const at = w.placeholder();
  w.bytes(new Uint8Array(300));
  w.patchSizeFrom(at);
  const b = w.finish();
  assert.deepEqual([...b.subarray(0, 5)], [0xac, 0x82, 0x80, 0x80, 0x00]); // 300, padded
});

test('a module written by the builder validates and runs', () => {
  const w = new Writer(8);
  writeHeader(w);
  writeTypes(w, [{ params: [T.i64, T.i64], results: [T.i64] }]);
  writeFunctions(w, [0]);
  writeExports(w, [{ name: 'f', kind: 'func', index: 0 }]);
  w.u8(10);
  const sec = w.placeholder();
  w.u32(1);
  const body = beginBody(w, []);
  w.u8x2(W.local_get, 0);
  w.u8x2(W.local_get, 1);
  w.u8(W.i64_mul);
  w.u8(W.i64_const);
  w.s64(0x89abcdef | 0, 0x01234567);
  w.u8(W.i64_add);
  endBody(w, body);
  w.patchSizeFrom(sec);
  const bytes = w.finish();
  assert.ok(WebAssembly.validate(bytes as BufferSource));
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource));
  const f = inst.exports.f as (a: bigint, b: bigint) => bigint;
  assert.equal(f(6n, 7n), 42n + 0x0123456789abcdefn);
});
