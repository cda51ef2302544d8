#!/usr/bin/env node
// Differential fuzzing of the JIT against the interpreter, for as long as
// asked: node scripts/fuzz.mjs [--seconds N] [--start SEED] [--count N] [--maps]
// (run `tsc -p .` first). Each seed is a random program (src/vm/fuzz/gen.ts);
// with --maps, it also gets a few maps and calls map helpers on them
// (src/vm/fuzz/gen-maps.ts, maps.ts), and the maps' contents are compared;
// a mismatch prints the seed and the differences, and the exit code is 1.
// Reproduce one seed with --start SEED --count 1 (with --maps: a seed's maps
// and program do not depend on the seeds run before it); --show also prints
// each mismatching program and its maps.
import { DiffHarness } from '../dist/src/vm/fuzz/diff.js';
import { decodeProgram, encodeSlots } from '../dist/src/isa/decode.js';
import { disassembleProgram } from '../dist/src/asm/disassemble.js';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v)) {
    console.error(`--${name} needs a number`);
    process.exit(2);
  }
  return v;
}

const seconds = arg('seconds', 10);
const start = arg('start', (Date.now() % 1_000_000_000) * 16);
const count = arg('count', Infinity);
const maps = process.argv.includes('--maps');
const show = process.argv.includes('--show');
const harness = new DiffHarness({ maps });
const deadline = Date.now() + seconds * 1000;
let seed = start;
let runs = 0;
let bad = 0;
const outcomes = new Map();
while (runs < count && Date.now() < deadline) {
  const r = harness.runSeed(seed >>> 0);
  const kind = r.interp.error === undefined ? 'exit' : r.interp.error.split(/[@:]/)[0];
  outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
  if (r.mismatches.length > 0) {
    bad++;
    console.log(`MISMATCH seed ${seed >>> 0}${maps ? ' (--maps)' : ''}:\n  ${r.mismatches.join('\n  ')}`);
    if (show) {
      for (const p of r.plan ?? []) console.log(`  map ${JSON.stringify(p.spec)}`);
      console.log(`  interpreter: ${r.interp.error ?? 'exit'}; jit: ${r.jit.error ?? 'exit'}${r.program.wild ? '; wild (no verified run)' : ''}`);
      disassembleProgram(decodeProgram(encodeSlots(r.program.slots))).forEach((l, i) => console.log(`  ${String(i).padStart(4)}: ${l}`));
    }
  }
  seed++;
  runs++;
}
console.log(`${runs} programs${maps ? ' with maps' : ''} from seed ${start >>> 0}, ${bad} mismatches; outcomes ${JSON.stringify(Object.fromEntries(outcomes))}`);
process.exit(bad > 0 ? 1 : 0);
