// Maps: the kernel's map types laid out in the runtime memory, a table that
// creates them from specs, and the user-space API on bytes.

export { MapTable } from './table.js';
export type { MapTableOptions } from './table.js';
export { BpfMap, USER } from './base.js';
export type { MapHost, BatchResult } from './base.js';
export { ArrayMap } from './array.js';
export { HashMap } from './hash.js';
export { LpmTrieMap } from './lpm-trie.js';
export { QueueStackMap } from './queue-stack.js';
export { BloomFilterMap } from './bloom-filter.js';
export { RingBufMap } from './ringbuf.js';
export { PerfEventArrayMap, BPF_F_CURRENT_CPU, BPF_F_INDEX_MASK } from './perf-event-array.js';
export type { PerfRecord } from './perf-event-array.js';
export { ProgArrayMap, MAX_TAIL_CALL_CNT } from './prog-array.js';
export type { ProgramResolver } from './prog-array.js';
export { ArrayOfMaps, HashOfMaps } from './map-in-map.js';
export { ArenaMap } from './arena.js';
export { ARENA_PAGE_SIZE, BPF_F_SEGV_ON_FAULT, BPF_F_NO_USER_CONV, arenaBytes, arenaGlobalsOffset } from './arena-layout.js';
export { Desc, DESC_MAGIC, DESC_SIZE } from './descriptor.js';
export { hash32 } from './hash-layout.js';
export * from './spec.js';
export { MAP_TYPES, SUPPORTED_MAP_TYPES, normalizeSpec } from './types.js';
export type { MapTypeRow, MapCtor } from './types.js';
export type { MapHandle } from './base.js';
export { KernelLru } from './lru.js';
export * from './errno.js';
export { wasmLookup, lookupModuleBytes } from './lookup-wasm.js';
export type { WasmLookup } from './lookup-wasm.js';
