// array_of_maps and hash_of_maps. A slot holds the inner map's descriptor
// address (what a program's map pointer holds), so map_lookup_elem from a
// program returns the inner map pointer itself, as the kernel's does, and
// the JIT can inline it as one load. User space speaks in map ids: update
// takes the inner map's id and lookup returns it. An inner map must match
// the template (type, key_size, value_size, map_flags, and max_entries unless
// the template has BPF_F_INNER_MAP), or the update is EINVAL.

import { ArrayMap } from './array.js';
import { USER, type BpfMap, type MapHost } from './base.js';
import { EINVAL, ENOENT } from './errno.js';
import { HashMap } from './hash.js';
import { BPF_F_INNER_MAP, type ResolvedSpec } from './spec.js';

function checkInner(outer: BpfMap, inner: BpfMap | undefined, id: number, tmpl: ResolvedSpec): string | undefined {
  if (inner === undefined) return `no map with id ${id}`;
  if (inner.type !== tmpl.type) return `inner map '${inner.name}' is ${inner.typeName}, the template is ${tmpl.typeName}`;
  if (inner.keySize !== tmpl.keySize || inner.valueSize !== tmpl.valueSize)
    return `inner map '${inner.name}' has key/value size ${inner.keySize}/${inner.valueSize}, the template ${tmpl.keySize}/${tmpl.valueSize}`;
  if ((inner.flags & ~BPF_F_INNER_MAP) !== (tmpl.flags & ~BPF_F_INNER_MAP)) return `inner map '${inner.name}' has different map_flags`;
  if ((tmpl.flags & BPF_F_INNER_MAP) === 0 && inner.maxEntries !== tmpl.maxEntries)
    return `inner map '${inner.name}' has max_entries ${inner.maxEntries}, the template ${tmpl.maxEntries}`;
  if (inner === outer) return 'a map cannot contain itself';
  return undefined;
}

/** User value (an inner map id) to the slot's bytes (its descriptor address); throws EINVAL for a bad inner map. */
function innerDescBytes(outer: BpfMap, host: MapHost, value: Uint8Array, op: string): Uint8Array {
  const id = new DataView(value.buffer, value.byteOffset, 4).getUint32(0, true);
  const inner = host.byId(id);
  const why = checkInner(outer, inner, id, outer.spec.innerMap!);
  if (why !== undefined) throw outer.error(EINVAL, op, why);
  const raw = new Uint8Array(4);
  new DataView(raw.buffer).setUint32(0, inner!.desc, true);
  return raw;
}

/** The slot's descriptor address back to the inner map's id. */
function innerId(host: MapHost, slot: number): Uint8Array {
  const desc = host.mem.dv.getUint32(slot, true);
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, host.byDesc(desc)?.id ?? 0, true);
  return out;
}

export class ArrayOfMaps extends ArrayMap {
  protected override stageValue(value: Uint8Array, op: string): number {
    if (value.length !== 4) return super.stageValue(value, op);
    return super.stageValue(innerDescBytes(this, this.host, value, op), op);
  }

  protected override exportValue(addr: number): Uint8Array {
    return innerId(this.host, addr);
  }

  /** A program gets the inner map pointer (or NULL); user space gets the slot (0 = empty). */
  override lookupAt(key: number, cpu: number): number {
    const slot = super.lookupAt(key, cpu);
    if (slot === 0) return 0;
    const desc = this.mem.dv.getUint32(slot, true);
    if (cpu === USER) return desc === 0 ? 0 : slot;
    return desc;
  }

  override updateAt(key: number, value: number, flags: number, cpu: number): number {
    if (cpu !== USER) return -EINVAL;
    return super.updateAt(key, value, flags, cpu);
  }

  /** Emptying a slot: the kernel allows delete on array_of_maps. */
  override deleteAt(key: number): number {
    const i = this.mem.dv.getUint32(key, true);
    if (i >= this.maxEntries) return -EINVAL;
    const at = this.data + i * this.elemStride;
    if (this.mem.dv.getUint32(at, true) === 0) return -ENOENT;
    this.mem.dv.setUint32(at, 0, true);
    return 0;
  }
}

export class HashOfMaps extends HashMap {
  protected override stageValue(value: Uint8Array, op: string): number {
    if (value.length !== 4) return super.stageValue(value, op);
    return super.stageValue(innerDescBytes(this, this.host, value, op), op);
  }

  protected override exportValue(addr: number): Uint8Array {
    return innerId(this.host, addr);
  }

  override lookupAt(key: number, cpu: number): number {
    const slot = super.lookupAt(key, cpu);
    if (slot === 0 || cpu === USER) return slot;
    return this.mem.dv.getUint32(slot, true);
  }

  override updateAt(key: number, value: number, flags: number, cpu: number): number {
    if (cpu !== USER) return -EINVAL;
    return super.updateAt(key, value, flags, cpu);
  }
}
