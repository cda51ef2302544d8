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

import type { Region } from '../vm/memory.js';
import { BpfMap, type MapHost } from './base.js';
import { Desc } from './descriptor.js';
import { EINVAL } from './errno.js';
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

export class RingBufMap extends BpfMap {
  readonly region: Region;
  /** Address of data[0]. */
  readonly data: number;
  readonly ringSize: number;
  private readonly mask: number;
  /** Records that did not fit (reserve or output failed because the buffer was full). */
  dropped = 0;
  private waiters: (() => void)[] = [];

  constructor(host: MapHost, spec: ResolvedSpec, id: number) {
    super(host, spec, id);
    this.ringSize = spec.maxEntries;
    this.mask = this.ringSize - 1;
    this.region = this.allocData(DATA_OFF + 2 * this.ringSize, { name: `map ${spec.name}`, kind: 'ringbuf', align: 64 });
    this.data = this.region.start + DATA_OFF;
    this.setDesc(Desc.DATA, this.data);
    this.setDesc(Desc.MASK, this.mask);
    this.setDesc(Desc.FREE, this.region.start);
  }

  // positions are u64 in memory; they stay below 2^53 for any realistic run
  private getPos(off: number): number {
    const dv = this.mem.dv;
    return dv.getUint32(this.region.start + off, true) + dv.getUint32(this.region.start + off + 4, true) * 4294967296;
  }

  private setPos(off: number, v: number): void {
    const dv = this.mem.dv;
    dv.setUint32(this.region.start + off, v >>> 0, true);
    dv.setUint32(this.region.start + off + 4, Math.floor(v / 4294967296), true);
  }

  get consumerPos(): number {
    return this.getPos(0);
  }

  get producerPos(): number {
    return this.getPos(8);
  }

  /** Reserve `size` bytes; returns the sample's address or 0 (flags must be 0). */
  reserve(size: number, flags: number): number {
    if (flags !== 0) return 0;
    const len = (size + BPF_RINGBUF_HDR_SZ + 7) & ~7;
    if (size > 0x3fffffff || len > this.ringSize) {
      this.dropped++;
      return 0;
    }
    const cons = this.getPos(0);
    const prod = this.getPos(8);
    if (prod + len - cons > this.mask) {
      this.dropped++;
      return 0;
    }
    const hdr = this.data + (prod & this.mask);
    const dv = this.mem.dv;
    dv.setUint32(hdr, (size | BPF_RINGBUF_BUSY_BIT) >>> 0, true);
    dv.setUint32(hdr + 4, this.id, true);
    this.setPos(8, prod + len);
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
    dv.setUint32(hdr, (size | (discard ? BPF_RINGBUF_DISCARD_BIT : 0)) >>> 0, true);
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
    const dv = this.mem.dv;
    let cons = this.getPos(0);
    const prod = this.getPos(8);
    let n = 0;
    while (cons < prod) {
      const hdr = this.data + (cons & this.mask);
      const len = dv.getUint32(hdr, true);
      if ((len & BPF_RINGBUF_BUSY_BIT) !== 0) break;
      const size = len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
      if ((len & BPF_RINGBUF_DISCARD_BIT) === 0) {
        n++;
        if (cb) cb(this.copySample(hdr + BPF_RINGBUF_HDR_SZ, size));
      }
      cons += (size + BPF_RINGBUF_HDR_SZ + 7) & ~7;
      this.setPos(0, cons);
    }
    return n;
  }

  /** Samples as they arrive: `for await (const s of rb.records()) ...`; ends when `signal` aborts. */
  async *records(signal?: AbortSignal): AsyncIterableIterator<Uint8Array> {
    const batch: Uint8Array[] = [];
    while (!signal?.aborted) {
      this.poll((s) => batch.push(s));
      while (batch.length > 0) yield batch.shift()!;
      if (signal?.aborted) return;
      await new Promise<void>((resolve) => {
        const done = (): void => resolve();
        this.waiters.push(done);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
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
    this.mem.free(this.region);
  }
}
