// hash, percpu_hash, lru_hash and lru_percpu_hash: a chained hash table laid
// out flat in the runtime memory (layout and lookup in hash-layout.ts), so
// value pointers stay valid, atomics work on values, and the JIT can inline
// lookups. Entries are preallocated, as the kernel's default; a deleted entry
// goes to a free list and its memory is reused by the next insert.
//
// LRU maps evict when full instead of failing with E2BIG. The kernel's LRU is
// approximate (a reference bit set on lookup, lists rotated lazily); this is
// the same idea in its simplest exact form, a CLOCK over the recency list:
// take the oldest entry; if it was referenced since it was last considered,
// clear the bit and move it to the head; otherwise evict it.

import type { Region } from '../vm/memory.js';
import { BpfMap, USER, type MapHost } from './base.js';
import { Desc } from './descriptor.js';
import { E2BIG, EEXIST, EINVAL, ENOENT } from './errno.js';
import {
  ENTRY_FLAGS,
  ENTRY_HASH,
  ENTRY_HEADER,
  ENTRY_LRU_NEXT,
  ENTRY_LRU_PREV,
  ENTRY_NEXT,
  FLAG_REF,
  FLAG_USED,
  hash32,
  roundUpPow2,
} from './hash-layout.js';
import { BPF_EXIST, BPF_F_LOCK, BPF_F_RDONLY_PROG, BPF_F_ZERO_SEED, BPF_NOEXIST, roundUp8, type ResolvedSpec } from './spec.js';

export class HashMap extends BpfMap {
  readonly region: Region;
  readonly perCpu: boolean;
  readonly lru: boolean;
  readonly buckets: number;
  readonly mask: number;
  readonly seed: number;
  readonly entryBase: number;
  readonly entrySize: number;
  readonly keyStride: number;
  /** Offset of the value inside an entry. */
  readonly valueOff: number;
  // Int32Array: addresses and hashes as int32 bits, so V8 keeps them unboxed
  private u32: Int32Array;
  private u8: Uint8Array;
  private count = 0;
  private free = 0;
  private lruHead = 0;
  private lruTail = 0;

  constructor(host: MapHost, spec: ResolvedSpec, id: number) {
    const perCpu = spec.typeName === 'percpu_hash' || spec.typeName === 'lru_percpu_hash';
    super(host, spec, id, perCpu);
    this.perCpu = perCpu;
    this.lru = spec.typeName.startsWith('lru');
    this.buckets = roundUpPow2(spec.maxEntries);
    this.mask = this.buckets - 1;
    this.seed = (spec.flags & BPF_F_ZERO_SEED) !== 0 ? 0 : (Math.random() * 0x100000000) | 0;
    this.keyStride = roundUp8(spec.keySize);
    this.valueOff = ENTRY_HEADER + this.keyStride;
    this.entrySize = this.valueOff + this.valueStride * (perCpu ? host.cpus : 1);
    const bucketBytes = roundUp8(this.buckets * 4);
    this.region = this.allocData(bucketBytes + this.entrySize * spec.maxEntries, {
      name: `map ${spec.name}`,
      kind: 'map',
      writable: (spec.flags & BPF_F_RDONLY_PROG) === 0,
    });
    this.entryBase = this.region.start + bucketBytes;
    this.u8 = this.mem.u8;
    this.u32 = new Int32Array(this.u8.buffer);
    // thread every entry onto the free list, lowest address first
    const u32 = this.u32;
    for (let i = spec.maxEntries - 1; i >= 0; i--) {
      const e = this.entryBase + i * this.entrySize;
      u32[(e + ENTRY_NEXT) >>> 2] = this.free;
      this.free = e;
    }
    this.setDesc(Desc.DATA, this.region.start);
    this.setDesc(Desc.ELEM_STRIDE, this.entrySize);
    this.setDesc(Desc.MASK, this.mask);
    this.setDesc(Desc.SEED, this.seed);
    this.setDesc(Desc.ENTRIES, this.entryBase);
    this.syncDesc();
  }

  /** Elements in use. */
  get size(): number {
    return this.count;
  }

  private view(): Int32Array {
    const u8 = this.mem.u8;
    // the memory's views are rebuilt when it grows; follow them. Comparing the
    // view objects is cheap, while reading `.buffer` of a view over a Wasm
    // memory costs tens of nanoseconds in V8.
    if (u8 !== this.u8) {
      this.u8 = u8;
      this.u32 = new Int32Array(u8.buffer);
    }
    return this.u32;
  }

  /** Keep the descriptor's mutable fields current, so inline code and dumps agree with this object. */
  private syncDesc(): void {
    const u32 = this.u32;
    const d = this.desc >>> 2;
    u32[d + (Desc.COUNT >>> 2)] = this.count;
    u32[d + (Desc.FREE >>> 2)] = this.free;
    u32[d + (Desc.LRU_HEAD >>> 2)] = this.lruHead;
    u32[d + (Desc.LRU_TAIL >>> 2)] = this.lruTail;
  }

  /** The entry holding the key at `key` with hash `h`, or 0. */
  private find(key: number, h: number): number {
    const u32 = this.u32;
    const u8 = this.mem.u8;
    const ks = this.keySize;
    let e = u32[(this.region.start >>> 2) + (h & this.mask)]!;
    // Bounded by the map's size: headers live in program-writable memory, and an
    // unverified program that overwrote one (a cycle) must not hang the host.
    for (let steps = this.maxEntries; e !== 0 && steps > 0; steps--) {
      if (u32[(e + ENTRY_HASH) >>> 2] === h) {
        const k = e + ENTRY_HEADER;
        let i = 0;
        while (i < ks && u8[k + i] === u8[key + i]) i++;
        if (i === ks) return e;
      }
      e = u32[(e + ENTRY_NEXT) >>> 2]!;
    }
    return 0;
  }

  override lookupAt(key: number, cpu: number): number {
    this.view();
    const e = this.find(key, hash32(this.mem.u8, key, this.keySize, this.seed));
    if (e === 0) return 0;
    if (this.lru && cpu !== USER) {
      const f = (e + ENTRY_FLAGS) >>> 2;
      this.u32[f] = this.u32[f]! | FLAG_REF;
    }
    return (e + this.valueOff + (this.perCpu && cpu > 0 ? cpu * this.valueStride : 0)) >>> 0;
  }

  override updateAt(key: number, value: number, flags: number, cpu: number): number {
    if ((flags & ~BPF_F_LOCK) > BPF_EXIST) return -EINVAL;
    if ((flags & BPF_F_LOCK) !== 0) return -EINVAL; // needs a bpf_spin_lock in the value (BTF), not supported
    const u32 = this.view();
    const u8 = this.mem.u8;
    const h = hash32(u8, key, this.keySize, this.seed);
    let e = this.find(key, h);
    if (e !== 0) {
      if (flags === BPF_NOEXIST) return -EEXIST;
      this.writeValue(e, value, cpu, false);
      if (this.lru) {
        this.lruUnlink(e);
        this.lruPushHead(e);
        this.syncDesc();
      }
      return 0;
    }
    if (flags === BPF_EXIST) return -ENOENT;
    e = this.free;
    if (e === 0) {
      if (!this.lru) return -E2BIG;
      e = this.evict();
      if (e === 0) return -E2BIG;
    } else {
      this.free = u32[(e + ENTRY_NEXT) >>> 2]!;
    }
    u8.copyWithin(e + ENTRY_HEADER, key, key + this.keySize);
    u32[(e + ENTRY_HASH) >>> 2] = h;
    u32[(e + ENTRY_FLAGS) >>> 2] = FLAG_USED;
    this.writeValue(e, value, cpu, true);
    const b = (this.region.start >>> 2) + (h & this.mask);
    u32[(e + ENTRY_NEXT) >>> 2] = u32[b]!;
    u32[b] = e;
    if (this.lru) this.lruPushHead(e);
    this.count++;
    this.syncDesc();
    return 0;
  }

  /**
   * Copy a value in. A program writes its CPU's copy; a new per-CPU element
   * from a program gets zeroes in the other CPUs' copies (the kernel's rule);
   * user space writes every copy.
   */
  private writeValue(e: number, value: number, cpu: number, fresh: boolean): void {
    const u8 = this.mem.u8;
    const v = e + this.valueOff;
    if (!this.perCpu) {
      u8.copyWithin(v, value, value + this.valueSize);
      return;
    }
    const st = this.valueStride;
    const n = this.host.cpus;
    if (cpu === USER) {
      for (let c = 0; c < n; c++) u8.copyWithin(v + c * st, value + c * st, value + c * st + this.valueSize);
      return;
    }
    if (fresh) u8.fill(0, v, v + st * n);
    u8.copyWithin(v + cpu * st, value, value + this.valueSize);
  }

  override deleteAt(key: number): number {
    this.view();
    const h = hash32(this.mem.u8, key, this.keySize, this.seed);
    const e = this.find(key, h);
    if (e === 0) return -ENOENT;
    this.remove(e, h);
    this.syncDesc();
    return 0;
  }

  /** Unlink an in-use entry from its bucket (and LRU list) and free it. */
  private remove(e: number, h: number): void {
    const u32 = this.u32;
    let link = (this.region.start >>> 2) + (h & this.mask); // u32 index of the pointer to patch
    for (let steps = this.maxEntries; u32[link] !== e; steps--) {
      if (steps === 0 || u32[link] === 0) return; // corrupted chain (see find): leave it
      link = (u32[link]! + ENTRY_NEXT) >>> 2;
    }
    u32[link] = u32[(e + ENTRY_NEXT) >>> 2]!;
    if (this.lru) this.lruUnlink(e);
    u32[(e + ENTRY_FLAGS) >>> 2] = 0;
    u32[(e + ENTRY_NEXT) >>> 2] = this.free;
    this.free = e;
    this.count--;
  }

  private lruPushHead(e: number): void {
    const u32 = this.u32;
    u32[(e + ENTRY_LRU_PREV) >>> 2] = 0;
    u32[(e + ENTRY_LRU_NEXT) >>> 2] = this.lruHead;
    if (this.lruHead !== 0) u32[(this.lruHead + ENTRY_LRU_PREV) >>> 2] = e;
    else this.lruTail = e;
    this.lruHead = e;
  }

  private lruUnlink(e: number): void {
    const u32 = this.u32;
    const p = u32[(e + ENTRY_LRU_PREV) >>> 2]!;
    const n = u32[(e + ENTRY_LRU_NEXT) >>> 2]!;
    if (p !== 0) u32[(p + ENTRY_LRU_NEXT) >>> 2] = n;
    else this.lruHead = n;
    if (n !== 0) u32[(n + ENTRY_LRU_PREV) >>> 2] = p;
    else this.lruTail = p;
  }

  /** CLOCK eviction: returns a now-unused entry (off every list), or 0 when the map is empty. */
  private evict(): number {
    const u32 = this.u32;
    // each entry is passed over at most once, so this ends within count + 1 steps
    for (let steps = 0; steps <= this.count; steps++) {
      const e = this.lruTail;
      if (e === 0) return 0;
      const f = (e + ENTRY_FLAGS) >>> 2;
      if ((u32[f]! & FLAG_REF) !== 0 && steps < this.count) {
        u32[f] = u32[f]! & ~FLAG_REF;
        this.lruUnlink(e);
        this.lruPushHead(e);
        continue;
      }
      this.remove(e, u32[(e + ENTRY_HASH) >>> 2]!);
      this.free = u32[(e + ENTRY_NEXT) >>> 2]!; // take it back off the free list
      return e;
    }
    return 0;
  }

  override nextKeyAt(key: number, out: number): number {
    const u32 = this.view();
    const u8 = this.mem.u8;
    let b = 0;
    if (key !== 0) {
      const h = hash32(u8, key, this.keySize, this.seed);
      const e = this.find(key, h);
      // a missing key restarts the walk at the first key, as the kernel does
      if (e !== 0) {
        const n = u32[(e + ENTRY_NEXT) >>> 2]!;
        if (n !== 0) return this.copyKey(n, out);
        b = (h & this.mask) + 1;
      }
    }
    const base = this.region.start >>> 2;
    for (; b < this.buckets; b++) {
      const e = u32[base + b]!;
      if (e !== 0) return this.copyKey(e, out);
    }
    return -ENOENT;
  }

  private copyKey(e: number, out: number): number {
    const k = (e + ENTRY_HEADER) >>> 0;
    this.mem.u8.copyWithin(out, k, k + this.keySize);
    return 0;
  }

  override forEachAt(cpu: number, cb: (key: number, value: number) => boolean): number {
    const u32 = this.view();
    const base = this.region.start >>> 2;
    const off = this.valueOff + (this.perCpu && cpu > 0 ? cpu * this.valueStride : 0);
    let n = 0;
    for (let b = 0; b < this.buckets; b++) {
      let e = u32[base + b]!;
      for (let steps = this.maxEntries; e !== 0 && steps > 0; steps--) {
        // the callback may have deleted the element we were about to visit; its
        // `next` now leads into the free list, so leave this bucket
        if ((u32[(e + ENTRY_FLAGS) >>> 2]! & FLAG_USED) === 0) break;
        // read the successor first: the callback may delete this element
        const next = u32[(e + ENTRY_NEXT) >>> 2]!;
        n++;
        if (cb((e + ENTRY_HEADER) >>> 0, (e + off) >>> 0)) return n;
        e = next;
        if (u32 !== this.u32) return n; // memory grew under us; stop rather than read stale views
      }
    }
    return n;
  }

  protected freeData(): void {
    this.mem.free(this.region);
  }
}
