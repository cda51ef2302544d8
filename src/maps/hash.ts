// hash, percpu_hash, lru_hash and lru_percpu_hash: a chained hash table laid
// out flat in the runtime memory (layout, lookup and what a concurrent reader
// may observe: hash-layout.ts), so value pointers stay valid, atomics work on
// values, and the JIT can inline lookups. Entries are preallocated, as the
// kernel's default; a deleted entry goes to the tail of a free list and is
// reused after every other free entry, which keeps a just-deleted entry
// stable for a racing reader as long as possible.
//
// All mutable state (bucket chains, free list, count, LRU list) lives in the
// memory and, once the map is shared with another thread (Desc.SHARED), is
// changed only under the map's writer lock (lock.ts), so maps attached from
// worker threads (MapTable.attach) insert and delete concurrently; lookups
// take no lock. Before that, one thread owns the map and the same code runs
// without the lock and without atomics (each Atomics call costs ~10 ns in
// JS), which keeps single-threaded maps as fast as they were.
//
// An update of an existing key in a shared hash (not per-CPU, not LRU) links
// a new entry with the new value in front of the old one and then frees the
// old one, as the kernel does: a concurrent reader gets the old value or the
// new one, never a mix. For that the table has one entry more than
// max_entries (the kernel keeps one extra element per CPU; here writers
// serialise on the map lock, so one is enough). A map no other thread uses
// copies in place instead, which costs half as much; the one difference a
// program can see is a value pointer it took before updating the same key
// itself, which shows the new value here and the old one in the kernel.
// Per-CPU maps and BPF_F_LOCK updates copy in place, as in the kernel; a
// value with a bpf_spin_lock is copied under that lock by BPF_F_LOCK updates
// and lookups, and its lock word is never overwritten by a copy.
//
// LRU maps never run out of entries: their nodes move through the kernel's
// LRU lists (lru.ts), which evict as the kernel does; they do not use the
// free list above.

import type { Region } from '../vm/memory.js';
import { BpfMap, USER, type MapHost } from './base.js';
import { Desc } from './descriptor.js';
import { E2BIG, EEXIST, EINVAL, ENOENT, ENOMEM } from './errno.js';
import {
  ENTRY_FLAGS,
  ENTRY_HASH,
  ENTRY_HEADER,
  ENTRY_NEXT,
  FLAG_GEN,
  FLAG_REF,
  FLAG_USED,
  RESTARTS,
  hash32,
  nulls,
  roundUpPow2,
} from './hash-layout.js';
import { lockWord, spinLockAt, spinUnlockAt, unlockWord } from './lock.js';
import { KernelLru, lruHeaderBytes } from './lru.js';
import { BPF_EXIST, BPF_F_LOCK, BPF_F_RDONLY_PROG, BPF_F_WRONLY, BPF_F_ZERO_SEED, BPF_NOEXIST, roundUp8, type ResolvedSpec } from './spec.js';

const F = ENTRY_FLAGS >>> 2;
const N = ENTRY_NEXT >>> 2;

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
  /** Entries allocated: max_entries, plus one to replace into for plain hashes. */
  readonly capacity: number;
  /** Updates of existing keys link a new entry (plain hash) rather than copy in place. */
  private readonly replaces: boolean;
  // Int32Array: addresses and hashes as int32 bits, so V8 keeps them unboxed
  private u32: Int32Array;
  private u8: Uint8Array;
  /** u32 index of the descriptor (its mutable fields are the map's state). */
  private readonly d: number;
  /** u32 index of bucket 0. */
  private readonly b0: number;
  /** u32 index of the change counter after the buckets: odd while a writer changes chains. */
  private get seq(): number {
    return this.b0 + this.buckets;
  }
  /** LRU maps: the kernel's lists, in a header after the entries. */
  private readonly lruLists: KernelLru | undefined;

  constructor(host: MapHost, spec: ResolvedSpec, id: number, attachAt?: number) {
    const perCpu = spec.typeName === 'percpu_hash' || spec.typeName === 'lru_percpu_hash';
    super(host, spec, id, perCpu, attachAt);
    this.perCpu = perCpu;
    this.lru = spec.typeName.startsWith('lru');
    this.buckets = roundUpPow2(spec.maxEntries);
    this.mask = this.buckets - 1;
    this.keyStride = roundUp8(spec.keySize);
    this.valueOff = ENTRY_HEADER + this.keyStride;
    this.entrySize = this.valueOff + this.valueStride * (perCpu ? host.cpus : 1);
    // the buckets, then the change counter (hash-layout.ts), then the entries
    const bucketBytes = roundUp8(this.buckets * 4 + 4);
    this.replaces = !perCpu && !this.lru;
    this.capacity = spec.maxEntries + (this.replaces ? 1 : 0);
    const entryBytes = this.entrySize * this.capacity;
    this.d = this.desc >>> 2;
    if (attachAt !== undefined) {
      // another thread built it: take the layout from the descriptor
      this.region = this.attachedRegion(this.getDesc(Desc.DATA));
      this.seed = this.getDesc(Desc.SEED) | 0;
      this.entryBase = this.getDesc(Desc.ENTRIES);
      this.u8 = this.mem.u8;
      this.u32 = new Int32Array(this.u8.buffer);
      this.b0 = this.region.start >>> 2;
      this.lruLists = this.lru ? this.newLru(this.entryBase + entryBytes) : undefined;
      return;
    }
    this.seed = (spec.flags & BPF_F_ZERO_SEED) !== 0 ? 0 : (Math.random() * 0x100000000) | 0;
    this.region = this.allocData(bucketBytes + entryBytes + (this.lru ? lruHeaderBytes(host.cpus) : 0), {
      name: `map ${spec.name}`,
      kind: 'map',
      writable: (spec.flags & BPF_F_RDONLY_PROG) === 0,
    });
    this.entryBase = this.region.start + bucketBytes;
    this.u8 = this.mem.u8;
    this.u32 = new Int32Array(this.u8.buffer);
    this.b0 = this.region.start >>> 2;
    const u32 = this.u32;
    for (let b = 0; b < this.buckets; b++) u32[this.b0 + b] = nulls(b);
    let next = 0;
    if (this.lru) {
      this.lruLists = this.newLru(this.entryBase + entryBytes);
      this.lruLists.init(this.entryBase, this.entrySize, spec.maxEntries);
    } else {
      this.lruLists = undefined;
      // thread every entry onto the free list, lowest address first
      for (let i = this.capacity - 1; i >= 0; i--) {
        const e = this.entryBase + i * this.entrySize;
        u32[(e >>> 2) + N] = next;
        next = e;
      }
    }
    this.setDesc(Desc.DATA, this.region.start);
    this.setDesc(Desc.ELEM_STRIDE, this.entrySize);
    this.setDesc(Desc.MASK, this.mask);
    this.setDesc(Desc.SEED, this.seed);
    this.setDesc(Desc.ENTRIES, this.entryBase);
    this.setDesc(Desc.COUNT, 0);
    this.setDesc(Desc.FREE, next);
    this.setDesc(Desc.FREE_TAIL, next === 0 ? 0 : this.entryBase + (this.capacity - 1) * this.entrySize);
    this.setDesc(Desc.LRU_HEAD, this.lru ? this.entryBase + entryBytes : 0);
  }

  private newLru(header: number): KernelLru {
    return new KernelLru(this.u32, header, this.host.cpus, this.maxEntries, (e) => this.unlink(e, this.u32[(e >>> 2) + 1]!));
  }

  /** Elements in use. */
  get size(): number {
    return this.view()[this.d + (Desc.COUNT >>> 2)]!;
  }

  /** Entries not holding an element: on the free list (LRU maps: on the LRU's free lists). */
  freeCount(): number {
    const u32 = this.view();
    let n = 0;
    this.lock();
    try {
      if (this.lruLists !== undefined) return this.lruLists.freeNodes(this.entryBase, this.entrySize, this.maxEntries);
      for (let e = u32[this.d + (Desc.FREE >>> 2)]!; e !== 0 && n <= this.capacity; e = u32[(e >>> 2) + N]!) n++;
    } finally {
      this.unlock();
    }
    return n;
  }

  private view(): Int32Array {
    const u8 = this.mem.u8;
    // the memory's views are rebuilt when it grows; follow them. Comparing the
    // view objects is cheap, while reading `.buffer` of a view over a Wasm
    // memory costs tens of nanoseconds in V8.
    if (u8 !== this.u8) {
      this.u8 = u8;
      this.u32 = new Int32Array(u8.buffer);
      this.lruLists?.setView(this.u32);
    }
    return this.u32;
  }

  /**
   * Shared with another thread: writers lock, readers check generations
   * atomically. A JS field, not the descriptor word: reading the shared
   * memory on every call costs ~60 ns per insert and delete.
   */
  private get concurrent(): boolean {
    return this.shared;
  }

  /** Take the writer lock (shared maps); the change counter goes odd until unlock. */
  private lock(): void {
    if (!this.concurrent) return;
    lockWord(this.u32, this.d + (Desc.LOCK >>> 2), this.name);
    Atomics.add(this.u32, this.seq, 1);
  }

  private unlock(): void {
    if (!this.concurrent) return;
    Atomics.add(this.u32, this.seq, 1);
    unlockWord(this.u32, this.d + (Desc.LOCK >>> 2));
  }

  /** A store a lock-free reader may race with: ordered after the plain writes before it when shared. */
  private publish(idx: number, v: number): void {
    if (this.concurrent) Atomics.store(this.u32, idx, v);
    else this.u32[idx] = v;
  }

  /** The entry holding the key at `key` with hash `h`, or 0, for a reader (no lock held). */
  private find(key: number, h: number): number {
    return this.concurrent ? this.findShared(key, h) : this.findLocked(key, h);
  }

  /** find when no other thread can change the map (it is not shared, or this thread holds the lock): a plain walk. */
  private findLocked(key: number, h: number): number {
    const u32 = this.u32;
    const u8 = this.u8;
    const ks = this.keySize;
    let e = u32[this.b0 + (h & this.mask)]!;
    // Bounded by the map's size: headers live in program-writable memory, and an
    // unverified program that overwrote one (a cycle) must not hang the host.
    for (let steps = this.capacity; (e & 7) === 0 && e !== 0 && steps > 0; steps--) {
      const ei = e >>> 2;
      if (u32[ei + 1] === h && (u32[ei + F]! & FLAG_USED) !== 0) {
        const k = e + ENTRY_HEADER;
        let i = 0;
        while (i < ks && u8[k + i] === u8[key + i]) i++;
        if (i === ks) return e;
      }
      e = u32[ei + N]!;
    }
    return 0;
  }

  /** find racing with writers in other threads: the lock-free protocol of hash-layout.ts. */
  private findShared(key: number, h: number): number {
    const u32 = this.u32;
    const u8 = this.u8;
    const ks = this.keySize;
    const b = h & this.mask;
    const end = nulls(b);
    for (let tries = RESTARTS; tries > 0; tries--) {
      const seq = Atomics.load(u32, this.seq);
      let e = u32[this.b0 + b]!;
      let steps = this.capacity;
      for (; (e & 7) === 0 && e !== 0 && steps > 0; steps--) {
        const ei = e >>> 2;
        if (u32[ei + 1] === h) {
          const f = Atomics.load(u32, ei + F);
          if ((f & FLAG_USED) !== 0) {
            const k = e + ENTRY_HEADER;
            let i = 0;
            while (i < ks && u8[k + i] === u8[key + i]) i++;
            if (i === ks && ((Atomics.load(u32, ei + F) ^ f) & ~FLAG_REF) === 0) return e;
          }
        }
        e = u32[ei + N]!;
      }
      // too long: a corrupted header (see findLocked)
      if (steps === 0) return 0;
      // A miss counts only if the walk ended at this bucket's marker and no
      // writer changed any chain meanwhile: otherwise we may have followed an
      // entry freed or moved under us, or passed the place where the key's
      // replacement was linked before its old entry was unlinked. Start again.
      if (e === end && (seq & 1) === 0 && Atomics.load(u32, this.seq) === seq) return 0;
    }
    // Writers changed the map on every try (heavy contention): walk under the
    // writer lock, so a key that was there all along is never reported missing.
    return this.underLock(() => this.findLocked(key, h));
  }

  /** Run `fn` holding the writer lock without counting a change (a reader that gave up on the lock-free walk). */
  private underLock<T>(fn: () => T): T {
    const idx = this.d + (Desc.LOCK >>> 2);
    lockWord(this.u32, idx, this.name);
    try {
      return fn();
    } finally {
      unlockWord(this.u32, idx);
    }
  }

  override lookupAt(key: number, cpu: number): number {
    this.view();
    const e = this.find(key, hash32(this.u8, key, this.keySize, this.seed));
    if (e === 0) return 0;
    if (this.lru && cpu !== USER) {
      const f = (e >>> 2) + F;
      if ((this.u32[f]! & FLAG_REF) === 0) {
        // another thread's writer may be storing this word: do not lose its change
        if (this.concurrent) Atomics.or(this.u32, f, FLAG_REF);
        else this.u32[f] = this.u32[f]! | FLAG_REF;
      }
    }
    return (e + this.valueOff + (this.perCpu && cpu > 0 ? cpu * this.valueStride : 0)) >>> 0;
  }

  /**
   * User space: a copy of the value. When another thread may free and reuse
   * the entry while it is copied, the copy counts only if the entry's
   * generation did not change meanwhile (else look up again), so the bytes
   * are one value, never a mix of the old entry's and its next use's.
   */
  override lookup(key: Uint8Array, flags = 0): Uint8Array | undefined {
    if (!this.concurrent || flags !== 0 || (this.flags & BPF_F_WRONLY) !== 0) return super.lookup(key, flags);
    const k = this.stageKey(key, 0, 'lookup');
    this.view();
    const h = hash32(this.u8, k, this.keySize, this.seed);
    for (let tries = RESTARTS; tries > 0; tries--) {
      const e = this.find(k, h);
      if (e === 0) return undefined;
      const f = Atomics.load(this.u32, (e >>> 2) + F);
      const out = this.exportValue(e + this.valueOff);
      if ((f & FLAG_USED) !== 0 && ((Atomics.load(this.u32, (e >>> 2) + F) ^ f) & ~FLAG_REF) === 0) return out;
    }
    // the element changed during every copy: copy it under the writer lock
    return this.underLock(() => {
      const e = this.findLocked(k, h);
      return e === 0 ? undefined : this.exportValue(e + this.valueOff);
    });
  }

  /** User space with BPF_F_LOCK: the value copied under its bpf_spin_lock, lock word zero. */
  protected override lookupLockedInto(key: number, out: number): number {
    this.view();
    const e = this.find(key, hash32(this.u8, key, this.keySize, this.seed));
    if (e === 0) return -ENOENT;
    const v = e + this.valueOff;
    const lock = v + this.spinLockOff;
    spinLockAt(this.u32, lock, this.name);
    this.copyValue(out, v);
    spinUnlockAt(this.u32, lock);
    return 0;
  }

  override updateAt(key: number, value: number, flags: number, cpu: number): number {
    if ((flags & ~BPF_F_LOCK) > BPF_EXIST) return -EINVAL;
    if ((flags & BPF_F_LOCK) !== 0 && this.spinLockOff < 0) return -EINVAL; // the value has no bpf_spin_lock
    this.view();
    const h = hash32(this.u8, key, this.keySize, this.seed);
    // one thread: no lock, and no try/finally on the hot path
    if (!this.concurrent) return this.updateLocked(key, value, flags, cpu, h);
    this.lock();
    try {
      return this.updateLocked(key, value, flags, cpu, h);
    } finally {
      this.unlock();
    }
  }

  private updateLocked(key: number, value: number, flags: number, cpu: number, h: number): number {
    if (this.lruLists !== undefined) return this.updateLru(this.lruLists, key, value, flags, cpu, h);
    const u32 = this.u32;
    const d = this.d;
    const mode = flags & ~BPF_F_LOCK;
    let e = this.findLocked(key, h);
    if (e !== 0) {
      if (mode === BPF_NOEXIST) return -EEXIST;
      if ((flags & BPF_F_LOCK) !== 0) {
        const v = e + this.valueOff;
        spinLockAt(u32, v + this.spinLockOff, this.name);
        this.copyValue(v, value);
        spinUnlockAt(u32, v + this.spinLockOff);
      } else if (this.replaces && this.concurrent) this.replace(e, key, value, cpu, h);
      else this.writeValue(e, value, cpu, false);
      return 0;
    }
    if (mode === BPF_EXIST) return -ENOENT;
    e = u32[d + (Desc.FREE >>> 2)]!;
    if (e === 0 || u32[d + (Desc.COUNT >>> 2)]! >= this.maxEntries) return -E2BIG;
    this.takeFree(e);
    this.fill(e, key, value, cpu, h);
    this.link(e, h);
    return 0;
  }

  /** A new entry for the key in front of `old`, then `old` freed (the spare entry guarantees a free one). */
  private replace(old: number, key: number, value: number, cpu: number, h: number): void {
    const e = this.u32[this.d + (Desc.FREE >>> 2)]!;
    this.takeFree(e);
    this.fill(e, key, value, cpu, h);
    this.link(e, h);
    this.remove(old, h);
  }

  /**
   * htab_lru_map_update_elem and htab_lru_percpu_map_update_elem: a node is
   * taken first (which may evict, even the key being updated), then the flags
   * are checked; lru_hash replaces an existing element with the new node,
   * lru_percpu_hash updates it in place. A node not used goes back.
   */
  private updateLru(lru: KernelLru, key: number, value: number, flags: number, cpu: number, h: number): number {
    const mode = flags & ~BPF_F_LOCK;
    const c = cpu === USER ? 0 : cpu; // user space: as if the syscall ran on CPU 0
    let fresh = this.perCpu && mode === BPF_EXIST ? 0 : lru.popFree(c);
    if (fresh === 0 && !(this.perCpu && mode === BPF_EXIST)) return -ENOMEM;
    if (fresh !== 0) this.fill(fresh, key, value, cpu, h);
    const old = this.findLocked(key, h);
    let r = 0;
    if (old !== 0 && mode === BPF_NOEXIST) r = -EEXIST;
    else if (old === 0 && mode === BPF_EXIST) r = -ENOENT;
    else if (this.perCpu && old !== 0) {
      lru.setRef(old);
      this.writeValue(old, value, cpu, false);
    } else {
      const e = fresh;
      fresh = 0;
      this.link(e, h);
      if (old !== 0) {
        lru.setRef(e);
        this.unlink(old, h);
        lru.pushFree(old);
      }
    }
    if (fresh !== 0) lru.pushFree(fresh);
    return r;
  }

  /** Write a new element's key, hash and value into entry e (not yet linked: no reader can match it). */
  private fill(e: number, key: number, value: number, cpu: number, h: number): void {
    this.u8.copyWithin(e + ENTRY_HEADER, key, key + this.keySize);
    this.u32[(e >>> 2) + 1] = h;
    this.writeValue(e, value, cpu, true);
  }

  /** Publish entry e at the head of its bucket: a new generation with USED, then the link. */
  private link(e: number, h: number): void {
    const u32 = this.u32;
    const ei = e >>> 2;
    // atomic stores (when shared) order the plain writes of fill() before them
    this.publish(ei + F, ((u32[ei + F]! & ~(FLAG_GEN - 1)) + FLAG_GEN) | FLAG_USED);
    const b = this.b0 + (h & this.mask);
    u32[ei + N] = u32[b]!;
    this.publish(b, e);
    u32[this.d + (Desc.COUNT >>> 2)] = u32[this.d + (Desc.COUNT >>> 2)]! + 1;
  }

  /**
   * Copy a value in. A program writes its CPU's copy; a new per-CPU element
   * from a program gets zeroes in the other CPUs' copies (the kernel's rule);
   * user space writes every copy.
   */
  private writeValue(e: number, value: number, cpu: number, fresh: boolean): void {
    const u8 = this.u8;
    const v = e + this.valueOff;
    if (!this.perCpu) {
      if (fresh && this.spinLockOff >= 0) u8.fill(0, v + this.spinLockOff, v + this.spinLockOff + 4);
      this.copyValue(v, value);
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
    const h = hash32(this.u8, key, this.keySize, this.seed);
    if (!this.concurrent) return this.deleteLocked(key, h);
    this.lock();
    try {
      return this.deleteLocked(key, h);
    } finally {
      this.unlock();
    }
  }

  private deleteLocked(key: number, h: number): number {
    const e = this.findLocked(key, h);
    if (e === 0) return -ENOENT;
    this.remove(e, h);
    return 0;
  }

  /** Unlink an in-use entry from its bucket and free it (writer lock held). */
  private remove(e: number, h: number): void {
    if (!this.unlink(e, h)) return;
    if (this.lruLists !== undefined) this.lruLists.pushFree(e);
    else this.pushFree(e);
  }

  /** Take entry e out of bucket h's chain; false when it is not there (a free node, or a corrupted chain). */
  private unlink(e: number, h: number): boolean {
    const u32 = this.u32;
    let link = this.b0 + (h & this.mask); // u32 index of the pointer to patch
    for (let steps = this.capacity; u32[link] !== e; steps--) {
      const n = u32[link]!;
      if (steps === 0 || (n & 7) !== 0 || n === 0) return false; // not in the chain (or see find: corrupted)
      link = (n >>> 2) + N;
    }
    const ei = e >>> 2;
    this.publish(link, u32[ei + N]!);
    // a new generation without USED: a reader comparing this entry's key now rejects it
    this.publish(ei + F, (u32[ei + F]! & ~(FLAG_GEN - 1)) + FLAG_GEN);
    const c = this.d + (Desc.COUNT >>> 2);
    u32[c] = u32[c]! - 1;
    return true;
  }

  /** Append to the free list (first in, first out). */
  private pushFree(e: number): void {
    const u32 = this.u32;
    const head = this.d + (Desc.FREE >>> 2);
    const tail = this.d + (Desc.FREE_TAIL >>> 2);
    u32[(e >>> 2) + N] = 0;
    const t = u32[tail]!;
    if (t !== 0) u32[(t >>> 2) + N] = e;
    else u32[head] = e;
    u32[tail] = e;
  }

  /** Take `e`, the head of the free list, off it. */
  private takeFree(e: number): void {
    const u32 = this.u32;
    const head = this.d + (Desc.FREE >>> 2);
    const n = u32[(e >>> 2) + N]!;
    u32[head] = n;
    if (n === 0) u32[this.d + (Desc.FREE_TAIL >>> 2)] = 0;
  }

  override nextKeyAt(key: number, out: number): number {
    this.view();
    if (!this.concurrent) return this.nextKeyLocked(key, out);
    this.lock();
    try {
      return this.nextKeyLocked(key, out);
    } finally {
      this.unlock();
    }
  }

  private nextKeyLocked(key: number, out: number): number {
    const u32 = this.u32;
    let b = 0;
    if (key !== 0) {
      const h = hash32(this.u8, key, this.keySize, this.seed);
      const e = this.findLocked(key, h);
      // a missing key restarts the walk at the first key, as the kernel does
      if (e !== 0) {
        const n = u32[(e >>> 2) + N]!;
        if ((n & 7) === 0 && n !== 0) return this.copyKey(n, out);
        b = (h & this.mask) + 1;
      }
    }
    for (; b < this.buckets; b++) {
      const e = u32[this.b0 + b]!;
      if ((e & 7) === 0 && e !== 0) return this.copyKey(e, out);
    }
    return -ENOENT;
  }

  private copyKey(e: number, out: number): number {
    const k = (e + ENTRY_HEADER) >>> 0;
    this.u8.copyWithin(out, k, k + this.keySize);
    return 0;
  }

  /** Visit every element without the writer lock (the callback may update or delete). */
  override forEachAt(cpu: number, cb: (key: number, value: number) => boolean): number {
    const u32 = this.view();
    const off = this.valueOff + (this.perCpu && cpu > 0 ? cpu * this.valueStride : 0);
    let n = 0;
    for (let b = 0; b < this.buckets; b++) {
      let e = u32[this.b0 + b]!;
      for (let steps = this.capacity; (e & 7) === 0 && e !== 0 && steps > 0; steps--) {
        // the callback may have deleted the element we were about to visit; its
        // `next` now leads into the free list, so leave this bucket
        if ((u32[(e >>> 2) + F]! & FLAG_USED) === 0) break;
        // read the successor first: the callback may delete this element
        const next = u32[(e >>> 2) + N]!;
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
