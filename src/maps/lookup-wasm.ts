// map_lookup_elem's fast path as a WebAssembly function over the runtime
// memory, implementing exactly the layouts documented in array.ts and
// hash-layout.ts (including the lock-free reader protocol there):
//
//   lookup(desc: i32, key: i32, cpu: i32) -> i32
//     value address, 0 (NULL: no such element), or -1 (not an array/hash
//     family map, or not a map at all: call the JS helper instead)
//
// Arrays and percpu arrays are an index check and a multiply-add; hash,
// percpu_hash, lru_hash and lru_percpu_hash hash the key in place and walk the
// bucket chain, restarting when a concurrent delete sent the walk off its
// bucket. The JIT can import this function into its module, so a lookup from
// JITed code stays inside Wasm (no JS boundary, no BigInt, nothing
// allocated). `key` and `cpu` are trusted: the caller has checked the key's
// memory and passes 0 <= cpu < CPUS.
//
// The bytes are written with the JIT's encoder (src/vm/jit/wasm): one
// opcode table, one LEB128 writer.

import type { RuntimeMemory } from '../vm/memory.js';
import { Writer } from '../vm/jit/wasm/writer.js';
import { T, W, WA } from '../vm/jit/wasm/opcodes.js';
import { Section, beginBody, beginSection, endBody, endSection, writeExports, writeFunctions, writeHeader, writeImports, writeTypes } from '../vm/jit/wasm/module.js';
import { DESC_MAGIC, Desc } from './descriptor.js';
import { ENTRY_FLAGS, ENTRY_HASH, ENTRY_HEADER, ENTRY_NEXT, FLAG_REF, FLAG_USED, RESTARTS } from './hash-layout.js';
import { BPF_MAP_TYPE } from '../internal/uapi.gen.js';

export type WasmLookup = (desc: number, key: number, cpu: number) => number;

// locals: 0 desc, 1 key, 2 cpu, then these
const L = { type: 3, h: 4, e: 5, len: 6, p: 7, end: 8, k: 9, i: 10, f: 11, b: 12, tries: 13, seq: 14, seqAt: 15 } as const;
const LOCALS = 13;
const VOID = T.void;

/** A thin fluent layer over the Writer: one call per instruction. */
class Code {
  constructor(readonly w: Writer) {}
  o(...ops: number[]): this {
    for (const x of ops) this.w.u8(x);
    return this;
  }
  get(l: number): this {
    this.w.u8(W.local_get);
    this.w.u32(l);
    return this;
  }
  set(l: number): this {
    this.w.u8(W.local_set);
    this.w.u32(l);
    return this;
  }
  c(v: number): this {
    this.w.u8(W.i32_const);
    this.w.s32(v);
    return this;
  }
  /** Start a block/loop/if with an empty or i32 result. */
  open(op: number, type: number = VOID): this {
    return this.o(op, type);
  }
  br(op: number, depth: number): this {
    this.w.u8(op);
    this.w.u32(depth);
    return this;
  }
  private mem(op: number, align: number, off: number): this {
    this.w.u8(op);
    this.w.u32(align);
    this.w.u32(off);
    return this;
  }
  /** i32.load at the address on the stack plus `off` (no alignment promised). */
  ld(off = 0): this {
    return this.mem(W.i32_load, 0, off);
  }
  ld8(off = 0): this {
    return this.mem(W.i32_load8_u, 0, off);
  }
  /** i32.atomic.load (the address must be 4-byte aligned). */
  ldAtomic(off: number): this {
    this.w.u8(W.atomic_prefix);
    return this.mem(WA.i32_load, 2, off);
  }
  /** i32.atomic.rmw.or at the address below the operand; leaves the old value. */
  orAtomic(off: number): this {
    this.w.u8(W.atomic_prefix);
    return this.mem(WA.rmw_or, 2, off);
  }
  /** u32 descriptor field. */
  desc(off: number): this {
    return this.get(0).ld(off);
  }
  /** local type == one of `types` (i32 0/1 on the stack). */
  typeIs(...types: number[]): this {
    types.forEach((t, n) => {
      this.get(L.type).c(t).o(W.i32_eq);
      if (n > 0) this.o(W.i32_or);
    });
    return this;
  }
}

/** murmur3's per-word mix of the i32 on the stack into local h. */
function mixWord(c: Code, last: boolean): void {
  c.c(0xcc9e2d51).o(W.i32_mul).c(15).o(W.i32_rotl).c(0x1b873593).o(W.i32_mul);
  c.get(L.h).o(W.i32_xor);
  if (last) {
    c.set(L.h);
    return;
  }
  c.c(13).o(W.i32_rotl).c(5).o(W.i32_mul).c(0xe6546b64 | 0).o(W.i32_add).set(L.h);
}

function emitArray(c: Code): void {
  const T_ = BPF_MAP_TYPE;
  c.typeIs(T_.array!, T_.percpu_array!).open(W.if);
  c.get(1).ld().set(L.i);
  c.get(L.i).desc(Desc.MAX_ENTRIES).o(W.i32_ge_u).open(W.if).c(0).o(W.return, W.end);
  c.desc(Desc.DATA).get(L.i).desc(Desc.ELEM_STRIDE).o(W.i32_mul, W.i32_add);
  c.typeIs(T_.percpu_array!).open(W.if, T.i32).get(2).desc(Desc.VALUE_STRIDE).o(W.i32_mul, W.else).c(0).o(W.end);
  c.o(W.i32_add, W.return, W.end);
}

/** h = hash32(key, KEY_SIZE, SEED) (hash-layout.ts). */
function emitHash(c: Code): void {
  c.desc(Desc.KEY_SIZE).set(L.len);
  c.desc(Desc.SEED).set(L.h);
  c.get(1).set(L.p);
  c.get(1).get(L.len).c(~3).o(W.i32_and, W.i32_add).set(L.end);
  c.open(W.block).open(W.loop);
  c.get(L.p).get(L.end).o(W.i32_ge_u).br(W.br_if, 1);
  c.get(L.p).ld();
  mixWord(c, false);
  c.get(L.p).c(4).o(W.i32_add).set(L.p).br(W.br, 0);
  c.o(W.end, W.end);
  // tail bytes
  c.get(L.len).c(3).o(W.i32_and).open(W.if);
  c.get(L.p).ld8().set(L.k);
  c.get(L.len).c(3).o(W.i32_and).c(1).o(W.i32_ne).open(W.if).get(L.k).get(L.p).ld8(1).c(8).o(W.i32_shl, W.i32_or).set(L.k).o(W.end);
  c.get(L.len).c(3).o(W.i32_and).c(3).o(W.i32_eq).open(W.if).get(L.k).get(L.p).ld8(2).c(16).o(W.i32_shl, W.i32_or).set(L.k).o(W.end);
  c.get(L.k);
  mixWord(c, true);
  c.o(W.end);
  // finalisation
  c.get(L.h).get(L.len).o(W.i32_xor).set(L.h);
  c.get(L.h).get(L.h).c(16).o(W.i32_shr_u, W.i32_xor).c(0x85ebca6b | 0).o(W.i32_mul).set(L.h);
  c.get(L.h).get(L.h).c(13).o(W.i32_shr_u, W.i32_xor).c(0xc2b2ae35 | 0).o(W.i32_mul).set(L.h);
  c.get(L.h).get(L.h).c(16).o(W.i32_shr_u, W.i32_xor).set(L.h);
}

/**
 * Inside the walk, at an entry e whose hash matched: return the value when the
 * key matches under a stable generation (hash-layout.ts); otherwise fall through.
 */
function emitMatch(c: Code): void {
  const T_ = BPF_MAP_TYPE;
  c.get(L.e).ldAtomic(ENTRY_FLAGS).set(L.f);
  c.get(L.f).c(FLAG_USED).o(W.i32_and).open(W.if);
  c.c(0).set(L.i);
  c.open(W.block); // $miss
  // compare the key: 4 bytes at a time, then the tail bytes; a difference leaves $miss
  c.open(W.block).open(W.loop);
  c.get(L.i).c(4).o(W.i32_add).get(L.len).o(W.i32_gt_u).br(W.br_if, 1);
  c.get(L.e).get(L.i).o(W.i32_add).ld(ENTRY_HEADER).get(1).get(L.i).o(W.i32_add).ld().o(W.i32_ne).br(W.br_if, 2);
  c.get(L.i).c(4).o(W.i32_add).set(L.i).br(W.br, 0);
  c.o(W.end, W.end);
  c.open(W.block).open(W.loop);
  c.get(L.i).get(L.len).o(W.i32_ge_u).br(W.br_if, 1);
  c.get(L.e).get(L.i).o(W.i32_add).ld8(ENTRY_HEADER).get(1).get(L.i).o(W.i32_add).ld8().o(W.i32_ne).br(W.br_if, 2);
  c.get(L.i).c(1).o(W.i32_add).set(L.i).br(W.br, 0);
  c.o(W.end, W.end);
  // the entry was freed or reused while we compared: not a match
  c.get(L.e).ldAtomic(ENTRY_FLAGS).get(L.f).o(W.i32_xor).c(~FLAG_REF).o(W.i32_and).br(W.br_if, 0);
  // LRU: mark referenced (only when not yet marked: no write on the common path)
  c.typeIs(T_.lru_hash!, T_.lru_percpu_hash!).get(L.f).c(FLAG_REF).o(W.i32_and, W.i32_eqz, W.i32_and).open(W.if);
  c.get(L.e).c(FLAG_REF).orAtomic(ENTRY_FLAGS).o(W.drop).o(W.end);
  c.get(L.e).c(ENTRY_HEADER).o(W.i32_add).desc(Desc.KEY_STRIDE).o(W.i32_add);
  c.typeIs(T_.percpu_hash!, T_.lru_percpu_hash!).open(W.if, T.i32).get(2).desc(Desc.VALUE_STRIDE).o(W.i32_mul, W.else).c(0).o(W.end);
  c.o(W.i32_add, W.return);
  c.o(W.end); // $miss
  c.o(W.end); // if USED
}

function emitBody(w: Writer): void {
  const T_ = BPF_MAP_TYPE;
  const at = beginBody(w, [[LOCALS, T.i32]]);
  const c = new Code(w);
  // not a map: let the helper decide
  c.desc(Desc.MAGIC).c(DESC_MAGIC | 0).o(W.i32_ne).open(W.if).c(-1).o(W.return, W.end);
  c.desc(Desc.TYPE).set(L.type);
  emitArray(c);
  c.typeIs(T_.hash!, T_.percpu_hash!, T_.lru_hash!, T_.lru_percpu_hash!).o(W.i32_eqz).open(W.if).c(-1).o(W.return, W.end);
  emitHash(c);
  c.get(L.h).desc(Desc.MASK).o(W.i32_and).set(L.b);
  c.c(RESTARTS).set(L.tries);
  // the change counter after the buckets: DATA + (MASK + 1) * 4
  c.desc(Desc.DATA).desc(Desc.MASK).c(2).o(W.i32_shl, W.i32_add).c(4).o(W.i32_add).set(L.seqAt);
  c.open(W.loop); // $restart
  {
    c.get(L.seqAt).ldAtomic(0).set(L.seq);
    c.desc(Desc.DATA).get(L.b).c(2).o(W.i32_shl, W.i32_add).ld().set(L.e);
    // A chain is never longer than the map: an unverified program that wrote
    // over an entry header (a cycle) ends the walk here instead of hanging.
    // (a plain hash has one spare entry: during a replacement a chain may hold max_entries + 1)
    c.desc(Desc.MAX_ENTRIES).c(1).o(W.i32_add).set(L.k);
    c.open(W.block).open(W.loop); // $end, $walk
    {
      // not an entry (a NULLS marker, the free list's 0, a misaligned link): the walk ends
      c.get(L.e).c(7).o(W.i32_and).get(L.e).o(W.i32_eqz, W.i32_or).br(W.br_if, 1);
      c.get(L.k).o(W.i32_eqz).br(W.br_if, 1);
      c.get(L.k).c(1).o(W.i32_sub).set(L.k);
      c.get(L.e).ld(ENTRY_HASH).get(L.h).o(W.i32_eq).open(W.if);
      emitMatch(c);
      c.o(W.end);
      c.get(L.e).ld(ENTRY_NEXT).set(L.e).br(W.br, 0);
    }
    c.o(W.end, W.end);
    // the walk was too long (a corrupted header): no such key
    c.get(L.k).o(W.i32_eqz).open(W.if).c(0).o(W.return, W.end);
    // ended at our bucket's marker with no writer active meanwhile: no such key
    c.get(L.e).get(L.b).c(1).o(W.i32_shl).c(1).o(W.i32_or, W.i32_eq);
    c.get(L.seq).c(1).o(W.i32_and, W.i32_eqz, W.i32_and);
    c.get(L.seqAt).ldAtomic(0).get(L.seq).o(W.i32_eq, W.i32_and);
    c.open(W.if).c(0).o(W.return, W.end);
    // strayed into another chain through an entry deleted under us, or a
    // writer changed chains during the walk: restart, a bounded number of times
    c.get(L.tries).c(1).o(W.i32_sub).set(L.tries);
    c.get(L.tries).br(W.br_if, 0);
  }
  c.o(W.end);
  c.c(0);
  endBody(w, at);
}

let cachedBody: Uint8Array | undefined;

/**
 * The lookup function's body as a code-section entry holds it (local
 * declarations, code, final `end`), for modules that include the function
 * themselves: the JIT adds it to every module that inlines map lookups.
 * It uses memory 0 and no other index, so it fits any module whose memory
 * 0 is the runtime memory. Type: (i32 desc, i32 key, i32 cpu) -> i32.
 */
export function lookupFunctionBody(): Uint8Array {
  if (cachedBody === undefined) {
    const w = new Writer(2048);
    emitBody(w);
    // beginBody wrote a size placeholder first: the entry proper follows it
    cachedBody = w.buf.slice(5, w.pos);
  }
  return cachedBody;
}

/** The module's bytes; it imports the memory as env.memory and exports `lookup`. */
export function lookupModuleBytes(mem: RuntimeMemory): Uint8Array {
  const w = new Writer(4096);
  writeHeader(w);
  writeTypes(w, [{ params: [T.i32, T.i32, T.i32], results: [T.i32] }]);
  writeImports(w, [{ kind: 'memory', module: 'env', name: 'memory', min: 1, max: mem.maxBytes / 65536, shared: mem.shared }]);
  writeFunctions(w, [0]);
  writeExports(w, [{ name: 'lookup', kind: 'func', index: 0 }]);
  const at = beginSection(w, Section.Code);
  w.u32(1);
  const body = lookupFunctionBody();
  w.u32(body.length);
  w.bytes(body);
  endSection(w, at);
  return w.buf.slice(0, w.pos);
}

/** Instantiate the lookup over this memory. */
export function wasmLookup(mem: RuntimeMemory): WasmLookup {
  const module = new WebAssembly.Module(lookupModuleBytes(mem) as BufferSource);
  const inst = new WebAssembly.Instance(module, { env: { memory: mem.wasm } });
  return inst.exports.lookup as WasmLookup;
}
