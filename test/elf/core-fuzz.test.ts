// Mutation fuzzing of CO-RE: corrupted copies of core_task.o (bytes of its
// .BTF and .BTF.ext, where types and core_relo records live) are loaded with
// a target BTF. Each must load or throw a TsbpfError, never another error,
// and never hang. Seeded (TSBPF_FUZZ_SEED, TSBPF_FUZZ_COUNT override).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadObject } from '../../src/elf/load.js';
import { parseElf } from '../../src/elf/elf-file.js';
import { TsbpfError } from '../../src/internal/errors.js';
import { taskTarget } from '../btf/core-target.js';

const FILE = fileURLToPath(new URL('../../../test/fixtures/objects/core/core_task.o', import.meta.url));
const INTERESTING = [0, 1, 2, 7, 8, 31, 32, 0x7f, 0xff, 0xffff, 0x7fffffff, 0xffffffff];

test('CO-RE: corrupted .BTF/.BTF.ext load against a target or fail with a TsbpfError', () => {
  const base = new Uint8Array(readFileSync(FILE));
  const elf = parseElf(base, FILE);
  const regions = elf.sections.filter((s) => s.name === '.BTF' || s.name === '.BTF.ext').map((s) => [s.offset, s.size] as const);
  const target = taskTarget();
  let x = Number(process.env['TSBPF_FUZZ_SEED'] ?? 0x5eed) >>> 0 || 1;
  const next = (): number => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
  const count = Number(process.env['TSBPF_FUZZ_COUNT'] ?? 1500);
  let loaded = 0;
  for (let n = 0; n < count; n++) {
    const b = new Uint8Array(base);
    const dv = new DataView(b.buffer);
    for (let e = 1 + (next() % 3); e > 0; e--) {
      const [off, size] = regions[next() % regions.length]!;
      const at = off + (next() % size);
      if (next() % 2 === 0) b[at] = next() & 0xff;
      else if (at + 4 <= off + size) dv.setUint32(at & ~3, INTERESTING[next() % INTERESTING.length]!, true);
    }
    const t0 = performance.now();
    try {
      loadObject(b, { file: `mutant ${n}`, coreTarget: target });
      loaded++;
    } catch (e) {
      assert.ok(e instanceof TsbpfError, `mutant ${n} (seed ${x}): ${e instanceof Error ? e.stack : String(e)}`);
    }
    assert.ok(performance.now() - t0 < 2000, `mutant ${n} took ${performance.now() - t0} ms`);
  }
  assert.ok(loaded > 0, 'some mutants still load');
});
