// A map seen through its BTF key and value types: lookups, updates and
// iteration with decoded objects (the printer's BtfValue) instead of bytes.
// Byte arrays still pass through unchanged, so one API serves both; without
// BTF (or for a side without a type) the bytes are all there is.

import type { Btf } from '../btf/btf.js';
import { btfValue, type BtfValue } from '../btf/print.js';
import { UsageError } from '../internal/errors.js';
import type { BpfMap } from '../maps/base.js';
import { BPF_ANY } from '../maps/spec.js';
import { encodeBtfValue } from './encode-value.js';

export type KeyOrValue = Uint8Array | BtfValue;

export interface TypedEntry {
  readonly key: BtfValue | Uint8Array;
  readonly value: BtfValue | Uint8Array;
}

export class TypedMap {
  readonly map: BpfMap;
  readonly btf: Btf | undefined;
  readonly keyTypeId: number | undefined;
  readonly valueTypeId: number | undefined;

  constructor(map: BpfMap, btf: Btf | undefined, keyTypeId: number | undefined, valueTypeId: number | undefined) {
    this.map = map;
    this.btf = btf;
    this.keyTypeId = btf !== undefined ? keyTypeId : undefined;
    this.valueTypeId = btf !== undefined ? valueTypeId : undefined;
  }

  /** Per-CPU values are `cpus` copies; they decode as a list of values. */
  private get perCpuCopies(): number {
    return this.map.userValueSize === this.map.valueSize ? 0 : this.map.userValueSize / this.map.valueStride;
  }

  encodeKey(k: KeyOrValue): Uint8Array {
    if (k instanceof Uint8Array) return k;
    if (this.keyTypeId === undefined) throw new UsageError(`map '${this.map.name}' has no BTF key type: pass the key as bytes`);
    return encodeBtfValue(this.btf!, this.keyTypeId, k, 'key');
  }

  encodeValue(v: KeyOrValue): Uint8Array {
    if (v instanceof Uint8Array) return v;
    if (this.valueTypeId === undefined) throw new UsageError(`map '${this.map.name}' has no BTF value type: pass the value as bytes`);
    const copies = this.perCpuCopies;
    if (copies === 0) return encodeBtfValue(this.btf!, this.valueTypeId, v);
    if (!Array.isArray(v) || v.length !== copies) throw new UsageError(`map '${this.map.name}' is per-CPU: pass ${copies} values`);
    const out = new Uint8Array(this.map.userValueSize);
    v.forEach((x, i) => out.set(encodeBtfValue(this.btf!, this.valueTypeId!, x), i * this.map.valueStride));
    return out;
  }

  decodeKey(b: Uint8Array): BtfValue | Uint8Array {
    return this.keyTypeId === undefined ? b : btfValue(this.btf!, this.keyTypeId, b);
  }

  decodeValue(b: Uint8Array): BtfValue | Uint8Array {
    if (this.valueTypeId === undefined) return b;
    const copies = this.perCpuCopies;
    if (copies === 0) return btfValue(this.btf!, this.valueTypeId, b);
    const list: BtfValue[] = [];
    for (let i = 0; i < copies; i++) list.push(btfValue(this.btf!, this.valueTypeId, b, i * this.map.valueStride));
    return list;
  }

  lookup(key: KeyOrValue): BtfValue | Uint8Array | undefined {
    const v = this.map.lookup(this.encodeKey(key));
    return v === undefined ? undefined : this.decodeValue(v);
  }

  update(key: KeyOrValue, value: KeyOrValue, flags: number = BPF_ANY): void {
    this.map.update(this.encodeKey(key), this.encodeValue(value), flags);
  }

  delete(key: KeyOrValue): void {
    this.map.delete(this.encodeKey(key));
  }

  /** Up to `count` entries after `cursor` (a key, decoded or bytes), decoded; `cursor` continues the walk. */
  lookupBatch(count: number, cursor?: KeyOrValue): { entries: TypedEntry[]; cursor: BtfValue | Uint8Array | undefined } {
    const r = this.map.lookupBatch(count, cursor === undefined ? undefined : this.encodeKey(cursor));
    return {
      entries: r.keys.map((k, i) => ({ key: this.decodeKey(k), value: this.decodeValue(r.values[i]!) })),
      cursor: r.cursor === undefined ? undefined : this.decodeKey(r.cursor),
    };
  }

  updateBatch(entries: readonly { key: KeyOrValue; value: KeyOrValue }[], flags: number = BPF_ANY): void {
    this.map.updateBatch(entries.map((e) => this.encodeKey(e.key)), entries.map((e) => this.encodeValue(e.value)), flags);
  }

  deleteBatch(keys: readonly KeyOrValue[]): void {
    this.map.deleteBatch(keys.map((k) => this.encodeKey(k)));
  }

  *keys(): IterableIterator<BtfValue | Uint8Array> {
    for (const k of this.map.keys()) yield this.decodeKey(k);
  }

  *entries(): IterableIterator<TypedEntry> {
    for (const [k, v] of this.map.entries()) yield { key: this.decodeKey(k), value: this.decodeValue(v) };
  }
}
