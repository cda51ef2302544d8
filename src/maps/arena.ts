// BPF_MAP_TYPE_ARENA (Linux 6.9+): max_entries pages of memory that a
// program and user space share, with pages allocated and freed by the
// program (the bpf_arena_alloc_pages / bpf_arena_free_pages kfuncs) or
// faulted in by user-space accesses, as kernel/bpf/arena.c does.
//
// The arena is one region of the runtime memory, page-aligned, of
// max_entries * 4 KiB. Its user_vm_start (the address user space and
// `__arena` pointers see) is the region's own address: tsbpf has one 32-bit
// address space, so a program's as(1) and as(0) views of a page are the same
// bytes and both casts keep the low 32 bits (src/isa/table.ts). The kernel
// indexes its arena by the low 32 bits of a user address; here those bits
// are the address. A requested map_extra is checked as the kernel checks it
// but not honoured (the region decides the address).
//
// A page that is not allocated is unmapped in the shadow map
// (RuntimeMemory.setAccess), so the bounds-checked engines see it as absent;
// loads and stores the verifier marked as arena accesses read 0 there and
// drop their stores, like the kernel's BPF_PROBE_MEM32 (src/vm/interp,
// src/vm/jit). The page table is in the runtime memory too (Desc.ENTRIES;
// the region's address is Desc.DATA), so worker threads attach to an arena
// like to any shared map; page changes take the map's writer lock.

import type { Program } from '../isa/decode.js';
import type { Region } from '../vm/memory.js';
import { markArenaEntries } from '../vm/arena-access.js';
import { BpfMap, type MapHost } from './base.js';
import { Desc } from './descriptor.js';
import { lockWord, unlockWord } from './lock.js';
import { EFAULT, EINVAL, EOPNOTSUPP } from './errno.js';
import { ARENA_PAGE_SIZE, BPF_F_SEGV_ON_FAULT, arenaBytes, arenaGlobalsOffset } from './arena-layout.js';
import type { ResolvedSpec } from './spec.js';

/** NUMA_NO_NODE: the node argument that means "any". The runtime has one node, 0. */
const NUMA_NO_NODE = -1;

export class ArenaMap extends BpfMap {
  /** The arena's bytes: max_entries pages. */
  readonly region: Region;
  /** The address user space and `__arena` pointers use for offset 0 (the region's start). */
  readonly userVmStart: number;
  /** Bytes the arena spans (max_entries pages). */
  readonly size: number;
  /** Where the `.addr_space.1` globals are (arenaGlobalsOffset), or -1 without them. */
  readonly globalsOffset: number;
  /**
   * The page table: one byte per page, 1 while allocated (the kernel's
   * maple tree of used page offsets), in the runtime memory so threads that
   * attach share it (Desc.ENTRIES); changed under the map's writer lock.
   */
  private readonly pageTable: Region;

  constructor(host: MapHost, spec: ResolvedSpec, id: number, attachAt?: number) {
    super(host, spec, id, false, attachAt);
    this.size = arenaBytes(spec.maxEntries);
    const init = spec.initial;
    this.globalsOffset = init !== undefined && init.length > 0 ? arenaGlobalsOffset(spec.maxEntries, init.length) : -1;
    if (attachAt !== undefined) {
      this.region = this.attachedRegion(this.getDesc(Desc.DATA));
      this.pageTable = this.attachedRegion(this.getDesc(Desc.ENTRIES));
      this.userVmStart = this.region.start;
      return;
    }
    this.region = this.allocData(this.size, { name: `arena ${spec.name}`, kind: 'map', align: ARENA_PAGE_SIZE });
    this.pageTable = this.allocData(spec.maxEntries, { name: `arena ${spec.name} pages`, kind: 'map', writable: false });
    this.userVmStart = this.region.start;
    this.setDesc(Desc.DATA, this.region.start);
    this.setDesc(Desc.ENTRIES, this.pageTable.start);
    // every page starts absent
    this.mem.setAccess(this.region, this.region.start, this.size, false);
    if (init !== undefined && this.globalsOffset >= 0) {
      // libbpf copies the globals in through its mmap, which faults their pages in (even with
      // BPF_F_SEGV_ON_FAULT, where the kernel would kill libbpf; here the object simply loads)
      this.faultIn(this.globalsOffset, init.length, 'create', true);
      this.mem.u8.set(init, this.userVmStart + this.globalsOffset);
    }
  }

  // ---- program side: the kfuncs (kernel/bpf/arena.c) ------------------------------

  /**
   * bpf_arena_alloc_pages: `count` zeroed pages at the user address `addr`
   * (0: the lowest free run), returning the user address of the first, or
   * 0 when they cannot be had: a bad node, flags, count or address, or a
   * page of the range already in use.
   */
  allocPages(addr: number, count: number, node: number, flags: number): number {
    const max = this.maxEntries;
    if (flags !== 0 || count === 0) return 0;
    if (node !== NUMA_NO_NODE && node !== 0) return 0;
    if (count > max) return 0;
    if (addr !== 0 && (addr % ARENA_PAGE_SIZE !== 0 || this.pageOf(addr) > max - count)) return 0;
    return this.locked(() => {
      let first: number;
      if (addr !== 0) {
        first = this.pageOf(addr);
        for (let p = first; p < first + count; p++) if (this.isUsed(p)) return 0;
      } else {
        first = this.freeRun(count);
        if (first < 0) return 0;
      }
      this.mapPages(first, count);
      return this.userVmStart + first * ARENA_PAGE_SIZE;
    });
  }

  /** bpf_arena_free_pages: unmap the pages of [addr, + count pages) that are inside the arena. */
  freePages(addr: number, count: number): void {
    if (count === 0 || addr === 0) return;
    // only the page-aligned low 32 bits count
    const full = (addr >>> 0) - ((addr >>> 0) % ARENA_PAGE_SIZE);
    if (full < this.userVmStart) return;
    const end = Math.min(this.userVmStart + this.size, full + count * ARENA_PAGE_SIZE);
    if (full >= end) return;
    const first = (full - this.userVmStart) / ARENA_PAGE_SIZE;
    this.locked(() => {
      this.mem.u8.fill(0, this.pageTable.start + first, this.pageTable.start + first + (end - full) / ARENA_PAGE_SIZE);
      this.mem.setAccess(this.region, full, end - full, false);
      return 0;
    });
  }

  /** Is page `i` (0-based) allocated? */
  isPageAllocated(i: number): boolean {
    return Number.isInteger(i) && i >= 0 && i < this.maxEntries && this.isUsed(i);
  }

  /** Pages allocated now. */
  get allocatedPages(): number {
    let n = 0;
    for (let p = 0; p < this.maxEntries; p++) n += this.isUsed(p) ? 1 : 0;
    return n;
  }

  private isUsed(p: number): boolean {
    return this.mem.u8[this.pageTable.start + p] !== 0;
  }

  /** Run a change of the page table under the map's writer lock once another thread may use the map. */
  private locked(f: () => number): number {
    if (!this.shared) return f();
    const i32 = new Int32Array(this.mem.u8.buffer);
    const idx = (this.desc + Desc.LOCK) >>> 2;
    lockWord(i32, idx, this.name);
    try {
      return f();
    } finally {
      unlockWord(i32, idx);
    }
  }

  /** Page index of a user address (compute_pgoff: the low 32 bits, relative to user_vm_start). */
  private pageOf(addr: number): number {
    return Math.floor((((addr >>> 0) - this.userVmStart) >>> 0) / ARENA_PAGE_SIZE);
  }

  /** Lowest run of `count` free pages, or -1 (mtree_alloc_range). */
  private freeRun(count: number): number {
    let run = 0;
    for (let p = 0; p < this.maxEntries; p++) {
      run = this.isUsed(p) ? 0 : run + 1;
      if (run === count) return p - count + 1;
    }
    return -1;
  }

  /** Allocate pages [first, first+count): zeroed, then mapped. */
  private mapPages(first: number, count: number): void {
    const start = this.userVmStart + first * ARENA_PAGE_SIZE;
    this.mem.u8.fill(0, start, start + count * ARENA_PAGE_SIZE);
    this.mem.u8.fill(1, this.pageTable.start + first, this.pageTable.start + first + count);
    this.mem.setAccess(this.region, start, count * ARENA_PAGE_SIZE, true);
  }

  // ---- user space: the mmap view --------------------------------------------------

  /** The user address of arena offset `off`. */
  addressOf(off: number): number {
    this.checkRange(off, 0, 'address');
    return this.userVmStart + off;
  }

  /**
   * A view of `len` bytes at offset `off` (no copy; valid until the runtime
   * memory grows). As with a user access through the kernel's mmap, pages
   * of the range that were absent are allocated (zeroed) first; with
   * BPF_F_SEGV_ON_FAULT that is an EFAULT MapError instead.
   */
  view(off: number, len: number): Uint8Array {
    this.faultIn(off, len, 'view');
    const a = this.userVmStart + off;
    return this.mem.u8.subarray(a, a + len);
  }

  /** A DataView of `len` bytes at `off` (little-endian fields: pass true), faulting the pages in like view(). */
  dataView(off: number, len: number): DataView {
    const v = this.view(off, len);
    return new DataView(v.buffer, v.byteOffset, v.byteLength);
  }

  /** Copy `len` bytes out of the arena at `off` (pages fault in as with view()). */
  read(off: number, len: number): Uint8Array {
    return this.view(off, len).slice();
  }

  /** Copy bytes into the arena at `off` (pages fault in as with view()). */
  write(off: number, data: Uint8Array): void {
    this.view(off, data.length).set(data);
  }

  /**
   * Allocate the absent pages of [off, off+len) as the kernel's
   * arena_vm_fault does; with BPF_F_SEGV_ON_FAULT an absent page is an
   * error instead (the kernel's SIGSEGV), unless `always`.
   */
  private faultIn(off: number, len: number, op: string, always = false): void {
    this.checkRange(off, len, op);
    if (len === 0) return;
    const first = Math.floor(off / ARENA_PAGE_SIZE);
    const last = Math.floor((off + len - 1) / ARENA_PAGE_SIZE);
    let absent = -1;
    for (let p = first; p <= last && absent < 0; p++) if (!this.isUsed(p)) absent = p;
    if (absent < 0) return;
    if (!always && (this.flags & BPF_F_SEGV_ON_FAULT) !== 0) throw this.error(EFAULT, op, `page ${absent} is not allocated and the arena has BPF_F_SEGV_ON_FAULT`);
    this.locked(() => {
      for (let p = absent; p <= last; p++) if (!this.isUsed(p)) this.mapPages(p, 1);
      return 0;
    });
  }

  private checkRange(off: number, len: number, op: string): void {
    if (!Number.isInteger(off) || !Number.isInteger(len) || off < 0 || len < 0 || off + len > this.size) {
      throw this.error(EINVAL, op, `[${off}, +${len}) is outside the arena's ${this.size} bytes`);
    }
  }

  // ---- what an arena does not have: elements (arena.c's errnos) ---------------------------

  override lookup(): Uint8Array | undefined {
    throw this.error(EINVAL, 'lookup', 'an arena has no elements; read it with view() or read()');
  }

  override updateAt(): number {
    return -EOPNOTSUPP;
  }

  override deleteAt(): number {
    return -EOPNOTSUPP;
  }

  override nextKeyAt(): number {
    return -EOPNOTSUPP;
  }

  /** No keys to walk (map dumps list it empty; its bytes are read through view()). */
  override *keys(): IterableIterator<Uint8Array> {}

  protected freeData(): void {
    this.mem.free(this.region);
    this.mem.free(this.pageTable);
  }
}

/**
 * After verification: tell the engines where the program's arena is and
 * which of its instructions go through it (the verifier's marks, by the
 * index of the arena map among `maps`), for the program and its callback
 * entries. Nothing for a program without an arena.
 */
export function markArenaProgram(arena: { readonly map: number; readonly marks: Uint8Array } | undefined, maps: readonly BpfMap[], code: Program, callbacks: Iterable<Program>): void {
  if (arena === undefined) return;
  const a = maps[arena.map];
  if (!(a instanceof ArenaMap)) return;
  markArenaEntries(code, { start: a.region.start, size: a.size, marks: arena.marks }, callbacks);
}
