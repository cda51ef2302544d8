// The kernel's LRU for lru_hash and lru_percpu_hash (kernel/bpf/bpf_lru_list.c,
// the "common LRU"), reproduced operation for operation so a map evicts the
// same keys the kernel does when the same CPU performs the same operations.
//
// Every entry is a node on exactly one list: the global active, inactive or
// free list, or one CPU's local free or pending list. A new element takes a
// node from its CPU's local free list, refilled from the global free list
// (after flushing the CPU's pending nodes into active/inactive and rotating
// the lists) or, when that is empty, by shrinking the inactive list: nodes
// without the reference bit are deleted from the hash table. Program lookups
// set the reference bit; rotations move referenced nodes to the head of the
// active list and unreferenced ones towards eviction. target_free is
// clamp(max_entries / cpus / 2, 1, 128) nodes per refill, nr_scans 128.
//
// Everything lives in the map's region of the shared memory, so threads that
// attached the map share it; the map's writer lock guards it (the kernel has
// one lock for the global lists and one per CPU; one lock is simpler and the
// order of operations is the same).
//
// Layout: lists are circular and doubly linked through the entry words
// ENTRY_LRU_PREV (+8) and ENTRY_LRU_NEXT (+12), with sentinel "nodes" in a
// header, as the kernel's list_head; sentinel k sits at HEADER + 8k, so its
// prev/next words are HEADER + 8k + 8 and + 12. The entry word +20 holds the
// node's list type (low byte, the kernel's enum bpf_lru_list_type) and the
// CPU it is pending on (bits 8..). BPF_F_NO_COMMON_LRU (per-CPU lists) is
// treated as the common LRU.

import { ENTRY_FLAGS, ENTRY_LRU_NEXT, ENTRY_LRU_PREV, FLAG_REF } from './hash-layout.js';

/** enum bpf_lru_list_type. */
const ACTIVE = 0;
const INACTIVE = 1;
const FREE = 2;
const LOCAL_FREE = 3;
const LOCAL_PENDING = 4;

const LOCAL_FREE_TARGET = 128;
const NR_SCANS = LOCAL_FREE_TARGET;

const ENTRY_LRU_NODE = 20;
const PREV = ENTRY_LRU_PREV >>> 2;
const NEXT = ENTRY_LRU_NEXT >>> 2;
const FLAGS = ENTRY_FLAGS >>> 2;
const NODE = ENTRY_LRU_NODE >>> 2;

/** Bytes of the LRU header for `cpus` CPUs. */
export function lruHeaderBytes(cpus: number): number {
  return 8 * (3 + 2 * cpus) + 8 + 12 + 4 * cpus;
}

/** Removes a node's element from the hash table if it is in one (the kernel's del_from_htab); true when it was. */
export type DelFromHtab = (e: number) => boolean;

export class KernelLru {
  private readonly active: number;
  private readonly inactive: number;
  private readonly free: number;
  /** u32 index of the scalars: counts[ACTIVE], counts[INACTIVE], next_inactive_rotation, next_steal[cpu]... */
  private readonly x: number;
  private readonly targetFree: number;

  constructor(
    private u32: Int32Array,
    private readonly header: number,
    private readonly cpus: number,
    nrElems: number,
    private readonly delFromHtab: DelFromHtab,
  ) {
    this.active = header;
    this.inactive = header + 8;
    this.free = header + 16;
    this.x = (header + 8 * (3 + 2 * cpus) + 8) >>> 2;
    this.targetFree = Math.min(LOCAL_FREE_TARGET, Math.max(1, Math.floor(Math.floor(nrElems / cpus) / 2)));
  }

  /** Follow the memory's views after a grow. */
  setView(u32: Int32Array): void {
    this.u32 = u32;
  }

  /** bpf_lru_init + bpf_common_lru_populate: every entry onto the global free list (the last one first). */
  init(entries: number, stride: number, count: number): void {
    const u32 = this.u32;
    for (let k = 0; k < 3 + 2 * this.cpus; k++) this.initHead(this.header + 8 * k);
    u32[this.x] = 0;
    u32[this.x + 1] = 0;
    u32[this.x + 2] = this.inactive;
    for (let c = 0; c < this.cpus; c++) u32[this.x + 3 + c] = c;
    for (let i = 0; i < count; i++) {
      const e = entries + i * stride;
      u32[(e >>> 2) + NODE] = FREE;
      this.clearRef(e);
      this.listAdd(e, this.free);
    }
  }

  // ---- the kernel's list_head operations -----------------------------------

  private initHead(h: number): void {
    this.u32[(h >>> 2) + PREV] = h;
    this.u32[(h >>> 2) + NEXT] = h;
  }
  private next(n: number): number {
    return this.u32[(n >>> 2) + NEXT]!;
  }
  private prev(n: number): number {
    return this.u32[(n >>> 2) + PREV]!;
  }
  private listDel(n: number): void {
    const p = this.prev(n);
    const x = this.next(n);
    this.u32[(p >>> 2) + NEXT] = x;
    this.u32[(x >>> 2) + PREV] = p;
  }
  /** list_add: right after `head`. */
  private listAdd(n: number, head: number): void {
    const x = this.next(head);
    this.u32[(n >>> 2) + PREV] = head;
    this.u32[(n >>> 2) + NEXT] = x;
    this.u32[(x >>> 2) + PREV] = n;
    this.u32[(head >>> 2) + NEXT] = n;
  }
  private listMove(n: number, head: number): void {
    this.listDel(n);
    this.listAdd(n, head);
  }
  private localFree(cpu: number): number {
    return this.header + 8 * (3 + 2 * cpu);
  }
  private pending(cpu: number): number {
    return this.header + 8 * (4 + 2 * cpu);
  }
  private head(type: number): number {
    return type === ACTIVE ? this.active : type === INACTIVE ? this.inactive : this.free;
  }

  // ---- node fields --------------------------------------------------------

  private type(n: number): number {
    return this.u32[(n >>> 2) + NODE]! & 0xff;
  }
  private setType(n: number, t: number): void {
    const i = (n >>> 2) + NODE;
    this.u32[i] = (this.u32[i]! & ~0xff) | t;
  }
  private nodeCpu(n: number): number {
    return this.u32[(n >>> 2) + NODE]! >>> 8;
  }
  private isRef(n: number): boolean {
    return (this.u32[(n >>> 2) + FLAGS]! & FLAG_REF) !== 0;
  }
  private clearRef(n: number): void {
    // another thread's lock-free lookup may be setting the bit: clear it atomically
    if ((this.u32[(n >>> 2) + FLAGS]! & FLAG_REF) !== 0) Atomics.and(this.u32, (n >>> 2) + FLAGS, ~FLAG_REF);
  }
  /** bpf_lru_node_set_ref. */
  setRef(n: number): void {
    if (!this.isRef(n)) Atomics.or(this.u32, (n >>> 2) + FLAGS, FLAG_REF);
  }
  private countInc(t: number): void {
    if (t < 2) this.u32[this.x + t] = this.u32[this.x + t]! + 1;
  }
  private countDec(t: number): void {
    if (t < 2) this.u32[this.x + t] = this.u32[this.x + t]! - 1;
  }
  private get nextInactiveRotation(): number {
    return this.u32[this.x + 2]!;
  }
  private set nextInactiveRotation(n: number) {
    this.u32[this.x + 2] = n;
  }

  // ---- bpf_lru_list.c -------------------------------------------------------

  private moveToFree(n: number, freeList: number, tgtFreeType: number): void {
    if (n === this.nextInactiveRotation) this.nextInactiveRotation = this.prev(n);
    this.countDec(this.type(n));
    this.setType(n, tgtFreeType);
    this.listMove(n, freeList);
  }

  private moveIn(n: number, tgt: number): void {
    this.countInc(tgt);
    this.setType(n, tgt);
    this.clearRef(n);
    this.listMove(n, this.head(tgt));
  }

  private move(n: number, tgt: number): void {
    const t = this.type(n);
    if (t !== tgt) {
      this.countDec(t);
      this.countInc(tgt);
      this.setType(n, tgt);
    }
    this.clearRef(n);
    if (n === this.nextInactiveRotation) this.nextInactiveRotation = this.prev(n);
    this.listMove(n, this.head(tgt));
  }

  private rotateActive(): void {
    const first = this.next(this.active);
    let i = 0;
    for (let n = this.prev(this.active); n !== this.active; ) {
      const p = this.prev(n);
      this.move(n, this.isRef(n) ? ACTIVE : INACTIVE);
      if (++i === NR_SCANS || n === first) break;
      n = p;
    }
  }

  private rotateInactive(): void {
    const inactive = this.inactive;
    if (this.next(inactive) === inactive) return;
    let last = this.next(this.nextInactiveRotation);
    if (last === inactive) last = this.next(last);
    let cur = this.nextInactiveRotation;
    let next = inactive;
    let i = 0;
    while (i < NR_SCANS) {
      if (cur === inactive) {
        cur = this.prev(cur);
        continue;
      }
      next = this.prev(cur);
      if (this.isRef(cur)) this.move(cur, ACTIVE);
      if (cur === last) break;
      cur = next;
      i++;
    }
    this.nextInactiveRotation = next;
  }

  private shrinkInactive(tgt: number, freeList: number, tgtFreeType: number): number {
    let shrunk = 0;
    let i = 0;
    for (let n = this.prev(this.inactive); n !== this.inactive; ) {
      const p = this.prev(n);
      if (this.isRef(n)) this.move(n, ACTIVE);
      else if (this.delFromHtab(n)) {
        this.moveToFree(n, freeList, tgtFreeType);
        if (++shrunk === tgt) break;
      }
      if (++i === NR_SCANS) break;
      n = p;
    }
    return shrunk;
  }

  private rotate(): void {
    if (this.u32[this.x + INACTIVE]! < this.u32[this.x + ACTIVE]!) this.rotateActive();
    this.rotateInactive();
  }

  private shrink(tgt: number, freeList: number, tgtFreeType: number): number {
    const shrunk = this.shrinkInactive(tgt, freeList, tgtFreeType);
    if (shrunk !== 0) return shrunk;
    // force: ignore the reference bit, prefer the inactive list
    const list = this.next(this.inactive) !== this.inactive ? this.inactive : this.active;
    for (let n = this.prev(list); n !== list; n = this.prev(n)) {
      if (this.delFromHtab(n)) {
        this.moveToFree(n, freeList, tgtFreeType);
        return 1;
      }
    }
    return 0;
  }

  private flushLocal(cpu: number): void {
    const pend = this.pending(cpu);
    for (let n = this.prev(pend); n !== pend; ) {
      const p = this.prev(n);
      this.moveIn(n, this.isRef(n) ? ACTIVE : INACTIVE);
      n = p;
    }
  }

  private popFreeToLocal(cpu: number): void {
    const local = this.localFree(cpu);
    this.flushLocal(cpu);
    this.rotate();
    let nfree = 0;
    for (let n = this.next(this.free); n !== this.free; ) {
      const x = this.next(n);
      this.moveToFree(n, local, LOCAL_FREE);
      if (++nfree === this.targetFree) break;
      n = x;
    }
    if (nfree < this.targetFree) this.shrink(this.targetFree - nfree, local, LOCAL_FREE);
  }

  private addPending(cpu: number, n: number): void {
    this.u32[(n >>> 2) + NODE] = LOCAL_PENDING | (cpu << 8);
    this.clearRef(n);
    this.listAdd(n, this.pending(cpu));
  }

  private popLocalFree(cpu: number): number {
    const local = this.localFree(cpu);
    const n = this.next(local);
    if (n === local) return 0;
    this.listDel(n);
    return n;
  }

  private popPending(cpu: number): number {
    const pend = this.pending(cpu);
    for (const force of [false, true]) {
      for (let n = this.prev(pend); n !== pend; n = this.prev(n)) {
        if ((!this.isRef(n) || force) && this.delFromHtab(n)) {
          this.listDel(n);
          return n;
        }
      }
    }
    return 0;
  }

  /** bpf_lru_pop_free (common LRU): a node for a new element of `cpu`, now pending there; 0 when none. */
  popFree(cpu: number): number {
    let n = this.popLocalFree(cpu);
    if (n === 0) {
      this.popFreeToLocal(cpu);
      n = this.popLocalFree(cpu);
    }
    if (n !== 0) {
      this.addPending(cpu, n);
      return n;
    }
    // steal from the CPUs' local free and pending lists, round robin from next_steal
    const si = this.x + 3 + cpu;
    const first = this.u32[si]!;
    let steal = first;
    do {
      n = this.popLocalFree(steal);
      if (n === 0) n = this.popPending(steal);
      steal = (steal + 1) % this.cpus;
    } while (n === 0 && steal !== first);
    this.u32[si] = steal;
    if (n !== 0) this.addPending(cpu, n);
    return n;
  }

  /** Entries on a free list (global or a CPU's local one): not holding an element. */
  freeNodes(entries: number, stride: number, count: number): number {
    let n = 0;
    for (let i = 0; i < count; i++) {
      const t = this.type(entries + i * stride);
      if (t === FREE || t === LOCAL_FREE) n++;
    }
    return n;
  }

  /** bpf_lru_push_free (common LRU): the node's element left the hash table. */
  pushFree(n: number): void {
    const t = this.type(n);
    if (t === FREE || t === LOCAL_FREE) return;
    if (t === LOCAL_PENDING) {
      this.setType(n, LOCAL_FREE);
      this.clearRef(n);
      this.listMove(n, this.localFree(this.nodeCpu(n)));
      return;
    }
    this.move(n, FREE);
  }
}
