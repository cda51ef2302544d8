// bloom_filter: a bit array in the runtime memory, queried with peek and
// filled with push. No false negatives; false positives at the rate the
// kernel's sizing gives. Sizing follows the kernel: nr_hashes from map_extra
// (default 5), bits = max_entries * nr_hashes / ln 2, rounded up to a power
// of two (at least 32). Bit i of the value is set by hash32(value, seed + i).
// Descriptor: DATA = bit array (u32 words), MASK = bits - 1, SEED,
// FREE = number of hash functions. The bits are the only state, so threads
// may attach (MapTable.attach); a shared filter sets bits with Atomics.or, so
// two threads pushing at once lose none.

import type { Region } from '../vm/memory.js';
import { BpfMap, USER, type MapHost } from './base.js';
import { Desc } from './descriptor.js';
import { EINVAL, ENOENT, EOPNOTSUPP } from './errno.js';
import { hash32, roundUpPow2 } from './hash-layout.js';
import { BPF_F_ZERO_SEED, type ResolvedSpec } from './spec.js';

const DEFAULT_HASHES = 5;
const MAX_BITS = 2 ** 31;

export class BloomFilterMap extends BpfMap {
  readonly region: Region;
  readonly hashes: number;
  readonly bits: number;
  private readonly seed: number;

  constructor(host: MapHost, spec: ResolvedSpec, id: number, attachAt?: number) {
    super(host, spec, id, false, attachAt);
    this.hashes = (spec.mapExtra & 0xf) || DEFAULT_HASHES;
    // 7/5 approximates 1/ln 2, as the kernel does
    const want = Math.ceil((spec.maxEntries * this.hashes * 7) / 5);
    this.bits = Math.min(MAX_BITS, Math.max(32, roundUpPow2(want)));
    if (attachAt !== undefined) {
      this.seed = this.getDesc(Desc.SEED);
      this.region = this.attachedRegion(this.getDesc(Desc.DATA));
      return;
    }
    this.seed = (spec.flags & BPF_F_ZERO_SEED) !== 0 ? 0 : (Math.random() * 0x100000000) >>> 0;
    this.region = this.allocData(this.bits / 8, { name: `map ${spec.name}`, kind: 'map', writable: false });
    this.setDesc(Desc.DATA, this.region.start);
    this.setDesc(Desc.MASK, this.bits - 1);
    this.setDesc(Desc.SEED, this.seed);
    this.setDesc(Desc.FREE, this.hashes);
  }

  private bit(value: number, i: number): number {
    return hash32(this.mem.u8, value, this.valueSize, (this.seed + i) | 0) & (this.bits - 1);
  }

  override pushAt(value: number, flags: number): number {
    if (flags !== 0) return -EINVAL;
    const u8 = this.mem.u8;
    const base = this.region.start;
    const shared = this.shared;
    for (let i = 0; i < this.hashes; i++) {
      const b = this.bit(value, i);
      if (shared) Atomics.or(u8, base + (b >>> 3), 1 << (b & 7));
      else u8[base + (b >>> 3)]! |= 1 << (b & 7);
    }
    return 0;
  }

  override popAt(value: number, remove: boolean): number {
    if (remove) return -EOPNOTSUPP;
    const u8 = this.mem.u8;
    const base = this.region.start;
    for (let i = 0; i < this.hashes; i++) {
      const b = this.bit(value, i);
      if ((u8[base + (b >>> 3)]! & (1 << (b & 7))) === 0) return -ENOENT;
    }
    return 0;
  }

  /** From user space an update is a push; programs must use map_push_elem (EINVAL). */
  override updateAt(_key: number, value: number, flags: number, cpu: number): number {
    return cpu === USER ? this.pushAt(value, flags) : -EINVAL;
  }

  override deleteAt(_key: number): number {
    return -EOPNOTSUPP;
  }

  override update(key: Uint8Array, value: Uint8Array, flags = 0): void {
    if (key.length !== 0) throw this.error(EINVAL, 'update', 'bloom_filter maps have no key');
    this.push(value, flags);
  }

  override *keys(): IterableIterator<Uint8Array> {}

  protected freeData(): void {
    this.mem.free(this.region);
  }
}
