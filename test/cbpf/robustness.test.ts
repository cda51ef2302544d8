// Bad input gets a typed error, never a crash: random and mutated inputs to
// every classic reader, the checker and the translation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readClassic, type ClassicFormat } from '../../src/cbpf/read.js';
import { checkClassic } from '../../src/cbpf/check.js';
import { translateClassic } from '../../src/cbpf/translate.js';
import { TsbpfError } from '../../src/internal/errors.js';
import { Rng } from './reference.js';

const SAMPLES: Record<ClassicFormat, string> = {
  ddd: '4\n40 0 0 12\n21 0 1 2048\n6 0 0 262144\n6 0 0 0\n',
  dd: '{ 0x28, 0, 0, 0x0000000c },\n{ 0x15, 0, 1, 0x00000800 },\n{ 0x6, 0, 0, 0x00040000 },\n{ 0x6, 0, 0, 0x00000000 },\n',
  asm: 'ldh [12]\njeq #0x800, ok, drop\nok: ret #-1\ndrop: ret #0\n',
  bin: '',
};

function mutate(r: Rng, s: Uint8Array): Uint8Array {
  const out = Array.from(s);
  const n = 1 + r.int(4);
  for (let i = 0; i < n; i++) {
    const at = r.int(out.length + 1);
    switch (r.int(3)) {
      case 0:
        out.splice(at, 1);
        break;
      case 1:
        out.splice(at, 0, r.pick([0x20, 0x2c, 0x0a, 0x23, 0x5b, 0x5d, 0x7b, 0x7d, 0x2d, 0x78, 0x30 + r.int(10), r.int(256)]));
        break;
      default:
        if (at < out.length) out[at] = r.int(256);
    }
  }
  return Uint8Array.from(out);
}

test('readers, checker and translation on mutated input: programs or TsbpfErrors only', () => {
  const r = new Rng(77);
  const enc = new TextEncoder();
  let ok = 0;
  let rejected = 0;
  for (const fmt of ['ddd', 'dd', 'asm', 'bin', 'auto'] as const) {
    const base = fmt === 'bin' || fmt === 'auto' ? Uint8Array.from({ length: 32 }, () => r.int(256)) : enc.encode(SAMPLES[fmt]);
    for (let i = 0; i < 400; i++) {
      const input = mutate(r, base);
      try {
        const prog = readClassic(input, fmt);
        checkClassic(prog);
        translateClassic(prog);
        ok++;
      } catch (e) {
        if (!(e instanceof TsbpfError)) assert.fail(`${fmt}: ${String(e)} for ${JSON.stringify(new TextDecoder().decode(input))}`);
        assert.ok(e.message.length > 0);
        rejected++;
      }
    }
  }
  assert.ok(ok > 50 && rejected > 50, `ok ${ok}, rejected ${rejected}`);
});
