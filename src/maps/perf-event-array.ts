// perf_event_array: per-CPU event buffers that bpf_perf_event_output writes
// samples into and user space reads, like libbpf's perf_buffer. In the kernel
// each slot holds a perf event fd whose ring user space mmaps; here
// `open(index)` maps a ring for a slot (usually one per CPU) in the runtime
// memory, so a program in any thread that shares the map writes to it (a
// worker thread is a CPU: with several CPUs a program may write only to its
// own CPU's slot, as the kernel's bpf_perf_event_output). A full ring drops
// the sample and counts it as lost (the kernel's PERF_RECORD_LOST).
//
// Memory (u32 words, little-endian):
//   map region: +0 WAKE (counted up per sample; a reader waits on it)
//               +8 slot table: max_entries ring addresses (0 = no ring)
//   ring:       +0 HEAD (bytes written, mod 2^32; the producer's)
//               +4 TAIL (bytes read; the reader's)
//               +8 LOST_PENDING (samples lost since the last record)
//               +12 LOST (samples lost in all)
//               +16 CAPACITY
//               +64 data: records of recordBytes(size) bytes at offset % capacity:
//                   u32 PERF_RECORD_SAMPLE | u32 lost before it | u32 size | data
// Producers of one slot take the map's writer lock once the map is shared
// (two threads may run as the same CPU); the reader needs none: it reads
// HEAD atomically and publishes TAIL after copying.

import type { Region } from '../vm/memory.js';
import { BpfMap, type MapHost } from './base.js';
import { Desc } from './descriptor.js';
import { E2BIG, EINVAL, ENOENT, ENOSPC, EOPNOTSUPP } from './errno.js';
import { lockWord, unlockWord } from './lock.js';
import type { ResolvedSpec } from './spec.js';

/** flags & BPF_F_INDEX_MASK selects the slot; BPF_F_CURRENT_CPU selects the caller's CPU. */
export const BPF_F_INDEX_MASK = 0xffffffff;
export const BPF_F_CURRENT_CPU = 0xffffffff;

export type PerfRecord = { cpu: number; data: Uint8Array; lost?: undefined } | { cpu: number; lost: number; data?: undefined };

/** Bytes a sample occupies in a perf ring: header + u32 size + data, 8-byte aligned. */
const recordBytes = (size: number): number => 8 + ((size + 4 + 7) & ~7);

const PERF_RECORD_SAMPLE = 9;
const WAKE = 0;
const SLOTS = 8;
const HEAD = 0;
const TAIL = 4;
const LOST_PENDING = 8;
const LOST = 12;
const CAPACITY = 16;
const RING_DATA = 64;

type WaitAsync = (i32: Int32Array, idx: number, value: number, timeout?: number) => { async: boolean; value: Promise<string> | string };
const waitAsync = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;

export class PerfEventArrayMap extends BpfMap {
  readonly region: Region;
  /** Rings this thread mapped, by slot (it frees them). */
  private readonly ownRings = new Map<number, Region>();
  private waiters: (() => void)[] = [];

  constructor(host: MapHost, spec: ResolvedSpec, id: number, attachAt?: number) {
    super(host, spec, id, false, attachAt);
    if (attachAt !== undefined) this.region = this.attachedRegion(this.getDesc(Desc.DATA));
    else {
      this.region = this.allocData(SLOTS + 4 * spec.maxEntries, { name: `map ${spec.name}`, kind: 'map', writable: false });
      this.setDesc(Desc.DATA, this.region.start);
    }
  }

  /** The ring of slot `index`, 0 when none is open. */
  private ring(index: number): number {
    const at = Atomics.load(this.words(), ((this.region.start + SLOTS) >>> 2) + index) >>> 0;
    // a ring another thread mapped after this thread's views were made
    if (at !== 0 && at + RING_DATA > this.mem.u8.length) this.mem.resync();
    if (at !== 0 && at + RING_DATA + this.mem.dv.getUint32(at + CAPACITY, true) > this.mem.u8.length) this.mem.resync();
    return at;
  }

  private setRing(index: number, at: number): void {
    Atomics.store(this.words(), ((this.region.start + SLOTS) >>> 2) + index, at);
  }

  /** Map a ring of `bytes` (default 64 KiB, like 16 pages) for slot `index`, replacing the one it had. */
  open(index: number, bytes = 65536): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.maxEntries) throw this.error(E2BIG, 'open', `index ${index} out of range 0..${this.maxEntries - 1}`);
    if (!Number.isInteger(bytes) || bytes < 16 || bytes > 1 << 28) throw this.error(EINVAL, 'open', `ring size ${bytes} out of range 16..${1 << 28}`);
    const capacity = (bytes + 7) & ~7;
    const r = this.allocData(RING_DATA + capacity, { name: `map ${this.name} ring ${index}`, kind: 'ringbuf', writable: false, align: 64 });
    this.mem.dv.setUint32(r.start + CAPACITY, capacity, true);
    this.swapRing(index, r);
  }

  /** Map rings for every slot (one per CPU, as libbpf's perf_buffer__new does). */
  openAll(bytes = 65536): void {
    for (let i = 0; i < this.maxEntries; i++) this.open(i, bytes);
  }

  /** Unmap slot `index`'s ring; outputs to it then fail with ENOENT. */
  closeSlot(index: number): void {
    if (index >>> 0 < this.maxEntries) this.swapRing(index, undefined);
  }

  /** Install (or remove) a slot's ring under the writer lock, so no producer is writing into the ring that goes. */
  private swapRing(index: number, r: Region | undefined): void {
    const held = this.lock();
    try {
      this.setRing(index, r?.start ?? 0);
    } finally {
      this.unlock(held);
    }
    const old = this.ownRings.get(index);
    if (old !== undefined) this.mem.free(old);
    if (r === undefined) this.ownRings.delete(index);
    else this.ownRings.set(index, r);
  }

  /** Take the map's writer lock when other threads may use the map; returns whether it was taken. */
  private lock(): boolean {
    if (!this.shared) return false;
    lockWord(this.words(), (this.desc + Desc.LOCK) >>> 2, this.name);
    return true;
  }

  private unlock(held: boolean): void {
    if (held) unlockWord(this.words(), (this.desc + Desc.LOCK) >>> 2);
  }

  /** Samples lost on slot `index` so far. */
  lost(index: number): number {
    const at = index >>> 0 < this.maxEntries ? this.ring(index) : 0;
    return at === 0 ? 0 : Atomics.load(this.words(), (at + LOST) >>> 2) >>> 0;
  }

  /**
   * bpf_perf_event_output's work: `index` is flags & BPF_F_INDEX_MASK (the
   * caller resolves BPF_F_CURRENT_CPU to `cpu`). Returns 0 or a negative errno.
   */
  output(index: number, cpu: number, src: number, size: number): number {
    if (index >= this.maxEntries) return -E2BIG;
    if (this.ring(index) === 0) return -ENOENT;
    if (index !== cpu && this.host.cpus > 1 && index < this.host.cpus) return -EOPNOTSUPP; // event bound to another CPU
    const held = this.lock();
    let r: number;
    try {
      r = this.write(index, src, size);
    } finally {
      this.unlock(held);
    }
    if (r === 0) this.wake();
    return r;
  }

  private write(index: number, src: number, size: number): number {
    const at = this.ring(index);
    if (at === 0) return -ENOENT; // closed while this thread waited for the lock
    const i32 = this.words();
    const dv = this.mem.dv;
    const capacity = dv.getUint32(at + CAPACITY, true);
    const head = Atomics.load(i32, (at + HEAD) >>> 2);
    const used = (head - Atomics.load(i32, (at + TAIL) >>> 2)) >>> 0;
    const need = recordBytes(size);
    if (used + need > capacity) {
      Atomics.add(i32, (at + LOST_PENDING) >>> 2, 1);
      Atomics.add(i32, (at + LOST) >>> 2, 1);
      return -ENOSPC;
    }
    const data = at + RING_DATA;
    const off = (head >>> 0) % capacity;
    dv.setUint32(data + off, PERF_RECORD_SAMPLE, true);
    dv.setUint32(data + off + 4, Atomics.exchange(i32, (at + LOST_PENDING) >>> 2, 0), true);
    dv.setUint32(data + ((off + 8) % capacity), size, true);
    this.copyIn(data, capacity, (off + 12) % capacity, src, size);
    Atomics.store(i32, (at + HEAD) >>> 2, (head + need) | 0); // publishes the record
    return 0;
  }

  /** Copy `size` bytes from `src` into the ring at `off`, wrapping at `capacity`. */
  private copyIn(data: number, capacity: number, off: number, src: number, size: number): void {
    const first = Math.min(size, capacity - off);
    const u8 = this.mem.u8;
    u8.copyWithin(data + off, src, src + first);
    if (first < size) u8.copyWithin(data, src + first, src + size);
  }

  /** Drain every ring: samples and lost-sample notices, per slot in order. */
  read(): PerfRecord[] {
    const out: PerfRecord[] = [];
    for (let i = 0; i < this.maxEntries; i++) {
      const at = this.ring(i);
      if (at !== 0) this.drain(i, at, out);
    }
    return out;
  }

  private drain(cpu: number, at: number, out: PerfRecord[]): void {
    const i32 = this.words();
    const dv = this.mem.dv;
    const u8 = this.mem.u8;
    const capacity = dv.getUint32(at + CAPACITY, true);
    const data = at + RING_DATA;
    const head = Atomics.load(i32, (at + HEAD) >>> 2);
    let tail = Atomics.load(i32, (at + TAIL) >>> 2);
    while (tail !== head) {
      const off = (tail >>> 0) % capacity;
      const lostBefore = dv.getUint32(data + off + 4, true);
      if (lostBefore > 0) out.push({ cpu, lost: lostBefore });
      const size = dv.getUint32(data + ((off + 8) % capacity), true);
      const sample = new Uint8Array(size);
      const from = (off + 12) % capacity;
      const first = Math.min(size, capacity - from);
      sample.set(u8.subarray(data + from, data + from + first));
      if (first < size) sample.set(u8.subarray(data, data + size - first), first);
      out.push({ cpu, data: sample });
      tail = (tail + recordBytes(size)) | 0;
    }
    Atomics.store(i32, (at + TAIL) >>> 2, tail);
    const pending = Atomics.exchange(i32, (at + LOST_PENDING) >>> 2, 0);
    if (pending > 0) out.push({ cpu, lost: pending });
  }

  /** Records as they arrive (from programs in any thread); ends when `signal` aborts. */
  async *events(signal?: AbortSignal): AsyncIterableIterator<PerfRecord> {
    while (!signal?.aborted) {
      const seen = Atomics.load(this.words(), this.region.start >>> 2);
      for (const r of this.read()) yield r;
      if (signal?.aborted) return;
      await this.nextWake(seen, signal);
    }
  }

  private nextWake(seen: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => resolve();
      signal?.addEventListener('abort', done, { once: true });
      if (this.mem.shared && waitAsync !== undefined) {
        const w = waitAsync(this.words(), (this.region.start + WAKE) >>> 2, seen);
        if (!w.async) resolve();
        else void (w.value as Promise<string>).then(done);
      } else {
        this.waiters.push(done);
      }
    });
  }

  private wake(): void {
    const i32 = this.words();
    Atomics.add(i32, (this.region.start + WAKE) >>> 2, 1);
    if (this.mem.shared) Atomics.notify(i32, (this.region.start + WAKE) >>> 2);
    if (this.waiters.length === 0) return;
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  override updateAt(): number {
    return -EINVAL; // slots are attached with open()
  }

  override *keys(): IterableIterator<Uint8Array> {}

  protected freeData(): void {
    for (const r of this.ownRings.values()) this.mem.free(r);
    this.ownRings.clear();
    Atomics.notify(this.words(), (this.region.start + WAKE) >>> 2);
    this.mem.free(this.region);
  }
}
