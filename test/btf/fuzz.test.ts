// Mutated BTF: parse it, then size, describe, encode and print every type.
// Anything but a BtfError (or success) is a bug; so is a slow case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseBtf } from '../../src/btf/parse-btf.js';
import { btfValue } from '../../src/btf/print.js';
import { encodeBtf } from '../../src/btf/encode.js';
import { sanitizeForKernel } from '../../src/btf/sanitize.js';
import { parseElf } from '../../src/elf/elf-file.js';
import { TsbpfError } from '../../src/internal/errors.js';

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
}

function btfOf(file: string): Uint8Array {
  const bytes = new Uint8Array(readFileSync(new URL(`../../../examples/${file}`, import.meta.url)));
  const s = parseElf(bytes, file).sections.find((x) => x.name === '.BTF')!;
  return new Uint8Array(s.data);
}

test('thousands of mutated .BTF sections parse and print or fail with a BtfError', () => {
  const next = rng(Number(process.env['TSBPF_FUZZ_SEED'] ?? 0xb7f));
  const bases = ['maps.o', 'globals.o', 'core.o', 'maps.bpfeb.o'].map(btfOf);
  const value = new Uint8Array(256).map((_, i) => (i * 37) & 0xff);
  let parsed = 0;
  let worst = 0;
  for (let i = 0; i < 4000; i++) {
    const b = new Uint8Array(bases[i % bases.length]!);
    const dv = new DataView(b.buffer);
    for (let e = 1 + (next() % 3); e > 0; e--) {
      // Most edits land in the type section (after the 24-byte header), a few in the header.
      const at = next() % 8 === 0 ? next() % 24 : 24 + (next() % (b.length - 28));
      if (next() % 2) b[at] = b[at]! ^ (1 << (next() % 8));
      else dv.setUint32(at & ~3, [0, 1, 0xffffffff, 0x7fffffff, 0x1000000, 0x04000001, 0x84000002][next() % 7]!, true);
    }
    const t0 = performance.now();
    try {
      const btf = parseBtf(b);
      parsed++;
      for (let id = 1; id < btf.types.length; id++) {
        btf.describe(id);
        for (const f of [() => btf.sizeOf(id), () => btfValue(btf, id, value)]) {
          try {
            f();
          } catch (e) {
            assert.ok(e instanceof TsbpfError, `mutant ${i}, type ${id}: ${e instanceof Error ? e.stack : String(e)}`);
          }
        }
      }
      parseBtf(encodeBtf(sanitizeForKernel(btf)));
    } catch (e) {
      assert.ok(e instanceof TsbpfError, `mutant ${i}: ${e instanceof Error ? e.stack : String(e)}`);
    }
    worst = Math.max(worst, performance.now() - t0);
  }
  assert.ok(parsed > 100, `only ${parsed} mutants parsed`);
  assert.ok(worst < 1000, `slowest mutant took ${worst.toFixed(0)} ms`);
  console.log(`# btf fuzz: 4000 mutants, ${parsed} parsed, slowest ${worst.toFixed(1)} ms`);
});
