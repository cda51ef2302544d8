// BPF_MAP_TYPE_ARENA (src/maps/arena.ts) end to end: the map's create
// checks and page bookkeeping, the user view, `.addr_space.1` globals, and
// self-written clang-built programs (test/fixtures/arena) on every engine,
// the unchecked 'jit-verified' included: the same results, the same arena
// contents, and no access outside the arena. As root, with the libbpf the
// verifier corpus built (/tmp/vcorpus/lib), the running kernel runs the same
// objects and gives the same results and arena globals.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { newTable, errnoOf } from './util.js';
import { ArenaMap } from '../../src/maps/arena.js';
import { ARENA_PAGE_SIZE, BPF_F_SEGV_ON_FAULT, arenaGlobalsOffset } from '../../src/maps/arena-layout.js';
import { BPF_F_MMAPABLE } from '../../src/maps/spec.js';
import { E2BIG, EFAULT, EINVAL, ENOMEM, ERANGE } from '../../src/maps/errno.js';
import { Runtime } from '../../src/runtime/index.js';
import { MapTable } from '../../src/maps/table.js';
import { RuntimeMemory } from '../../src/vm/memory.js';
import { arenaAccessOf } from '../../src/vm/arena-access.js';
import { loadObject } from '../../src/elf/index.js';
import { FIXTURES } from '../paths.js';

const DIR = join(FIXTURES, 'arena');
const ENGINES = ['interp', 'jit', 'jit-verified'] as const;
const PAGE = ARENA_PAGE_SIZE;

const arenaSpec = (pages: number, extra: Partial<{ flags: number; mapExtra: number; keySize: number }> = {}) => ({
  name: 'arena', type: 'arena', keySize: extra.keySize ?? 0, valueSize: 0, maxEntries: pages, flags: extra.flags ?? BPF_F_MMAPABLE, mapExtra: extra.mapExtra ?? 0,
});

test('arena: create checks follow arena_map_alloc (BPF_F_MMAPABLE, no key or value, 4 GiB, map_extra)', () => {
  const t = newTable();
  assert.equal(errnoOf(() => t.create(arenaSpec(4, { flags: 0 }))), EINVAL);
  assert.equal(errnoOf(() => t.create(arenaSpec(4, { keySize: 4 }))), EINVAL);
  assert.equal(errnoOf(() => t.create(arenaSpec(0))), EINVAL);
  assert.equal(errnoOf(() => t.create(arenaSpec(4, { flags: BPF_F_MMAPABLE | 1 }))), EINVAL, 'BPF_F_NO_PREALLOC is not an arena flag');
  assert.equal(errnoOf(() => t.create(arenaSpec(4, { mapExtra: 100 }))), EINVAL, 'unaligned user address');
  assert.equal(errnoOf(() => t.create(arenaSpec(2 ** 20 + 1))), E2BIG, 'more than 4 GiB');
  assert.equal(errnoOf(() => t.create(arenaSpec(4, { mapExtra: 2 ** 32 - PAGE }))), ERANGE, 'crosses a 4 GiB boundary');
  // a valid 4 GiB arena the kernel would reserve lazily does not fit a 32 MiB runtime memory: ENOMEM, nothing left behind
  const before = t.mem.list().length;
  assert.equal(errnoOf(() => t.create(arenaSpec(2 ** 20))), ENOMEM);
  assert.equal(t.mem.list().length, before);
  const a = t.create(arenaSpec(4, { mapExtra: 2 ** 32 })) as ArenaMap;
  assert.equal(a.userVmStart % PAGE, 0);
  assert.equal(a.size, 4 * PAGE);
});

test('arena: pages are allocated as arena_alloc_pages does (lowest run, hints, overlaps, limits)', () => {
  const t = newTable();
  const a = t.create(arenaSpec(4)) as ArenaMap;
  const base = a.userVmStart;
  assert.equal(a.allocPages(0, 1, -1, 0), base);
  assert.equal(a.allocPages(0, 2, -1, 0), base + PAGE);
  assert.equal(a.allocPages(0, 2, -1, 0), 0, 'one page left');
  assert.equal(a.allocPages(base + 3 * PAGE, 1, 0, 0), base + 3 * PAGE, 'a hint, node 0');
  assert.equal(a.allocPages(base + 3 * PAGE, 1, -1, 0), 0, 'the page is in use');
  a.freePages(base + PAGE + 5, 1); // the low bits below a page do not matter
  assert.equal(a.isPageAllocated(1), false);
  assert.equal(a.allocPages(0, 1, -1, 0), base + PAGE, 'the freed page is the lowest free one');
  assert.equal(a.allocPages(0, 1, -1, 1), 0, 'no node 1');
  assert.equal(a.allocPages(0, 1, -1, 4), 0, 'flags must be 0');
  assert.equal(a.allocPages(0, 0, -1, 0), 0);
  assert.equal(a.allocPages(0, 5, -1, 0), 0, 'more pages than the arena has');
  assert.equal(a.allocPages(base + 1, 1, -1, 0), 0, 'unaligned hint');
  assert.equal(a.allocPages(base + 4 * PAGE, 1, -1, 0), 0, 'hint past the end');
  a.freePages(base - PAGE, 1); // below the arena: nothing
  assert.equal(a.allocatedPages, 4);
  a.freePages(base + 2 * PAGE, 100); // clipped at the end
  assert.equal(a.allocatedPages, 2);
  // a freed page reads 0 through the user view (it faults in afresh, zeroed)
  a.write(0, new Uint8Array([1, 2, 3]));
  a.freePages(base, 1);
  assert.deepEqual([...a.read(0, 3)], [0, 0, 0]);
});

test('arena: the user view faults pages in, is bounds-checked, and programs see what it wrote', () => {
  const t = newTable();
  const a = t.create(arenaSpec(4)) as ArenaMap;
  assert.equal(a.allocatedPages, 0);
  assert.equal(t.mem.check(a.userVmStart, 8, false), false, 'an absent page is unmapped for the engines');
  a.dataView(PAGE - 4, 8).setUint32(0, 0xdeadbeef, true);
  assert.equal(a.allocatedPages, 2, 'a range across a page boundary faults both pages in');
  assert.equal(t.mem.check(a.userVmStart + PAGE - 4, 8, true), true);
  assert.equal(t.mem.dv.getUint32(a.addressOf(PAGE - 4), true), 0xdeadbeef);
  assert.equal(errnoOf(() => a.read(4 * PAGE - 2, 4)), EINVAL);
  assert.equal(errnoOf(() => a.view(-1, 1)), EINVAL);
  // BPF_F_SEGV_ON_FAULT: a user access to an absent page is an error, not an allocation
  const strict = t.create({ ...arenaSpec(2, { flags: BPF_F_MMAPABLE | BPF_F_SEGV_ON_FAULT }), name: 'strict' }) as ArenaMap;
  assert.equal(errnoOf(() => strict.read(0, 4)), EFAULT);
  assert.equal(strict.allocPages(0, 1, -1, 0), strict.userVmStart);
  assert.deepEqual([...strict.read(0, 4)], [0, 0, 0, 0]);
  assert.equal(errnoOf(() => strict.read(PAGE - 2, 4)), EFAULT, 'the second page is absent');
  assert.equal(errnoOf(() => a.lookup()), EINVAL);
  assert.equal(errnoOf(() => a.update(new Uint8Array(0), new Uint8Array(0))), 95, 'EOPNOTSUPP');
  assert.equal(errnoOf(() => a.delete(new Uint8Array(0))), 95);
  assert.deepEqual([...a.entries()], [], 'dumps list no entries');
});

test('arena: another thread attaches to the same pages and page table (MapTable.attach)', () => {
  const mem = new RuntimeMemory({ maxBytes: 32 * 1024 * 1024, shared: true });
  const t = new MapTable(mem, { cpus: 1 });
  const a = t.create(arenaSpec(4)) as ArenaMap;
  const handle = a.handle();
  // the other side, built as a worker would build it (same thread here: the state is what is checked)
  const mem2 = RuntimeMemory.attach(mem.share(1 << 20));
  const b = MapTable.attach(mem2, [handle], { cpus: 1 }).byId(a.id) as ArenaMap;
  assert.equal(b.userVmStart, a.userVmStart);
  assert.equal(b.allocPages(0, 1, -1, 0), a.userVmStart);
  assert.equal(a.isPageAllocated(0), true, 'the creator sees the page the other thread allocated');
  assert.equal(a.allocPages(0, 1, -1, 0), a.userVmStart + PAGE, 'and allocates around it');
  b.write(8, new Uint8Array([1, 2, 3]));
  assert.deepEqual([...a.read(8, 3)], [1, 2, 3]);
  a.freePages(a.userVmStart, 1);
  assert.equal(b.isPageAllocated(0), false);
  assert.equal(mem2.check(b.userVmStart + 8, 1, false), false, 'unmapped for the other thread\'s engines too');
  assert.equal(b.allocatedPages, 1);
});

test('a worker-style attached runtime confines the arena programs it rebuilds (their marks travel with them)', () => {
  const rt = new Runtime({ engine: 'jit-verified' });
  const coll = rt.loadObject(readFileSync(join(DIR, 'confine.o')));
  const mine = coll.programs.get('escape')!;
  const w = Runtime.attach(rt.share());
  const theirs = w.program(mine.id)!;
  assert.ok(theirs !== undefined && theirs !== mine);
  assert.deepEqual(arenaAccessOf(theirs.code)?.marks, arenaAccessOf(mine.code)?.marks);
  assert.equal(theirs.testRun({}).retval, 0, 'on jit-verified in the attached runtime');
  w.dispose();
  rt.dispose();
});

test('loader: .addr_space.1 globals go at the end of the arena, their lddw at that offset', () => {
  const spec = loadObject(readFileSync(join(DIR, 'counters.o')), { file: 'counters.o' });
  assert.deepEqual(spec.notes, []);
  const idx = spec.maps.findIndex((m) => m.type === 'arena');
  const m = spec.maps[idx]!;
  assert.equal(m.initial?.length, 72, 'runs (4 bytes, padded) + counters[8]');
  assert.equal(new DataView(m.initial!.buffer, m.initial!.byteOffset).getUint32(0, true), 5, 'runs = 5');
  const base = arenaGlobalsOffset(m.maxEntries, 72);
  assert.equal(base, 15 * PAGE);
  const bump = spec.programs.find((p) => p.name === 'bump')!;
  const refs = bump.mapRefs.filter((r) => r.map === idx && r.kind === 'value').map((r) => r.offset).sort((x, y) => x - y);
  assert.deepEqual(refs, [base, base + 8], 'runs at the globals offset, counters 8 bytes on');
  // libbpf's refusals: globals without an arena map, and more globals than the arena holds
  assert.throws(() => loadObject(readFileSync(join(DIR, 'noarena.o')), { file: 'noarena.o' }), /to use global __arena variables the ARENA map should be explicitly declared in SEC\("\.maps"\)/);
  assert.throws(() => loadObject(readFileSync(join(DIR, 'toosmall.o')), { file: 'toosmall.o' }), /declared ARENA map size \(4096\) is too small to hold global __arena variables of size 8192/);
});

/** Run programs of one fixture in order on one engine; the results and the arena. */
function runAll(file: string, progs: readonly string[], engine: string): { results: number[]; arena: ArenaMap; rt: Runtime } {
  const rt = new Runtime({ engine });
  const coll = rt.loadObject(readFileSync(join(DIR, file)), { programs: [...new Set(progs)] });
  const results = progs.map((p) => coll.programs.get(p)!.testRun({}).retval | 0);
  return { results, arena: coll.maps.get('arena') as ArenaMap, rt };
}

const RUNS: readonly { file: string; progs: readonly string[]; want: readonly number[] }[] = [
  { file: 'list.o', progs: ['build_and_sum', 'use_after_free', 'build_and_sum'], want: [210, 0, 420] },
  { file: 'counters.o', progs: ['bump', 'bump', 'bump', 'bump'], want: [106, 107, 108, 109] },
  { file: 'confine.o', progs: ['escape'], want: [0] },
  { file: 'edges.o', progs: ['load_sx'], want: [-2] },
  { file: 'globalfn.o', progs: ['call_arena'], want: [7] },
];

test('the fixtures run to the same results on interp, jit and jit-verified', () => {
  for (const { file, progs, want } of RUNS) {
    for (const engine of ENGINES) {
      const { results, rt } = runAll(file, progs, engine);
      assert.deepEqual(results, want, `${file} on ${engine}`);
      rt.dispose();
    }
  }
});

test('arena contents after the runs: the list\'s counter and the counters, read through the user view', () => {
  for (const engine of ENGINES) {
    const l = runAll('list.o', ['build_and_sum', 'build_and_sum'], engine);
    // head (8 bytes) then pushes
    assert.equal(l.arena.dataView(l.arena.globalsOffset + 8, 8).getBigUint64(0, true), 40n, engine);
    const head = l.arena.dataView(l.arena.globalsOffset, 8).getBigUint64(0, true);
    assert.ok(head >= BigInt(l.arena.userVmStart) && head < BigInt(l.arena.userVmStart + l.arena.size), 'head is a user address in the arena');
    l.rt.dispose();
    const c = runAll('counters.o', ['bump', 'bump', 'bump'], engine);
    const dv = c.arena.dataView(c.arena.globalsOffset, 72);
    assert.equal(dv.getUint32(0, true), 8, 'runs');
    const counters = Array.from({ length: 8 }, (_, i) => Number(dv.getBigUint64(8 + 8 * i, true)));
    assert.deepEqual(counters, [0, 0, 0, 0, 0, 1, 1, 1], engine);
    c.rt.dispose();
  }
});

test('jit-verified confines arena accesses: memory next to the arena is untouched by stores that miss', () => {
  for (const engine of ENGINES) {
    const rt = new Runtime({ engine });
    const coll = rt.loadObject(readFileSync(join(DIR, 'confine.o')));
    const a = coll.maps.get('arena') as ArenaMap;
    const mem = rt.vm.mem;
    // the bytes just below and just past the arena (the program stores 0xdead at both)
    const below = a.userVmStart - 8;
    const past = a.userVmStart + a.size;
    const before = [mem.u8.slice(below, below + 8), mem.u8.slice(past, past + 8)];
    assert.equal(coll.programs.get('escape')!.testRun({}).retval, 0, engine);
    assert.deepEqual([mem.u8.slice(below, below + 8), mem.u8.slice(past, past + 8)], before, engine);
    assert.equal(a.isPageAllocated(5), false, 'a store to an absent page does not allocate it');
    rt.dispose();
  }
});

// ---- the kernel as oracle --------------------------------------------------------------

const LIBBPF = '/tmp/vcorpus/lib/libbpf.so';

/**
 * Load an object with the corpus' libbpf (it creates and mmaps the arena and
 * copies the globals in), run the named programs in order with
 * BPF_PROG_TEST_RUN, and print their results and the globals' bytes
 * (bpf_map__initial_value: libbpf's view of them in the arena).
 */
const RUN_PY = `
import ctypes, json, sys
lib = ctypes.CDLL(sys.argv[1]); vp = ctypes.c_void_p
lib.bpf_object__open_file.restype = vp; lib.bpf_object__open_file.argtypes = [ctypes.c_char_p, vp]
lib.bpf_object__load.argtypes = [vp]
lib.bpf_object__next_program.restype = vp; lib.bpf_object__next_program.argtypes = [vp, vp]
lib.bpf_program__name.restype = ctypes.c_char_p; lib.bpf_program__name.argtypes = [vp]
lib.bpf_program__set_autoload.argtypes = [vp, ctypes.c_bool]
lib.bpf_object__find_program_by_name.restype = vp; lib.bpf_object__find_program_by_name.argtypes = [vp, ctypes.c_char_p]
lib.bpf_program__fd.argtypes = [vp]
lib.bpf_object__find_map_by_name.restype = vp; lib.bpf_object__find_map_by_name.argtypes = [vp, ctypes.c_char_p]
lib.bpf_map__initial_value.restype = vp; lib.bpf_map__initial_value.argtypes = [vp, ctypes.POINTER(ctypes.c_size_t)]
class Opts(ctypes.Structure):
    _fields_ = [("sz", ctypes.c_size_t), ("data_in", vp), ("data_out", vp), ("data_size_in", ctypes.c_uint32), ("data_size_out", ctypes.c_uint32), ("ctx_in", vp), ("ctx_out", vp), ("ctx_size_in", ctypes.c_uint32), ("ctx_size_out", ctypes.c_uint32), ("retval", ctypes.c_uint32), ("repeat", ctypes.c_int), ("duration", ctypes.c_uint32), ("flags", ctypes.c_uint32), ("cpu", ctypes.c_uint32), ("batch_size", ctypes.c_uint32)]
names = sys.argv[3:]
obj = lib.bpf_object__open_file(sys.argv[2].encode(), None)
p = None
while True:
    p = lib.bpf_object__next_program(obj, p)
    if not p: break
    lib.bpf_program__set_autoload(p, lib.bpf_program__name(p).decode() in names)
if lib.bpf_object__load(obj) != 0: sys.exit('load failed')
out = []
for n in names:
    o = Opts(); o.sz = ctypes.sizeof(Opts)
    if lib.bpf_prog_test_run_opts(lib.bpf_program__fd(lib.bpf_object__find_program_by_name(obj, n.encode())), ctypes.byref(o)) != 0: sys.exit('test run failed')
    out.append(ctypes.c_int32(o.retval).value)
sz = ctypes.c_size_t(0)
ptr = lib.bpf_map__initial_value(lib.bpf_object__find_map_by_name(obj, b'arena'), ctypes.byref(sz))
print(json.dumps({"results": out, "globals": ctypes.string_at(ptr, sz.value).hex() if ptr else ""}))
`;

function kernelSkip(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root for the kernel oracle';
  if (!existsSync(LIBBPF)) return `needs the corpus libbpf at ${LIBBPF} (build it with /work/shared/verifier-corpus/build.sh)`;
  return undefined;
}

/** Globals bytes that are not pointers (user addresses differ between the kernel and tsbpf). */
const POINTERS: Readonly<Record<string, readonly [number, number][]>> = { 'list.o': [[0, 8]] };

function masked(file: string, bytes: Uint8Array): string {
  const b = bytes.slice();
  for (const [at, len] of POINTERS[file] ?? []) b.fill(0, at, at + len);
  return Buffer.from(b).toString('hex');
}

test('the kernel runs the fixtures to the same results and the same arena globals (root only)', (t) => {
  const skip = kernelSkip();
  if (skip) return t.skip(skip);
  for (const { file, progs, want } of RUNS) {
    const k = spawnSync('python3', ['-c', RUN_PY, LIBBPF, join(DIR, file), ...progs], { encoding: 'utf8' });
    assert.equal(k.status, 0, `${file}: ${k.stderr}`);
    const kernel = JSON.parse(k.stdout) as { results: number[]; globals: string };
    assert.deepEqual(kernel.results, want, `${file}: the kernel's results`);
    for (const engine of ENGINES) {
      const { results, arena, rt } = runAll(file, progs, engine);
      assert.deepEqual(results, kernel.results, `${file} on ${engine}`);
      const len = kernel.globals.length / 2;
      if (len > 0) assert.equal(masked(file, arena.read(arena.globalsOffset, len)), masked(file, Buffer.from(kernel.globals, 'hex')), `${file} globals on ${engine}`);
      rt.dispose();
    }
  }
});
