// array and percpu_array (and global data, which the loader creates as a
// one-element array): values contiguous in one region, the kernel's layout
//
//   value(i, cpu) = DATA + i * ELEM_STRIDE + cpu * VALUE_STRIDE
//
// with VALUE_STRIDE = round_up(value_size, 8) and ELEM_STRIDE = VALUE_STRIDE
// times the number of per-CPU copies (1 for array). Keeping one element's
// per-CPU copies together makes the user-space view one copy. The JIT inlines
// a lookup as a bounds check of the u32 key against MAX_ENTRIES and that sum.
// Elements always exist: delete is EINVAL, BPF_NOEXIST is EEXIST. Arrays have
// no mutable state besides their values, so threads attached to one
// (MapTable.attach) need no lock; BPF_F_LOCK copies under the value's
// bpf_spin_lock.

import type { Region } from '../vm/memory.js';
import { Desc } from './descriptor.js';
import { BpfMap, USER, type MapHost } from './base.js';
import { E2BIG, EEXIST, EINVAL, ENOENT } from './errno.js';
import { spinLockAt, spinUnlockAt } from './lock.js';
import { BPF_EXIST, BPF_F_LOCK, BPF_F_RDONLY_PROG, type ResolvedSpec } from './spec.js';

export class ArrayMap extends BpfMap {
  readonly region: Region;
  /** Address of element 0 (CPU 0). */
  readonly data: number;
  readonly elemStride: number;
  readonly perCpu: boolean;

  constructor(host: MapHost, spec: ResolvedSpec, id: number, attachAt?: number) {
    const perCpu = spec.typeName === 'percpu_array';
    super(host, spec, id, perCpu, attachAt);
    this.perCpu = perCpu;
    this.elemStride = this.valueStride * (perCpu ? host.cpus : 1);
    if (attachAt !== undefined) {
      this.region = this.attachedRegion(this.getDesc(Desc.DATA));
      this.data = this.region.start;
      this.iterKey = this.scratchWord();
      return;
    }
    const kind = spec.initial !== undefined || spec.name.startsWith('.') ? 'global' : 'map';
    this.region = this.allocData(this.elemStride * spec.maxEntries, {
      name: `map ${spec.name}`,
      kind,
      init: spec.initial,
      writable: (spec.flags & BPF_F_RDONLY_PROG) === 0,
    });
    this.data = this.region.start;
    this.setDesc(Desc.DATA, this.data);
    this.setDesc(Desc.ELEM_STRIDE, this.elemStride);
    if (spec.frozen) this.freeze(true);
    this.iterKey = this.scratchWord();
  }

  /** Where for_each puts the u32 index whose address the callback receives as the key. */
  private readonly iterKey: number;

  private mutableRegion: Region | undefined;

  protected override protectValues(): void {
    this.mutableRegion = this.mem.protect(this.mutableRegion ?? this.region, false);
  }

  override lookupAt(key: number, cpu: number): number {
    const i = this.mem.dv.getUint32(key, true);
    if (i >= this.maxEntries) return 0;
    return this.data + i * this.elemStride + (cpu > 0 && this.perCpu ? cpu * this.valueStride : 0);
  }

  override updateAt(key: number, value: number, flags: number, cpu: number): number {
    if ((flags & ~BPF_F_LOCK) > BPF_EXIST) return -EINVAL;
    const i = this.mem.dv.getUint32(key, true);
    if (i >= this.maxEntries) return -E2BIG;
    if ((flags & 3) === 1) return -EEXIST; // BPF_NOEXIST: every element exists
    const u8 = this.mem.u8;
    const at = this.data + i * this.elemStride;
    if ((flags & BPF_F_LOCK) !== 0) {
      if (this.spinLockOff < 0) return -EINVAL; // the value has no bpf_spin_lock
      const i32 = new Int32Array(u8.buffer);
      spinLockAt(i32, at + this.spinLockOff, this.name);
      this.copyValue(at, value);
      spinUnlockAt(i32, at + this.spinLockOff);
    } else if (!this.perCpu) this.copyValue(at, value);
    else if (cpu === USER) {
      // user space supplies every CPU's copy, each padded to 8 bytes
      for (let c = 0; c < this.host.cpus; c++) u8.copyWithin(at + c * this.valueStride, value + c * this.valueStride, value + c * this.valueStride + this.valueSize);
    } else {
      const dst = at + cpu * this.valueStride;
      u8.copyWithin(dst, value, value + this.valueSize);
    }
    return 0;
  }

  override deleteAt(_key: number): number {
    return -EINVAL;
  }

  override nextKeyAt(key: number, out: number): number {
    const dv = this.mem.dv;
    const i = key === 0 ? -1 : dv.getUint32(key, true);
    // an absent or out-of-range key restarts at 0, as the kernel does
    const next = i < 0 || i >= this.maxEntries ? 0 : i + 1;
    if (next >= this.maxEntries) return -ENOENT;
    dv.setUint32(out, next, true);
    return 0;
  }

  override forEachAt(cpu: number, cb: (key: number, value: number) => boolean): number {
    const k = this.iterKey;
    const dv = this.mem.dv;
    const off = this.perCpu && cpu > 0 ? cpu * this.valueStride : 0;
    let n = 0;
    for (let i = 0; i < this.maxEntries; i++) {
      dv.setUint32(k, i, true);
      n++;
      if (cb(k, this.data + i * this.elemStride + off)) break;
    }
    return n;
  }

  /** Element i's value for one CPU, as a view (no copy) into the runtime memory. */
  view(i: number, cpu = 0): Uint8Array {
    if (!Number.isInteger(i) || i < 0 || i >= this.maxEntries) throw this.error(E2BIG, 'view', `index ${i} out of range 0..${this.maxEntries - 1}`);
    const at = this.data + i * this.elemStride + cpu * this.valueStride;
    return this.mem.u8.subarray(at, at + this.valueSize);
  }

  protected freeData(): void {
    this.mem.free(this.mutableRegion ?? this.region);
  }
}
