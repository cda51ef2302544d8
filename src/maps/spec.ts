// What a map is made from: the same fields as the kernel's BPF_MAP_CREATE
// attributes, by the names the ELF loader uses. `normalizeSpec` resolves the
// type name, fills the defaults libbpf fills, and applies the kernel's
// create-time checks with the kernel's error codes.

import { BPF_MAP_TYPE, nameOf } from '../internal/uapi.gen.js';
import { E2BIG, EACCES, EINVAL, EOPNOTSUPP, MapError } from './errno.js';

/** Update flags (the `flags` argument of map_update_elem). */
export const BPF_ANY = 0;
export const BPF_NOEXIST = 1;
export const BPF_EXIST = 2;
export const BPF_F_LOCK = 4;

/** Map creation flags (map_flags). */
export const BPF_F_NO_PREALLOC = 1 << 0;
export const BPF_F_NO_COMMON_LRU = 1 << 1;
export const BPF_F_NUMA_NODE = 1 << 2;
export const BPF_F_RDONLY = 1 << 3;
export const BPF_F_WRONLY = 1 << 4;
export const BPF_F_STACK_BUILD_ID = 1 << 5;
export const BPF_F_ZERO_SEED = 1 << 6;
export const BPF_F_RDONLY_PROG = 1 << 7;
export const BPF_F_WRONLY_PROG = 1 << 8;
export const BPF_F_CLONE = 1 << 9;
export const BPF_F_MMAPABLE = 1 << 10;
export const BPF_F_PRESERVE_ELEMS = 1 << 11;
export const BPF_F_INNER_MAP = 1 << 12;

const ACCESS = BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG;

/** The kernel's size limits that matter for user-visible errors. */
export const MAX_BPF_STACK = 512;
export const PCPU_MIN_UNIT_SIZE = 32768;
export const LPM_DATA_SIZE_MAX = 256;
export const LPM_VAL_SIZE_MAX = 65535 - 4 - 256; // KMALLOC_MAX_SIZE is far larger; the kernel's own LPM cap
export const KMALLOC_MAX_SIZE = 1 << 22; // 4 MiB: the largest single value the kernel allocates
export const RINGBUF_PAGE = 4096;

/** A map as the ELF loader or an embedder describes it. */
export interface MapSpec {
  readonly name: string;
  /** Kernel name (`hash`, `percpu_array`...) or BPF_MAP_TYPE number. */
  readonly type: string | number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags?: number;
  /** map_extra: the number of hash functions for bloom_filter (low 4 bits). */
  readonly mapExtra?: number;
  /** Template for array_of_maps / hash_of_maps. */
  readonly innerMap?: MapSpec;
  /** Initial contents (global data: .data, .rodata, .bss), at most value_size bytes of element 0. */
  readonly initial?: Uint8Array;
  /** Freeze after creation (.rodata): user space can no longer update, programs cannot write. */
  readonly frozen?: boolean;
  /** Byte offset of a `struct bpf_spin_lock` in the value (from BTF), enabling BPF_F_LOCK. */
  readonly spinLockOff?: number;
}

/** A spec after defaults and checks. */
export interface ResolvedSpec {
  readonly name: string;
  readonly type: number;
  readonly typeName: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly mapExtra: number;
  readonly innerMap?: ResolvedSpec;
  readonly initial?: Uint8Array;
  readonly frozen: boolean;
  /** Offset of the value's bpf_spin_lock, when it has one. */
  readonly spinLockOff?: number;
}

export const roundUp8 = (n: number): number => (n + 7) & ~7;
const isPow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;
const isU32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;

/** Flags each map type accepts; anything else is EINVAL as in the kernel. */
function allowedFlags(typeName: string): number {
  switch (typeName) {
    case 'array':
    case 'percpu_array':
      return BPF_F_NUMA_NODE | BPF_F_MMAPABLE | ACCESS | BPF_F_INNER_MAP;
    case 'hash':
    case 'percpu_hash':
    case 'lru_hash':
    case 'lru_percpu_hash':
      return BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE | ACCESS | BPF_F_ZERO_SEED;
    case 'prog_array':
    case 'perf_event_array':
      return BPF_F_NUMA_NODE | ACCESS | BPF_F_PRESERVE_ELEMS;
    case 'array_of_maps':
    case 'hash_of_maps':
      return BPF_F_NUMA_NODE | ACCESS | BPF_F_NO_PREALLOC;
    case 'queue':
    case 'stack':
    case 'bloom_filter':
      return BPF_F_NUMA_NODE | ACCESS;
    case 'lpm_trie':
      return BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE | ACCESS;
    case 'ringbuf':
      return BPF_F_NUMA_NODE;
    case 'sk_storage':
      return BPF_F_NO_PREALLOC | (1 << 9); // BPF_F_CLONE
    default:
      return 0;
  }
}

/** Map types this runtime implements. */
export const SUPPORTED_MAP_TYPES: readonly string[] = [
  'hash',
  'array',
  'prog_array',
  'perf_event_array',
  'percpu_hash',
  'percpu_array',
  'lru_hash',
  'lru_percpu_hash',
  'lpm_trie',
  'array_of_maps',
  'hash_of_maps',
  'queue',
  'stack',
  'ringbuf',
  'bloom_filter',
  // redirect-maps.ts (checks its own sizes)
  'devmap',
  'devmap_hash',
  'cpumap',
  'xskmap',
  // cgroup-storage.ts
  'cgroup_storage',
  'percpu_cgroup_storage',
  // stack-trace.ts
  'stack_trace',
  // sk-storage.ts
  'sk_storage',
];

/**
 * Resolve and check a spec. `cpus` fills perf_event_array's max_entries when
 * it is 0 (what libbpf does). Errors are MapErrors with the kernel's errno.
 */
export function normalizeSpec(spec: MapSpec, cpus: number): ResolvedSpec {
  const name = spec.name;
  const bad = (errno: number, why: string): MapError => new MapError(errno, name, 'create', why);
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
  if (!SUPPORTED_MAP_TYPES.includes(typeName)) throw bad(EOPNOTSUPP, `map type ${typeName} is not supported by this runtime`);
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
  let maxEntries = spec.maxEntries;
  if (typeName === 'perf_event_array' && maxEntries === 0) maxEntries = cpus;
  const extra = flags & ~allowedFlags(typeName);
  if (extra !== 0) throw bad(EINVAL, `map_flags 0x${extra.toString(16)} are not valid for ${typeName}`);
  if (typeName !== 'bloom_filter' && mapExtra !== 0) throw bad(EINVAL, `map_extra is only valid for bloom_filter`);
  const need = (cond: boolean, errno: number, why: string): void => {
    if (!cond) throw bad(errno, why);
  };
  const percpu = typeName.startsWith('percpu') || typeName === 'lru_percpu_hash';
  switch (typeName) {
    case 'array':
    case 'percpu_array':
    case 'prog_array':
    case 'perf_event_array':
    case 'array_of_maps':
      need(keySize === 4, EINVAL, `key_size must be 4 for ${typeName}, got ${keySize}`);
      need(valueSize > 0, EINVAL, 'value_size must not be 0');
      need(maxEntries > 0, EINVAL, 'max_entries must not be 0');
      if (typeName === 'prog_array' || typeName === 'perf_event_array' || typeName === 'array_of_maps')
        need(valueSize === 4, EINVAL, `value_size must be 4 for ${typeName}, got ${valueSize}`);
      need(valueSize <= (percpu ? PCPU_MIN_UNIT_SIZE : KMALLOC_MAX_SIZE), E2BIG, `value_size ${valueSize} is too large`);
      break;
    case 'hash':
    case 'percpu_hash':
    case 'lru_hash':
    case 'lru_percpu_hash':
    case 'hash_of_maps':
      need(keySize > 0, EINVAL, 'key_size must not be 0');
      need(valueSize > 0, EINVAL, 'value_size must not be 0');
      need(maxEntries > 0, EINVAL, 'max_entries must not be 0');
      // the kernel bounds key and value together by its largest allocation; programs are further
      // limited to keys they can build on their 512-byte stack, which the verifier checks
      need(keySize + valueSize < KMALLOC_MAX_SIZE - 48, E2BIG, `key_size + value_size ${keySize + valueSize} is too large`);
      if (typeName === 'hash_of_maps') need(valueSize === 4, EINVAL, `value_size must be 4 for hash_of_maps, got ${valueSize}`);
      need(valueSize <= (percpu ? PCPU_MIN_UNIT_SIZE : KMALLOC_MAX_SIZE), E2BIG, `value_size ${valueSize} is too large`);
      if ((flags & BPF_F_NO_COMMON_LRU) !== 0) need(typeName.startsWith('lru'), EINVAL, 'BPF_F_NO_COMMON_LRU is only valid for LRU maps');
      if ((flags & BPF_F_NO_PREALLOC) !== 0) need(!typeName.startsWith('lru'), EOPNOTSUPP, 'LRU maps are always preallocated (BPF_F_NO_PREALLOC)');
      break;
    case 'queue':
    case 'stack':
    case 'bloom_filter':
      need(keySize === 0, EINVAL, `key_size must be 0 for ${typeName}, got ${keySize}`);
      need(valueSize > 0, EINVAL, 'value_size must not be 0');
      need(maxEntries > 0, EINVAL, 'max_entries must not be 0');
      need(valueSize <= KMALLOC_MAX_SIZE, E2BIG, `value_size ${valueSize} is too large`);
      if (typeName === 'bloom_filter') need((mapExtra & ~0xf) === 0, EINVAL, 'map_extra must be the number of hash functions, 0..15');
      break;
    case 'lpm_trie':
      need(maxEntries > 0, EINVAL, 'max_entries must not be 0');
      need((flags & BPF_F_NO_PREALLOC) !== 0, EINVAL, 'lpm_trie requires BPF_F_NO_PREALLOC');
      need(keySize >= 5 && keySize <= 4 + LPM_DATA_SIZE_MAX, EINVAL, `key_size must be 5..${4 + LPM_DATA_SIZE_MAX} for lpm_trie, got ${keySize}`);
      need(valueSize >= 1 && valueSize <= LPM_VAL_SIZE_MAX, EINVAL, `value_size must be 1..${LPM_VAL_SIZE_MAX} for lpm_trie, got ${valueSize}`);
      break;
    case 'ringbuf':
      need(keySize === 0 && valueSize === 0, EINVAL, 'key_size and value_size must be 0 for ringbuf');
      need(isPow2(maxEntries) && maxEntries % RINGBUF_PAGE === 0, EINVAL, `max_entries ${maxEntries} must be a power of 2 and a multiple of ${RINGBUF_PAGE}`);
      break;
  }
  let innerMap: ResolvedSpec | undefined;
  if (typeName === 'array_of_maps' || typeName === 'hash_of_maps') {
    if (!spec.innerMap) throw bad(EINVAL, `${typeName} needs an inner map template`);
    innerMap = normalizeSpec(spec.innerMap, cpus);
    const it = innerMap.typeName;
    if (it === 'array_of_maps' || it === 'hash_of_maps' || it === 'prog_array') throw bad(EINVAL, `inner map type ${it} is not allowed in a map-in-map`);
  } else if (spec.innerMap) {
    throw bad(EINVAL, `only map-in-map types take an inner map`);
  }
  if (spec.initial && spec.initial.length > (typeName === 'array' ? valueSize : 0))
    throw bad(EINVAL, `initial contents (${spec.initial.length} bytes) do not fit ${typeName === 'array' ? `value_size ${valueSize}` : `a ${typeName} map`}`);
  const spinLockOff = spec.spinLockOff;
  if (spinLockOff !== undefined) {
    // the kernel's map_check_btf: spin locks only in hash and array values, 4-byte aligned, inside the value
    need(typeName === 'hash' || typeName === 'array', EOPNOTSUPP, `${typeName} values cannot hold a bpf_spin_lock`);
    need(Number.isInteger(spinLockOff) && spinLockOff >= 0 && (spinLockOff & 3) === 0 && spinLockOff + 4 <= valueSize, EINVAL, `bpf_spin_lock at offset ${spinLockOff} does not fit value_size ${valueSize} 4-byte aligned`);
    need((flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) === 0, EACCES, 'a map with a bpf_spin_lock cannot be read-only or write-only to programs');
  }
  return {
    ...(spinLockOff !== undefined ? { spinLockOff } : {}),
    name,
    type,
    typeName,
    keySize,
    valueSize,
    maxEntries,
    flags,
    mapExtra,
    innerMap,
    initial: spec.initial,
    frozen: spec.frozen ?? false,
  };
}
