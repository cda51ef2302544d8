// The one table of map types: for each kernel map type this runtime has, the
// class that implements it and the kernel's create-time facts (accepted
// map_flags, size rules, per-CPU values, spin locks, whether other threads
// may attach). `normalizeSpec` checks a spec against its row as the kernel's
// BPF_MAP_CREATE does, with the kernel's errno. A new map type is a file with
// its class and one row here.

import { BPF_MAP_TYPE, nameOf } from '../internal/uapi.gen.js';
import { ArrayMap } from './array.js';
import type { BpfMap, MapHost } from './base.js';
import { BloomFilterMap } from './bloom-filter.js';
import { CgroupStorageMap } from './cgroup-storage.js';
import { E2BIG, EACCES, EINVAL, EOPNOTSUPP, ERANGE, MapError } from './errno.js';
import { HashMap } from './hash.js';
import { LpmTrieMap } from './lpm-trie.js';
import { ArrayOfMaps, HashOfMaps } from './map-in-map.js';
import { PerfEventArrayMap } from './perf-event-array.js';
import { ProgArrayMap } from './prog-array.js';
import { QueueStackMap } from './queue-stack.js';
import { RedirectMap } from './redirect-maps.js';
import { RingBufMap } from './ringbuf.js';
import { SkStorageMap } from './sk-storage.js';
import { StackTraceMap } from './stack-trace.js';
import { ArenaMap } from './arena.js';
import { ARENA_MAX_BYTES, ARENA_PAGE_SIZE, BPF_F_NO_USER_CONV, BPF_F_SEGV_ON_FAULT, arenaBytes } from './arena-layout.js';
import {
  BPF_F_INNER_MAP,
  BPF_F_MMAPABLE,
  BPF_F_NO_COMMON_LRU,
  BPF_F_NO_PREALLOC,
  BPF_F_NUMA_NODE,
  BPF_F_PRESERVE_ELEMS,
  BPF_F_RDONLY,
  BPF_F_RDONLY_PROG,
  BPF_F_WRONLY,
  BPF_F_WRONLY_PROG,
  BPF_F_ZERO_SEED,
  KMALLOC_MAX_SIZE,
  LPM_DATA_SIZE_MAX,
  LPM_VAL_SIZE_MAX,
  PCPU_MIN_UNIT_SIZE,
  RINGBUF_PAGE,
  type MapSpec,
  type ResolvedSpec,
} from './spec.js';

/** `attachAt`: build over the descriptor of a map another thread created (rows with `shared`). */
export type MapCtor = new (host: MapHost, spec: ResolvedSpec, id: number, attachAt?: number) => BpfMap;

/** The kernel's size rules, by family; types without one check their sizes in their constructor. */
type Shape = 'array' | 'hash' | 'keyless' | 'lpm' | 'ringbuf' | 'arena';

export interface MapTypeRow {
  readonly impl: MapCtor;
  /** map_flags the kernel accepts; any other bit is EINVAL. */
  readonly flags: number;
  readonly shape?: Shape;
  /** Values have one copy per CPU. */
  readonly perCpu?: boolean;
  /** lru_hash and lru_percpu_hash: always preallocated, BPF_F_NO_COMMON_LRU allowed. */
  readonly lru?: boolean;
  /** Values are 4-byte ids of maps or programs. */
  readonly fdValue?: boolean;
  /** map_extra is meaningful (bloom_filter: the number of hash functions; arena: the user address). */
  readonly mapExtra?: boolean;
  /** Values may hold a bpf_spin_lock (the kernel's map_check_btf). */
  readonly spinLock?: boolean;
  /** Cannot be the inner map of a map-in-map. */
  readonly notInner?: boolean;
  /** A map-in-map: takes an inner map template. */
  readonly mapInMap?: boolean;
  /** Every mutable field is in the shared memory, guarded by lock.ts: other threads may attach. */
  readonly shared?: boolean;
}

const ACCESS = BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG;
const ARRAY_FLAGS = BPF_F_NUMA_NODE | BPF_F_MMAPABLE | ACCESS | BPF_F_INNER_MAP;
const HASH_FLAGS = BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE | ACCESS | BPF_F_ZERO_SEED;
const FD_ARRAY_FLAGS = BPF_F_NUMA_NODE | ACCESS | BPF_F_PRESERVE_ELEMS;
const MAP_IN_MAP_FLAGS = BPF_F_NUMA_NODE | ACCESS | BPF_F_NO_PREALLOC;
const KEYLESS_FLAGS = BPF_F_NUMA_NODE | ACCESS;

export const MAP_TYPES: Readonly<Record<string, MapTypeRow>> = {
  hash: { impl: HashMap, flags: HASH_FLAGS, shape: 'hash', spinLock: true, shared: true },
  array: { impl: ArrayMap, flags: ARRAY_FLAGS, shape: 'array', spinLock: true, shared: true },
  prog_array: { impl: ProgArrayMap, flags: FD_ARRAY_FLAGS, shape: 'array', fdValue: true, notInner: true, shared: true }, // slots hold program ids
  perf_event_array: { impl: PerfEventArrayMap, flags: FD_ARRAY_FLAGS, shape: 'array', fdValue: true, shared: true }, // slots hold ring addresses
  percpu_hash: { impl: HashMap, flags: HASH_FLAGS, shape: 'hash', perCpu: true, shared: true },
  percpu_array: { impl: ArrayMap, flags: ARRAY_FLAGS, shape: 'array', perCpu: true, shared: true },
  lru_hash: { impl: HashMap, flags: HASH_FLAGS, shape: 'hash', lru: true, shared: true },
  lru_percpu_hash: { impl: HashMap, flags: HASH_FLAGS, shape: 'hash', lru: true, perCpu: true, shared: true },
  lpm_trie: { impl: LpmTrieMap, flags: BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE | ACCESS, shape: 'lpm', shared: true },
  array_of_maps: { impl: ArrayOfMaps, flags: MAP_IN_MAP_FLAGS, shape: 'array', fdValue: true, notInner: true, mapInMap: true, shared: true },
  hash_of_maps: { impl: HashOfMaps, flags: MAP_IN_MAP_FLAGS, shape: 'hash', fdValue: true, notInner: true, mapInMap: true, shared: true },
  queue: { impl: QueueStackMap, flags: KEYLESS_FLAGS, shape: 'keyless', shared: true },
  stack: { impl: QueueStackMap, flags: KEYLESS_FLAGS, shape: 'keyless', shared: true },
  ringbuf: { impl: RingBufMap, flags: BPF_F_NUMA_NODE, shape: 'ringbuf', shared: true },
  bloom_filter: { impl: BloomFilterMap, flags: KEYLESS_FLAGS, shape: 'keyless', mapExtra: true, shared: true },
  // redirect-maps.ts, cgroup-storage.ts, stack-trace.ts check their own sizes
  devmap: { impl: RedirectMap, flags: 0 },
  devmap_hash: { impl: RedirectMap, flags: 0 },
  cpumap: { impl: RedirectMap, flags: 0 },
  xskmap: { impl: RedirectMap, flags: 0 },
  cgroup_storage: { impl: CgroupStorageMap, flags: 0 },
  percpu_cgroup_storage: { impl: CgroupStorageMap, flags: 0, perCpu: true },
  stack_trace: { impl: StackTraceMap, flags: 0 },
  sk_storage: { impl: SkStorageMap, flags: BPF_F_NO_PREALLOC | (1 << 9) }, // BPF_F_CLONE; sk-storage.ts checks its sizes
  arena: { impl: ArenaMap, flags: BPF_F_MMAPABLE | BPF_F_SEGV_ON_FAULT | BPF_F_NO_USER_CONV, shape: 'arena', mapExtra: true, notInner: true, shared: true }, // pages and page table in the memory (arena.ts)
};

/** Map types this runtime implements. */
export const SUPPORTED_MAP_TYPES: readonly string[] = Object.keys(MAP_TYPES);

const isPow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;
const isU32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;

type Need = (cond: boolean, errno: number, why: string) => void;

/** The kernel's size rules of each family (its map_alloc_check functions). */
const SHAPE_CHECKS: Readonly<Record<Shape, (s: ResolvedSpec, row: MapTypeRow, need: Need) => void>> = {
  array({ typeName, keySize, valueSize, maxEntries }, row, need) {
    need(keySize === 4, EINVAL, `key_size must be 4 for ${typeName}, got ${keySize}`);
    need(valueSize > 0, EINVAL, 'value_size must not be 0');
    need(maxEntries > 0, EINVAL, 'max_entries must not be 0');
    if (row.fdValue) need(valueSize === 4, EINVAL, `value_size must be 4 for ${typeName}, got ${valueSize}`);
    need(valueSize <= (row.perCpu ? PCPU_MIN_UNIT_SIZE : KMALLOC_MAX_SIZE), E2BIG, `value_size ${valueSize} is too large`);
  },
  hash({ typeName, keySize, valueSize, maxEntries, flags }, row, need) {
    need(keySize > 0, EINVAL, 'key_size must not be 0');
    need(valueSize > 0, EINVAL, 'value_size must not be 0');
    need(maxEntries > 0, EINVAL, 'max_entries must not be 0');
    // the kernel bounds key and value together by its largest allocation; programs are further
    // limited to keys they can build on their 512-byte stack, which the verifier checks
    need(keySize + valueSize < KMALLOC_MAX_SIZE - 48, E2BIG, `key_size + value_size ${keySize + valueSize} is too large`);
    if (row.fdValue) need(valueSize === 4, EINVAL, `value_size must be 4 for ${typeName}, got ${valueSize}`);
    need(valueSize <= (row.perCpu ? PCPU_MIN_UNIT_SIZE : KMALLOC_MAX_SIZE), E2BIG, `value_size ${valueSize} is too large`);
    if ((flags & BPF_F_NO_COMMON_LRU) !== 0) need(row.lru === true, EINVAL, 'BPF_F_NO_COMMON_LRU is only valid for LRU maps');
    if ((flags & BPF_F_NO_PREALLOC) !== 0) need(row.lru !== true, EOPNOTSUPP, 'LRU maps are always preallocated (BPF_F_NO_PREALLOC)');
  },
  keyless({ typeName, keySize, valueSize, maxEntries, mapExtra }, row, need) {
    need(keySize === 0, EINVAL, `key_size must be 0 for ${typeName}, got ${keySize}`);
    need(valueSize > 0, EINVAL, 'value_size must not be 0');
    need(maxEntries > 0, EINVAL, 'max_entries must not be 0');
    need(valueSize <= KMALLOC_MAX_SIZE, E2BIG, `value_size ${valueSize} is too large`);
    if (row.mapExtra) need((mapExtra & ~0xf) === 0, EINVAL, 'map_extra must be the number of hash functions, 0..15');
  },
  lpm({ keySize, valueSize, maxEntries, flags }, _row, need) {
    need(maxEntries > 0, EINVAL, 'max_entries must not be 0');
    need((flags & BPF_F_NO_PREALLOC) !== 0, EINVAL, 'lpm_trie requires BPF_F_NO_PREALLOC');
    need(keySize >= 5 && keySize <= 4 + LPM_DATA_SIZE_MAX, EINVAL, `key_size must be 5..${4 + LPM_DATA_SIZE_MAX} for lpm_trie, got ${keySize}`);
    need(valueSize >= 1 && valueSize <= LPM_VAL_SIZE_MAX, EINVAL, `value_size must be 1..${LPM_VAL_SIZE_MAX} for lpm_trie, got ${valueSize}`);
  },
  // arena_map_alloc: no key or value, BPF_F_MMAPABLE, at most 4 GiB, a page-aligned user address
  // whose range does not cross a 4 GiB boundary
  arena({ keySize, valueSize, maxEntries, flags, mapExtra }, _row, need) {
    need(keySize === 0 && valueSize === 0, EINVAL, 'key_size and value_size must be 0 for arena');
    need(maxEntries > 0, EINVAL, 'max_entries must not be 0');
    need((flags & BPF_F_MMAPABLE) !== 0, EINVAL, 'arena requires BPF_F_MMAPABLE');
    need(mapExtra % ARENA_PAGE_SIZE === 0, EINVAL, `map_extra 0x${mapExtra.toString(16)} (the user address) is not page-aligned`);
    const bytes = arenaBytes(maxEntries);
    need(bytes <= ARENA_MAX_BYTES, E2BIG, `max_entries ${maxEntries} pages exceed the 4 GiB an arena may span`);
    need(Math.floor(mapExtra / ARENA_MAX_BYTES) === Math.floor((mapExtra + bytes - 1) / ARENA_MAX_BYTES), ERANGE, `the arena at map_extra 0x${mapExtra.toString(16)} would cross a 4 GiB boundary`);
  },
  ringbuf({ keySize, valueSize, maxEntries }, _row, need) {
    need(keySize === 0 && valueSize === 0, EINVAL, 'key_size and value_size must be 0 for ringbuf');
    need(isPow2(maxEntries) && maxEntries % RINGBUF_PAGE === 0, EINVAL, `max_entries ${maxEntries} must be a power of 2 and a multiple of ${RINGBUF_PAGE}`);
  },
};

/** The row of a resolved type name (normalizeSpec has checked it exists). */
export function mapTypeRow(typeName: string): MapTypeRow | undefined {
  return MAP_TYPES[typeName];
}

/**
 * Resolve and check a spec. `cpus` fills perf_event_array's max_entries when
 * it is 0 (what libbpf does). Errors are MapErrors with the kernel's errno.
 */
export function normalizeSpec(spec: MapSpec, cpus: number): ResolvedSpec {
  const name = spec.name;
  const bad = (errno: number, why: string): MapError => new MapError(errno, name, 'create', why);
  const need: Need = (cond, errno, why) => {
    if (!cond) throw bad(errno, why);
  };
  let type: number;
  let typeName: string;
  if (typeof spec.type === 'number') {
    type = spec.type;
    const n = nameOf(BPF_MAP_TYPE, type);
    if (n === undefined) throw bad(EINVAL, `unknown map type ${type}`);
    typeName = n;
  } else {
    const t = BPF_MAP_TYPE[spec.type];
    if (t === undefined) throw bad(EINVAL, `unknown map type '${spec.type}'`);
    type = t;
    typeName = spec.type;
  }
  const row = MAP_TYPES[typeName];
  if (row === undefined) throw bad(EOPNOTSUPP, `map type ${typeName} is not supported by this runtime`);
  const flags = spec.flags ?? 0;
  const mapExtra = spec.mapExtra ?? 0;
  for (const [field, v] of [
    ['key_size', spec.keySize],
    ['value_size', spec.valueSize],
    ['max_entries', spec.maxEntries],
    ['map_flags', flags],
  ] as const) {
    if (!isU32(v)) throw bad(EINVAL, `${field} ${v} is not an unsigned 32-bit integer`);
  }
  const { keySize, valueSize } = spec;
  const maxEntries = typeName === 'perf_event_array' && spec.maxEntries === 0 ? cpus : spec.maxEntries;
  const extra = flags & ~row.flags;
  if (extra !== 0) throw bad(EINVAL, `map_flags 0x${extra.toString(16)} are not valid for ${typeName}`);
  if (!row.mapExtra && mapExtra !== 0) throw bad(EINVAL, `map_extra is only valid for bloom_filter and arena`);
  const base = { name, type, typeName, keySize, valueSize, maxEntries, flags, mapExtra, frozen: spec.frozen ?? false };
  if (row.shape !== undefined) SHAPE_CHECKS[row.shape](base, row, need);
  let innerMap: ResolvedSpec | undefined;
  if (row.mapInMap) {
    if (!spec.innerMap) throw bad(EINVAL, `${typeName} needs an inner map template`);
    innerMap = normalizeSpec(spec.innerMap, cpus);
    if (MAP_TYPES[innerMap.typeName]?.notInner) throw bad(EINVAL, `inner map type ${innerMap.typeName} is not allowed in a map-in-map`);
  } else if (spec.innerMap) {
    throw bad(EINVAL, `only map-in-map types take an inner map`);
  }
  // initial contents: element 0 of an array, the globals at the end of an arena (arena.ts)
  const room = typeName === 'array' ? valueSize : typeName === 'arena' ? arenaBytes(maxEntries) : 0;
  if (spec.initial && spec.initial.length > room)
    throw bad(typeName === 'arena' ? E2BIG : EINVAL, `initial contents (${spec.initial.length} bytes) do not fit ${typeName === 'array' ? `value_size ${valueSize}` : typeName === 'arena' ? `the arena's ${room} bytes` : `a ${typeName} map`}`);
  const spinLockOff = spec.spinLockOff;
  if (spinLockOff !== undefined) {
    // the kernel's map_check_btf: spin locks only in hash and array values, 4-byte aligned, inside the value
    need(row.spinLock === true, EOPNOTSUPP, `${typeName} values cannot hold a bpf_spin_lock`);
    need(Number.isInteger(spinLockOff) && spinLockOff >= 0 && (spinLockOff & 3) === 0 && spinLockOff + 4 <= valueSize, EINVAL, `bpf_spin_lock at offset ${spinLockOff} does not fit value_size ${valueSize} 4-byte aligned`);
    need((flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) === 0, EACCES, 'a map with a bpf_spin_lock cannot be read-only or write-only to programs');
  }
  return { ...base, ...(spinLockOff !== undefined ? { spinLockOff } : {}), innerMap, initial: spec.initial };
}
