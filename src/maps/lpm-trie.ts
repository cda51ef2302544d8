// lpm_trie: longest-prefix match over keys `struct { u32 prefixlen; u8 data[]; }`
// (data in network byte order, most significant bit first), as the kernel's
// path-compressed binary trie: every node holds a prefix; a node is either an
// element (it has a value) or an intermediate node that only joins two
// subtrees. Everything lives in the runtime memory, so threads that share the
// memory share the trie:
//
//   slot(i) = DATA + i * ELEM_STRIDE: [key: round_up(key_size, 8)][value]
//   node(n) = ENTRIES + (n - 1) * NODE: u32 prefixlen | i32 slot (-1: intermediate)
//             | u32 child0 | u32 child1 | u32 parent | u32 next free | data
//
// Node numbers start at 1 (0 is "none"); there are 2 * max_entries nodes, as
// a trie of n elements has at most n - 1 intermediate nodes. Each element's
// key and value sit in a preallocated slot, so the value pointer a lookup
// returns stays valid until the element is deleted. Descriptor fields:
// COUNT elements, FREE first free slot + 1, LRU_HEAD the root node,
// LRU_TAIL the first free node (free slots and nodes are chained through
// their first word / their `next free` word).
//
// Lookups compare the caller's key bytes in place and allocate nothing.
// Iteration (get_next_key, for_each) is post-order like the kernel's: more
// specific prefixes before the prefixes that contain them.
//
// Threads: once the map is shared, writers hold the map's writer lock and
// make the change counter SEQ odd while they change the trie. A lookup (what
// programs do; the kernel's walk under RCU) takes no lock: it reads SEQ,
// walks, and keeps the result only if SEQ was even and is unchanged; the walk
// is bounded and checks every node and slot number it reads, so a trie that
// changes under it yields a retry, never a wrong answer or a loop. After a
// few retries (writers keep coming) it takes the lock. get_next_key and
// for_each hold the lock; for_each collects the elements under it and calls
// the callback without it, so a callback may use the map.

import type { Region } from '../vm/memory.js';
import { BpfMap, type MapHost } from './base.js';
import { Desc } from './descriptor.js';
import { EEXIST, EINVAL, ENOENT, ENOSPC } from './errno.js';
import { lockWord, unlockWord } from './lock.js';
import { BPF_EXIST, BPF_NOEXIST, roundUp8, type ResolvedSpec } from './spec.js';

const PREFIXLEN = 0;
const SLOT = 4;
const CHILD0 = 8;
const CHILD1 = 12;
const PARENT = 16;
const NEXT_FREE = 20;
const NODE_DATA = 24;

const ROOT = Desc.LRU_HEAD;
const FREE_NODE = Desc.LRU_TAIL;
/** Change counter: odd while a writer changes the trie (the hash seed's field; tries have no seed). */
const SEQ = Desc.SEED;
/** Lock-free walks tried before a lookup takes the lock. */
const OPTIMISTIC_TRIES = 4;

export class LpmTrieMap extends BpfMap {
  /** The element slots. */
  readonly region: Region;
  /** The trie's nodes. */
  readonly nodes: Region;
  readonly maxPrefixlen: number;
  private readonly dataSize: number;
  private readonly slotSize: number;
  private readonly keyStride: number;
  private readonly nodeSize: number;
  private readonly nodeCount: number;

  constructor(host: MapHost, spec: ResolvedSpec, id: number, attachAt?: number) {
    super(host, spec, id, false, attachAt);
    this.dataSize = spec.keySize - 4;
    this.maxPrefixlen = this.dataSize * 8;
    this.keyStride = roundUp8(spec.keySize);
    this.slotSize = this.keyStride + this.valueStride;
    this.nodeSize = NODE_DATA + roundUp8(this.dataSize);
    this.nodeCount = 2 * spec.maxEntries;
    if (attachAt !== undefined) {
      this.region = this.attachedRegion(this.getDesc(Desc.DATA));
      this.nodes = this.attachedRegion(this.getDesc(Desc.ENTRIES));
      return;
    }
    const nodeCount = 2 * spec.maxEntries;
    if (!Number.isSafeInteger(this.nodeSize * nodeCount)) throw this.error(12, 'create', `${nodeCount} trie nodes do not fit in the runtime memory`);
    this.region = this.allocData(this.slotSize * spec.maxEntries, { name: `map ${spec.name}`, kind: 'map' });
    this.nodes = this.allocData(this.nodeSize * nodeCount, { name: `map ${spec.name} nodes`, kind: 'map', writable: false });
    const dv = this.mem.dv;
    // free lists: every slot, every node, in order
    for (let i = 0; i < spec.maxEntries; i++) dv.setUint32(this.slotAddr(i), i + 1 < spec.maxEntries ? i + 2 : 0, true);
    for (let n = 1; n <= nodeCount; n++) dv.setUint32(this.node(n) + NEXT_FREE, n < nodeCount ? n + 1 : 0, true);
    this.setDesc(Desc.DATA, this.region.start);
    this.setDesc(Desc.ELEM_STRIDE, this.slotSize);
    this.setDesc(Desc.ENTRIES, this.nodes.start);
    this.setDesc(Desc.FREE, spec.maxEntries > 0 ? 1 : 0);
    this.setDesc(FREE_NODE, 1);
  }

  get size(): number {
    return this.getDesc(Desc.COUNT);
  }

  /**
   * Take the map's lock when other threads may use the map; a writer also
   * makes SEQ odd. Returns whether it was taken (no closure per call).
   */
  private lock(write: boolean): boolean {
    if (!this.shared) return false;
    const i32 = this.words();
    lockWord(i32, (this.desc + Desc.LOCK) >>> 2, this.name);
    if (write) Atomics.add(i32, (this.desc + SEQ) >>> 2, 1);
    return true;
  }

  private unlock(held: boolean, write: boolean): void {
    if (!held) return;
    const i32 = this.words();
    if (write) Atomics.add(i32, (this.desc + SEQ) >>> 2, 1);
    unlockWord(i32, (this.desc + Desc.LOCK) >>> 2);
  }

  private slotAddr(slot: number): number {
    return this.region.start + slot * this.slotSize;
  }

  private node(n: number): number {
    return this.nodes.start + (n - 1) * this.nodeSize;
  }

  private get32(addr: number): number {
    return this.mem.dv.getUint32(addr, true);
  }

  private set32(addr: number, v: number): void {
    this.mem.dv.setUint32(addr, v >>> 0, true);
  }

  private prefixlen(n: number): number {
    return this.get32(this.node(n) + PREFIXLEN);
  }

  private slotOf(n: number): number {
    return this.mem.dv.getInt32(this.node(n) + SLOT, true);
  }

  private child(n: number, bit: number): number {
    return this.get32(this.node(n) + (bit === 0 ? CHILD0 : CHILD1));
  }

  private parent(n: number): number {
    return this.get32(this.node(n) + PARENT);
  }

  /** Leading bits that node `n` and the key (data at `kd`, length `pl`) share, at most min(prefixlen, pl). */
  private matchLen(n: number, kd: number, pl: number): number {
    const u8 = this.mem.u8;
    const nd = this.node(n) + NODE_DATA;
    const limit = Math.min(this.prefixlen(n), pl);
    let m = 0;
    for (let i = 0; m < limit; i++) {
      const x = u8[nd + i]! ^ u8[kd + i]!;
      if (x !== 0) return Math.min(m + Math.clz32(x) - 24, limit);
      m += 8;
    }
    return limit;
  }

  /** Bit `i` (0 = most significant of byte 0) of the data at `at`. */
  private bitAt(at: number, i: number): number {
    return (this.mem.u8[at + (i >>> 3)]! >>> (7 - (i & 7))) & 1;
  }

  override lookupAt(key: number, _cpu: number): number {
    if (!this.shared) return this.longest(key);
    const i32 = this.words();
    const seq = (this.desc + SEQ) >>> 2;
    for (let t = 0; t < OPTIMISTIC_TRIES; t++) {
      const s = Atomics.load(i32, seq);
      if ((s & 1) !== 0) continue; // a writer is in the trie
      const r = this.longest(key);
      if (r >= 0 && Atomics.load(i32, seq) === s) return r;
    }
    const held = this.lock(false);
    try {
      return this.longest(key);
    } finally {
      this.unlock(held, false);
    }
  }

  /**
   * The value address of the longest prefix matching the key at `key`, 0 for
   * none, or -1 when the walk read something no consistent trie has (a
   * writer was changing it: the caller retries).
   */
  private longest(key: number): number {
    const pl = Math.min(this.get32(key), this.maxPrefixlen);
    const kd = key + 4;
    let n = this.getDesc(ROOT);
    let found = -1;
    // each step goes to a longer prefix: more than maxPrefixlen + 1 steps is a torn read
    for (let steps = 0; n !== 0; steps++) {
      if (n > this.nodeCount || steps > this.maxPrefixlen + 1) return -1;
      const plen = this.prefixlen(n);
      if (plen > this.maxPrefixlen) return -1;
      if (this.matchLen(n, kd, pl) !== plen) break;
      const slot = this.slotOf(n);
      if (slot >= this.maxEntries) return -1;
      if (slot >= 0) found = slot;
      if (plen === pl) break;
      n = this.child(n, this.bitAt(kd, plen));
    }
    return found < 0 ? 0 : this.slotAddr(found) + this.keyStride;
  }

  /** Point `parent`'s link that held `old` (the root when parent is 0) at `next`. */
  private replaceChild(parent: number, old: number, next: number): void {
    if (next !== 0) this.set32(this.node(next) + PARENT, parent);
    if (parent === 0) this.setDesc(ROOT, next);
    else if (this.child(parent, 0) === old) this.set32(this.node(parent) + CHILD0, next);
    else this.set32(this.node(parent) + CHILD1, next);
  }

  /** Hang `child` under `parent` on the side of the child's bit at the parent's prefix length. */
  private link(parent: number, child: number): void {
    this.set32(this.node(child) + PARENT, parent);
    const side = this.bitAt(this.node(child) + NODE_DATA, this.prefixlen(parent)) === 0 ? CHILD0 : CHILD1;
    this.set32(this.node(parent) + side, child);
  }

  /** Take a free node with prefix `pl`, data copied from `data`, slot `slot`. */
  private newNode(pl: number, data: number, slot: number): number {
    const n = this.getDesc(FREE_NODE);
    const at = this.node(n);
    this.setDesc(FREE_NODE, this.get32(at + NEXT_FREE));
    const u8 = this.mem.u8;
    u8.fill(0, at, at + this.nodeSize);
    this.set32(at + PREFIXLEN, pl);
    this.mem.dv.setInt32(at + SLOT, slot, true);
    u8.copyWithin(at + NODE_DATA, data, data + this.dataSize);
    return n;
  }

  private freeNode(n: number): void {
    this.set32(this.node(n) + NEXT_FREE, this.getDesc(FREE_NODE));
    this.setDesc(FREE_NODE, n);
  }

  /** Take a free slot, store the key and value, and return it (-1 when the map is full). */
  private fill(key: number, value: number, pl: number): number {
    const head = this.getDesc(Desc.FREE);
    if (head === 0) return -1;
    const slot = head - 1;
    const at = this.slotAddr(slot);
    this.setDesc(Desc.FREE, this.get32(at));
    const u8 = this.mem.u8;
    u8.fill(0, at, at + this.keyStride);
    u8.copyWithin(at + 4, key + 4, key + this.keySize);
    this.set32(at, pl);
    u8.copyWithin(at + this.keyStride, value, value + this.valueSize);
    this.setDesc(Desc.COUNT, this.getDesc(Desc.COUNT) + 1);
    return slot;
  }

  private freeSlot(slot: number): void {
    this.set32(this.slotAddr(slot), this.getDesc(Desc.FREE));
    this.setDesc(Desc.FREE, slot + 1);
    this.setDesc(Desc.COUNT, this.getDesc(Desc.COUNT) - 1);
  }

  override updateAt(key: number, value: number, flags: number, _cpu: number): number {
    if (flags > BPF_EXIST) return -EINVAL;
    const pl = this.get32(key);
    if (pl > this.maxPrefixlen) return -EINVAL;
    const held = this.lock(true);
    try {
      return this.insert(key, value, flags, pl);
    } finally {
      this.unlock(held, true);
    }
  }

  private insert(key: number, value: number, flags: number, pl: number): number {
    const kd = key + 4;
    let parent = 0;
    let n = this.getDesc(ROOT);
    let m = 0;
    while (n !== 0) {
      m = this.matchLen(n, kd, pl);
      const plen = this.prefixlen(n);
      if (m !== plen || plen === pl) break;
      parent = n;
      n = this.child(n, this.bitAt(kd, plen));
    }
    if (n !== 0 && this.prefixlen(n) === pl && m === pl) {
      // the exact prefix is already a node
      const slot = this.slotOf(n);
      if (slot >= 0) {
        if (flags === BPF_NOEXIST) return -EEXIST;
        const at = this.slotAddr(slot) + this.keyStride;
        this.mem.u8.copyWithin(at, value, value + this.valueSize);
        return 0;
      }
      if (flags === BPF_EXIST) return -ENOENT;
      const fresh = this.fill(key, value, pl);
      if (fresh < 0) return -ENOSPC;
      this.mem.dv.setInt32(this.node(n) + SLOT, fresh, true);
      return 0;
    }
    if (flags === BPF_EXIST) return -ENOENT;
    const slot = this.fill(key, value, pl);
    if (slot < 0) return -ENOSPC;
    const fresh = this.newNode(pl, kd, slot);
    if (n === 0) {
      if (parent === 0) this.replaceChild(0, 0, fresh);
      else this.link(parent, fresh);
      return 0;
    }
    if (m === pl) {
      // the new prefix contains the node: it becomes the node's parent
      this.replaceChild(parent, n, fresh);
      this.link(fresh, n);
      return 0;
    }
    // they diverge at bit m: join them under an intermediate node
    const join = this.newNode(m, kd, -1);
    this.replaceChild(parent, n, join);
    this.link(join, n);
    this.link(join, fresh);
    return 0;
  }

  override deleteAt(key: number): number {
    const pl = this.get32(key);
    if (pl > this.maxPrefixlen) return -EINVAL;
    const held = this.lock(true);
    try {
      const n = this.exact(key);
      if (n === 0) return -ENOENT;
      this.freeSlot(this.slotOf(n));
      this.mem.dv.setInt32(this.node(n) + SLOT, -1, true);
      this.prune(n);
      return 0;
    } finally {
      this.unlock(held, true);
    }
  }

  /** Remove intermediate nodes that no longer join two subtrees, starting at `n`. */
  private prune(start: number): void {
    let n = start;
    while (n !== 0 && this.slotOf(n) < 0) {
      const parent = this.parent(n);
      const c0 = this.child(n, 0);
      const c1 = this.child(n, 1);
      if (c0 !== 0 && c1 !== 0) return;
      const only = c0 !== 0 ? c0 : c1;
      this.replaceChild(parent, n, only);
      this.freeNode(n);
      if (only !== 0) return; // the parent still has as many children as before
      n = parent;
    }
  }

  /** First node of the post-order walk of the subtree at `n`. */
  private deepest(n: number): number {
    for (;;) {
      const c0 = this.child(n, 0);
      const c = c0 !== 0 ? c0 : this.child(n, 1);
      if (c === 0) return n;
      n = c;
    }
  }

  /** The next node in post-order after `n` (0 at the end). */
  private after(n: number): number {
    const p = this.parent(n);
    if (p === 0) return 0;
    const c1 = this.child(p, 1);
    if (this.child(p, 0) === n && c1 !== 0) return this.deepest(c1);
    return p;
  }

  /** The next element in post-order from node `n` on (n itself if it is one). */
  private elementFrom(n: number): number {
    while (n !== 0 && this.slotOf(n) < 0) n = this.after(n);
    return n;
  }

  private firstElement(): number {
    const root = this.getDesc(ROOT);
    return root === 0 ? 0 : this.elementFrom(this.deepest(root));
  }

  /** The element whose key equals the key at `key` exactly, or 0. */
  private exact(key: number): number {
    const pl = this.get32(key);
    if (pl > this.maxPrefixlen) return 0;
    const kd = key + 4;
    let n = this.getDesc(ROOT);
    while (n !== 0) {
      const plen = this.prefixlen(n);
      if (this.matchLen(n, kd, pl) !== plen) return 0;
      if (plen === pl) return this.slotOf(n) >= 0 ? n : 0;
      n = this.child(n, this.bitAt(kd, plen));
    }
    return 0;
  }

  override nextKeyAt(key: number, out: number): number {
    const held = this.lock(false);
    try {
      const cur = key === 0 ? 0 : this.exact(key);
      const n = cur === 0 ? this.firstElement() : this.elementFrom(this.after(cur));
      if (n === 0) return -ENOENT;
      const at = this.slotAddr(this.slotOf(n));
      this.mem.u8.copyWithin(out, at, at + this.keySize);
      return 0;
    } finally {
      this.unlock(held, false);
    }
  }

  override forEachAt(_cpu: number, cb: (key: number, value: number) => boolean): number {
    const slots: number[] = [];
    const held = this.lock(false);
    try {
      for (let n = this.firstElement(); n !== 0; n = this.elementFrom(this.after(n))) slots.push(this.slotOf(n));
    } finally {
      this.unlock(held, false);
    }
    let count = 0;
    for (const slot of slots) {
      const at = this.slotAddr(slot);
      count++;
      if (cb(at, at + this.keyStride)) break;
    }
    return count;
  }

  protected freeData(): void {
    this.mem.free(this.region);
    this.mem.free(this.nodes);
  }
}
