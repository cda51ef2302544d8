// The runtime's memory: one WebAssembly.Memory holding every region a program
// can touch (stacks, ctx, packets, map values, global data, ring buffers).
// An eBPF pointer is an offset into it. The interpreter, the JIT and the
// user-space map API all read the same bytes.
//
// Layout:
//   [0, NULL_GUARD)            never mapped, so NULL and small offsets fault
//   [SHADOW_BASE, +maxBytes/8) the shadow map: one byte per 8-byte granule
//   [heapBase, ...)            regions, each followed by at least one
//                              unmapped granule, so an overrun faults
//
// The shadow byte of a granule says what may be done there: bit 0 read,
// bit 1 write, bit 7 "partial" (the region covers only part of the granule;
// the exact byte range must be checked against the region). An access of at
// most 8 bytes spans at most two granules, so a check is two byte loads and
// a compare, cheap enough for the interpreter and for JIT code in unverified
// mode; only partial granules take the slow path through the region list.

import { MemoryFault, UsageError } from '../internal/errors.js';

export const GRANULE = 8;
export const NULL_GUARD = 4096;
export const SHADOW_BASE = NULL_GUARD;
export const PAGE = 65536;

export const Perm = { NONE: 0, R: 1, W: 2, RW: 3, PARTIAL: 0x80 } as const;

export type RegionKind =
  | 'stack'
  | 'ctx'
  | 'packet'
  | 'input'
  | 'map'
  | 'global'
  | 'ringbuf'
  | 'scratch'
  | 'other';

export interface Region {
  readonly id: number;
  readonly name: string;
  readonly kind: RegionKind;
  /** First byte address. */
  readonly start: number;
  /** Size in bytes as requested. */
  readonly size: number;
  readonly writable: boolean;
}

export interface AllocOptions {
  name: string;
  kind?: RegionKind;
  writable?: boolean;
  /** Alignment of the start address, a power of two >= 8 (default 8). */
  align?: number;
  /** Initial contents (copied in); the rest is zeroed. */
  init?: Uint8Array;
}

export interface MemoryOptions {
  /** Upper bound of the memory in bytes (default 64 MiB). The shadow map is sized for it. */
  maxBytes?: number;
  /** Back the memory by a SharedArrayBuffer so workers can share it (default: when available). */
  shared?: boolean;
}

/**
 * What another thread needs to work in this memory (RuntimeMemory.attach):
 * plain data and a shared WebAssembly.Memory, so it travels by postMessage.
 */
export interface MemoryShare {
  readonly memory: WebAssembly.Memory;
  readonly maxBytes: number;
  /** The regions mapped when the share was made: the other thread's accesses are checked against them. */
  readonly regions: readonly Region[];
  /** A region reserved for the other thread's own allocations (its stack, map scratch). */
  readonly arena: Region;
}

const alignUp = (x: number, a: number): number => Math.ceil(x / a) * a;

/** A free range of the heap, [start, end). */
interface Hole {
  start: number;
  end: number;
}

export class RuntimeMemory {
  readonly wasm: WebAssembly.Memory;
  readonly maxBytes: number;
  readonly heapBase: number;
  readonly shared: boolean;
  /** Byte view of the whole memory; rebuilt only when the memory grows. */
  u8!: Uint8Array;
  dv!: DataView;
  private regions: Region[] = []; // sorted by start
  private holes: Hole[] = [];
  private top: number; // end of the used part of the heap
  private nextId = 1;
  /** Attached to another thread's memory: allocate only inside the arena (its holes), never grow. */
  private arenaOnly = false;

  /**
   * Reserve an arena of `bytes` and describe this memory for another thread
   * (a worker_threads Worker) that will build its own RuntimeMemory over it
   * with `attach`. The memory must be shared. Regions mapped later are not
   * known to the other thread.
   */
  share(bytes: number): MemoryShare {
    if (!this.shared) throw new UsageError('share: the memory is not shared (MemoryOptions.shared)');
    const arena = this.alloc(bytes, { name: 'thread arena', kind: 'other', writable: false });
    return { memory: this.wasm, maxBytes: this.maxBytes, regions: this.regions.filter((r) => r !== arena).map((r) => ({ ...r })), arena: { ...arena } };
  }

  /** This thread's view of another thread's memory (see share); allocations come from the arena. */
  static attach(share: MemoryShare): RuntimeMemory {
    const m = new RuntimeMemory({ maxBytes: share.maxBytes, shared: true, memory: share.memory });
    m.regions = [...share.regions].sort((a, b) => a.start - b.start);
    const end = share.arena.start + alignUp(Math.max(share.arena.size, 1), GRANULE);
    m.holes = [{ start: share.arena.start, end }];
    m.nextId = Math.max(0, ...share.regions.map((r) => r.id)) + 1_000_000; // distinct from the creator's ids
    m.top = m.wasm.buffer.byteLength;
    m.arenaOnly = true;
    // the arena's own shadow says read-only: unmap it, so only what is allocated in it is accessible here
    m.u8.fill(Perm.NONE, SHADOW_BASE + (share.arena.start >>> 3), SHADOW_BASE + (end >>> 3));
    return m;
  }

  /**
   * An attached memory learns regions the creating thread mapped after the
   * share was made (maps created later, published through the runtime's share
   * registry): they become known to `regionOf`/`check`, and the views cover
   * whatever the creator has grown the memory to.
   */
  learn(regions: readonly Region[]): void {
    this.resync();
    this.top = Math.max(this.top, this.wasm.buffer.byteLength);
    for (const r of regions) {
      // a region the creator freed and mapped again: the newer description wins
      const end = r.start + Math.max(r.size, 1);
      this.regions = this.regions.filter((x) => x.start >= end || x.start + Math.max(x.size, 1) <= r.start);
      this.insertRegion({ ...r });
    }
  }

  constructor(options: MemoryOptions & { memory?: WebAssembly.Memory } = {}) {
    const maxBytes = alignUp(options.maxBytes ?? 64 * 1024 * 1024, PAGE);
    if (maxBytes < 4 * PAGE || maxBytes > 2 ** 32 - PAGE) throw new UsageError(`memory maxBytes ${maxBytes} out of range`);
    this.maxBytes = maxBytes;
    this.heapBase = alignUp(SHADOW_BASE + maxBytes / GRANULE, PAGE);
    this.top = this.heapBase;
    const shared = options.shared ?? typeof SharedArrayBuffer !== 'undefined';
    this.shared = shared;
    const initial = this.heapBase / PAGE + 1;
    this.wasm = options.memory ?? new WebAssembly.Memory({ initial, maximum: maxBytes / PAGE, shared } as WebAssembly.MemoryDescriptor);
    this.refresh();
  }

  /**
   * Bumped every time this object grows the memory. Holders of their own views
   * compare it with the value they saw, which is far cheaper than reading
   * `wasm.buffer` (tens of ns) on every helper call.
   */
  generation = 0;
  private viewGeneration = -1;

  /** Rebuild the views if the memory has grown. Cheap (one compare); call after anything that may allocate. */
  refresh(): void {
    if (this.viewGeneration !== this.generation) this.resync();
  }

  /** Rebuild the views from the current buffer unconditionally (after a grow by someone else). */
  resync(): void {
    const buf = this.wasm.buffer;
    if (this.u8 === undefined || this.u8.buffer !== buf || this.u8.byteLength !== buf.byteLength) {
      this.u8 = new Uint8Array(buf);
      this.dv = new DataView(buf);
    }
    this.viewGeneration = this.generation;
  }

  /** Map a new region. Its bytes are zeroed (or copied from `init`). */
  alloc(size: number, options: AllocOptions): Region {
    if (!Number.isInteger(size) || size < 0) throw new UsageError(`region ${options.name}: bad size ${size}`);
    const align = Math.max(GRANULE, options.align ?? GRANULE);
    // Reserve the region plus one trailing guard granule, so that regions never touch.
    const need = alignUp(Math.max(size, 1), GRANULE) + GRANULE;
    let start = -1;
    // Bytes from here on come from growing the memory now: Wasm gives them zeroed.
    let zeroEnd = Infinity;
    for (let h = 0; h < this.holes.length; h++) {
      const hole = this.holes[h]!;
      const s = alignUp(hole.start, align);
      if (s + need <= hole.end) {
        start = s;
        // Shrink the hole in place (runs allocate and free an input region per
        // call, so this path must not allocate).
        const before = s > hole.start;
        const after = s + need < hole.end;
        if (before && after) this.holes.splice(h + 1, 0, { start: s + need, end: hole.end });
        if (before) hole.end = s;
        else if (after) hole.start = s + need;
        else this.holes.splice(h, 1);
        break;
      }
    }
    if (start < 0) {
      if (this.arenaOnly) throw new UsageError(`region ${options.name}: ${size} bytes do not fit in this thread's arena of the shared memory`);
      start = alignUp(this.top, align);
      zeroEnd = this.wasm.buffer.byteLength;
      this.ensure(start + need); // throws before any bookkeeping changes
      if (start > this.top) this.holes.push({ start: this.top, end: start });
      this.top = start + need;
    }
    const region: Region = {
      id: this.nextId++,
      name: options.name,
      kind: options.kind ?? 'other',
      start,
      size,
      writable: options.writable ?? true,
    };
    // Only what was in the memory before: zeroing a fresh multi-megabyte
    // region (the capture buffer) touched every page for nothing at start-up.
    if (zeroEnd > start) this.u8.fill(0, start, Math.min(start + need, zeroEnd));
    const init = options.init;
    if (init) this.u8.set(init.length <= size ? init : init.subarray(0, size), start);
    this.insertRegion(region);
    this.setShadow(region, true);
    return region;
  }

  /** Unmap a region; later accesses to it fault. */
  free(region: Region): void {
    const i = this.regions.indexOf(region);
    if (i < 0) return;
    this.regions.splice(i, 1);
    this.setShadow(region, false);
    const need = alignUp(Math.max(region.size, 1), GRANULE) + GRANULE;
    this.addHole(region.start, region.start + need);
  }

  /** Insert a free range, keeping the list sorted and merging it with touching neighbours. */
  private addHole(start: number, end: number): void {
    const holes = this.holes;
    let i = 0;
    while (i < holes.length && holes[i]!.start < start) i++;
    const prev = i > 0 ? holes[i - 1]! : undefined;
    const next = i < holes.length ? holes[i]! : undefined;
    if (prev !== undefined && prev.end >= start) {
      prev.end = Math.max(prev.end, end);
      if (next !== undefined && prev.end >= next.start) {
        prev.end = Math.max(prev.end, next.end);
        holes.splice(i, 1);
      }
    } else if (next !== undefined && end >= next.start) {
      next.start = start;
      next.end = Math.max(next.end, end);
    } else {
      holes.splice(i, 0, { start, end });
    }
  }

  /** Change a region's write permission (e.g. freezing .rodata). */
  protect(region: Region, writable: boolean): Region {
    const i = this.regions.indexOf(region);
    if (i < 0) throw new UsageError(`region ${region.name} is not mapped`);
    const r: Region = { ...region, writable };
    this.regions[i] = r;
    this.setShadow(r, true);
    return r;
  }

  /**
   * Map or unmap whole granules [start, start+size) inside a region, leaving
   * the region itself in place: the pages of an arena map (src/maps/arena.ts)
   * are accessible only while allocated. `start` and `size` must be
   * multiples of GRANULE inside the region.
   */
  setAccess(region: Region, start: number, size: number, mapped: boolean): void {
    if (start % GRANULE !== 0 || size % GRANULE !== 0 || start < region.start || start + size > region.start + region.size) {
      throw new UsageError(`setAccess: [0x${start.toString(16)}, +${size}) is not granule-aligned inside region ${region.name}`);
    }
    const perm = mapped ? (region.writable ? Perm.RW : Perm.R) : Perm.NONE;
    this.u8.fill(perm, SHADOW_BASE + (start >>> 3), SHADOW_BASE + ((start + size) >>> 3));
  }

  /** All mapped regions, sorted by address. */
  list(): readonly Region[] {
    return this.regions;
  }

  /** The region containing [addr, addr+size), if one does. */
  regionOf(addr: number, size = 1): Region | undefined {
    const rs = this.regions;
    let lo = 0;
    let hi = rs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = rs[mid]!;
      if (addr < r.start) hi = mid - 1;
      else if (addr >= r.start + Math.max(r.size, 1)) lo = mid + 1;
      else return addr + size <= r.start + r.size ? r : undefined;
    }
    return undefined;
  }

  /**
   * May `size` bytes (1..8) at `addr` be read (write=false) or written?
   * The fast path is two shadow bytes; partial granules take the region list.
   */
  check(addr: number, size: number, write: boolean): boolean {
    if (addr < this.heapBase || addr + size > this.top) return false;
    const u8 = this.u8;
    const a = u8[SHADOW_BASE + (addr >>> 3)]!;
    const b = u8[SHADOW_BASE + ((addr + size - 1) >>> 3)]!;
    const need = write ? Perm.W : Perm.R;
    if ((a & b & need) === 0) return false;
    if (((a | b) & Perm.PARTIAL) === 0) return true;
    const r = this.regionOf(addr, size);
    return r !== undefined && (!write || r.writable);
  }

  /** Check a range of any length (helpers copying buffers). */
  checkRange(addr: number, size: number, write: boolean): boolean {
    if (size === 0) return true;
    const r = this.regionOf(addr, size);
    return r !== undefined && (!write || r.writable);
  }

  /** A human description of an address for fault messages: its region, or the nearest one. */
  describe(addr: number, size: number): string {
    if (addr === 0) return 'NULL pointer';
    if (addr < NULL_GUARD) return `address in the unmapped first page (NULL + ${addr})`;
    const inside = this.regionOf(addr, 1);
    if (inside) {
      const off = addr - inside.start;
      return `${size} bytes at offset ${off} overrun region '${inside.name}' (${inside.kind}, ${inside.size} bytes)`;
    }
    let best: Region | undefined;
    let bestDist = Infinity;
    for (const r of this.regions) {
      const d = addr < r.start ? r.start - addr : addr - (r.start + r.size) + 1;
      if (d < bestDist) {
        bestDist = d;
        best = r;
      }
    }
    if (!best) return 'no region is mapped';
    const rel = addr < best.start ? `${best.start - addr} bytes before` : `${addr - (best.start + best.size)} bytes after the end of`;
    return `not in any region; nearest is '${best.name}' (${best.kind}, 0x${best.start.toString(16)}..0x${(best.start + best.size).toString(16)}), ${rel} it`;
  }

  /** Build the fault for a failed check (also used by the JIT's trap path). */
  fault(pc: number, addr: number, size: number, write: boolean): MemoryFault {
    const r = this.regionOf(addr, size);
    const detail = r && write && !r.writable ? `region '${r.name}' (${r.kind}) is read-only` : this.describe(addr, size);
    return new MemoryFault(pc, addr, size, write, detail);
  }

  /**
   * The legacy packet loads (LD_ABS/LD_IND) of both engines: `size` (1, 2, 4)
   * big-endian bytes at offset `off` of the packet [start, start+len), or -1
   * when the load is outside the packet or its region (the program then ends
   * with r0 = 0, as in the kernel).
   */
  packetLoad(start: number, len: number, off: number, size: number): number {
    if (off < 0 || off + size > len) return -1;
    const a = start + off;
    if (!this.check(a, size, false)) return -1;
    const u8 = this.u8;
    if (size === 1) return u8[a]!;
    if (size === 2) return (u8[a]! << 8) | u8[a + 1]!;
    return ((u8[a]! << 24) | (u8[a + 1]! << 16) | (u8[a + 2]! << 8) | u8[a + 3]!) >>> 0;
  }

  /** Copy bytes out of a region (user-space access; bounds-checked). */
  read(addr: number, size: number): Uint8Array {
    if (!this.checkRange(addr, size, false)) throw this.fault(-1, addr, size, false);
    return this.u8.slice(addr, addr + size);
  }

  /** Copy bytes into memory (user-space access; bounds-checked). */
  write(addr: number, data: Uint8Array): void {
    if (!this.checkRange(addr, data.length, true)) throw this.fault(-1, addr, data.length, true);
    this.u8.set(data, addr);
  }

  private ensure(end: number): void {
    if (end > this.maxBytes) throw new UsageError(`runtime memory exhausted: need ${end} bytes, maximum is ${this.maxBytes}`);
    const have = this.wasm.buffer.byteLength;
    if (end > have) {
      try {
        this.wasm.grow(Math.ceil((end - have) / PAGE));
      } catch (e) {
        throw new UsageError(`runtime memory exhausted: cannot grow to ${end} bytes (${(e as Error).message})`);
      }
      this.generation++;
    }
    this.refresh();
  }

  private insertRegion(r: Region): void {
    const rs = this.regions;
    let i = rs.length;
    while (i > 0 && rs[i - 1]!.start > r.start) i--;
    rs.splice(i, 0, r);
  }

  private setShadow(r: Region, mapped: boolean): void {
    const u8 = this.u8;
    const perm = mapped ? (r.writable ? Perm.RW : Perm.R) : Perm.NONE;
    const first = r.start >>> 3;
    const end = r.start + r.size; // exclusive
    const fullEnd = end >>> 3; // granules [first, fullEnd) are fully inside
    if (fullEnd > first) u8.fill(perm, SHADOW_BASE + first, SHADOW_BASE + fullEnd); // one memset: regions of megabytes are mapped at start-up
    if ((end & 7) !== 0 || r.size === 0) u8[SHADOW_BASE + fullEnd] = mapped && r.size > 0 ? perm | Perm.PARTIAL : Perm.NONE;
  }
}
