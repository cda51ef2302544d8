// The inverse of btf/print.ts's btfValue for map keys and values: a decoded
// object ({ saddr: 1, proto: 6 }), array, string (char arrays), enum name or
// number becomes the bytes of its BTF type. Members left out are zero, so a
// partial key object is allowed; unknown member names and out-of-range
// numbers are errors naming the path.

import type { Btf } from '../btf/btf.js';
import type { BtfValue } from '../btf/print.js';
import { BtfKind, type BtfType } from '../btf/types.js';
import { UsageError } from '../internal/errors.js';

const MAX_DEPTH = 32;

/** `what` names the value in error messages ('key', 'value'). */
export function encodeBtfValue(btf: Btf, typeId: number, value: BtfValue, what = 'value'): Uint8Array {
  const size = btf.sizeOf(typeId);
  const out = new Uint8Array(size);
  write(btf, btf.type(typeId), value, new DataView(out.buffer), 0, what, 0);
  return out;
}

function bad(path: string, why: string): UsageError {
  return new UsageError(`${path}: ${why}`);
}

function toBig(v: BtfValue, path: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?(0x[0-9a-f]+|\d+)$/i.test(v)) return v.startsWith('-') ? -BigInt(v.slice(1)) : BigInt(v);
  throw bad(path, `expected an integer, got ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
}

function writeInt(dv: DataView, at: number, size: number, v: bigint, signed: boolean, path: string): void {
  const bits = BigInt(size * 8);
  const min = signed ? -(1n << (bits - 1n)) : 0n;
  const max = signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
  // accept either signedness's range: -1 for a u32 is a common way to write 0xffffffff
  if (v < -(1n << (bits - 1n)) || v > (1n << bits) - 1n) throw bad(path, `${v} does not fit in ${size} bytes (${min}..${max})`);
  let u = BigInt.asUintN(size * 8, v);
  for (let i = 0; i < size; i++) {
    dv.setUint8(at + i, Number(u & 0xffn));
    u >>= 8n;
  }
}

function write(btf: Btf, t: BtfType, v: BtfValue, dv: DataView, at: number, path: string, depth: number): void {
  if (depth > MAX_DEPTH) throw bad(path, 'type nesting too deep');
  switch (t.kind) {
    case BtfKind.INT: {
      if (t.bits !== t.size * 8 || t.bitOffset !== 0) {
        throw bad(path, `int of ${t.bits} bits at bit ${t.bitOffset} is not supported for encoding`);
      }
      writeInt(dv, at, t.size, toBig(v, path), (t.encoding & 1) !== 0, path);
      return;
    }
    case BtfKind.PTR:
      writeInt(dv, at, 8, toBig(v, path), false, path);
      return;
    case BtfKind.ENUM:
    case BtfKind.ENUM64: {
      const byName = typeof v === 'string' ? t.values.find((e) => e.name === v) : undefined;
      writeInt(dv, at, t.size, byName !== undefined ? byName.big : toBig(v, path), t.signed, path);
      return;
    }
    case BtfKind.FLOAT:
      if (typeof v !== 'number') throw bad(path, 'expected a number');
      if (t.size === 4) dv.setFloat32(at, v, true);
      else if (t.size === 8) dv.setFloat64(at, v, true);
      else throw bad(path, `float of ${t.size} bytes is not supported`);
      return;
    case BtfKind.ARRAY: {
      const elem = btf.type(t.type);
      const esize = btf.sizeOf(t.type);
      if (typeof v === 'string') {
        const bytes = new TextEncoder().encode(v);
        if (esize !== 1 || bytes.length > t.nelems) throw bad(path, `string of ${bytes.length} bytes does not fit char[${t.nelems}]`);
        for (let i = 0; i < bytes.length; i++) dv.setUint8(at + i, bytes[i]!);
        return;
      }
      if (!Array.isArray(v)) throw bad(path, `expected an array of ${t.nelems}`);
      if (v.length > t.nelems) throw bad(path, `${v.length} elements for an array of ${t.nelems}`);
      v.forEach((x, i) => write(btf, elem, x, dv, at + i * esize, `${path}[${i}]`, depth + 1));
      return;
    }
    case BtfKind.STRUCT:
    case BtfKind.UNION: {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad(path, `expected an object for ${btf.describe(t.id)}`);
      const members = new Map(t.members.map((m) => [m.name, m]));
      for (const [name, x] of Object.entries(v)) {
        const m = members.get(name);
        if (m === undefined) throw bad(path, `${btf.describe(t.id)} has no member '${name}'`);
        if (m.bitSize !== 0 || m.bitOffset % 8 !== 0) throw bad(`${path}.${name}`, 'bitfield members are not supported for encoding');
        write(btf, btf.type(m.type), x, dv, at + m.bitOffset / 8, `${path}.${name}`, depth + 1);
      }
      return;
    }
    case BtfKind.TYPEDEF:
    case BtfKind.VOLATILE:
    case BtfKind.CONST:
    case BtfKind.RESTRICT:
    case BtfKind.TYPE_TAG:
      write(btf, btf.type(t.type), v, dv, at, path, depth + 1);
      return;
    default:
      throw bad(path, `cannot encode a value of ${btf.describe(t.id)}`);
  }
}
