// The common shape of every map: a descriptor in the runtime memory, the
// program-side operations on addresses (what helpers call; no allocation),
// and the user-space operations on bytes, which stage their arguments in a
// small scratch region and call the same address-based code, so each map
// type implements its semantics once.
//
// Address-based operations take `cpu`: the execution context's index for a
// program (per-CPU maps then see that CPU's copy), or USER (-1) for user
// space (per-CPU maps then see all copies, value_size rounded up to 8 each,
// as the kernel's syscall does).

import type { AllocOptions, Region, RuntimeMemory } from '../vm/memory.js';
import { DESC_MAGIC, DESC_SIZE, Desc } from './descriptor.js';
import { E2BIG, EEXIST, EINVAL, ENOENT, ENOMEM, ENOSPC, EOPNOTSUPP, EPERM, MapError } from './errno.js';
import { spinLockAt, spinUnlockAt } from './lock.js';
import { BPF_ANY, BPF_F_LOCK, BPF_F_RDONLY, BPF_F_WRONLY, roundUp8, type ResolvedSpec } from './spec.js';

/** `cpu` value meaning "user space": per-CPU maps use all copies. */
export const USER = -1;

/** What a map needs from the table that owns it. */
export interface MapHost {
  readonly mem: RuntimeMemory;
  /** Number of execution contexts ("possible CPUs"). */
  readonly cpus: number;
  /** The map whose descriptor is at `addr`, if any (map-in-map values). */
  byDesc(addr: number): BpfMap | undefined;
  /** The map with this id (user-space "fd"). */
  byId(id: number): BpfMap | undefined;
}

/**
 * What another thread needs to attach to a map (MapTable.attach): plain data,
 * so it travels by postMessage next to the shared WebAssembly.Memory.
 */
export interface MapHandle {
  readonly id: number;
  /** Address of the descriptor, which holds the layout and every mutable field. */
  readonly desc: number;
  readonly spec: ResolvedSpec;
}

export interface BatchResult {
  keys: Uint8Array[];
  values: Uint8Array[];
  /** Pass as `cursor` to continue; undefined when the map has been walked to the end. */
  cursor: Uint8Array | undefined;
}

export abstract class BpfMap {
  readonly name: string;
  readonly type: number;
  readonly typeName: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly spec: ResolvedSpec;
  readonly id: number;
  /** Address of the descriptor: the value a program's map pointer holds. */
  readonly desc: number;
  readonly descRegion: Region;
  /** round_up(value_size, 8). */
  readonly valueStride: number;
  /** Bytes of a value as user space sees it (per-CPU maps: valueStride * cpus). */
  readonly userValueSize: number;
  protected readonly host: MapHost;
  protected readonly mem: RuntimeMemory;
  /** Offset of the value's bpf_spin_lock, or -1 (BPF_F_LOCK is then EINVAL). */
  readonly spinLockOff: number;
  /** Built over another thread's map (MapTable.attach): this thread does not own its memory. */
  readonly attached: boolean;
  private scratch: Region | undefined;
  private frozenFlag = false;
  /** The user handle was closed; the map lives on while programs hold it. */
  private handleClosed = false;
  /**
   * Another thread may use the map (Desc.SHARED, cached: this thread is the
   * only one that sets it for its own map, before handing out a handle).
   */
  protected shared = false;

  /**
   * `attachAt`: the descriptor address of a map another thread created in the
   * same memory; nothing is allocated or initialised, the map's state is read
   * from the descriptor.
   */
  constructor(host: MapHost, spec: ResolvedSpec, id: number, perCpu = false, attachAt?: number) {
    this.host = host;
    this.mem = host.mem;
    this.spec = spec;
    this.name = spec.name;
    this.type = spec.type;
    this.typeName = spec.typeName;
    this.keySize = spec.keySize;
    this.valueSize = spec.valueSize;
    this.maxEntries = spec.maxEntries;
    this.flags = spec.flags;
    this.id = id;
    this.valueStride = roundUp8(spec.valueSize);
    this.userValueSize = perCpu ? this.valueStride * host.cpus : spec.valueSize;
    this.spinLockOff = spec.spinLockOff ?? -1;
    this.attached = attachAt !== undefined;
    if (attachAt !== undefined) {
      this.descRegion = this.attachedRegion(attachAt);
      this.desc = attachAt;
      const dv = this.mem.dv;
      if (dv.getUint32(attachAt + Desc.MAGIC, true) !== DESC_MAGIC || dv.getUint32(attachAt + Desc.ID, true) !== id || dv.getUint32(attachAt + Desc.TYPE, true) !== spec.type)
        throw this.error(EINVAL, 'attach', `no map ${id} of type ${spec.typeName} at 0x${attachAt.toString(16)} (closed, or a stale handle)`);
      Atomics.add(this.i32(), (attachAt + Desc.REFS) >>> 2, 1);
      this.shared = true;
      return;
    }
    this.descRegion = host.mem.alloc(DESC_SIZE, { name: `map ${spec.name} descriptor`, kind: 'map', writable: false });
    this.desc = this.descRegion.start;
    const f = this.setDesc.bind(this);
    f(Desc.MAGIC, DESC_MAGIC);
    f(Desc.TYPE, spec.type);
    f(Desc.KEY_SIZE, spec.keySize);
    f(Desc.VALUE_SIZE, spec.valueSize);
    f(Desc.MAX_ENTRIES, spec.maxEntries);
    f(Desc.MAP_FLAGS, spec.flags);
    f(Desc.ID, id);
    f(Desc.VALUE_STRIDE, this.valueStride);
    f(Desc.CPUS, perCpu ? host.cpus : 1);
    f(Desc.KEY_STRIDE, roundUp8(spec.keySize));
    f(Desc.SPIN_LOCK, this.spinLockOff + 1);
    f(Desc.REFS, 1); // the creator's handle
  }

  /** The region of another thread's map at `addr`, from this thread's copy of the region list. */
  protected attachedRegion(addr: number): Region {
    const r = this.mem.regionOf(addr);
    if (r === undefined || r.start !== addr) throw this.error(EINVAL, 'attach', `0x${addr.toString(16)} is not the start of a region this memory knows (attach the memory after the map was created)`);
    return r;
  }

  private i32(): Int32Array {
    return this.words();
  }

  private wordsOf: Uint8Array | undefined;
  private wordsView: Int32Array | undefined;

  /**
   * The memory as i32 words for Atomics, rebuilt only when the memory's byte
   * view was (it grew). Compares the view, not `u8.buffer`: reading `buffer`
   * of a shared Wasm memory's view costs hundreds of ns.
   */
  protected words(): Int32Array {
    const u8 = this.mem.u8;
    if (this.wordsOf !== u8) {
      this.wordsOf = u8;
      this.wordsView = new Int32Array(u8.buffer);
    }
    return this.wordsView!;
  }

  /** What a worker thread passes to MapTable.attach to use this map; from now on every thread locks (Desc.SHARED). */
  handle(): MapHandle {
    Atomics.store(this.i32(), (this.desc + Desc.SHARED) >>> 2, 1);
    this.shared = true;
    return { id: this.id, desc: this.desc, spec: this.spec };
  }

  // ---- references (the kernel's map refcount) --------------------------------

  /** Holders: user handles (the creator's, attached threads') and loaded programs. */
  get refs(): number {
    return Atomics.load(this.i32(), (this.desc + Desc.REFS) >>> 2);
  }

  /** A program (or another holder) keeps the map alive. */
  hold(): void {
    Atomics.add(this.i32(), (this.desc + Desc.REFS) >>> 2, 1);
  }

  /** Drop a reference; true when it was the last (the owner then frees the memory). */
  release(): boolean {
    return Atomics.sub(this.i32(), (this.desc + Desc.REFS) >>> 2, 1) === 1;
  }

  /** Drop the user handle's reference once; true when no holder is left. */
  releaseHandle(): boolean {
    if (this.handleClosed) return this.refs <= 0;
    this.handleClosed = true;
    return this.release();
  }

  /** Was the user handle closed (the map then lives only for the programs that hold it)? */
  get handleIsClosed(): boolean {
    return this.handleClosed;
  }
  /**
   * Allocate the map's memory, refusing with ENOMEM up front when it cannot
   * fit after the last region: RuntimeMemory.alloc would fail too, but only
   * after reserving the space.
   */
  protected allocData(size: number, options: AllocOptions): Region {
    let end = this.mem.heapBase;
    for (const r of this.mem.list()) end = Math.max(end, r.start + r.size);
    if (!Number.isSafeInteger(size) || end + size + 64 > this.mem.maxBytes)
      throw this.error(ENOMEM, 'create', `${size} bytes do not fit in the runtime memory (maximum ${this.mem.maxBytes} bytes)`);
    return this.mem.alloc(size, options);
  }

  protected setDesc(off: number, v: number): void {
    this.mem.dv.setUint32(this.desc + off, v >>> 0, true);
  }

  protected getDesc(off: number): number {
    return this.mem.dv.getUint32(this.desc + off, true);
  }

  get frozen(): boolean {
    return this.frozenFlag;
  }

  /** Forbid further user-space writes (BPF_MAP_FREEZE); `protect` also makes the values read-only to programs. */
  freeze(protect = false): void {
    this.frozenFlag = true;
    if (protect) this.protectValues();
  }

  /** Make the value memory read-only to programs (maps that have one region of values override this). */
  protected protectValues(): void {}

  // ---- program side: addresses in the runtime memory ---------------------

  /** Address of the value for the key at `key`, or 0 (NULL). */
  lookupAt(_key: number, _cpu: number): number {
    return 0;
  }

  /** Update; returns 0 or a negative errno. */
  updateAt(_key: number, _value: number, _flags: number, _cpu: number): number {
    return -EINVAL;
  }

  /** Delete; returns 0 or a negative errno. */
  deleteAt(_key: number): number {
    return -EINVAL;
  }

  /** Write the key after the one at `key` (0: the first key) to `out`; 0 or a negative errno. */
  nextKeyAt(_key: number, _out: number): number {
    return -EINVAL;
  }

  /** Queue/stack/bloom push; 0 or a negative errno. */
  pushAt(_value: number, _flags: number): number {
    return -EOPNOTSUPP;
  }

  /** Queue/stack pop (remove) or peek; bloom peek = membership test. 0 or a negative errno. */
  popAt(_out: number, _remove: boolean): number {
    return -EOPNOTSUPP;
  }

  /**
   * Visit elements in the order get_next_key would, calling `cb(keyAddr, valueAddr)`
   * with this CPU's value; stop when it returns true. Returns the number of
   * elements visited (counting the one that stopped the walk), as for_each_map_elem.
   */
  forEachAt(_cpu: number, _cb: (key: number, value: number) => boolean): number {
    return -EINVAL;
  }

  // ---- user space: bytes ---------------------------------------------------

  /**
   * The value for `key` (per-CPU maps: all CPUs' copies), or undefined.
   * `flags` BPF_F_LOCK copies it under the value's bpf_spin_lock.
   */
  lookup(key: Uint8Array, flags = 0): Uint8Array | undefined {
    if ((this.flags & BPF_F_WRONLY) !== 0) throw this.error(EPERM, 'lookup', 'map is write-only (BPF_F_WRONLY)');
    if ((flags & ~BPF_F_LOCK) !== 0) throw this.error(EINVAL, 'lookup', `flags 0x${flags.toString(16)}: only BPF_F_LOCK is valid`);
    const k = this.stageKey(key, 0, 'lookup');
    if ((flags & BPF_F_LOCK) !== 0) {
      if (this.spinLockOff < 0) throw this.error(EINVAL, 'lookup', 'BPF_F_LOCK: the value has no bpf_spin_lock');
      const out = this.ensureScratch().start + this.valueSlot;
      const r = this.lookupLockedInto(k, out);
      if (r === -ENOENT) return undefined;
      this.check(r, 'lookup');
      return this.exportValue(out);
    }
    const v = this.lookupAt(k, USER);
    return v === 0 ? undefined : this.exportValue(v);
  }

  /** BPF_F_LOCK lookup: copy the value of the key at `key` to `out` under its spin lock; 0 or a negative errno. */
  protected lookupLockedInto(key: number, out: number): number {
    const v = this.lookupAt(key, USER);
    if (v === 0) return -ENOENT;
    const lock = v + this.spinLockOff;
    spinLockAt(this.i32(), lock, this.name);
    this.copyValue(out, v);
    spinUnlockAt(this.i32(), lock);
    return 0;
  }

  /** Copy one value (value_size bytes) but not its bpf_spin_lock word, as the kernel's copy_map_value. */
  protected copyValue(dst: number, src: number): void {
    const u8 = this.mem.u8;
    const off = this.spinLockOff;
    if (off < 0) {
      u8.copyWithin(dst, src, src + this.valueSize);
      return;
    }
    u8.copyWithin(dst, src, src + off);
    u8.copyWithin(dst + off + 4, src + off + 4, src + this.valueSize);
  }

  /** Insert or replace; throws a MapError carrying the kernel's errno. */
  update(key: Uint8Array, value: Uint8Array, flags: number = BPF_ANY): void {
    this.checkWritable('update');
    const k = this.stageKey(key, 0, 'update');
    const v = this.stageValue(value, 'update');
    this.check(this.updateAt(k, v, flags, USER), 'update');
  }

  delete(key: Uint8Array): void {
    this.checkWritable('delete');
    this.check(this.deleteAt(this.stageKey(key, 0, 'delete')), 'delete');
  }

  /** The key after `key` (undefined or absent key: the first), or undefined at the end. */
  nextKey(key?: Uint8Array): Uint8Array | undefined {
    const s = this.ensureScratch();
    const k = key === undefined ? 0 : this.stageKey(key, 0, 'get_next_key');
    const out = s.start + this.keySlot;
    const r = this.nextKeyAt(k, out);
    if (r === -ENOENT) return undefined;
    this.check(r, 'get_next_key');
    return this.mem.u8.slice(out, out + this.keySize);
  }

  /** Lookup then delete (BPF_MAP_LOOKUP_AND_DELETE_ELEM); queue/stack: pop. */
  lookupAndDelete(key?: Uint8Array): Uint8Array | undefined {
    if (this.keySize === 0) return this.pop();
    const v = this.lookup(key ?? new Uint8Array(0));
    if (v !== undefined) this.delete(key!);
    return v;
  }

  *keys(): IterableIterator<Uint8Array> {
    let k = this.nextKey();
    // A map never holds more than maxEntries keys; a walk that yields more has
    // met a cycle (an unverified program rewrote a key or a chain link).
    for (let left = this.maxEntries; k !== undefined && left > 0; left--) {
      yield k;
      k = this.nextKey(k);
    }
  }

  *entries(): IterableIterator<[Uint8Array, Uint8Array]> {
    for (const k of this.keys()) {
      const v = this.lookup(k);
      if (v !== undefined) yield [k, v];
    }
  }

  /** Up to `count` entries starting after `cursor` (BPF_MAP_LOOKUP_BATCH). */
  lookupBatch(count: number, cursor?: Uint8Array): BatchResult {
    const keys: Uint8Array[] = [];
    const values: Uint8Array[] = [];
    let k = this.nextKey(cursor);
    while (k !== undefined && keys.length < count) {
      const v = this.lookup(k);
      if (v !== undefined) {
        keys.push(k);
        values.push(v);
      }
      k = this.nextKey(k);
    }
    return { keys, values, cursor: k === undefined ? undefined : keys[keys.length - 1] };
  }

  /** Lookup a batch, then delete what was returned (BPF_MAP_LOOKUP_AND_DELETE_BATCH). */
  lookupAndDeleteBatch(count: number): BatchResult {
    const r = this.lookupBatch(count);
    for (const k of r.keys) this.delete(k);
    return { ...r, cursor: r.cursor === undefined ? undefined : new Uint8Array(0) };
  }

  /** Update many (BPF_MAP_UPDATE_BATCH); stops at the first error, which is thrown with `done` in its message. */
  updateBatch(keys: readonly Uint8Array[], values: readonly Uint8Array[], flags: number = BPF_ANY): void {
    if (keys.length !== values.length) throw this.error(EINVAL, 'update_batch', `${keys.length} keys but ${values.length} values`);
    for (let i = 0; i < keys.length; i++) this.batchStep(i, () => this.update(keys[i]!, values[i]!, flags));
  }

  /** Delete many (BPF_MAP_DELETE_BATCH). */
  deleteBatch(keys: readonly Uint8Array[]): void {
    for (let i = 0; i < keys.length; i++) this.batchStep(i, () => this.delete(keys[i]!));
  }

  /** Queue/stack/bloom: push (BPF_MAP_UPDATE_ELEM with a NULL key). */
  push(value: Uint8Array, flags: number = BPF_ANY): void {
    this.checkWritable('push');
    this.check(this.pushAt(this.stageValue(value, 'push'), flags), 'push');
  }

  /** Queue/stack: remove and return the next value; undefined when empty. */
  pop(): Uint8Array | undefined {
    this.checkWritable('pop');
    return this.popUser(true);
  }

  /** Queue/stack: the next value without removing it; undefined when empty. */
  peek(): Uint8Array | undefined {
    return this.popUser(false);
  }

  /** Bloom filter: may `value` be in the set? (false means certainly not.) */
  has(value: Uint8Array): boolean {
    const r = this.popAt(this.stageValue(value, 'peek'), false);
    if (r === -ENOENT) return false;
    this.check(r, 'peek');
    return true;
  }

  /**
   * Release the map's memory (an attached map: only this thread's scratch and
   * its reference). The map must not be used afterwards.
   */
  close(): void {
    if (this.scratch) this.mem.free(this.scratch);
    this.scratch = undefined;
    if (this.attached) {
      if (!this.handleClosed) this.release();
      this.handleClosed = true;
      return;
    }
    // a stale pointer to the descriptor must not pass for a map
    this.mem.dv.setUint32(this.desc + Desc.MAGIC, 0, true);
    this.mem.free(this.descRegion);
    this.freeData();
  }

  protected abstract freeData(): void;

  // ---- shared machinery ------------------------------------------------------

  /** Bytes user space sees for the value at `addr` (map-in-map translates addresses to ids). */
  protected exportValue(addr: number): Uint8Array {
    const out = this.mem.u8.slice(addr, addr + this.userValueSize);
    // the kernel never shows a lock's state to user space (check_and_init_map_value)
    if (this.spinLockOff >= 0) out.fill(0, this.spinLockOff, this.spinLockOff + 4);
    return out;
  }

  /** Copy a user value into scratch and return its address (map-in-map translates ids to addresses). */
  protected stageValue(value: Uint8Array, op: string): number {
    if (value.length !== this.userValueSize)
      throw this.error(EINVAL, op, `value is ${value.length} bytes, expected ${this.userValueSize}`);
    const s = this.ensureScratch();
    const at = s.start + this.valueSlot;
    this.mem.u8.set(value, at);
    return at;
  }

  /** Copy a user key into scratch slot `slot` (0 or 1) and return its address. */
  protected stageKey(key: Uint8Array, slot: number, op: string): number {
    if (key.length !== this.keySize) throw this.error(EINVAL, op, `key is ${key.length} bytes, key_size is ${this.keySize}`);
    const s = this.ensureScratch();
    const at = s.start + slot * this.keySlot;
    this.mem.u8.set(key, at);
    return at;
  }

  /**
   * An 8-byte word in scratch that address-based code may use (array for_each
   * keys). Maps that need it call it from their constructor, so the region is
   * not allocated in the middle of a program run.
   */
  protected scratchWord(): number {
    return this.ensureScratch().start + this.valueSlot - 8;
  }

  private get keySlot(): number {
    return Math.max(8, roundUp8(this.keySize));
  }

  private get valueSlot(): number {
    return 2 * this.keySlot + 8;
  }

  private ensureScratch(): Region {
    if (!this.scratch) {
      const size = this.valueSlot + Math.max(8, roundUp8(this.userValueSize));
      this.scratch = this.mem.alloc(size, { name: `map ${this.name} scratch`, kind: 'scratch', writable: false });
    }
    return this.scratch;
  }

  private popUser(remove: boolean): Uint8Array | undefined {
    const s = this.ensureScratch();
    const out = s.start + this.valueSlot;
    const r = this.popAt(out, remove);
    if (r === -ENOENT) return undefined;
    this.check(r, remove ? 'pop' : 'peek');
    return this.mem.u8.slice(out, out + this.valueSize);
  }

  private batchStep(i: number, f: () => void): void {
    try {
      f();
    } catch (e) {
      // keep the errno; say which element stopped the batch (the ones before it are done)
      if (e instanceof MapError) throw new MapError(e.errno, this.name, `batch element ${i} (${i} done)`, e.message.replace(/^map '[^']*': /, '').replace(/ \([A-Z0-9 ]+\)$/, ''));
      throw e;
    }
  }

  protected checkWritable(op: string): void {
    if (this.frozenFlag) throw this.error(EPERM, op, 'map is frozen');
    if ((this.flags & BPF_F_RDONLY) !== 0) throw this.error(EPERM, op, 'map is read-only (BPF_F_RDONLY)');
  }

  protected check(r: number, op: string): void {
    if (r < 0) throw this.error(-r, op, REASONS[-r] ?? 'failed');
  }

  /** A MapError naming this map and the operation. */
  error(errno: number, op: string, reason: string): MapError {
    return new MapError(errno, this.name, op, reason);
  }
}

const REASONS: Record<number, string> = {
  [ENOENT]: 'no such element',
  [EINVAL]: 'invalid argument',
  [E2BIG]: 'map is full, or index out of range',
  [EEXIST]: 'element exists (BPF_NOEXIST)',
  [ENOSPC]: 'map is full',
  [EOPNOTSUPP]: 'operation not supported by this map type',
  [EPERM]: 'operation not permitted',
};
