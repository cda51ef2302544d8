// The set of maps of one runtime: creates maps from specs, hands out ids
// (the user-visible "fd") and descriptor addresses, and finds a map again
// from the pointer a program passes to a helper.

import { UsageError } from '../internal/errors.js';
import type { RuntimeMemory } from '../vm/memory.js';
import { ArrayMap } from './array.js';
import type { BpfMap, MapHost } from './base.js';
import { DESC_MAGIC, DESC_SIZE, Desc } from './descriptor.js';
import { ENOMEM, MapError } from './errno.js';
import { HashMap } from './hash.js';
import { LpmTrieMap } from './lpm-trie.js';
import { ArrayOfMaps, HashOfMaps } from './map-in-map.js';
import { PerfEventArrayMap } from './perf-event-array.js';
import { ProgArrayMap, type ProgramResolver } from './prog-array.js';
import { QueueStackMap } from './queue-stack.js';
import { RingBufMap } from './ringbuf.js';
import { BloomFilterMap } from './bloom-filter.js';
import { normalizeSpec, type MapSpec, type ResolvedSpec } from './spec.js';

export interface MapTableOptions {
  /** Number of execution contexts ("possible CPUs") per-CPU maps keep copies for (default 1). */
  cpus?: number;
  /** Turns a program id into the runtime's program, for prog_array updates from user space. */
  resolveProgram?: ProgramResolver;
}

type MapCtor = new (host: MapHost, spec: ResolvedSpec, id: number) => BpfMap;

const CTORS: Readonly<Record<string, MapCtor>> = {
  array: ArrayMap,
  percpu_array: ArrayMap,
  hash: HashMap,
  percpu_hash: HashMap,
  lru_hash: HashMap,
  lru_percpu_hash: HashMap,
  lpm_trie: LpmTrieMap,
  queue: QueueStackMap,
  stack: QueueStackMap,
  bloom_filter: BloomFilterMap,
  ringbuf: RingBufMap,
  perf_event_array: PerfEventArrayMap,
  prog_array: ProgArrayMap,
  array_of_maps: ArrayOfMaps,
  hash_of_maps: HashOfMaps,
};

export class MapTable implements MapHost {
  readonly mem: RuntimeMemory;
  readonly cpus: number;
  resolveProgram: ProgramResolver | undefined;
  private readonly maps: (BpfMap | undefined)[] = [undefined]; // id 0 is never used

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
    const ctor = CTORS[resolved.typeName];
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
    return map;
  }

  byId(id: number): BpfMap | undefined {
    return this.maps[id];
  }

  /** The map whose descriptor is at `addr` (a program's map pointer), or undefined for anything else. */
  byDesc(addr: number): BpfMap | undefined {
    const mem = this.mem;
    if (addr < mem.heapBase || addr + DESC_SIZE > mem.u8.length || (addr & 7) !== 0) return undefined;
    const dv = mem.dv;
    if (dv.getUint32(addr + Desc.MAGIC, true) !== DESC_MAGIC) return undefined;
    const m = this.maps[dv.getUint32(addr + Desc.ID, true)];
    return m !== undefined && m.desc === addr ? m : undefined;
  }

  byName(name: string): BpfMap | undefined {
    return this.maps.find((m) => m !== undefined && m.name === name);
  }

  list(): BpfMap[] {
    return this.maps.filter((m): m is BpfMap => m !== undefined);
  }

  /** Close a map and forget it; its id is not reused. */
  close(map: BpfMap): void {
    if (this.maps[map.id] !== map) return;
    this.maps[map.id] = undefined;
    map.close();
  }
}
