// A bounds-checked reader over one Uint8Array: a DataView, a cursor and an
// endianness. Every read checks its range first and reports a short read
// through a caller-supplied error factory, so a DataView RangeError never
// escapes and the error names the file, section and offset that were bad.

import { TsbpfError } from './errors.js';

/** Builds the typed error for a failed read; `offset` is absolute in the buffer. */
export type ReadErrorFactory = (reason: string, offset: number) => TsbpfError;

export class ByteReader {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly littleEndian: boolean;
  /** Cursor, relative to the start of `bytes`. */
  pos = 0;
  private readonly fail: ReadErrorFactory;
  /** Added to offsets in error messages, so a reader over a section reports file offsets. */
  readonly base: number;

  constructor(bytes: Uint8Array, littleEndian: boolean, fail: ReadErrorFactory, base = 0) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.littleEndian = littleEndian;
    this.fail = fail;
    this.base = base;
  }

  get length(): number {
    return this.bytes.length;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  /** Throw the reader's typed error unless [at, at+size) is inside the buffer. */
  need(at: number, size: number, what: string): void {
    if (!Number.isInteger(at) || at < 0 || size < 0 || at + size > this.bytes.length) {
      throw this.fail(`${what}: ${size} byte${size === 1 ? '' : 's'} at ${at} run past the end (${this.bytes.length} bytes)`, this.base + Math.max(0, at));
    }
  }

  error(reason: string, at: number = this.pos): TsbpfError {
    return this.fail(reason, this.base + at);
  }

  u8At(at: number, what = 'u8'): number {
    this.need(at, 1, what);
    return this.bytes[at]!;
  }
  u16At(at: number, what = 'u16'): number {
    this.need(at, 2, what);
    return this.view.getUint16(at, this.littleEndian);
  }
  u32At(at: number, what = 'u32'): number {
    this.need(at, 4, what);
    return this.view.getUint32(at, this.littleEndian);
  }
  i32At(at: number, what = 'i32'): number {
    this.need(at, 4, what);
    return this.view.getInt32(at, this.littleEndian);
  }
  /**
   * A u64 as a JS number. Offsets and sizes in real objects are far below
   * 2^53; anything larger is reported as an error, not silently rounded.
   */
  u64At(at: number, what = 'u64'): number {
    this.need(at, 8, what);
    const lo = this.view.getUint32(at + (this.littleEndian ? 0 : 4), this.littleEndian);
    const hi = this.view.getUint32(at + (this.littleEndian ? 4 : 0), this.littleEndian);
    if (hi >= 0x200000) throw this.fail(`${what}: value 0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')} is too large`, this.base + at);
    return hi * 0x100000000 + lo;
  }
  /** A u64 as (lo, hi) uint32 halves, for values that may use all 64 bits. */
  u64PairAt(at: number, what = 'u64'): [number, number] {
    this.need(at, 8, what);
    const lo = this.view.getUint32(at + (this.littleEndian ? 0 : 4), this.littleEndian);
    const hi = this.view.getUint32(at + (this.littleEndian ? 4 : 0), this.littleEndian);
    return [lo, hi];
  }

  u8(what?: string): number {
    const v = this.u8At(this.pos, what);
    this.pos += 1;
    return v;
  }
  u16(what?: string): number {
    const v = this.u16At(this.pos, what);
    this.pos += 2;
    return v;
  }
  u32(what?: string): number {
    const v = this.u32At(this.pos, what);
    this.pos += 4;
    return v;
  }
  i32(what?: string): number {
    const v = this.i32At(this.pos, what);
    this.pos += 4;
    return v;
  }
  u64(what?: string): number {
    const v = this.u64At(this.pos, what);
    this.pos += 8;
    return v;
  }

  /** A view (no copy) of [at, at+size). */
  slice(at: number, size: number, what = 'bytes'): Uint8Array {
    this.need(at, size, what);
    return this.bytes.subarray(at, at + size);
  }

  /** A NUL-terminated string starting at `at`; at most `max` bytes are scanned. */
  cstringAt(at: number, what = 'string', max = 65536): string {
    if (!Number.isInteger(at) || at < 0 || at >= this.bytes.length) throw this.fail(`${what}: offset ${at} is outside the string table (${this.bytes.length} bytes)`, this.base + at);
    const end = Math.min(this.bytes.length, at + max);
    let i = at;
    while (i < end && this.bytes[i] !== 0) i++;
    if (i === end) throw this.fail(`${what}: string at ${at} is not NUL-terminated`, this.base + at);
    return decodeLatin(this.bytes, at, i);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Decode bytes as UTF-8, with a fast path for ASCII (symbol names nearly always are). */
export function decodeLatin(bytes: Uint8Array, start: number, end: number): string {
  if (end - start < 64) {
    let ascii = true;
    for (let i = start; i < end; i++) {
      if (bytes[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      let s = '';
      for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]!);
      return s;
    }
  }
  return utf8.decode(bytes.subarray(start, end));
}
