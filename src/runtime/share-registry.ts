// The share registry: an append-only log in the shared memory through which
// the threads of one runtime learn about maps and programs, including those
// created after a worker attached (a postMessage would reach a worker only
// when it returns to its event loop; a worker running programs in a loop
// reads the log whenever it meets an id or a map pointer it does not know).
//
// Region layout (little-endian u32 words):
//   +0  LOCK      writer lock (maps/lock.ts): one appender at a time
//   +4  USED      bytes of records written, stored last (a reader never sees half a record)
//   +8  NEXT_PROG next program id, for every thread (ids are runtime-wide)
//   +12 CAP       bytes available for records
//   +16 SHARES    shares made so far (a share's default CPU)
//   +20 MAGIC     "TSRG", so a stale or forged share is refused
//   +64 records:  u32 body_len | u32 kind | i32 state | u32 key | body, padded to 8
//
// `state` is the one mutable word of a record: a map's "closed by its
// creator", a share's "attached". Everything else is written once.
// A body longer than INLINE_MAX (a program's instructions, line info) is put
// in a region of its own (the appending thread's heap or arena) and the
// record holds its address and length (kind | INDIRECT), so the log itself
// stays small: 1 MiB holds thousands of maps and programs.

import { lockWord, unlockWord } from '../maps/lock.js';
import type { Region, RuntimeMemory } from '../vm/memory.js';
import { ShareError } from './errors.js';

const LOCK = 0;
const USED = 4;
const NEXT_PROG = 8;
const CAP = 12;
const SHARES = 16;
const MAGIC = 20;
const MAGIC_VALUE = 0x47525354; // "TSRG"
const HEADER = 64;
const REC_HEADER = 16;
const INLINE_MAX = 4096;
const INDIRECT = 0x100;

export const RecordKind = { MAP: 1, PROGRAM: 2, SHARE: 3 } as const;
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];

export interface RegistryRecord {
  /** Offset of the record from the start of the record area (its identity). */
  readonly off: number;
  /** Offset just past the record (the cursor after reading it). */
  readonly end: number;
  readonly kind: RecordKind;
  /** Map id, program id, or share number. */
  readonly key: number;
  readonly body: Uint8Array;
}

export class ShareRegistry {
  readonly mem: RuntimeMemory;
  /** Address of the region. */
  readonly base: number;

  constructor(mem: RuntimeMemory, base: number) {
    this.mem = mem;
    this.base = base;
  }

  /** A new registry of `bytes` record space in `mem`; program ids continue from `nextProgramId`. */
  static create(mem: RuntimeMemory, bytes: number, nextProgramId: number): { registry: ShareRegistry; region: Region } {
    const region = mem.alloc(HEADER + bytes, { name: 'share registry', kind: 'other', writable: false, align: 64 });
    const reg = new ShareRegistry(mem, region.start);
    const i32 = reg.i32();
    Atomics.store(i32, (reg.base + CAP) >>> 2, bytes);
    Atomics.store(i32, (reg.base + NEXT_PROG) >>> 2, nextProgramId);
    Atomics.store(i32, (reg.base + MAGIC) >>> 2, MAGIC_VALUE);
    return { registry: reg, region };
  }

  /** The registry at `base` of `mem`, or a ShareError when there is none (a share of another memory, or of a disposed runtime). */
  static open(mem: RuntimeMemory, base: number): ShareRegistry {
    const ok = Number.isInteger(base) && base >= mem.heapBase && (base & 63) === 0 && base + HEADER <= mem.u8.length && mem.dv.getUint32(base + MAGIC, true) === MAGIC_VALUE;
    if (!ok) throw new ShareError('Runtime.attach: no share registry at the address this share names (a share of a disposed runtime, or not one rt.share() made)');
    return new ShareRegistry(mem, base);
  }

  /** The creating runtime is gone: shares of it no longer attach. */
  retire(): void {
    Atomics.store(this.i32(), this.word(MAGIC), 0);
  }

  private i32(): Int32Array {
    if (this.mem.u8.length < this.base + HEADER) this.mem.resync();
    return new Int32Array(this.mem.u8.buffer);
  }

  private word(off: number): number {
    return (this.base + off) >>> 2;
  }

  /** Bytes of records written so far: a reader's cursor is up to date when it equals this. */
  get used(): number {
    return Atomics.load(this.i32(), this.word(USED));
  }

  /** A runtime-wide program id (unique across every thread of the share). */
  nextProgramId(): number {
    return Atomics.add(this.i32(), this.word(NEXT_PROG), 1);
  }

  /** Count a share; returns how many were made before it. */
  countShare(): number {
    return Atomics.add(this.i32(), this.word(SHARES), 1);
  }

  /** Append a record; returns its offset. Throws ShareError when the registry is full. */
  append(kind: RecordKind, key: number, body: Uint8Array): number {
    if (body.length <= INLINE_MAX) return this.appendInline(kind, key, body);
    let r: Region;
    try {
      r = this.mem.alloc(body.length, { name: 'share registry record', kind: 'other', writable: false, init: body });
    } catch (e) {
      throw new ShareError(`a ${body.length}-byte share record does not fit in this thread's memory (a worker allocates in its arena: ShareOptions.arenaBytes)`, { cause: e });
    }
    const ref = new Uint8Array(8);
    const dv = new DataView(ref.buffer);
    dv.setUint32(0, r.start, true);
    dv.setUint32(4, body.length, true);
    try {
      return this.appendInline(kind | INDIRECT, key, ref);
    } catch (e) {
      this.mem.free(r);
      throw e;
    }
  }

  private appendInline(kind: number, key: number, body: Uint8Array): number {
    const i32 = this.i32();
    lockWord(i32, this.word(LOCK), 'share registry');
    try {
      const used = Atomics.load(i32, this.word(USED));
      const cap = Atomics.load(i32, this.word(CAP));
      const size = REC_HEADER + ((body.length + 7) & ~7);
      if (used + size > cap)
        throw new ShareError(`the share registry is full (${cap} bytes): pass a larger registryBytes to the runtime's first share()`);
      const at = this.base + HEADER + used;
      const dv = this.mem.dv;
      dv.setUint32(at, body.length, true);
      dv.setUint32(at + 4, kind, true);
      dv.setInt32(at + 8, 0, true);
      dv.setUint32(at + 12, key >>> 0, true);
      this.mem.u8.set(body, at + REC_HEADER);
      Atomics.store(i32, this.word(USED), used + size); // publishes the record
      return used;
    } finally {
      unlockWord(i32, this.word(LOCK));
    }
  }

  /** Records from cursor `from` up to what is published now; `next` is the new cursor. */
  read(from: number): { records: RegistryRecord[]; next: number } {
    const used = this.used;
    if (from >= used) return { records: [], next: from };
    if (this.mem.u8.length < this.base + HEADER + used) this.mem.resync();
    const dv = this.mem.dv;
    const records: RegistryRecord[] = [];
    let off = from;
    while (off < used) {
      const at = this.base + HEADER + off;
      const len = dv.getUint32(at, true);
      const kind = dv.getUint32(at + 4, true);
      const key = dv.getUint32(at + 12, true);
      const end = off + REC_HEADER + ((len + 7) & ~7);
      records.push({ off, end, kind: (kind & ~INDIRECT) as RecordKind, key, body: (kind & INDIRECT) !== 0 ? this.outOfLine(at + REC_HEADER) : this.mem.u8.slice(at + REC_HEADER, at + REC_HEADER + len) });
      off = end;
    }
    return { records, next: off };
  }

  /** The body an INDIRECT record points at (a region another thread may have mapped after this one's views were made). */
  private outOfLine(ref: number): Uint8Array {
    const addr = this.mem.dv.getUint32(ref, true);
    const len = this.mem.dv.getUint32(ref + 4, true);
    if (addr + len > this.mem.u8.length) this.mem.resync();
    return this.mem.u8.slice(addr, addr + len);
  }

  state(off: number): number {
    return Atomics.load(this.i32(), this.word(HEADER + off + 8));
  }

  setState(off: number, v: number): void {
    Atomics.store(this.i32(), this.word(HEADER + off + 8), v);
  }

  /** Set the state from `expect` to `v`; false when it was not `expect` (someone else got there first). */
  claimState(off: number, expect: number, v: number): boolean {
    return Atomics.compareExchange(this.i32(), this.word(HEADER + off + 8), expect, v) === expect;
  }
}
