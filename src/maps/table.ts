// The set of maps of one runtime: creates maps from specs, hands out ids
// (the user-visible "fd") and descriptor addresses, and finds a map again
// from the pointer a program passes to a helper.
//
// Maps are reference counted as in the kernel (descriptor field REFS): the
// creator's handle and every loaded program that uses the map hold it;
// `close` drops the handle, and the memory is released when the last holder
// lets go. A worker thread that shares the memory builds its own table with
// `MapTable.attach` from the maps' handles (postMessage-able data).

import { UsageError } from '../internal/errors.js';
import type { Region, RuntimeMemory } from '../vm/memory.js';
import type { BpfMap, MapHandle, MapHost } from './base.js';
import { DESC_MAGIC, DESC_SIZE, Desc } from './descriptor.js';
import { EEXIST, ENOMEM, EOPNOTSUPP, MapError } from './errno.js';
import { ProgArrayMap, type ProgramResolver } from './prog-array.js';
import type { MapSpec } from './spec.js';
import { MAP_TYPES, normalizeSpec } from './types.js';

export interface MapTableOptions {
  /** Number of execution contexts ("possible CPUs") per-CPU maps keep copies for (default 1). */
  cpus?: number;
  /** Turns a program id into the runtime's program, for prog_array updates from user space. */
  resolveProgram?: ProgramResolver;
}

export class MapTable implements MapHost {
  readonly mem: RuntimeMemory;
  readonly cpus: number;
  resolveProgram: ProgramResolver | undefined;
  /** Called with each map this table creates (the runtime publishes it to its threads). */
  onCreate: ((map: BpfMap) => void) | undefined;
  /** Called with each map whose memory this table releases. */
  onFree: ((map: BpfMap) => void) | undefined;
  /**
   * Called when an id, a descriptor address or a name is not in the table: an
   * attached table learns maps created elsewhere since (true when it did, and
   * the lookup is tried once more).
   */
  onMiss: (() => boolean) | undefined;
  private readonly maps: (BpfMap | undefined)[] = [undefined]; // id 0 is never used
  /** Start addresses of the regions each map's constructor mapped (what another thread must learn to attach). */
  private readonly regionStarts = new Map<BpfMap, readonly number[]>();

  constructor(mem: RuntimeMemory, options: MapTableOptions = {}) {
    const cpus = options.cpus ?? 1;
    if (!Number.isInteger(cpus) || cpus < 1 || cpus > 1024) throw new UsageError(`cpus must be 1..1024, got ${cpus}`);
    this.mem = mem;
    this.cpus = cpus;
    this.resolveProgram = options.resolveProgram;
  }

  /** Create a map; throws MapError with the kernel's errno for a bad spec. */
  create(spec: MapSpec): BpfMap {
    const resolved = normalizeSpec(spec, this.cpus);
    const ctor = MAP_TYPES[resolved.typeName]?.impl;
    if (ctor === undefined) throw new MapError(95, spec.name, 'create', `map type ${resolved.typeName} is not available (its module was not loaded)`);
    const id = this.maps.length;
    const before = new Set(this.mem.list());
    let map: BpfMap;
    try {
      map = new ctor(this, resolved, id);
    } catch (e) {
      // give back what the half-built map allocated (its descriptor, say)
      for (const r of [...this.mem.list()]) if (!before.has(r)) this.mem.free(r);
      if (e instanceof UsageError) throw new MapError(ENOMEM, spec.name, 'create', e.message);
      throw e;
    }
    if (map instanceof ProgArrayMap) map.resolver = (pid) => this.resolveProgram?.(pid);
    this.maps.push(map);
    this.regionStarts.set(map, this.mem.list().filter((r) => !before.has(r)).map((r) => r.start));
    try {
      this.onCreate?.(map);
    } catch (e) {
      // the runtime could not tell its other threads about the map: it does not exist
      this.free(map);
      throw e;
    }
    return map;
  }

  /**
   * A table in another thread over the same memory (a RuntimeMemory attached
   * to the creator's WebAssembly.Memory) with the maps of these handles, at
   * the same ids and addresses. Each attached map holds a reference until it
   * is closed here.
   */
  static attach(mem: RuntimeMemory, handles: readonly MapHandle[], options: MapTableOptions = {}): MapTable {
    const t = new MapTable(mem, options);
    for (const h of handles) t.adopt(h);
    return t;
  }

  /** The regions a map created here lives in (descriptor, data), as they are mapped now. */
  regionsOf(map: BpfMap): Region[] {
    const out: Region[] = [];
    for (const start of this.regionStarts.get(map) ?? []) {
      const r = this.mem.regionOf(start);
      if (r !== undefined && r.start === start) out.push(r);
    }
    return out;
  }

  /** Add another thread's map (see attach); throws MapError for types whose state is not all in the memory. */
  adopt(h: MapHandle): BpfMap {
    const row = MAP_TYPES[h.spec.typeName];
    if (row === undefined || !row.shared) throw new MapError(EOPNOTSUPP, h.spec.name, 'attach', `${h.spec.typeName} maps keep state outside the shared memory and cannot be used from another thread`);
    if (this.maps[h.id] !== undefined) throw new MapError(EEXIST, h.spec.name, 'attach', `id ${h.id} is already in this table`);
    const map = new row.impl(this, h.spec, h.id, h.desc);
    if (map instanceof ProgArrayMap) map.resolver = (pid) => this.resolveProgram?.(pid);
    while (this.maps.length <= h.id) this.maps.push(undefined);
    this.maps[h.id] = map;
    return map;
  }

  /** The map with this id if this thread knows it, without asking onMiss. */
  byIdLocal(id: number): BpfMap | undefined {
    return this.maps[id];
  }

  byId(id: number): BpfMap | undefined {
    const m = this.maps[id];
    if (m === undefined && this.onMiss?.() === true) return this.maps[id];
    return m;
  }

  /** The map whose descriptor is at `addr` (a program's map pointer), or undefined for anything else. */
  byDesc(addr: number): BpfMap | undefined {
    const mem = this.mem;
    // an attached table's views may predate the creator growing the memory
    if (addr + DESC_SIZE > mem.u8.length && this.onMiss !== undefined) mem.resync();
    if (addr < mem.heapBase || addr + DESC_SIZE > mem.u8.length || (addr & 7) !== 0) return undefined;
    const dv = mem.dv;
    if (dv.getUint32(addr + Desc.MAGIC, true) !== DESC_MAGIC) return undefined;
    const id = dv.getUint32(addr + Desc.ID, true);
    let m = this.maps[id];
    if (m === undefined && this.onMiss?.() === true) m = this.maps[id];
    return m !== undefined && m.desc === addr ? m : undefined;
  }

  byName(name: string): BpfMap | undefined {
    const find = (): BpfMap | undefined => this.maps.find((m) => m !== undefined && m.name === name);
    const m = find();
    if (m === undefined && this.onMiss?.() === true) return find();
    return m;
  }

  list(): BpfMap[] {
    return this.maps.filter((m): m is BpfMap => m !== undefined);
  }

  /**
   * Close the user handle of a map. Its memory is released (and its id
   * forgotten, never reused) when no loaded program holds it any more;
   * until then programs keep using it.
   */
  close(map: BpfMap): void {
    if (this.maps[map.id] !== map) return;
    if (map.releaseHandle()) this.free(map);
  }

  /** A program stops holding the map: the last holder of a closed map frees it. */
  release(map: BpfMap): void {
    if (this.maps[map.id] !== map) return;
    if (map.release() && map.handleIsClosed) this.free(map);
  }

  /** Release the map's memory now, whoever holds it (runtime disposal). */
  destroy(map: BpfMap): void {
    if (this.maps[map.id] === map) this.free(map);
  }

  private free(map: BpfMap): void {
    this.maps[map.id] = undefined;
    this.regionStarts.delete(map);
    if (!map.attached) this.onFree?.(map);
    map.close();
  }
}
