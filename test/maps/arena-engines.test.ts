// The engines agree on arena accesses (src/vm/arena-access.ts): random
// programs of loads (zero- and sign-extending), stores and atomics whose
// every access is marked as an arena access, at addresses inside allocated
// pages, on absent pages, across page boundaries and the arena's ends, far
// outside it and with upper bits set, plus 64-bit arithmetic marked to run
// as 32-bit. The interpreter, the JIT and the unchecked 'jit-verified' must
// give the same r0, leave the same arena bytes, and touch nothing next to
// the arena. Seeded, so a failure names a program that can be replayed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../src/asm/assemble.js';
import { decodeProgram, type Program } from '../../src/isa/decode.js';
import { MapTable } from '../../src/maps/table.js';
import type { ArenaMap } from '../../src/maps/arena.js';
import { ARENA_PAGE_SIZE } from '../../src/maps/arena-layout.js';
import { BPF_F_MMAPABLE } from '../../src/maps/spec.js';
import { RuntimeMemory } from '../../src/vm/memory.js';
import { createVm } from '../../src/vm/vm.js';
import { trustProgram } from '../../src/vm/engines.js';
import { ArenaMark, markArenaAccesses } from '../../src/vm/arena-access.js';

const PAGE = ARENA_PAGE_SIZE;
const PAGES = 4;
const ENGINES = ['interp', 'jit', 'jit-verified'] as const;
const GUARD = 64;

/** mulberry32: a small seeded generator. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const LOADS = ['u8', 'u16', 'u32', 'u64', 's8', 's16', 's32'];
const STORES = ['u8', 'u16', 'u32', 'u64'];

/** One random program: its source lines and, per line, whether the engines must treat it as marked. */
function randomProgram(r: () => number, start: number): { lines: string[]; marks: number[] } {
  const int = (n: number): number => Math.floor(r() * n);
  const lines: string[] = ['r0 = 0', 'r4 = 0x1122334455667788 ll', 'r5 = 3'];
  const marks: number[] = [0, 0, 0, 0];
  const emit = (line: string, mark = 0): void => {
    lines.push(line);
    marks.push(mark);
    if (/ ll$/.test(line)) marks.push(0); // lddw takes two slots
  };
  const addr = (): string => {
    const k = int(8);
    let a: number;
    if (k <= 2) a = start + int(PAGES) * PAGE + int(PAGE); // anywhere in the arena, absent pages included
    else if (k === 3) a = start + PAGE - 8 + int(16); // across page 0 | page 1 (allocated | absent)
    else if (k === 4) a = start - 16 + int(24); // across the start
    else if (k === 5) a = start + PAGES * PAGE - 16 + int(32); // across the end
    else if (k === 6) a = int(2 ** 32); // anywhere
    else a = start + int(PAGE); // page 0, with upper bits below
    const hi = k === 7 ? 1 + int(4) : 0;
    return hi === 0 ? `0x${a.toString(16)}` : `0x${hi.toString(16)}${a.toString(16).padStart(8, '0')}`;
  };
  for (let n = 0; n < 24; n++) {
    emit(`r2 = ${addr()} ll`);
    // sometimes 64-bit arithmetic on the pointer, marked to run as 32-bit (the upper half is dropped)
    if (int(4) === 0) emit(`r2 += ${int(64) - 32}`, ArenaMark.ZEXT);
    const off = int(5) === 0 ? (int(2) ? PAGE : -PAGE) + int(16) - 8 : int(32) - 16;
    const o = off < 0 ? `- ${-off}` : `+ ${off}`;
    const kind = int(10);
    if (kind < 4) {
      emit(`r3 = *(${LOADS[int(LOADS.length)]} *)(r2 ${o})`, ArenaMark.ACCESS);
      emit('r0 += r3');
      emit('r0 *= 3');
    } else if (kind < 6) {
      emit(`*(${STORES[int(STORES.length)]} *)(r2 ${o}) = ${int(2 ** 31) - 2 ** 30}`, ArenaMark.ACCESS);
    } else if (kind < 8) {
      emit(`*(${STORES[int(STORES.length)]} *)(r2 ${o}) = r4`, ArenaMark.ACCESS);
      emit('r4 += 0x1357');
    } else {
      const a = int(5);
      if (a === 0) emit(`lock *(u64 *)(r2 ${o}) += r5`, ArenaMark.ACCESS);
      else if (a === 1) emit(`lock *(u32 *)(r2 ${o}) += w5`, ArenaMark.ACCESS);
      else if (a === 2) emit(`r5 = atomic_fetch_add((u64 *)(r2 ${o}), r5)`, ArenaMark.ACCESS);
      else if (a === 3) emit(`r5 = xchg_64(r2 ${o}, r5)`, ArenaMark.ACCESS);
      else emit(`r0 = cmpxchg_64(r2 ${o}, r0, r5)`, ArenaMark.ACCESS);
      emit('r0 ^= r5');
    }
  }
  emit('exit');
  return { lines, marks };
}

test('interp, jit and jit-verified agree on random arena programs, and stay inside the arena', () => {
  const mem = new RuntimeMemory({ maxBytes: 16 * 1024 * 1024 });
  const vm = createVm({ mem });
  const maps = new MapTable(mem, { cpus: 1 });
  const arena = maps.create({ name: 'arena', type: 'arena', keySize: 0, valueSize: 0, maxEntries: PAGES, flags: BPF_F_MMAPABLE }) as ArenaMap;
  const start = arena.userVmStart;
  const end = start + arena.size;
  // pages 0 and 2 allocated, 1 and 3 absent
  assert.equal(arena.allocPages(start, 1, -1, 0), start);
  assert.equal(arena.allocPages(start + 2 * PAGE, 1, -1, 0), start + 2 * PAGE);
  const seedBytes = new Uint8Array(PAGE);
  const fill = rng(7);
  for (let i = 0; i < PAGE; i++) seedBytes[i] = Math.floor(fill() * 256);
  const reset = (): void => {
    mem.u8.set(seedBytes, start);
    mem.u8.set(seedBytes, start + 2 * PAGE);
  };
  const outside = (): Uint8Array => new Uint8Array([...mem.u8.slice(start - GUARD, start), ...mem.u8.slice(end, end + GUARD)]);
  const around = outside();
  const r = rng(20261125);
  let misses = 0;
  for (let k = 0; k < 150; k++) {
    const { lines, marks } = randomProgram(r, start);
    const prog: Program = decodeProgram(assemble(lines.join('\n')));
    assert.equal(marks.length, prog.length, 'one mark per slot');
    markArenaAccesses(prog, { start, size: arena.size, marks: Uint8Array.from(marks) });
    trustProgram(prog);
    const results: string[] = [];
    const contents: Uint8Array[] = [];
    for (const engine of ENGINES) {
      reset();
      const res = vm.engine(prog, engine).run([]);
      results.push(`${res.r0hi >>> 0}:${res.r0lo >>> 0}`);
      contents.push(mem.u8.slice(start, end));
    }
    const where = `program ${k}:\n${lines.join('\n')}`;
    assert.equal(results[1], results[0], `jit vs interp, ${where}`);
    assert.equal(results[2], results[0], `jit-verified vs interp, ${where}`);
    assert.deepEqual(contents[1], contents[0], `arena bytes, jit vs interp, ${where}`);
    assert.deepEqual(contents[2], contents[0], `arena bytes, jit-verified vs interp, ${where}`);
    assert.deepEqual(outside(), around, `bytes next to the arena changed, ${where}`);
    if (contents[0]!.subarray(PAGE, 2 * PAGE).some((b) => b !== 0)) misses++;
  }
  assert.equal(misses, 0, 'stores to the absent page 1 were dropped');
  assert.equal(arena.isPageAllocated(1) || arena.isPageAllocated(3), false);
});

test('a marked 64-bit add on an arena pointer runs as 32-bit on every engine (upper half dropped)', () => {
  const mem = new RuntimeMemory({ maxBytes: 16 * 1024 * 1024 });
  const vm = createVm({ mem });
  const arena = new MapTable(mem, { cpus: 1 }).create({ name: 'arena', type: 'arena', keySize: 0, valueSize: 0, maxEntries: 1, flags: BPF_F_MMAPABLE }) as ArenaMap;
  arena.dataView(8, 8).setBigUint64(0, 0x0102030405060708n, true);
  // r2 = (1 << 32) | (start + 4); r2 += 4 as a 32-bit add gives start + 8; as a 64-bit one the upper bit stays and the load misses
  const src = `r2 = 0x1${(arena.userVmStart + 4).toString(16).padStart(8, '0')} ll\nr2 += 4\nr0 = *(u64 *)(r2 + 0)\nexit`;
  const run = (zext: boolean): bigint[] => {
    const prog = decodeProgram(assemble(src));
    markArenaAccesses(prog, { start: arena.userVmStart, size: arena.size, marks: Uint8Array.from([0, 0, zext ? ArenaMark.ZEXT : 0, ArenaMark.ACCESS, 0]) });
    trustProgram(prog);
    return ENGINES.map((e) => vm.engine(prog, e).run([]).r0);
  };
  assert.deepEqual(run(true), [0x0102030405060708n, 0x0102030405060708n, 0x0102030405060708n]);
  assert.deepEqual(run(false), [0n, 0n, 0n], 'without the mark the base keeps its upper half and the load misses');
});
