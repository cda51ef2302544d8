// The XDP redirect targets, for bpf_redirect_map: devmap, devmap_hash,
// cpumap and xskmap (kernel/bpf/devmap.c, cpumap.c, net/xdp/xskmap.c).
// A runtime has one network device, loopback (ifindex 1), the CPUs of its
// MapTable, and no AF_XDP sockets, so:
// - devmap / devmap_hash entries name ifindex 1 (any other ifindex is
//   EINVAL, as for a device that does not exist; a devmap program fd is
//   EOPNOTSUPP); devmap_hash is keyed by any u32;
// - cpumap entries exist for a possible CPU with a non-zero queue size
//   (qsize 0 deletes, qsize above 16384 is EOVERFLOW);
// - xskmap updates are EOPNOTSUPP (there is no socket to store), so its
//   slots stay empty.
// Values live in a region of the runtime memory, read-only to programs, so a
// program's bpf_map_lookup_elem on a devmap returns the kernel's struct
// bpf_devmap_val (ifindex, program id 0); which slots are filled is kept here.

import type { Region } from '../vm/memory.js';
import { BpfMap, USER, type MapHost } from './base.js';
import { Desc } from './descriptor.js';
import { E2BIG, EEXIST, EINVAL, ENOENT, EOPNOTSUPP } from './errno.js';
import { BPF_EXIST, BPF_NOEXIST, type ResolvedSpec } from './spec.js';

const LOOPBACK_IFINDEX = 1;
const EOVERFLOW = 75;
/** cpumap's largest queue. */
const CPUMAP_MAX_QSIZE = 16384;
/** Slot bytes: struct bpf_devmap_val / bpf_cpumap_val (a u32 and a program fd or id). */
const SLOT = 8;

export type RedirectMapKind = 'devmap' | 'devmap_hash' | 'cpumap' | 'xskmap';

export class RedirectMap extends BpfMap {
  readonly kind: RedirectMapKind;
  private readonly region: Region;
  /** Slot index per key (devmap_hash), or filled flags by index (the others). */
  private readonly hashSlots = new Map<number, number>();
  private readonly filled: Uint8Array;
  private readonly possibleCpus: number;

  constructor(host: MapHost, spec: ResolvedSpec, id: number) {
    super(host, spec, id);
    this.kind = spec.typeName as RedirectMapKind;
    this.possibleCpus = host.cpus;
    const vs = spec.valueSize;
    if (spec.keySize !== 4) throw this.error(EINVAL, 'create', `key_size must be 4 for ${spec.typeName}, got ${spec.keySize}`);
    if (spec.maxEntries === 0) throw this.error(EINVAL, 'create', 'max_entries must not be 0');
    if (this.kind === 'xskmap' ? vs !== 4 : vs !== 4 && vs !== 8) throw this.error(EINVAL, 'create', `value_size ${vs} is not valid for ${spec.typeName}`);
    this.filled = new Uint8Array(spec.maxEntries);
    this.region = this.allocData(SLOT * spec.maxEntries, { name: `map ${spec.name}`, kind: 'map', writable: false });
    this.setDesc(Desc.DATA, this.region.start);
  }

  /** The entry for `key`, or undefined: what bpf_redirect_map looks up. */
  target(key: number): number | undefined {
    const i = this.slotOf(key >>> 0);
    return i === undefined ? undefined : this.mem.dv.getUint32(this.region.start + i * SLOT, true);
  }

  private slotOf(key: number): number | undefined {
    if (this.kind === 'devmap_hash') return this.hashSlots.get(key);
    return key < this.maxEntries && this.filled[key] === 1 ? key : undefined;
  }

  override lookupAt(key: number, cpu: number): number {
    // cpumap and xskmap values are not for programs (the verifier refuses cpumap lookups; xsk slots are empty)
    if (cpu !== USER && this.kind === 'cpumap') return 0;
    const i = this.slotOf(this.mem.dv.getUint32(key, true));
    return i === undefined ? 0 : this.region.start + i * SLOT;
  }

  override lookup(key: Uint8Array): Uint8Array | undefined {
    if (this.kind === 'xskmap') throw this.error(EOPNOTSUPP, 'lookup', 'xskmap values (AF_XDP sockets) cannot be read from user space');
    return super.lookup(key);
  }

  override updateAt(key: number, value: number, flags: number, cpu: number): number {
    if (cpu !== USER) return -EINVAL; // programs cannot update redirect maps
    if (flags > BPF_EXIST) return -EINVAL;
    const dv = this.mem.dv;
    const k = dv.getUint32(key, true);
    const v = dv.getUint32(value, true);
    const fd = this.valueSize === 8 ? dv.getInt32(value + 4, true) : 0;
    switch (this.kind) {
      case 'xskmap':
        if (k >= this.maxEntries) return -E2BIG;
        return -EOPNOTSUPP; // no AF_XDP socket to put there
      case 'devmap':
        if (k >= this.maxEntries) return -E2BIG;
        if (flags === BPF_NOEXIST) return -EEXIST;
        if (v === 0) {
          if (fd > 0) return -EINVAL;
          this.filled[k] = 0;
          return 0;
        }
        if (v !== LOOPBACK_IFINDEX) return -EINVAL;
        if (fd > 0) return -EOPNOTSUPP;
        this.store(k, v);
        this.filled[k] = 1;
        return 0;
      case 'devmap_hash': {
        const old = this.hashSlots.get(k);
        if (v === 0 || v !== LOOPBACK_IFINDEX) return -EINVAL;
        if (fd > 0) return -EOPNOTSUPP;
        if (old !== undefined && flags === BPF_NOEXIST) return -EEXIST;
        let slot = old;
        if (slot === undefined) {
          slot = this.filled.indexOf(0);
          if (slot < 0) return -E2BIG;
          this.filled[slot] = 1;
          this.hashSlots.set(k, slot);
        }
        this.store(slot, v);
        return 0;
      }
      case 'cpumap':
        if (k >= this.maxEntries) return -E2BIG;
        if (flags === BPF_NOEXIST) return -EEXIST;
        if (v > CPUMAP_MAX_QSIZE) return -EOVERFLOW;
        if (k >= this.possibleCpus) return -19; // ENODEV: not a possible CPU
        if (fd > 0) return -EOPNOTSUPP;
        if (v === 0) {
          this.filled[k] = 0;
          return 0;
        }
        this.store(k, v);
        this.filled[k] = 1;
        return 0;
    }
  }

  /** Write a slot: the u32 (ifindex or qsize), then the program id (always 0 here). */
  private store(slot: number, v: number): void {
    const at = this.region.start + slot * SLOT;
    this.mem.dv.setUint32(at, v, true);
    this.mem.dv.setUint32(at + 4, 0, true);
  }

  override deleteAt(key: number): number {
    const k = this.mem.dv.getUint32(key, true);
    if (this.kind === 'devmap_hash') {
      const slot = this.hashSlots.get(k);
      if (slot === undefined) return -ENOENT;
      this.hashSlots.delete(k);
      this.filled[slot] = 0;
      return 0;
    }
    // the array kinds clear the slot whether or not it held anything
    if (k >= this.maxEntries) return -EINVAL;
    this.filled[k] = 0;
    return 0;
  }

  override nextKeyAt(key: number, out: number): number {
    const dv = this.mem.dv;
    if (this.kind === 'devmap_hash') {
      const keys = [...this.hashSlots.keys()];
      const at = key === 0 ? -1 : keys.indexOf(dv.getUint32(key, true));
      const next = keys[at + 1];
      if (next === undefined) return -ENOENT;
      dv.setUint32(out, next, true);
      return 0;
    }
    // array kinds: every index, as the kernel walks them (an absent or bad key starts at 0)
    const i = key === 0 ? -1 : dv.getUint32(key, true);
    const next = i < 0 || i >= this.maxEntries ? 0 : i + 1;
    if (next >= this.maxEntries) return -ENOENT;
    dv.setUint32(out, next, true);
    return 0;
  }

  protected freeData(): void {
    this.mem.free(this.region);
    this.hashSlots.clear();
  }
}
