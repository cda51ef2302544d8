// ringbuf: the kernel's BPF ring buffer, in the runtime memory.
//
// Layout (region of 64 + 2 * size bytes; size = max_entries, a power of two):
//   +0   u64 consumer_pos   advanced by the consumer only
//   +8   u64 producer_pos   advanced by reserve only
//   +64  data[0 .. size)    records, at (pos & (size - 1))
//   +64+size  data[size .. 2*size)  overflow area (see below)
// Descriptor: DATA = address of data[0], MASK = size - 1, FREE = region start.
//
// A record is an 8-byte header then the sample, padded to 8 bytes:
//   u32 len   sample length | BPF_RINGBUF_BUSY_BIT (1<<31) while reserved
//             | BPF_RINGBUF_DISCARD_BIT (1<<30) when discarded
//   u32 pg_off  tsbpf: the ring buffer's map id (the kernel stores a page
//             offset to find its ring buffer; the id serves the same purpose)
// The kernel maps the data pages twice so a record that wraps is contiguous.
// One WebAssembly.Memory cannot alias pages, so the data area is followed by
// an overflow area instead: a reservation that runs past the end is handed
// out contiguously, and commit copies the part past the end to the start,
// where the consumer (and the kernel's layout) expects it.
//
// reserve fails (NULL; ringbuf_output: -EAGAIN) when the record does not fit
// in the space the consumer has freed; each failure is counted in `dropped`.
//
// Threads: as in the kernel, producers are many and the consumer is one.
// Once the map is shared (a handle was made, or this is another thread's
// view of it), reserve takes the map's writer lock (the kernel's producer
// spin lock) around "check space, write the busy header, advance
// producer_pos". Commit and the consumer need no lock: commit stores the
// header word atomically after the sample's bytes (a consumer that sees the
// busy bit clear sees the sample), and consumer_pos has one writer. Only the
// low 32 bits of the positions take part (every distance is below the ring
// size), so each is one atomic word; the high words follow for display.
// A consumer waiting in records() (any thread) counts itself in WAITERS,
// polls once more, and sleeps on WAKE (Atomics.waitAsync); a commit that
// sees a waiter counts WAKE up and notifies it. Either the commit sees the
// waiter or the consumer's last poll sees the record (both sides use
// sequentially consistent atomics), so no wake-up is lost.

import type { Region } from '../vm/memory.js';
import { BpfMap, type MapHost } from './base.js';
import { Desc } from './descriptor.js';
import { EINVAL } from './errno.js';
import { lockWord, unlockWord } from './lock.js';
import type { ResolvedSpec } from './spec.js';

export const BPF_RINGBUF_BUSY_BIT = 1 << 31;
export const BPF_RINGBUF_DISCARD_BIT = 1 << 30;
export const BPF_RINGBUF_HDR_SZ = 8;
export const BPF_RB_NO_WAKEUP = 1;
export const BPF_RB_FORCE_WAKEUP = 2;
export const BPF_RB_AVAIL_DATA = 0;
export const BPF_RB_RING_SIZE = 1;
export const BPF_RB_CONS_POS = 2;
export const BPF_RB_PROD_POS = 3;

const DATA_OFF = 64;
const CONS = 0;
const PROD = 8;
/** u32: records that did not fit, from every thread. */
const DROPPED = 16;
/** u32: counted up by a commit while a consumer waits; the consumer sleeps on it. */
const WAKE = 20;
/** u32: consumers about to sleep or asleep (commits notify only then: a notify costs ~100 ns). */
const WAITERS = 24;

type WaitAsync = (i32: Int32Array, idx: number, value: number, timeout?: number) => { async: boolean; value: Promise<string> | string };
const waitAsync = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;

export class RingBufMap extends BpfMap {
  readonly region: Region;
  /** Address of data[0]. */
  readonly data: number;
  readonly ringSize: number;
  private readonly mask: number;
  private waiters: (() => void)[] = [];

  constructor(host: MapHost, spec: ResolvedSpec, id: number, attachAt?: number) {
    super(host, spec, id, false, attachAt);
    this.ringSize = spec.maxEntries;
    this.mask = this.ringSize - 1;
    if (attachAt !== undefined) this.region = this.attachedRegion(this.getDesc(Desc.FREE));
    else this.region = this.allocData(DATA_OFF + 2 * this.ringSize, { name: `map ${spec.name}`, kind: 'ringbuf', align: 64 });
    this.data = this.region.start + DATA_OFF;
    if (attachAt !== undefined) return;
    this.setDesc(Desc.DATA, this.data);
    this.setDesc(Desc.MASK, this.mask);
    this.setDesc(Desc.FREE, this.region.start);
  }

  private word(off: number): number {
    return (this.region.start + off) >>> 2;
  }

  /** Records that did not fit (reserve or output failed because the buffer was full), from every thread. */
  get dropped(): number {
    return Atomics.load(this.words(), this.word(DROPPED)) >>> 0;
  }

  private drop(): void {
    Atomics.add(this.words(), this.word(DROPPED), 1);
  }

  // positions are u64 in memory; they stay below 2^53 for any realistic run
  // (a map no other thread knows uses plain loads and stores: an Atomics call costs ~10 ns in JS)
  private getPos(off: number): number {
    const dv = this.mem.dv;
    const lo = this.shared ? Atomics.load(this.words(), this.word(off)) >>> 0 : dv.getUint32(this.region.start + off, true);
    return lo + dv.getUint32(this.region.start + off + 4, true) * 4294967296;
  }

  private setPos(off: number, v: number): void {
    const dv = this.mem.dv;
    dv.setUint32(this.region.start + off + 4, Math.floor(v / 4294967296), true);
    if (this.shared) Atomics.store(this.words(), this.word(off), v | 0);
    else dv.setUint32(this.region.start + off, v >>> 0, true);
  }

  get consumerPos(): number {
    return this.getPos(CONS);
  }

  get producerPos(): number {
    return this.getPos(PROD);
  }

  /** Reserve `size` bytes; returns the sample's address or 0 (flags must be 0). */
  reserve(size: number, flags: number): number {
    if (flags !== 0) return 0;
    const len = (size + BPF_RINGBUF_HDR_SZ + 7) & ~7;
    if (size > 0x3fffffff || len > this.ringSize) {
      this.drop();
      return 0;
    }
    if (!this.shared) return this.reserveLocked(size, len);
    const i32 = this.words();
    const lock = (this.desc + Desc.LOCK) >>> 2;
    lockWord(i32, lock, this.name);
    try {
      return this.reserveLocked(size, len);
    } finally {
      unlockWord(i32, lock);
    }
  }

  private reserveLocked(size: number, len: number): number {
    const cons = this.getPos(CONS);
    const prod = this.getPos(PROD);
    if (((prod - cons) >>> 0) + len > this.mask) {
      this.drop();
      return 0;
    }
    const hdr = this.data + (prod & this.mask);
    const dv = this.mem.dv;
    dv.setUint32(hdr, (size | BPF_RINGBUF_BUSY_BIT) >>> 0, true);
    dv.setUint32(hdr + 4, this.id, true);
    this.setPos(PROD, prod + len);
    return hdr + BPF_RINGBUF_HDR_SZ;
  }

  /** Is `sample` a reserved, not yet committed record of this ring buffer? */
  isReserved(sample: number): boolean {
    const hdr = sample - BPF_RINGBUF_HDR_SZ;
    if (hdr < this.data || hdr >= this.data + this.ringSize || (hdr & 7) !== (this.data & 7)) return false;
    const dv = this.mem.dv;
    return (dv.getUint32(hdr, true) & BPF_RINGBUF_BUSY_BIT) !== 0 && dv.getUint32(hdr + 4, true) === this.id;
  }

  /** Submit or discard a reserved record; wakes the consumer unless BPF_RB_NO_WAKEUP. */
  commit(sample: number, discard: boolean, flags: number): void {
    const hdr = sample - BPF_RINGBUF_HDR_SZ;
    const dv = this.mem.dv;
    const size = dv.getUint32(hdr, true) & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
    const end = hdr - this.data + BPF_RINGBUF_HDR_SZ + size;
    if (!discard && end > this.ringSize) {
      // the record ran into the overflow area: move that part to the start
      this.mem.u8.copyWithin(this.data, this.data + this.ringSize, this.data + end);
    }
    // the header last, atomically: a consumer that sees it committed sees the sample
    const word = size | (discard ? BPF_RINGBUF_DISCARD_BIT : 0);
    if (this.shared) Atomics.store(this.words(), hdr >>> 2, word);
    else dv.setUint32(hdr, word >>> 0, true);
    if ((flags & BPF_RB_NO_WAKEUP) === 0 || (flags & BPF_RB_FORCE_WAKEUP) !== 0) this.wake();
  }

  /** bpf_ringbuf_output: copy `size` bytes from `src`; 0 or -EAGAIN when full. */
  output(src: number, size: number, flags: number): number {
    if ((flags & ~(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP)) !== 0) return -EINVAL;
    const at = this.reserve(size, 0);
    if (at === 0) return -11; // -EAGAIN
    this.mem.u8.copyWithin(at, src, src + size);
    this.commit(at, false, flags);
    return 0;
  }

  /** bpf_ringbuf_query. */
  query(flags: number): number {
    switch (flags) {
      case BPF_RB_AVAIL_DATA:
        return this.getPos(8) - this.getPos(0);
      case BPF_RB_RING_SIZE:
        return this.ringSize;
      case BPF_RB_CONS_POS:
        return this.getPos(0);
      case BPF_RB_PROD_POS:
        return this.getPos(8);
      default:
        return 0;
    }
  }

  /**
   * Consume every committed record, in order, calling `cb` with a copy of each
   * sample (discarded ones are skipped); stops at a record still reserved.
   * Returns the number of samples delivered, as libbpf's ring_buffer__consume.
   */
  poll(cb?: (sample: Uint8Array) => void): number {
    const i32 = this.words();
    let cons = this.getPos(CONS);
    let left = (this.getPos(PROD) - cons) >>> 0;
    let n = 0;
    while (left > 0) {
      const hdr = this.data + (cons & this.mask);
      const len = this.shared ? Atomics.load(i32, hdr >>> 2) : this.mem.dv.getInt32(hdr, true);
      if ((len & BPF_RINGBUF_BUSY_BIT) !== 0) break;
      const size = len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
      if ((len & BPF_RINGBUF_DISCARD_BIT) === 0) {
        n++;
        if (cb) cb(this.copySample(hdr + BPF_RINGBUF_HDR_SZ, size));
      }
      const step = (size + BPF_RINGBUF_HDR_SZ + 7) & ~7;
      cons += step;
      left -= step;
      this.setPos(CONS, cons);
    }
    return n;
  }

  /**
   * Samples as they arrive: `for await (const s of rb.records()) ...`; ends
   * when `signal` aborts. Producers in other threads wake it too (a shared
   * memory: Atomics.waitAsync on WAKE).
   */
  async *records(signal?: AbortSignal): AsyncIterableIterator<Uint8Array> {
    const batch: Uint8Array[] = [];
    const i32 = (): Int32Array => this.words();
    while (!signal?.aborted) {
      this.poll((s) => batch.push(s));
      while (batch.length > 0) yield batch.shift()!;
      if (signal?.aborted) return;
      const seen = Atomics.load(i32(), this.word(WAKE));
      Atomics.add(i32(), this.word(WAITERS), 1);
      try {
        if (this.poll((s) => batch.push(s)) > 0) continue;
        await this.nextWake(seen, signal);
      } finally {
        Atomics.sub(i32(), this.word(WAITERS), 1);
      }
    }
  }

  /** Until a commit after WAKE read `seen` (from any thread), or `signal` aborts. */
  private nextWake(seen: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => resolve();
      signal?.addEventListener('abort', done, { once: true });
      const i32 = this.words();
      if (this.mem.shared && waitAsync !== undefined) {
        const w = waitAsync(i32, this.word(WAKE), seen);
        if (!w.async) resolve();
        else void (w.value as Promise<string>).then(done);
      } else {
        this.waiters.push(done);
      }
    });
  }

  private copySample(at: number, size: number): Uint8Array {
    const u8 = this.mem.u8;
    const off = at - this.data;
    const first = Math.min(size, Math.max(0, this.ringSize - (off & this.mask)));
    const out = new Uint8Array(size);
    const start = this.data + (off & this.mask);
    out.set(u8.subarray(start, start + first), 0);
    if (first < size) out.set(u8.subarray(this.data, this.data + size - first), first);
    return out;
  }

  private wake(): void {
    const i32 = this.words();
    if (Atomics.load(i32, this.word(WAITERS)) !== 0) {
      Atomics.add(i32, this.word(WAKE), 1);
      if (this.mem.shared) Atomics.notify(i32, this.word(WAKE));
    }
    if (this.waiters.length === 0) return;
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  override nextKeyAt(_key: number, _out: number): number {
    return -EINVAL;
  }

  override *keys(): IterableIterator<Uint8Array> {}

  protected freeData(): void {
    Atomics.notify(this.words(), this.word(WAKE)); // a waiting consumer's wait ends (its map is gone)
    this.mem.free(this.region);
  }
}
