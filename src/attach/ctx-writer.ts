// Filling a context struct (CtxLayout) from a JavaScript value, once per
// event. Member names pick the value's fields:
//   status          msg.status, else msg.statusCode's camelCase twin (status_code -> statusCode)
//   response__code  msg.response.code ('__' walks into nested objects)
//   url_len         msg.url_len, else the byte length of msg.url (string, buffer, array)
// An alias table (per channel, or argN for function probes) maps a member
// name to a dotted path first. Values convert by the member's type:
//   integers  numbers (truncated), bigints, booleans, numeric strings; an
//             object becomes its identity number (stable per object, so a
//             start and a finish event of one request share it)
//   char[N]   strings as UTF-8, NUL-terminated and cut to N-1 bytes; bytes as they are
//   T[N]      arrays and typed arrays of numbers, element by element
//   struct    the nested object, member by member
// Missing fields read as zero. Everything is compiled to closures when a
// program is attached, so an event costs property reads and stores only.

import type { CtxField, CtxLayout } from './ctx-layout.js';

/** Writes one event into the context at `base` of the runtime memory (whose views are u8/dv). */
export type CtxWriter = (u8: Uint8Array, dv: DataView, base: number, root: unknown) => void;

/** Member name -> dotted path into the event value ('response.statusCode', 'args.0'). */
export type FieldAliases = Readonly<Record<string, string>>;

type Getter = (root: unknown) => unknown;
type FieldWriter = (u8: Uint8Array, dv: DataView, base: number, root: unknown) => void;

const TWO32 = 4294967296;
const ids = new WeakMap<object, number>();
let nextId = 1;

/** A stable number for an object (1, 2, ...): what integer members receive for object values. */
export function objectId(o: object): number {
  let id = ids.get(o);
  if (id === undefined) {
    id = nextId++;
    ids.set(o, id);
  }
  return id;
}

const camel = (s: string): string => s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

function segmentGetter(seg: string): (o: unknown) => unknown {
  const alt = camel(seg);
  if (alt === seg) {
    return (o) => (o !== null && (typeof o === 'object' || typeof o === 'function') ? (o as Record<string, unknown>)[seg] : undefined);
  }
  return (o) => {
    if (o === null || (typeof o !== 'object' && typeof o !== 'function')) return undefined;
    const r = o as Record<string, unknown>;
    const v = r[seg];
    return v !== undefined ? v : r[alt];
  };
}

function pathGetter(path: readonly string[]): Getter {
  const steps = path.map(segmentGetter);
  if (steps.length === 1) return steps[0]!;
  return (root) => {
    let o = root;
    for (let i = 0; i < steps.length && o !== undefined; i++) o = steps[i]!(o);
    return o;
  };
}

/** The getter for a member name (see the file comment for the rules). */
export function memberGetter(name: string, aliases: FieldAliases = {}): Getter {
  const pathOf = (n: string): string[] => {
    const alias = aliases[n];
    if (alias !== undefined) return alias.split('.');
    const segs = n.split('__').filter((s) => s !== '');
    const head = segs.length > 1 ? aliases[segs[0]!] : undefined;
    return head !== undefined ? [...head.split('.'), ...segs.slice(1)] : segs.length > 0 ? segs : [n];
  };
  const direct = pathGetter(pathOf(name));
  if (!name.endsWith('_len') || name.length <= 4) return direct;
  const base = pathGetter(pathOf(name.slice(0, -4)));
  return (root) => {
    const v = direct(root);
    return v !== undefined ? v : lengthOf(base(root));
  };
}

/** Byte length of a string as UTF-8, a buffer's or an array's length; undefined for anything else. */
export function lengthOf(v: unknown): number | undefined {
  if (typeof v === 'string') return utf8Length(v);
  if (ArrayBuffer.isView(v)) return v.byteLength;
  if (Array.isArray(v)) return v.length;
  return undefined;
}

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** A value as a number for an integer member (objects: their identity). NaN means "leave zero". */
function toNumber(v: unknown): number {
  switch (typeof v) {
    case 'number':
      return v;
    case 'boolean':
      return v ? 1 : 0;
    case 'string':
      return v === '' ? NaN : Number(v);
    case 'object':
      if (v === null) return NaN;
      if (v instanceof Date) return v.getTime();
      return objectId(v);
    case 'function':
      return objectId(v);
    default:
      return NaN;
  }
}

function writeInt(dv: DataView, at: number, size: number, v: unknown): void {
  if (typeof v === 'bigint') {
    const u = BigInt.asUintN(64, v);
    const lo = Number(u & 0xffffffffn);
    const hi = Number(u >> 32n);
    if (size === 8) {
      dv.setUint32(at, lo, true);
      dv.setUint32(at + 4, hi, true);
    } else writeSmall(dv, at, size, lo);
    return;
  }
  let n = toNumber(v);
  if (n !== n || n === Infinity || n === -Infinity) return; // NaN, infinities: leave zero
  n = Math.trunc(n);
  if (size === 8) {
    const hi = Math.floor(n / TWO32);
    dv.setUint32(at, (n - hi * TWO32) >>> 0, true);
    dv.setUint32(at + 4, hi >>> 0, true);
  } else writeSmall(dv, at, size, n % TWO32);
}

/** A number into 8 bytes, two's complement (callers pass finite or non-finite numbers; non-finite leave zero). */
function write64(dv: DataView, at: number, v: number): void {
  if (v !== v || v === Infinity || v === -Infinity) return;
  const n = Math.trunc(v);
  const hi = Math.floor(n / TWO32);
  dv.setUint32(at, (n - hi * TWO32) >>> 0, true);
  dv.setUint32(at + 4, hi >>> 0, true);
}

/**
 * Integer members: numbers take a short path per size (`v | 0` truncates and
 * wraps modulo 2^32, and gives 0 for NaN and infinities, as wanted);
 * everything else goes through writeInt.
 */
function intWriter(size: number, off: number, get: Getter): FieldWriter {
  switch (size) {
    case 8:
      return (_u8, dv, base, root) => {
        const v = get(root);
        if (typeof v === 'number') write64(dv, base + off, v);
        else if (v !== undefined) writeInt(dv, base + off, 8, v);
      };
    case 4:
      return (_u8, dv, base, root) => {
        const v = get(root);
        if (typeof v === 'number') dv.setInt32(base + off, v | 0, true);
        else if (v !== undefined) writeInt(dv, base + off, 4, v);
      };
    case 2:
      return (_u8, dv, base, root) => {
        const v = get(root);
        if (typeof v === 'number') dv.setInt16(base + off, v | 0, true);
        else if (v !== undefined) writeInt(dv, base + off, 2, v);
      };
    default:
      return (_u8, dv, base, root) => {
        const v = get(root);
        if (typeof v === 'number') dv.setInt8(base + off, v | 0);
        else if (v !== undefined) writeInt(dv, base + off, 1, v);
      };
  }
}

function writeSmall(dv: DataView, at: number, size: number, n: number): void {
  if (size === 4) dv.setUint32(at, n >>> 0, true);
  else if (size === 2) dv.setUint16(at, n & 0xffff, true);
  else dv.setUint8(at, n & 0xff);
}

let encoder: TextEncoder | undefined;

/** A string into at most `max` bytes at `at` (the caller keeps the last byte of the member NUL). */
function writeString(u8: Uint8Array, at: number, max: number, s: string): void {
  const n = Math.min(s.length, max);
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) break;
    u8[at + i] = c;
  }
  if (i === n) return;
  // non-ASCII: encodeInto never writes half a character
  encoder ??= new TextEncoder();
  encoder.encodeInto(s.slice(i), u8.subarray(at + i, at + max));
}

function writeChars(u8: Uint8Array, at: number, count: number, v: unknown): void {
  if (typeof v === 'string') return writeString(u8, at, count - 1, v);
  if (v instanceof Uint8Array) {
    u8.set(v.length <= count ? v : v.subarray(0, count), at);
    return;
  }
  if (ArrayBuffer.isView(v)) {
    const b = new Uint8Array(v.buffer, v.byteOffset, Math.min(v.byteLength, count));
    u8.set(b, at);
    return;
  }
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') writeString(u8, at, count - 1, String(v));
}

function writeArray(dv: DataView, at: number, elemSize: number, count: number, v: unknown): void {
  if (v === null || typeof v !== 'object' || !('length' in v)) return;
  const a = v as ArrayLike<unknown>;
  const n = Math.min(a.length, count);
  for (let i = 0; i < n; i++) writeInt(dv, at + i * elemSize, elemSize, a[i]);
}

function fieldWriter(f: CtxField, aliases: FieldAliases): FieldWriter {
  // an anonymous struct/union member: its members are the parent's
  if (f.kind === 'struct' && f.name === '') {
    const inner = f.fields.map((x) => fieldWriter(x, aliases));
    return (u8, dv, base, root) => {
      for (let i = 0; i < inner.length; i++) inner[i]!(u8, dv, base, root);
    };
  }
  const get = memberGetter(f.name, aliases);
  const off = f.offset;
  switch (f.kind) {
    case 'int':
      return intWriter(f.size, off, get);
    case 'bool': {
      const size = f.size;
      return (_u8, dv, base, root) => {
        if (get(root)) writeSmall(dv, base + off, size, 1);
      };
    }
    case 'float': {
      const eight = f.size === 8;
      return (_u8, dv, base, root) => {
        const v = get(root);
        if (v === undefined) return;
        const n = typeof v === 'bigint' ? Number(v) : toNumber(v);
        if (n !== n) return;
        if (eight) dv.setFloat64(base + off, n, true);
        else dv.setFloat32(base + off, n, true);
      };
    }
    case 'chars': {
      const count = f.count;
      return (u8, _dv, base, root) => {
        const v = get(root);
        if (v !== undefined && v !== null) writeChars(u8, base + off, count, v);
      };
    }
    case 'array': {
      const { elemSize, count } = f;
      return (_u8, dv, base, root) => {
        const v = get(root);
        if (v !== undefined) writeArray(dv, base + off, elemSize, count, v);
      };
    }
    case 'struct': {
      // nested members name fields of the nested object; aliases apply at the top level only
      const inner = f.fields.map((x) => fieldWriter(x, {}));
      return (u8, dv, base, root) => {
        const sub = get(root);
        if (sub === undefined || sub === null) return;
        for (let i = 0; i < inner.length; i++) inner[i]!(u8, dv, base, sub);
      };
    }
  }
}

/** Compile the writer of a layout: zero the context, then fill every member. */
export function compileCtxWriter(layout: CtxLayout, aliases: FieldAliases = {}): CtxWriter {
  const writers = layout.fields.map((f) => fieldWriter(f, aliases));
  const size = layout.size;
  // small contexts clear faster by words than by fill() (a builtin call on shared memory)
  const words = size <= 256 && size % 4 === 0 ? size / 4 : -1;
  return (u8, dv, base, root) => {
    if (words >= 0) for (let i = 0; i < words; i++) dv.setUint32(base + 4 * i, 0, true);
    else u8.fill(0, base, base + size);
    for (let i = 0; i < writers.length; i++) writers[i]!(u8, dv, base, root);
  };
}
