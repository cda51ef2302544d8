// Map keys and values formatted by their BTF types, the way `bpftool map
// dump` shows them: structs as objects, arrays as lists, char arrays holding
// a NUL-terminated printable string as that string, enums by name, bools as
// true/false, 64-bit integers exactly (as bigint when beyond 2^53).

import { BtfError } from '../internal/errors.js';
import { MAX_RESOLVE_DEPTH, type Btf } from './btf.js';
import { BtfIntEncoding, BtfKind, type BtfInt, type BtfType } from './types.js';

export type BtfValue = number | bigint | string | boolean | null | BtfValue[] | { [key: string]: BtfValue };

/** Decode `bytes[offset...]` as a value of type `typeId`. */
export function btfValue(btf: Btf, typeId: number, bytes: Uint8Array, offset = 0): BtfValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    return valueAt(btf, btf.type(typeId), view, offset, 0);
  } catch (e) {
    // Every read is range-checked first; this only guards against a missed case.
    if (e instanceof RangeError) throw new BtfError(`value of ${btf.describe(typeId)} does not fit in ${bytes.length} bytes`);
    throw e;
  }
}

/** The value as indented text, bigint-safe (bpftool-like JSON). */
export function formatBtfValue(btf: Btf, typeId: number, bytes: Uint8Array, offset = 0): string {
  return toJsonText(btfValue(btf, typeId, bytes, offset), '');
}

function need(view: DataView, at: number, size: number, t: BtfType): void {
  if (at < 0 || at + size > view.byteLength) {
    throw new BtfError(`value of ${t.name || 'type ' + t.id} needs ${size} bytes at ${at}, but only ${view.byteLength} bytes were given`);
  }
}

function valueAt(btf: Btf, t: BtfType, view: DataView, at: number, depth: number): BtfValue {
  if (depth > MAX_RESOLVE_DEPTH) throw new BtfError(`type ${t.id}: nesting deeper than ${MAX_RESOLVE_DEPTH}`);
  switch (t.kind) {
    case BtfKind.INT:
      return intAt(t, view, at, btf.littleEndian);
    case BtfKind.PTR:
      need(view, at, 8, t);
      return unsigned64(view, at, btf.littleEndian);
    case BtfKind.FLOAT:
      need(view, at, t.size, t);
      if (t.size === 4) return view.getFloat32(at, btf.littleEndian);
      if (t.size === 8) return view.getFloat64(at, btf.littleEndian);
      return hexBytes(view, at, t.size);
    case BtfKind.ENUM:
    case BtfKind.ENUM64: {
      need(view, at, t.size, t);
      const raw = readUnsigned(view, at, t.size, btf.littleEndian);
      const v = t.signed ? BigInt.asIntN(t.size * 8, raw) : raw;
      const hit = t.values.find((e) => e.big === v || (!t.signed && BigInt.asUintN(t.size * 8, e.big) === v));
      return hit ? hit.name : narrow(v);
    }
    case BtfKind.ARRAY: {
      const elem = btf.skipModifiers(t.type);
      const size = btf.sizeOf(t.type);
      need(view, at, size * t.nelems, t);
      if (elem.kind === BtfKind.INT && isCharLike(elem)) {
        const s = asString(view, at, t.nelems);
        if (s !== undefined) return s;
      }
      const out: BtfValue[] = [];
      for (let i = 0; i < t.nelems; i++) out.push(valueAt(btf, elem, view, at + i * size, depth + 1));
      return out;
    }
    case BtfKind.STRUCT:
    case BtfKind.UNION: {
      need(view, at, t.size, t);
      const out: { [key: string]: BtfValue } = {};
      for (const m of t.members) {
        const mt = btf.skipModifiers(m.type);
        let v: BtfValue;
        if (m.bitSize > 0 || m.bitOffset % 8 !== 0) {
          if (mt.kind !== BtfKind.INT && mt.kind !== BtfKind.ENUM && mt.kind !== BtfKind.ENUM64) {
            throw new BtfError(`member ${m.name} of ${btf.describe(t.id)} is a bitfield of a non-integer type`);
          }
          const bits = m.bitSize || (mt.kind === BtfKind.INT ? mt.bits : mt.size * 8);
          const signed = mt.kind === BtfKind.INT ? (mt.encoding & BtfIntEncoding.SIGNED) !== 0 : mt.signed;
          v = bitfieldAt(view, at, m.bitOffset, bits, signed, btf.littleEndian, t.size);
        } else {
          v = valueAt(btf, mt, view, at + m.bitOffset / 8, depth + 1);
        }
        // Anonymous struct/union members are flattened into the parent, as C code names them.
        if (m.name === '' && v !== null && typeof v === 'object' && !Array.isArray(v)) Object.assign(out, v);
        else out[m.name || `(anon ${m.bitOffset / 8})`] = v;
      }
      return out;
    }
    case BtfKind.DATASEC: {
      const out: { [key: string]: BtfValue } = {};
      for (const v of t.vars) {
        const vt = btf.type(v.type);
        out[vt.name] = valueAt(btf, vt, view, at + v.offset, depth + 1);
      }
      return out;
    }
    case BtfKind.VAR:
    case BtfKind.TYPEDEF:
    case BtfKind.CONST:
    case BtfKind.VOLATILE:
    case BtfKind.RESTRICT:
    case BtfKind.TYPE_TAG:
      return valueAt(btf, btf.type(t.type), view, at, depth + 1);
    default:
      throw new BtfError(`cannot format a value of ${btf.describe(t.id)}`);
  }
}

function isCharLike(t: BtfInt): boolean {
  return t.size === 1 && ((t.encoding & BtfIntEncoding.CHAR) !== 0 || t.name === 'char' || t.name === 'unsigned char' || t.name === 'signed char');
}

/** A char array prints as a string when it holds printable text up to a NUL (bpftool's rule). */
function asString(view: DataView, at: number, n: number): string | undefined {
  let s = '';
  for (let i = 0; i < n; i++) {
    const c = view.getUint8(at + i);
    if (c === 0) return s;
    if (c < 0x20 || c > 0x7e) return undefined;
    s += String.fromCharCode(c);
  }
  return undefined;
}

function readUnsigned(view: DataView, at: number, size: number, le: boolean): bigint {
  let v = 0n;
  for (let i = 0; i < size; i++) {
    const b = BigInt(view.getUint8(at + (le ? size - 1 - i : i)));
    v = (v << 8n) | b;
  }
  return v;
}

function narrow(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function unsigned64(view: DataView, at: number, le: boolean): number | bigint {
  return narrow(readUnsigned(view, at, 8, le));
}

function intAt(t: BtfInt, view: DataView, at: number, le: boolean): BtfValue {
  need(view, at, t.size, t);
  const signed = (t.encoding & BtfIntEncoding.SIGNED) !== 0;
  // An int type may itself describe a bit range of its storage (rare, but legal BTF).
  if (t.bitOffset !== 0 || t.bits !== t.size * 8) return bitfieldAt(view, at, t.bitOffset, t.bits, signed, le, t.size);
  const raw = readUnsigned(view, at, t.size, le);
  if (t.encoding & BtfIntEncoding.BOOL) return raw !== 0n;
  if (t.size > 8) return '0x' + raw.toString(16);
  return narrow(signed ? BigInt.asIntN(t.size * 8, raw) : raw);
}

function bitfieldAt(view: DataView, at: number, bitOffset: number, bits: number, signed: boolean, le: boolean, containerSize: number): BtfValue {
  const byteStart = Math.floor(bitOffset / 8);
  const nbytes = Math.ceil((bitOffset % 8 + bits) / 8);
  if (at + byteStart + nbytes > view.byteLength || byteStart + nbytes > containerSize + 8) {
    throw new BtfError(`bitfield of ${bits} bits at bit ${bitOffset} runs past the value`);
  }
  const raw = readUnsigned(view, at + byteStart, nbytes, le);
  // Little-endian bit numbering counts from the least significant bit of the first byte.
  const shift = le ? BigInt(bitOffset % 8) : BigInt(nbytes * 8 - (bitOffset % 8) - bits);
  let v = (raw >> shift) & ((1n << BigInt(bits)) - 1n);
  if (signed) v = BigInt.asIntN(bits, v);
  return narrow(v);
}

function hexBytes(view: DataView, at: number, n: number): string {
  let s = '0x';
  for (let i = 0; i < n; i++) s += view.getUint8(at + i).toString(16).padStart(2, '0');
  return s;
}

/** JSON text with bigint support and 4-space indentation, like bpftool -p. */
export function toJsonText(v: BtfValue, indent: string): string {
  if (v === null) return 'null';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : JSON.stringify(String(v));
  if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
  const inner = indent + '    ';
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    const flat = v.every((x) => typeof x !== 'object' || x === null);
    if (flat) return '[' + v.map((x) => toJsonText(x, inner)).join(',') + ']';
    return '[\n' + v.map((x) => inner + toJsonText(x, inner)).join(',\n') + '\n' + indent + ']';
  }
  const keys = Object.keys(v);
  if (keys.length === 0) return '{}';
  return '{\n' + keys.map((k) => `${inner}${JSON.stringify(k)}: ${toJsonText(v[k]!, inner)}`).join(',\n') + '\n' + indent + '}';
}
