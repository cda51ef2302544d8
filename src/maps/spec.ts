// What a map is made from: the same fields as the kernel's BPF_MAP_CREATE
// attributes, by the names the ELF loader uses, and the kernel's flag and
// size constants. types.ts has the facts of each map type and
// `normalizeSpec`, which checks a spec as the kernel's BPF_MAP_CREATE does.

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
