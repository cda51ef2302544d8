// The map descriptor: what a program's map pointer points at.
//
// In the kernel a program holds `struct bpf_map *` after the loader rewrites
// `lddw rX, map_fd` (src_reg = BPF_PSEUDO_MAP_FD). tsbpf does the same: every
// map owns a small read-only region in the runtime memory, the descriptor, and
// the runtime rewrites that lddw to the descriptor's address. Helpers receive
// it in r1 (r2 for tail_call and perf_event_output) and find the map object
// through the id field; the JIT reads the same fields inline to compute array
// element addresses and walk hash buckets without calling out.
//
// All fields are little-endian u32 at the offsets below. The region is
// read-only to programs, so a program cannot forge or corrupt one. Every
// mutable field of a map (counts, free list, LRU list, queue positions, the
// writer lock, the reference count) lives here too, not in a JS object, so a
// worker thread that shares the memory can attach to the map from its
// descriptor address and work on the same state (see lock.ts).

export const DESC_MAGIC = 0x4d465042; // "BPFM"

export const Desc = {
  /** DESC_MAGIC, so a stray pointer is recognised as "not a map". */
  MAGIC: 0,
  /** BPF_MAP_TYPE number. */
  TYPE: 4,
  KEY_SIZE: 8,
  VALUE_SIZE: 12,
  MAX_ENTRIES: 16,
  MAP_FLAGS: 20,
  /** Index in the MapTable (also the map's user-visible id / "fd"). */
  ID: 24,
  /** round_up(value_size, 8): distance between per-CPU copies of one value. */
  VALUE_STRIDE: 28,
  /** Type-specific base address: array element 0, hash bucket array, queue ring, ringbuf consumer page... */
  DATA: 32,
  /** Array: bytes between elements (VALUE_STRIDE * CPUS). Hash: bytes per entry. */
  ELEM_STRIDE: 36,
  /** Number of per-CPU copies of each value (1 for maps that are not per-CPU). */
  CPUS: 40,
  /** Hash: bucket count - 1 (a power of two minus one). */
  MASK: 44,
  /** Hash: seed of the key hash (0 with BPF_F_ZERO_SEED). */
  SEED: 48,
  /** Hash: address of the first preallocated entry. */
  ENTRIES: 52,
  /** Hash, queue, stack, lpm: elements in use. */
  COUNT: 56,
  /** Hash: head of the free-entry list (0 = none free). Queue/stack: head index. */
  FREE: 60,
  /** LRU hash: most recently inserted entry. Queue/stack: tail index. */
  LRU_HEAD: 64,
  /** LRU hash: least recently inserted entry. */
  LRU_TAIL: 68,
  /** round_up(key_size, 8). */
  KEY_STRIDE: 72,
  /** The map's writer lock (0 free, 1 held): inserts, deletes and list changes from any thread (lock.ts). */
  LOCK: 76,
  /** Hash: last entry of the free list (entries are reused first in, first out). */
  FREE_TAIL: 80,
  /** Holders of the map: user-space handles and loaded programs; the memory is released at 0. */
  REFS: 84,
  /** Offset of the value's `struct bpf_spin_lock` + 1 (0: the value has none), for BPF_F_LOCK. */
  SPIN_LOCK: 88,
  /**
   * 1 once a handle for another thread was made (BpfMap.handle): from then on
   * writers take LOCK and readers check entry generations with atomics. A map
   * only one thread knows skips both (Atomics cost ~10 ns each in JS).
   */
  SHARED: 92,
} as const;

export const DESC_SIZE = 96;
