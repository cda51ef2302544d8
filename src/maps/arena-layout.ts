// The arena map's layout facts, shared by the map (arena.ts), the loader
// (src/elf: where `.addr_space.1` globals go) and the verifier: pure numbers,
// so importing them pulls in nothing else.

/** Arena pages are the kernel's PAGE_SIZE on x86-64 (an arena of max_entries pages). */
export const ARENA_PAGE_SIZE = 4096;

/** The kernel's limit on an arena: 4 GiB of pages (arena_map_alloc, E2BIG above it). */
export const ARENA_MAX_BYTES = 2 ** 32;

/** Bytes an arena of `maxEntries` pages spans (the kernel's mmap size). */
export function arenaBytes(maxEntries: number): number {
  return maxEntries * ARENA_PAGE_SIZE;
}

/**
 * Offset of the `.addr_space.1` globals in the arena: libbpf (1.6+) puts
 * them at its END, page-aligned, so that pages the program allocates start
 * at offset 0; -1 when `dataSize` bytes do not fit.
 */
export function arenaGlobalsOffset(maxEntries: number, dataSize: number): number {
  const pages = Math.ceil(dataSize / ARENA_PAGE_SIZE);
  return pages > maxEntries ? -1 : (maxEntries - pages) * ARENA_PAGE_SIZE;
}

/** map_flags only arenas take (include/uapi/linux/bpf.h): fault user accesses to absent pages; no as(0)->as(1) conversion. */
export const BPF_F_SEGV_ON_FAULT = 1 << 17;
export const BPF_F_NO_USER_CONV = 1 << 18;
