// map_lookup_elem's fast path as a WebAssembly function over the runtime
// memory, implementing exactly the layouts documented in array.ts and
// hash-layout.ts:
//
//   lookup(desc: i32, key: i32, cpu: i32) -> i32
//     value address, 0 (NULL: no such element), or -1 (not an array/hash
//     family map, or not a map at all: call the JS helper instead)
//
// Arrays and percpu arrays are an index check and a multiply-add; hash,
// percpu_hash, lru_hash and lru_percpu_hash hash the key in place and walk the
// bucket chain. The JIT can import this function into its module, so a lookup
// from JITed code stays inside Wasm (no JS boundary, no BigInt, nothing
// allocated). `key` and `cpu` are trusted: the caller has checked the key's
// memory and passes 0 <= cpu < CPUS.

import type { RuntimeMemory } from '../vm/memory.js';
import { DESC_MAGIC, Desc } from './descriptor.js';
import { ENTRY_FLAGS, ENTRY_HASH, ENTRY_HEADER, ENTRY_NEXT, FLAG_REF } from './hash-layout.js';
import { BPF_MAP_TYPE } from '../internal/uapi.gen.js';

export type WasmLookup = (desc: number, key: number, cpu: number) => number;

// ---- a minimal encoder (this module only needs one function) -----------------

function uleb(out: number[], v: number): void {
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
}

function sleb(out: number[], v: number): void {
  v |= 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

const I32 = 0x7f;
const op = {
  block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, brIf: 0x0d, ret: 0x0f,
  get: 0x20, set: 0x21, tee: 0x22, load: 0x28, load8u: 0x2d, store: 0x36, const: 0x41,
  eqz: 0x45, eq: 0x46, ne: 0x47, ltU: 0x49, gtU: 0x4b, geU: 0x4f,
  add: 0x6a, sub: 0x6b, mul: 0x6c, and: 0x71, or: 0x72, xor: 0x73, shl: 0x74, shrU: 0x76, rotl: 0x77,
} as const;

// locals: 0 desc, 1 key, 2 cpu, then these
const L = { type: 3, h: 4, e: 5, len: 6, p: 7, end: 8, k: 9, i: 10 } as const;

class Code {
  readonly b: number[] = [];
  o(...xs: number[]): this {
    this.b.push(...xs);
    return this;
  }
  get(l: number): this {
    this.b.push(op.get);
    uleb(this.b, l);
    return this;
  }
  set(l: number): this {
    this.b.push(op.set);
    uleb(this.b, l);
    return this;
  }
  c(v: number): this {
    this.b.push(op.const);
    sleb(this.b, v);
    return this;
  }
  /** i32.load at the address on the stack plus `off` (no alignment promised). */
  ld(off = 0): this {
    this.b.push(op.load, 0);
    uleb(this.b, off);
    return this;
  }
  ld8(off = 0): this {
    this.b.push(op.load8u, 0);
    uleb(this.b, off);
    return this;
  }
  st(off = 0): this {
    this.b.push(op.store, 0);
    uleb(this.b, off);
    return this;
  }
  /** u32 descriptor field. */
  desc(off: number): this {
    return this.get(0).ld(off);
  }
}

/** murmur3's per-word mix of the i32 on the stack into local h. */
function mixWord(c: Code, last: boolean): void {
  c.c(0xcc9e2d51).o(op.mul).c(15).o(op.rotl).c(0x1b873593).o(op.mul);
  c.get(L.h).o(op.xor);
  if (last) {
    c.set(L.h);
    return;
  }
  c.c(13).o(op.rotl).c(5).o(op.mul).c(0xe6546b64).o(op.add).set(L.h);
}

function body(): number[] {
  const T = BPF_MAP_TYPE;
  const c = new Code();
  // not a map: let the helper decide
  c.desc(Desc.MAGIC).c(DESC_MAGIC).o(op.ne, op.if, 0x40).c(-1).o(op.ret, op.end);
  c.desc(Desc.TYPE).set(L.type);
  // ---- arrays ----
  c.get(L.type).c(T.array!).o(op.eq).get(L.type).c(T.percpu_array!).o(op.eq).o(op.or, op.if, 0x40);
  {
    c.get(1).ld().set(L.i);
    c.get(L.i).desc(Desc.MAX_ENTRIES).o(op.geU, op.if, 0x40).c(0).o(op.ret, op.end);
    c.desc(Desc.DATA).get(L.i).desc(Desc.ELEM_STRIDE).o(op.mul, op.add);
    c.get(L.type).c(T.percpu_array!).o(op.eq, op.if, I32).get(2).desc(Desc.VALUE_STRIDE).o(op.mul, op.else).c(0).o(op.end);
    c.o(op.add, op.ret);
  }
  c.o(op.end);
  // ---- hash family ----
  c.get(L.type).c(T.hash!).o(op.eq);
  c.get(L.type).c(T.percpu_hash!).o(op.eq, op.or);
  c.get(L.type).c(T.lru_hash!).o(op.eq, op.or);
  c.get(L.type).c(T.lru_percpu_hash!).o(op.eq, op.or);
  c.o(op.eqz, op.if, 0x40).c(-1).o(op.ret, op.end);
  // h = hash32(key, len, seed)
  c.desc(Desc.KEY_SIZE).set(L.len);
  c.desc(Desc.SEED).set(L.h);
  c.get(1).set(L.p);
  c.get(1).get(L.len).c(~3).o(op.and, op.add).set(L.end);
  c.o(op.block, 0x40, op.loop, 0x40);
  {
    c.get(L.p).get(L.end).o(op.geU, op.brIf, 1);
    c.get(L.p).ld();
    mixWord(c, false);
    c.get(L.p).c(4).o(op.add).set(L.p).o(op.br, 0);
  }
  c.o(op.end, op.end);
  // tail bytes
  c.get(L.len).c(3).o(op.and, op.if, 0x40);
  {
    c.get(L.p).ld8().set(L.k);
    c.get(L.len).c(3).o(op.and).c(1).o(op.ne, op.if, 0x40).get(L.k).get(L.p).ld8(1).c(8).o(op.shl, op.or).set(L.k).o(op.end);
    c.get(L.len).c(3).o(op.and).c(3).o(op.eq, op.if, 0x40).get(L.k).get(L.p).ld8(2).c(16).o(op.shl, op.or).set(L.k).o(op.end);
    c.get(L.k);
    mixWord(c, true);
  }
  c.o(op.end);
  // finalisation
  c.get(L.h).get(L.len).o(op.xor).set(L.h);
  c.get(L.h).get(L.h).c(16).o(op.shrU, op.xor).c(0x85ebca6b).o(op.mul).set(L.h);
  c.get(L.h).get(L.h).c(13).o(op.shrU, op.xor).c(0xc2b2ae35).o(op.mul).set(L.h);
  c.get(L.h).get(L.h).c(16).o(op.shrU, op.xor).set(L.h);
  // e = bucket head
  c.desc(Desc.DATA).get(L.h).desc(Desc.MASK).o(op.and).c(2).o(op.shl, op.add).ld().set(L.e);
  // A chain is never longer than the map: an unverified program that wrote
  // over an entry header (a cycle) ends the walk here instead of hanging.
  c.desc(Desc.MAX_ENTRIES).set(L.k);
  c.o(op.block, 0x40, op.loop, 0x40);
  {
    c.get(L.e).o(op.eqz, op.brIf, 1);
    c.get(L.k).o(op.eqz, op.brIf, 1);
    c.get(L.k).c(1).o(op.sub).set(L.k);
    c.get(L.e).ld(ENTRY_HASH).get(L.h).o(op.eq, op.if, 0x40);
    {
      // compare the key: 4 bytes at a time, then the tail bytes; a difference leaves $miss
      c.c(0).set(L.i);
      c.o(op.block, 0x40); // $miss
      {
        c.o(op.block, 0x40, op.loop, 0x40);
        {
          c.get(L.i).c(4).o(op.add).get(L.len).o(op.gtU, op.brIf, 1);
          c.get(L.e).get(L.i).o(op.add).ld(ENTRY_HEADER).get(1).get(L.i).o(op.add).ld().o(op.ne, op.brIf, 2);
          c.get(L.i).c(4).o(op.add).set(L.i).o(op.br, 0);
        }
        c.o(op.end, op.end);
        c.o(op.block, 0x40, op.loop, 0x40);
        {
          c.get(L.i).get(L.len).o(op.geU, op.brIf, 1);
          c.get(L.e).get(L.i).o(op.add).ld8(ENTRY_HEADER).get(1).get(L.i).o(op.add).ld8().o(op.ne, op.brIf, 2);
          c.get(L.i).c(1).o(op.add).set(L.i).o(op.br, 0);
        }
        c.o(op.end, op.end);
        // LRU: mark referenced
        c.get(L.type).c(T.lru_hash!).o(op.eq).get(L.type).c(T.lru_percpu_hash!).o(op.eq, op.or, op.if, 0x40);
        c.get(L.e).get(L.e).ld(ENTRY_FLAGS).c(FLAG_REF).o(op.or).st(ENTRY_FLAGS).o(op.end);
        c.get(L.e).c(ENTRY_HEADER).o(op.add).desc(Desc.KEY_STRIDE).o(op.add);
        c.get(L.type).c(T.percpu_hash!).o(op.eq).get(L.type).c(T.lru_percpu_hash!).o(op.eq, op.or);
        c.o(op.if, I32).get(2).desc(Desc.VALUE_STRIDE).o(op.mul, op.else).c(0).o(op.end);
        c.o(op.add, op.ret);
      }
      c.o(op.end);
    }
    c.o(op.end);
    c.get(L.e).ld(ENTRY_NEXT).set(L.e).o(op.br, 0);
  }
  c.o(op.end, op.end);
  c.c(0);
  c.o(op.end);
  const out: number[] = [];
  uleb(out, 1); // one local declaration group
  uleb(out, 8);
  out.push(I32);
  out.push(...c.b);
  return out;
}

function section(out: number[], id: number, content: number[]): void {
  out.push(id);
  uleb(out, content.length);
  out.push(...content);
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
  return (cachedBody ??= Uint8Array.from(body()));
}

/** The module's bytes; it imports the memory as env.memory and exports `lookup`. */
export function lookupModuleBytes(mem: RuntimeMemory): Uint8Array {
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  section(out, 1, [1, 0x60, 3, I32, I32, I32, 1, I32]); // type 0: (i32 i32 i32) -> i32
  const imp: number[] = [1];
  for (const s of ['env', 'memory']) {
    uleb(imp, s.length);
    imp.push(...new TextEncoder().encode(s));
  }
  imp.push(0x02, mem.shared ? 0x03 : 0x01);
  uleb(imp, 1);
  uleb(imp, mem.maxBytes / 65536);
  section(out, 2, imp);
  section(out, 3, [1, 0]);
  const exp: number[] = [1, 6, ...new TextEncoder().encode('lookup'), 0x00, 0];
  section(out, 7, exp);
  const b = lookupFunctionBody();
  const code: number[] = [1];
  uleb(code, b.length);
  code.push(...b);
  section(out, 10, code);
  return Uint8Array.from(out);
}

/** Instantiate the lookup over this memory. */
export function wasmLookup(mem: RuntimeMemory): WasmLookup {
  const module = new WebAssembly.Module(lookupModuleBytes(mem) as BufferSource);
  const inst = new WebAssembly.Instance(module, { env: { memory: mem.wasm } });
  return inst.exports.lookup as WasmLookup;
}
