// The flat layout of hash, percpu_hash, lru_hash, lru_percpu_hash and
// hash_of_maps in the runtime memory, precise enough for a Wasm emitter to
// implement the same lookup inline. Everything is little-endian; addresses
// are u32 offsets into the runtime memory.
//
// Descriptor fields used (see descriptor.ts):
//   DATA     address of the bucket array: (MASK + 1) u32 words, each the first
//            entry of the bucket or the bucket's end marker NULLS(b) = b*2 + 1;
//            then one u32, the change counter SEQ (at DATA + (MASK + 1) * 4):
//            a writer of a shared map makes it odd when it takes the lock and
//            even again before it lets go
//   MASK     bucket count - 1; the bucket count is roundup_pow_of_two(max_entries)
//   SEED     seed of hash32 (0 when the map has BPF_F_ZERO_SEED)
//   ENTRIES  address of entry 0; entries are preallocated, ELEM_STRIDE apart:
//            max_entries of them, plus one spare in a plain hash, which
//            replaces an existing key's entry with a new one (hash.ts)
//   ELEM_STRIDE  bytes per entry = ENTRY_HEADER + KEY_STRIDE + VALUE_STRIDE * CPUS
//   COUNT    entries in use; FREE / FREE_TAIL the free list (chained through
//            `next`, ends with 0), used first in, first out
//   LRU_HEAD LRU maps: address of the LRU lists' header (lru.ts), placed
//            after the entries; LRU maps keep no FREE list
//   LOCK     writer lock (lock.ts): every change of a chain, list or count
//
// Entry (8-byte aligned):
//   +0  u32 next      next entry in the same bucket, NULLS(bucket) after the
//                     last; in the free list: the next free entry or 0
//   +4  u32 hash      hash32 of the key
//   +8  u32 lru_prev  LRU list neighbours (unused by non-LRU maps)
//   +12 u32 lru_next
//   +16 u32 flags     bit 0 USED: in use; bit 1 REF: referenced since last
//                     considered for eviction; bits 2..31: generation, bumped
//                     whenever the entry is freed or reused
//   +20 u32 lru_node  LRU maps: the node's list type and CPU (lru.ts)
//   +24 key           key_size bytes, padded to KEY_STRIDE
//   +24+KEY_STRIDE    value; per-CPU maps: CPUS copies, VALUE_STRIDE apart
//
// Lookups take no lock (the kernel's are RCU readers). A writer publishes an
// entry (key, hash, value, then flags = USED with a new generation, all
// before the atomic store that links it), and frees one by unlinking it,
// then storing flags with a new generation and no USED, then appending it to
// the free list. A reader racing with that can (a) follow a freed entry's
// `next` into another bucket or the free list: it notices because the walk
// does not end at its own bucket's NULLS marker, and restarts (the kernel's
// hlist_nulls trick); (b) compare against an entry being rewritten: it reads
// flags (atomically) before and after the key compare and accepts the match
// only if USED was set and the generation did not change, so it never returns
// an entry whose key it saw half-written; (c) miss a key that was there all
// along, because it walked past the place where a replacement entry was
// linked just before the old one was unlinked, or off a freed entry: so a
// miss only counts when the change counter SEQ was even and unchanged over
// the walk, otherwise the walk restarts (up to RESTARTS times; then the
// JIT's Wasm lookup reports the miss, while the JavaScript side walks again
// under the writer lock). What it can return, as in the kernel with preallocated maps,
// is an entry deleted right after the match: the pointer stays inside the
// map (entries are never unmapped) and may later hold another key's value.
// Maps not shared with another thread skip all of this (Desc.SHARED).
//
// Lookup (what the JIT must reproduce):
//   h = hash32(key, key_size, SEED); b = h & MASK
//   restart: s = atomic SEQ; e = u32[DATA + b * 4]
//   while e is an entry (e != 0, e even):
//     if u32[e + 4] == h:
//       f = atomic u32[e + 16]
//       if f & USED && bytes(e + 24, key_size) == bytes(key, key_size)
//          && (atomic u32[e + 16] ^ f) & ~REF == 0:
//         (LRU maps: if not f & REF, atomic u32[e + 16] |= REF)
//         return e + 24 + KEY_STRIDE + cpu * VALUE_STRIDE   (cpu = 0 unless per-CPU)
//     e = u32[e]
//   if e == NULLS(b) && s even && atomic SEQ == s: return 0
//   goto restart (at most RESTARTS times), then return 0
// Every walk is also bounded by MAX_ENTRIES + 1 steps: the headers lie in
// program-writable memory, and an unverified program that made a cycle must
// not hang the host.
//
// hash32 is MurmurHash3's 32-bit mixing (x86_32 variant) over the key bytes:
//   h = seed
//   for each complete 4-byte little-endian word k:
//     k = k * 0xcc9e2d51; k = rotl(k, 15); k = k * 0x1b873593
//     h ^= k; h = rotl(h, 13); h = h * 5 + 0xe6546b64
//   tail (1..3 bytes): k = the bytes little-endian; k *= 0xcc9e2d51;
//     k = rotl(k, 15); k *= 0x1b873593; h ^= k
//   h ^= key_size
//   h ^= h >>> 16; h *= 0x85ebca6b; h ^= h >>> 13; h *= 0xc2b2ae35; h ^= h >>> 16
// (all arithmetic mod 2^32). It reads the key in place: no copy, no allocation.

export const ENTRY_NEXT = 0;
export const ENTRY_HASH = 4;
export const ENTRY_LRU_PREV = 8;
export const ENTRY_LRU_NEXT = 12;
export const ENTRY_FLAGS = 16;
export const ENTRY_HEADER = 24;

export const FLAG_USED = 1;
export const FLAG_REF = 2;
/** One generation step in the flags word (bits 2..31). */
export const FLAG_GEN = 4;

/** How often a lock-free lookup restarts after straying off its chain before it reports "no element". */
export const RESTARTS = 1000;

/** The end marker of bucket b's chain (odd, so never an entry address). */
export const nulls = (b: number): number => (b << 1) | 1;

/**
 * hash32 of `len` bytes at `addr` in `u8` (see the header), as a signed int32
 * (the same 32 bits; a signed result stays a small integer in V8, where an
 * unsigned one above 2^31 would be boxed).
 */
export function hash32(u8: Uint8Array, addr: number, len: number, seed: number): number {
  let h = seed | 0;
  const end4 = addr + (len & ~3);
  let p = addr;
  for (; p < end4; p += 4) {
    let k = u8[p]! | (u8[p + 1]! << 8) | (u8[p + 2]! << 16) | (u8[p + 3]! << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = len & 3;
  if (rest !== 0) {
    let k = u8[p]!;
    if (rest > 1) k |= u8[p + 1]! << 8;
    if (rest > 2) k |= u8[p + 2]! << 16;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/** Smallest power of two >= n (n >= 1). */
export function roundUpPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
