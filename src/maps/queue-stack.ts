// queue (FIFO) and stack (LIFO): a ring of max_entries + 1 value slots in the
// runtime memory, as the kernel keeps it (one slot stays empty so head == tail
// means empty). Descriptor: DATA = slot 0, FREE = head (next slot to push),
// LRU_HEAD = tail (oldest element), COUNT = elements held. Those fields are
// the whole state, so threads may attach (MapTable.attach); once shared,
// push and pop take the map's writer lock (lock.ts), as the kernel's
// queue_stack_maps take their spinlock.
//
// push with BPF_EXIST on a full map drops the oldest element (both types);
// without it a full map is E2BIG. pop/peek of an empty map is ENOENT and zeroes
// the destination, as the kernel does.

import type { Region } from '../vm/memory.js';
import { BpfMap, USER, type MapHost } from './base.js';
import { Desc } from './descriptor.js';
import { E2BIG, EINVAL, ENOENT } from './errno.js';
import { lockWord, unlockWord } from './lock.js';
import { BPF_EXIST, BPF_F_RDONLY_PROG, type ResolvedSpec } from './spec.js';

export class QueueStackMap extends BpfMap {
  readonly region: Region;
  readonly lifo: boolean;
  private readonly slots: number;

  constructor(host: MapHost, spec: ResolvedSpec, id: number, attachAt?: number) {
    super(host, spec, id, false, attachAt);
    this.lifo = spec.typeName === 'stack';
    this.slots = spec.maxEntries + 1;
    if (attachAt !== undefined) {
      this.region = this.attachedRegion(this.getDesc(Desc.DATA));
      return;
    }
    this.region = this.allocData(this.slots * this.valueStride, {
      name: `map ${spec.name}`,
      kind: 'map',
      writable: (spec.flags & BPF_F_RDONLY_PROG) === 0,
    });
    this.setDesc(Desc.DATA, this.region.start);
    this.setDesc(Desc.ELEM_STRIDE, this.valueStride);
    this.sync(0, 0);
  }

  get size(): number {
    return this.getDesc(Desc.COUNT);
  }

  private get head(): number {
    return this.getDesc(Desc.FREE);
  }

  private get tail(): number {
    return this.getDesc(Desc.LRU_HEAD);
  }

  private sync(head: number, tail: number): void {
    this.setDesc(Desc.FREE, head);
    this.setDesc(Desc.LRU_HEAD, tail);
    this.setDesc(Desc.COUNT, (head - tail + this.slots) % this.slots);
  }

  private lockIndex(): number {
    return (this.desc + Desc.LOCK) >>> 2;
  }

  private slot(i: number): number {
    return this.region.start + i * this.valueStride;
  }

  override pushAt(value: number, flags: number): number {
    if ((flags & ~BPF_EXIST) !== 0) return -EINVAL;
    if (!this.shared) return this.pushLocked(value, flags);
    const i32 = new Int32Array(this.mem.u8.buffer);
    lockWord(i32, this.lockIndex(), this.name);
    try {
      return this.pushLocked(value, flags);
    } finally {
      unlockWord(i32, this.lockIndex());
    }
  }

  private pushLocked(value: number, flags: number): number {
    const head = this.head;
    let tail = this.tail;
    if (this.size === this.maxEntries) {
      if (flags !== BPF_EXIST) return -E2BIG;
      tail = (tail + 1) % this.slots; // overwrite the oldest
    }
    const at = this.slot(head);
    this.mem.u8.copyWithin(at, value, value + this.valueSize);
    this.sync((head + 1) % this.slots, tail);
    return 0;
  }

  override popAt(out: number, remove: boolean): number {
    if (!this.shared) return this.popLocked(out, remove);
    const i32 = new Int32Array(this.mem.u8.buffer);
    lockWord(i32, this.lockIndex(), this.name);
    try {
      return this.popLocked(out, remove);
    } finally {
      unlockWord(i32, this.lockIndex());
    }
  }

  private popLocked(out: number, remove: boolean): number {
    const u8 = this.mem.u8;
    let head = this.head;
    let tail = this.tail;
    if (head === tail) {
      u8.fill(0, out, out + this.valueSize);
      return -ENOENT;
    }
    let i: number;
    if (this.lifo) {
      i = (head - 1 + this.slots) % this.slots;
      head = i;
    } else {
      i = tail;
      tail = (tail + 1) % this.slots;
    }
    const at = this.slot(i);
    u8.copyWithin(out, at, at + this.valueSize);
    if (remove) this.sync(head, tail);
    return 0;
  }

  /** From user space, BPF_MAP_UPDATE_ELEM with a NULL key is a push; programs must use map_push_elem (EINVAL). */
  override updateAt(_key: number, value: number, flags: number, cpu: number): number {
    return cpu === USER ? this.pushAt(value, flags) : -EINVAL;
  }

  /** The kernel does not allow lookup by key; user space peeks instead. */
  override lookupAt(_key: number, _cpu: number): number {
    return 0;
  }

  override nextKeyAt(_key: number, _out: number): number {
    return -EINVAL;
  }

  /** User space: BPF_MAP_UPDATE_ELEM with a NULL key is a push. */
  override update(key: Uint8Array, value: Uint8Array, flags = 0): void {
    if (key.length !== 0) throw this.error(EINVAL, 'update', `${this.typeName} maps have no key`);
    this.push(value, flags);
  }

  /** User space: BPF_MAP_LOOKUP_ELEM with a NULL key is a peek. */
  override lookup(key: Uint8Array): Uint8Array | undefined {
    if (key.length !== 0) throw this.error(EINVAL, 'lookup', `${this.typeName} maps have no key`);
    return this.peek();
  }

  override *keys(): IterableIterator<Uint8Array> {}

  protected freeData(): void {
    this.mem.free(this.region);
  }
}
