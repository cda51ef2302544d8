// queue (FIFO) and stack (LIFO): a ring of max_entries + 1 value slots in the
// runtime memory, as the kernel keeps it (one slot stays empty so head == tail
// means empty). Descriptor: DATA = slot 0, FREE = head (next slot to push),
// LRU_HEAD = tail (oldest element), COUNT = elements held.
//
// push with BPF_EXIST on a full map drops the oldest element (both types);
// without it a full map is E2BIG. pop/peek of an empty map is ENOENT and zeroes
// the destination, as the kernel does.

import type { Region } from '../vm/memory.js';
import { BpfMap, USER, type MapHost } from './base.js';
import { Desc } from './descriptor.js';
import { E2BIG, EINVAL, ENOENT } from './errno.js';
import { BPF_EXIST, BPF_F_RDONLY_PROG, type ResolvedSpec } from './spec.js';

export class QueueStackMap extends BpfMap {
  readonly region: Region;
  readonly lifo: boolean;
  private readonly slots: number;
  private head = 0;
  private tail = 0;

  constructor(host: MapHost, spec: ResolvedSpec, id: number) {
    super(host, spec, id);
    this.lifo = spec.typeName === 'stack';
    this.slots = spec.maxEntries + 1;
    this.region = this.allocData(this.slots * this.valueStride, {
      name: `map ${spec.name}`,
      kind: 'map',
      writable: (spec.flags & BPF_F_RDONLY_PROG) === 0,
    });
    this.setDesc(Desc.DATA, this.region.start);
    this.setDesc(Desc.ELEM_STRIDE, this.valueStride);
    this.sync();
  }

  get size(): number {
    return (this.head - this.tail + this.slots) % this.slots;
  }

  private sync(): void {
    this.setDesc(Desc.FREE, this.head);
    this.setDesc(Desc.LRU_HEAD, this.tail);
    this.setDesc(Desc.COUNT, this.size);
  }

  private slot(i: number): number {
    return this.region.start + i * this.valueStride;
  }

  override pushAt(value: number, flags: number): number {
    if ((flags & ~BPF_EXIST) !== 0) return -EINVAL;
    if (this.size === this.maxEntries) {
      if (flags !== BPF_EXIST) return -E2BIG;
      this.tail = (this.tail + 1) % this.slots; // overwrite the oldest
    }
    const at = this.slot(this.head);
    this.mem.u8.copyWithin(at, value, value + this.valueSize);
    this.head = (this.head + 1) % this.slots;
    this.sync();
    return 0;
  }

  override popAt(out: number, remove: boolean): number {
    const u8 = this.mem.u8;
    if (this.head === this.tail) {
      u8.fill(0, out, out + this.valueSize);
      return -ENOENT;
    }
    let i: number;
    if (this.lifo) {
      i = (this.head - 1 + this.slots) % this.slots;
      if (remove) this.head = i;
    } else {
      i = this.tail;
      if (remove) this.tail = (this.tail + 1) % this.slots;
    }
    const at = this.slot(i);
    u8.copyWithin(out, at, at + this.valueSize);
    if (remove) this.sync();
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
