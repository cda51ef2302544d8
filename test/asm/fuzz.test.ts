// Bad input gets a typed error, never a crash or a hang: mutate valid lines
// of both dialects at random and require that assembling either succeeds or
// throws AsmError with a position inside the text.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble, type Dialect } from '../../src/asm/assemble.js';
import { AsmError } from '../../src/internal/errors.js';
import { parseDataFile } from '../../src/asm/data-file.js';

/** Small deterministic PRNG (xorshift32) so failures reproduce. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

const SEEDS: Record<'conformance' | 'llvm', string[]> = {
  conformance: [
    'add32 %r0, -3', 'ldxw %r2, [%r1+4]', 'stb [%r10-1], 0x7f', 'lock fetch add [%r10-8], %r1', 'lddw %r0, 0x1122334455667788',
    'jsle32 %r1, %r2, done', 'ja32 +1', 'call local done', 'call %r2', 'movsx1632 %r0, %r1', 'be64 %r3', 'done:', 'exit',
  ],
  llvm: [
    'w0 += w1', 'r2 = *(u32 *)(r1 + 0x4)', '*(u8 *)(r10 - 0x1) = 0x7f', 'lock *(u64 *)(r0 + 0x0) += r1', 'r1 = atomic_fetch_xor((u64 *)(r10 - 0x8), r1)',
    'w0 = cmpxchg32_32(r1 + 0x0, w0, w2)', 'r1 = -0x1 ll', 'if r1 s> 0x5 goto done', 'gotol +0x1', 'call 0x1', 'callx r2', 'r0 = (s16)r1',
    'r0 = be16 r0', 'r0 = *(u16 *)skb[r2 + 0x4]', 'ld_pseudo r1, 0x1, 0x2', '       3:\t95 00 00 00 00 00 00 00\texit', 'done:', 'exit',
  ],
};
const NOISE = ['%', 'r', 'w', '1', '0x', '-', '+', '[', ']', '(', ')', '*', ',', ' ', '=', '<', 's', 'll', ':', '#', ';', '\t', 'ff', '99999999999', '\u00e9'];

function mutate(line: string, next: () => number): string {
  let s = line;
  const edits = 1 + Math.floor(next() * 3);
  for (let k = 0; k < edits; k++) {
    const at = Math.floor(next() * (s.length + 1));
    const r = next();
    if (r < 0.4) s = s.slice(0, at) + s.slice(at + 1);
    else if (r < 0.8) s = s.slice(0, at) + NOISE[Math.floor(next() * NOISE.length)]! + s.slice(at);
    else s = s.slice(0, at) + s.slice(at).split('').reverse().join('');
  }
  return s;
}

for (const dialect of ['conformance', 'llvm'] as const) {
  test(`fuzz (${dialect}): mutated lines assemble or raise a positioned AsmError`, () => {
    const next = rng(dialect === 'llvm' ? 12345 : 777);
    const seeds = SEEDS[dialect];
    let errors = 0;
    for (let n = 0; n < 6000; n++) {
      const lines = [seeds[Math.floor(next() * seeds.length)]!, seeds[Math.floor(next() * seeds.length)]!];
      lines[Math.floor(next() * 2)] = mutate(lines[0]!, next);
      const text = [...lines, 'done:', 'exit'].join('\n');
      try {
        assemble(text, { dialect: dialect as Dialect });
      } catch (e) {
        if (!(e instanceof AsmError)) assert.fail(`non-AsmError for ${JSON.stringify(text)}: ${String(e)}`);
        const src = text.split('\n')[e.line - 1];
        assert.ok(src !== undefined && e.column >= 1 && e.column <= src.length + 1, `${e.message} for ${JSON.stringify(text)}`);
        errors++;
      }
    }
    assert.ok(errors > 1000, `${errors} errors`);
  });
}

test('fuzz (.data files): mutated files parse or raise a positioned AsmError', () => {
  const base = '# c\n-- asm\nmov %r0, 1\nexit\n-- mem\n00 01 ff\n-- raw\n0x0000000100000b7\n0x95\n-- result\n0x1\n-- error\nx\n';
  const next = rng(4242);
  for (let n = 0; n < 3000; n++) {
    const text = mutate(mutate(base, next), next);
    try {
      const d = parseDataFile(text, 'f.data');
      assert.equal(typeof d.asm, 'string');
    } catch (e) {
      if (!(e instanceof AsmError)) assert.fail(`non-AsmError for ${JSON.stringify(text)}: ${String(e)}`);
      assert.ok(e.line >= 1 && e.column >= 1 && e.file === 'f.data', e.message);
    }
  }
});
