// Mutation fuzzing: thousands of corrupted copies of the example objects go
// through the loader (and the inspect and disassembly formatters). Each must
// load or throw a TsbpfError, quickly. The PRNG is seeded, so a failure names
// a mutant that can be replayed (TSBPF_FUZZ_SEED, TSBPF_FUZZ_COUNT override).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadObject } from '../../src/elf/load.js';
import { inspectJson, inspectText } from '../../src/cli/inspect.js';
import { disassembleObject } from '../../src/cli/dis-object.js';
import { TsbpfError } from '../../src/internal/errors.js';
import { exampleBytes, exampleObjects } from './helpers.js';

/** xorshift32: small, seedable, good enough to pick bytes. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const INTERESTING = [0, 1, 7, 8, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0x10000, 24, 64];

function mutant(base: Uint8Array, next: () => number): Uint8Array {
  const b = new Uint8Array(base);
  const dv = new DataView(b.buffer);
  const edits = 1 + (next() % 4);
  for (let e = 0; e < edits; e++) {
    const kind = next() % 6;
    // Bias towards the ELF header and the section header table at the end, where one flip does the most.
    const region = next() % 3;
    const at =
      region === 0 ? next() % 64 : region === 1 ? Math.max(0, b.length - 1 - (next() % Math.min(b.length, 2048))) : next() % b.length;
    switch (kind) {
      case 0:
        b[at] = b[at]! ^ (1 << (next() % 8));
        break;
      case 1:
        b[at] = next() & 0xff;
        break;
      case 2:
        if (at + 4 <= b.length) dv.setUint32(at & ~3, INTERESTING[next() % INTERESTING.length]!, true);
        break;
      case 3:
        if (at + 2 <= b.length) dv.setUint16(at & ~1, INTERESTING[next() % INTERESTING.length]! & 0xffff, true);
        break;
      case 4:
        return b.subarray(0, next() % b.length);
      default:
        if (at + 8 <= b.length) dv.setUint32(at & ~3, (dv.getUint32(at & ~3, true) + (next() % 16) - 8) >>> 0, true);
    }
  }
  return b;
}

test('thousands of mutated objects load or fail with a TsbpfError', () => {
  const seed = Number(process.env['TSBPF_FUZZ_SEED'] ?? 0x5eed);
  const count = Number(process.env['TSBPF_FUZZ_COUNT'] ?? 6000);
  const next = rng(seed);
  // big.o (the benchmark object) is left out: it is slow to load thousands of times and adds no new structure.
  const bases = exampleObjects()
    .map((n) => [n, exampleBytes(n)] as const)
    .filter(([, b]) => b.length < 65536);
  let loaded = 0;
  let rejected = 0;
  let worst = 0;
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const [name, base] = bases[i % bases.length]!;
    const bytes = mutant(base, next);
    const s = performance.now();
    try {
      const spec = loadObject(bytes, { file: name });
      inspectText(spec);
      JSON.stringify(inspectJson(spec));
      if (spec.programs.length) disassembleObject(spec, { source: true });
      loaded++;
    } catch (e) {
      if (!(e instanceof TsbpfError)) {
        assert.fail(`mutant ${i} of ${name} (seed ${seed}) threw ${e instanceof Error ? e.stack : String(e)}`);
      }
      rejected++;
    }
    worst = Math.max(worst, performance.now() - s);
  }
  const total = performance.now() - t0;
  assert.equal(loaded + rejected, count);
  assert.ok(rejected > count / 10, `most mutants should be caught (${rejected} of ${count})`);
  assert.ok(worst < 1000, `slowest mutant took ${worst.toFixed(0)} ms`);
  console.log(`# fuzz: ${count} mutants, ${loaded} loaded, ${rejected} rejected, slowest ${worst.toFixed(1)} ms, total ${total.toFixed(0)} ms`);
});
