// prog_array: the table bpf_tail_call jumps through. Each slot is a u32
// program id in the runtime memory (0: empty), so every thread that shares
// the map sees the same slots; each thread turns an id into its own program
// object with the table's program resolver (the runtime's programs by id, in
// a worker its copies of them: a tail call from a worker runs there). User
// space fills slots with set() or, as with the kernel's fds, update() with a
// u32 program id. A program object without an id (set(i, prog) in tests) is
// known only to the thread that set it: the slot holds LOCAL and other
// threads see it empty.
// The kernel's limit: a chain of at most MAX_TAIL_CALL_CNT (33) tail calls.

import type { Region } from '../vm/memory.js';
import { BpfMap, USER, type MapHost } from './base.js';
import { Desc } from './descriptor.js';
import { E2BIG, EINVAL, ENOENT } from './errno.js';
import { BPF_EXIST, BPF_NOEXIST, type ResolvedSpec } from './spec.js';

export const MAX_TAIL_CALL_CNT = 33;
/** Slot word of a program set without an id (this thread's object only). */
const LOCAL = -1;

/** Turns a user-visible program id into the runtime's program object. */
export type ProgramResolver = (id: number) => object | undefined;

export class ProgArrayMap extends BpfMap {
  /** The slots: one u32 program id each. */
  readonly region: Region;
  /** This thread's objects for the slots, valid while `cachedIds` matches the slot word. */
  private readonly progs: (object | undefined)[];
  private readonly cachedIds: Int32Array;
  resolver: ProgramResolver | undefined;

  constructor(host: MapHost, spec: ResolvedSpec, id: number, attachAt?: number) {
    super(host, spec, id, false, attachAt);
    this.progs = new Array<object | undefined>(spec.maxEntries);
    this.cachedIds = new Int32Array(spec.maxEntries);
    if (attachAt !== undefined) this.region = this.attachedRegion(this.getDesc(Desc.DATA));
    else {
      this.region = this.allocData(4 * spec.maxEntries, { name: `map ${spec.name}`, kind: 'map', writable: false });
      this.setDesc(Desc.DATA, this.region.start);
      this.setDesc(Desc.ELEM_STRIDE, 4);
    }
  }

  private slotWord(index: number): number {
    return Atomics.load(this.words(), (this.region.start >>> 2) + index);
  }

  private setSlot(index: number, word: number, prog: object | undefined): void {
    this.progs[index] = prog;
    this.cachedIds[index] = word;
    Atomics.store(this.words(), (this.region.start >>> 2) + index, word);
  }

  /** The program in slot `index`, or undefined (what bpf_tail_call jumps to). */
  get(index: number): object | undefined {
    if (index >>> 0 >= this.maxEntries) return undefined;
    const w = this.slotWord(index);
    if (w === 0) return undefined;
    if (this.cachedIds[index] === w) return this.progs[index];
    // another thread changed the slot: this thread's program of that id
    const prog = w === LOCAL ? undefined : this.resolver?.(w >>> 0);
    this.progs[index] = prog;
    this.cachedIds[index] = w;
    return prog;
  }

  /** Put `prog` in slot `index` (undefined empties it). `id` is what user-space lookups report and other threads resolve. */
  set(index: number, prog: object | undefined, id = 0): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.maxEntries) throw this.error(E2BIG, 'update', `index ${index} out of range 0..${this.maxEntries - 1}`);
    this.checkWritable('update');
    this.setSlot(index, prog === undefined ? 0 : id === 0 ? LOCAL : id, prog);
  }

  override updateAt(key: number, value: number, flags: number, cpu: number): number {
    if (cpu !== USER) return -EINVAL; // programs cannot update a prog_array
    if (flags > BPF_EXIST) return -EINVAL;
    if (flags === BPF_NOEXIST) return -EINVAL; // all slots exist; the kernel rejects NOEXIST for fd arrays
    const dv = this.mem.dv;
    const i = dv.getUint32(key, true);
    if (i >= this.maxEntries) return -E2BIG;
    const id = dv.getUint32(value, true);
    const prog = id === 0 ? undefined : this.resolver?.(id);
    if (prog === undefined) return -EINVAL; // the kernel: bad fd -> EBADF; no fd here, so EINVAL
    this.setSlot(i, id, prog);
    return 0;
  }

  override deleteAt(key: number): number {
    const i = this.mem.dv.getUint32(key, true);
    if (i >= this.maxEntries) return -E2BIG;
    if (this.slotWord(i) === 0) return -ENOENT;
    this.setSlot(i, 0, undefined);
    return 0;
  }

  override lookup(key: Uint8Array): Uint8Array | undefined {
    if (key.length !== 4) throw this.error(EINVAL, 'lookup', `key is ${key.length} bytes, key_size is 4`);
    const i = new DataView(key.buffer, key.byteOffset, 4).getUint32(0, true);
    const w = i < this.maxEntries ? this.slotWord(i) : 0;
    if (w === 0) return undefined;
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, w === LOCAL ? 0 : w, true);
    return out;
  }

  override nextKeyAt(key: number, out: number): number {
    const dv = this.mem.dv;
    const i = key === 0 ? -1 : dv.getUint32(key, true);
    const next = i < 0 || i >= this.maxEntries ? 0 : i + 1;
    if (next >= this.maxEntries) return -ENOENT;
    dv.setUint32(out, next, true);
    return 0;
  }

  protected freeData(): void {
    this.progs.fill(undefined);
    this.mem.free(this.region);
  }
}
