// Differential fuzzing in CI: a fixed set of seeds, each a random program run
// on the interpreter and the JIT (unverified, and verified when the program
// ran cleanly), compared on r0..r9, memory and errors. `npm run fuzz` runs
// more seeds for as long as asked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DiffHarness } from '../../../src/vm/fuzz/diff.js';
import { generateProgram } from '../../../src/vm/fuzz/gen.js';
import { decodeProgram, encodeSlots } from '../../../src/isa/decode.js';
import { buildCfg } from '../../../src/vm/jit/blocks.js';
import { structure } from '../../../src/vm/jit/structure.js';
import { Op } from '../../../src/isa/table.js';

const SEEDS = 300;

test(`JIT and interpreter agree on ${SEEDS} random programs`, () => {
  const h = new DiffHarness();
  const bad: string[] = [];
  let clean = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = h.runSeed(seed);
    if (r.interp.error === undefined) clean++;
    if (r.mismatches.length > 0) bad.push(`seed ${seed}: ${r.mismatches.join('; ')}`);
  }
  assert.deepEqual(bad, []);
  // the seeds must mostly run to the end, or the comparison says little
  assert.ok(clean > SEEDS * 0.7, `only ${clean} of ${SEEDS} programs ran to their exit`);
});

test('the generator covers loops, irreducible graphs, calls and every kind of error', () => {
  let dispatcher = 0;
  let loops = 0;
  let calls = 0;
  let mayGoto = 0;
  let casts = 0;
  for (let seed = 1; seed <= 100; seed++) {
    const prog = decodeProgram(encodeSlots(generateProgram(seed).slots));
    if (prog.op.includes(Op.MAY_GOTO)) mayGoto++;
    if (prog.op.includes(Op.ADDR_SPACE_CAST)) casts++;
    const cfg = buildCfg(prog);
    if (cfg.funcs.length > 1) calls++;
    const s = cfg.funcs.map(structure);
    if (s.some((x) => x.dispatcher)) dispatcher++;
    if (s.some((x) => JSON.stringify(x.tree).includes('"loop"'))) loops++;
  }
  assert.ok(dispatcher >= 10, `irreducible programs: ${dispatcher}`);
  assert.ok(loops >= 30, `programs with loops: ${loops}`);
  assert.ok(calls >= 30, `programs with local calls: ${calls}`);
  assert.ok(mayGoto >= 30, `programs with may_goto: ${mayGoto}`);
  assert.ok(casts >= 30, `programs with addr_space_cast: ${casts}`);
  const h = new DiffHarness();
  const kinds = new Set<string>();
  for (let seed = 1; seed <= 300; seed++) {
    const e = h.runSeed(seed).interp.error;
    if (e !== undefined) {
      kinds.add(e.startsWith('MemoryFault') ? 'fault' : e.includes('call depth') ? 'depth' : e.includes('unknown helper') ? 'helper' : e === 'BudgetExceeded' ? 'budget' : e);
    }
  }
  assert.deepEqual([...kinds].sort(), ['budget', 'depth', 'fault', 'helper']);
});

test('the same seed gives the same program', () => {
  assert.deepEqual(generateProgram(42).slots, generateProgram(42).slots);
  assert.notDeepEqual(generateProgram(42).slots, generateProgram(43).slots);
});
