// One growable byte buffer with the LEB128 encoders the Wasm binary format
// needs. The JIT writes a whole module through one Writer, so emitting an
// instruction appends a few bytes and never allocates (the buffer doubles
// when full, amortised O(1)). 64-bit constants arrive as (lo, hi) int32
// halves, so no BigInt is involved.

export class Writer {
  buf: Uint8Array;
  pos = 0;

  constructor(initial = 4096) {
    this.buf = new Uint8Array(initial);
  }

  /** Make room for n more bytes. */
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  u8(b: number): void {
    if (this.pos >= this.buf.length) this.reserve(1);
    this.buf[this.pos++] = b;
  }

  /** Two bytes, e.g. an opcode and its immediate. */
  u8x2(a: number, b: number): void {
    this.reserve(2);
    this.buf[this.pos++] = a;
    this.buf[this.pos++] = b;
  }

  bytes(src: Uint8Array): void {
    this.reserve(src.length);
    this.buf.set(src, this.pos);
    this.pos += src.length;
  }

  /** Unsigned LEB128 of a value in [0, 2^32). */
  u32(v: number): void {
    this.reserve(5);
    v >>>= 0;
    do {
      let b = v & 0x7f;
      v >>>= 7;
      if (v !== 0) b |= 0x80;
      this.buf[this.pos++] = b;
    } while (v !== 0);
  }

  /** Signed LEB128 of an int32. */
  s32(v: number): void {
    this.reserve(5);
    v |= 0;
    for (;;) {
      const b = v & 0x7f;
      v >>= 7;
      if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
        this.buf[this.pos++] = b;
        return;
      }
      this.buf[this.pos++] = b | 0x80;
    }
  }

  /** Signed LEB128 of the 64-bit value hi:lo (two int32 halves). */
  s64(lo: number, hi: number): void {
    this.reserve(10);
    lo |= 0;
    hi |= 0;
    for (;;) {
      const b = lo & 0x7f;
      // Arithmetic shift right by 7 of the 64-bit pair.
      lo = (lo >>> 7) | (hi << 25);
      hi >>= 7;
      const done = (hi === 0 && lo === 0 && (b & 0x40) === 0) || (hi === -1 && lo === -1 && (b & 0x40) !== 0);
      if (done) {
        this.buf[this.pos++] = b;
        return;
      }
      this.buf[this.pos++] = b | 0x80;
    }
  }

  /** UTF-8 name with its length prefix. */
  name(s: string): void {
    const enc = new TextEncoder().encode(s);
    this.u32(enc.length);
    this.bytes(enc);
  }

  /**
   * Reserve a 5-byte fixed-width u32 LEB (a section or body size not known
   * yet) and return its position for patchU32.
   */
  placeholder(): number {
    this.reserve(5);
    const at = this.pos;
    this.pos += 5;
    return at;
  }

  /** Fill a placeholder with v, padded to 5 bytes (valid LEB128). */
  patchU32(at: number, v: number): void {
    for (let i = 0; i < 4; i++) {
      this.buf[at + i] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[at + 4] = v & 0x7f;
  }

  /** Patch a placeholder with the number of bytes written after it. */
  patchSizeFrom(at: number): void {
    this.patchU32(at, this.pos - at - 5);
  }

  /** A copy of what has been written. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}
