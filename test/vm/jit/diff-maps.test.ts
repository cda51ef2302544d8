// Differential fuzzing of map helper calls: per seed, a few maps (array,
// hash, lru_hash and per-CPU kinds, key and value sizes 1..40) and a random
// program that looks up, updates and deletes in them and uses the values;
// the interpreter and the JIT (which inlines array and hash calls) must
// agree on registers, memory, errors and the maps' contents.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DiffHarness, diffOutcomes, type Outcome } from '../../../src/vm/fuzz/diff.js';
import { generateProgram } from '../../../src/vm/fuzz/gen.js';
import { FuzzMapSet, planMaps } from '../../../src/vm/fuzz/maps.js';
import { BPF_FUNC } from '../../../src/internal/uapi.gen.js';

const SEEDS = 200;
const MAP_HELPERS = new Set([BPF_FUNC.map_lookup_elem!, BPF_FUNC.map_update_elem!, BPF_FUNC.map_delete_elem!]);
const CALL = 0x85;

test(`JIT and interpreter agree on ${SEEDS} random programs using maps`, () => {
  const h = new DiffHarness({ maps: true });
  const bad: string[] = [];
  let verified = 0;
  let changed = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = h.runSeed(seed);
    if (r.interp.error === undefined && !r.program.wild) verified++;
    if (r.mismatches.length > 0) bad.push(`seed ${seed}: ${r.mismatches.join('; ')}`);
    // did the run change the maps? (compare with a fresh build of the same plan)
    const fresh = new FuzzMapSet(h.mem, r.plan!);
    if (fresh.contents().join('\n') !== r.interp.maps!.join('\n')) changed++;
    fresh.close();
  }
  assert.deepEqual(bad, []);
  // the comparison must have something to compare
  assert.ok(verified > SEEDS * 0.3, `only ${verified} of ${SEEDS} programs were also compared in verified mode`);
  assert.ok(changed > SEEDS * 0.3, `only ${changed} of ${SEEDS} programs changed their maps`);
});

test('map programs call lookup, update and delete, on every map type', () => {
  const h = new DiffHarness({ maps: true });
  const types = new Set<string>();
  const calls = new Map<number, number>();
  for (let seed = 1; seed <= 60; seed++) {
    const plan = planMaps(seed);
    const set = new FuzzMapSet(h.mem, plan);
    for (const m of set.maps) types.add(m.typeName);
    const fp = generateProgram(seed, { memSize: 61, maps: set.fuzzMaps() });
    set.close();
    for (const s of fp.slots) if (s.opcode === CALL && s.src === 0 && MAP_HELPERS.has(s.imm)) calls.set(s.imm, (calls.get(s.imm) ?? 0) + 1);
  }
  assert.deepEqual([...types].sort(), ['array', 'hash', 'lru_hash', 'lru_percpu_hash', 'percpu_array', 'percpu_hash']);
  for (const id of MAP_HELPERS) assert.ok((calls.get(id) ?? 0) >= 20, `helper ${id} called ${calls.get(id) ?? 0} times`);
});

test('without maps, the generator makes the same programs as before maps existed', () => {
  // (no map chunks are drawn, so every old seed still names the same program)
  const a = generateProgram(7);
  const b = generateProgram(7, { maps: [] });
  assert.deepEqual(a.slots, b.slots);
  assert.equal(a.wild, false);
});

test('a difference in map contents is reported', () => {
  const base: Outcome = { regs: new Int32Array(22), mem: new Uint8Array(4), stack: new Uint8Array(4), maps: ['m0: 00=01'], mapBytes: [Uint8Array.of(1, 2)] };
  assert.deepEqual(diffOutcomes(base, base, 'jit'), []);
  const other: Outcome = { ...base, maps: ['m0: 00=02'], mapBytes: [Uint8Array.of(1, 3)] };
  assert.deepEqual(diffOutcomes(base, other, 'jit'), ['jit: map contents m0: 00=02, interpreter m0: 00=01', 'jit: map region 0 byte 1 = 3, interpreter 2']);
});

test('the same seed builds the same maps at the same addresses, whatever ran before', () => {
  const h = new DiffHarness({ maps: true });
  const plan = planMaps(11);
  const a = new FuzzMapSet(h.mem, plan);
  const layout = a.layout();
  const contents = a.contents();
  const bytes = a.rawBytes();
  a.close();
  const b = new FuzzMapSet(h.mem, plan);
  assert.equal(b.layout(), layout);
  assert.deepEqual(b.contents(), contents);
  assert.deepEqual(b.rawBytes(), bytes);
  b.close();
  // a seed is a complete bug report: the program does not depend on the seeds run before it
  const fresh = new DiffHarness({ maps: true }).runSeed(11);
  for (let seed = 1; seed <= 10; seed++) h.runSeed(seed);
  const after = h.runSeed(11);
  assert.deepEqual(after.program.slots, fresh.program.slots);
  assert.deepEqual(after.interp, fresh.interp);
});
