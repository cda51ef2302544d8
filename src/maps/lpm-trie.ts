// lpm_trie: longest-prefix match over keys `struct { u32 prefixlen; u8 data[]; }`
// (data in network byte order, most significant bit first), as the kernel's
// path-compressed binary trie: every node holds a prefix; a node is either an
// element (it has a value) or an intermediate node that only joins two
// subtrees. The trie's shape lives in JavaScript; each element's key and value
// live in a preallocated slot in the runtime memory, so the value pointer a
// lookup returns stays valid until the element is deleted:
//
//   slot(i) = DATA + i * ELEM_STRIDE: [key: round_up(key_size, 8)][value]
//
// Lookups compare the caller's key bytes in place and allocate nothing.
// Iteration (get_next_key, for_each) is post-order like the kernel's: more
// specific prefixes before the prefixes that contain them.

import type { Region } from '../vm/memory.js';
import { BpfMap, type MapHost } from './base.js';
import { Desc } from './descriptor.js';
import { EEXIST, EINVAL, ENOENT, ENOSPC } from './errno.js';
import { BPF_EXIST, BPF_NOEXIST, roundUp8, type ResolvedSpec } from './spec.js';

interface Node {
  prefixlen: number;
  data: Uint8Array;
  /** Slot index for an element; -1 for an intermediate node. */
  slot: number;
  child0: Node | null;
  child1: Node | null;
  parent: Node | null;
}

export class LpmTrieMap extends BpfMap {
  readonly region: Region;
  readonly maxPrefixlen: number;
  private readonly dataSize: number;
  private readonly slotSize: number;
  private readonly keyStride: number;
  private root: Node | null = null;
  private count = 0;
  private readonly freeSlots: Int32Array;
  private nFree: number;

  constructor(host: MapHost, spec: ResolvedSpec, id: number) {
    super(host, spec, id);
    this.dataSize = spec.keySize - 4;
    this.maxPrefixlen = this.dataSize * 8;
    this.keyStride = roundUp8(spec.keySize);
    this.slotSize = this.keyStride + this.valueStride;
    this.region = this.allocData(this.slotSize * spec.maxEntries, { name: `map ${spec.name}`, kind: 'map' });
    this.freeSlots = new Int32Array(spec.maxEntries);
    for (let i = 0; i < spec.maxEntries; i++) this.freeSlots[i] = spec.maxEntries - 1 - i;
    this.nFree = spec.maxEntries;
    this.setDesc(Desc.DATA, this.region.start);
    this.setDesc(Desc.ELEM_STRIDE, this.slotSize);
  }

  get size(): number {
    return this.count;
  }

  private slotAddr(slot: number): number {
    return this.region.start + slot * this.slotSize;
  }

  /** Leading bits that node and the key (data at `kd`, length `pl`) share, at most min(node.prefixlen, pl). */
  private matchLen(node: Node, kd: number, pl: number): number {
    const u8 = this.mem.u8;
    const limit = Math.min(node.prefixlen, pl);
    let n = 0;
    for (let i = 0; n < limit; i++) {
      const x = node.data[i]! ^ u8[kd + i]!;
      if (x !== 0) return Math.min(n + Math.clz32(x) - 24, limit);
      n += 8;
    }
    return limit;
  }

  /** Bit `i` (0 = most significant of byte 0) of the key data at `kd`. */
  private bitAt(kd: number, i: number): number {
    return (this.mem.u8[kd + (i >>> 3)]! >>> (7 - (i & 7))) & 1;
  }

  private static bitOf(data: Uint8Array, i: number): number {
    return (data[i >>> 3]! >>> (7 - (i & 7))) & 1;
  }

  override lookupAt(key: number, _cpu: number): number {
    const pl = Math.min(this.mem.dv.getUint32(key, true), this.maxPrefixlen);
    const kd = key + 4;
    let node = this.root;
    let found: Node | null = null;
    while (node !== null) {
      const m = this.matchLen(node, kd, pl);
      if (m !== node.prefixlen) break;
      if (node.slot >= 0) found = node;
      if (node.prefixlen === pl) break;
      node = this.bitAt(kd, node.prefixlen) === 0 ? node.child0 : node.child1;
    }
    return found === null ? 0 : this.slotAddr(found.slot) + this.keyStride;
  }

  private setChild(parent: Node | null, old: Node | null, next: Node | null): void {
    if (next !== null) next.parent = parent;
    if (parent === null) this.root = next;
    else if (parent.child0 === old) parent.child0 = next;
    else parent.child1 = next;
  }

  private attach(parent: Node, child: Node): void {
    child.parent = parent;
    if (LpmTrieMap.bitOf(child.data, parent.prefixlen) === 0) parent.child0 = child;
    else parent.child1 = child;
  }

  /** Take a slot, store the key and value, and return it. */
  private fill(key: number, value: number, pl: number): number {
    const slot = this.freeSlots[--this.nFree]!;
    const at = this.slotAddr(slot);
    const u8 = this.mem.u8;
    u8.fill(0, at, at + this.keyStride);
    u8.copyWithin(at + 4, key + 4, key + this.keySize);
    this.mem.dv.setUint32(at, pl, true);
    u8.copyWithin(at + this.keyStride, value, value + this.valueSize);
    this.count++;
    this.setDesc(Desc.COUNT, this.count);
    return slot;
  }

  override updateAt(key: number, value: number, flags: number, _cpu: number): number {
    if (flags > BPF_EXIST) return -EINVAL;
    const pl = this.mem.dv.getUint32(key, true);
    if (pl > this.maxPrefixlen) return -EINVAL;
    const kd = key + 4;
    let parent: Node | null = null;
    let node = this.root;
    let m = 0;
    while (node !== null) {
      m = this.matchLen(node, kd, pl);
      if (m !== node.prefixlen || node.prefixlen === pl) break;
      parent = node;
      node = this.bitAt(kd, node.prefixlen) === 0 ? node.child0 : node.child1;
    }
    if (node !== null && node.prefixlen === pl && m === pl) {
      // the exact prefix is already a node
      if (node.slot >= 0) {
        if (flags === BPF_NOEXIST) return -EEXIST;
        const at = this.slotAddr(node.slot) + this.keyStride;
        this.mem.u8.copyWithin(at, value, value + this.valueSize);
        return 0;
      }
      if (flags === BPF_EXIST) return -ENOENT;
      if (this.nFree === 0) return -ENOSPC;
      node.slot = this.fill(key, value, pl);
      return 0;
    }
    if (flags === BPF_EXIST) return -ENOENT;
    if (this.nFree === 0) return -ENOSPC;
    const slot = this.fill(key, value, pl);
    const fresh: Node = { prefixlen: pl, data: this.mem.u8.slice(kd, kd + this.dataSize), slot, child0: null, child1: null, parent: null };
    if (node === null) {
      if (parent === null) this.setChild(null, null, fresh);
      else this.attach(parent, fresh);
      return 0;
    }
    if (m === pl) {
      // the new prefix contains the node: it becomes the node's parent
      this.setChild(parent, node, fresh);
      this.attach(fresh, node);
      return 0;
    }
    // they diverge at bit m: join them under an intermediate node
    const join: Node = { prefixlen: m, data: fresh.data.slice(), slot: -1, child0: null, child1: null, parent: null };
    this.setChild(parent, node, join);
    this.attach(join, node);
    this.attach(join, fresh);
    return 0;
  }

  override deleteAt(key: number): number {
    const pl = this.mem.dv.getUint32(key, true);
    if (pl > this.maxPrefixlen) return -EINVAL;
    const kd = key + 4;
    let node = this.root;
    while (node !== null) {
      const m = this.matchLen(node, kd, pl);
      if (m !== node.prefixlen || node.prefixlen === pl) break;
      node = this.bitAt(kd, node.prefixlen) === 0 ? node.child0 : node.child1;
    }
    if (node === null || node.prefixlen !== pl || node.slot < 0 || this.matchLen(node, kd, pl) !== pl) return -ENOENT;
    this.freeSlots[this.nFree++] = node.slot;
    node.slot = -1;
    this.count--;
    this.setDesc(Desc.COUNT, this.count);
    this.prune(node);
    return 0;
  }

  /** Remove intermediate nodes that no longer join two subtrees, starting at `node`. */
  private prune(node: Node): void {
    let n: Node | null = node;
    while (n !== null && n.slot < 0) {
      const parent: Node | null = n.parent;
      if (n.child0 !== null && n.child1 !== null) return;
      const only = n.child0 ?? n.child1;
      this.setChild(parent, n, only);
      if (only !== null) return; // the parent still has as many children as before
      n = parent;
    }
  }

  /** First node of the post-order walk of the subtree at `n`. */
  private static deepest(n: Node): Node {
    for (;;) {
      const c = n.child0 ?? n.child1;
      if (c === null) return n;
      n = c;
    }
  }

  /** The next node in post-order after `n`. */
  private static after(n: Node): Node | null {
    const p = n.parent;
    if (p === null) return null;
    if (p.child0 === n && p.child1 !== null) return LpmTrieMap.deepest(p.child1);
    return p;
  }

  private firstElement(): Node | null {
    let n = this.root === null ? null : LpmTrieMap.deepest(this.root);
    while (n !== null && n.slot < 0) n = LpmTrieMap.after(n);
    return n;
  }

  /** The element whose key equals the key at `key` exactly, or null. */
  private exact(key: number): Node | null {
    const pl = this.mem.dv.getUint32(key, true);
    if (pl > this.maxPrefixlen) return null;
    const kd = key + 4;
    let node = this.root;
    while (node !== null) {
      const m = this.matchLen(node, kd, pl);
      if (m !== node.prefixlen) return null;
      if (node.prefixlen === pl) return node.slot >= 0 ? node : null;
      node = this.bitAt(kd, node.prefixlen) === 0 ? node.child0 : node.child1;
    }
    return null;
  }

  override nextKeyAt(key: number, out: number): number {
    const cur = key === 0 ? null : this.exact(key);
    let n: Node | null;
    if (cur === null) n = this.firstElement();
    else {
      n = LpmTrieMap.after(cur);
      while (n !== null && n.slot < 0) n = LpmTrieMap.after(n);
    }
    if (n === null) return -ENOENT;
    const at = this.slotAddr(n.slot);
    this.mem.u8.copyWithin(out, at, at + this.keySize);
    return 0;
  }

  override forEachAt(_cpu: number, cb: (key: number, value: number) => boolean): number {
    let n = this.firstElement();
    let count = 0;
    while (n !== null) {
      let next = LpmTrieMap.after(n);
      while (next !== null && next.slot < 0) next = LpmTrieMap.after(next);
      const at = this.slotAddr(n.slot);
      count++;
      if (cb(at, at + this.keyStride)) break;
      n = next;
    }
    return count;
  }

  protected freeData(): void {
    this.mem.free(this.region);
  }
}
