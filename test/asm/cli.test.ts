// The asm and dis verbs, run as a user would: `node dist/src/cli/main.js`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../paths.js';

const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');

function run(args: string[], input?: string | Uint8Array): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { input: input ?? '', encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-asm-cli-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('asm: hex to stdout, binary to -o, and dis reads both back', () => {
  withDir((dir) => {
    const src = join(dir, 'p.s');
    writeFileSync(src, 'mov32 %r0, 1\nadd32 %r0, -3\nexit\n');
    const hex = run(['asm', src]);
    assert.equal(hex.code, 0, hex.err);
    assert.equal(hex.out, 'b4 00 00 00 01 00 00 00\n04 00 00 00 fd ff ff ff\n95 00 00 00 00 00 00 00\n');
    const bin = join(dir, 'p.bin');
    assert.equal(run(['asm', src, '-o', bin]).code, 0);
    assert.equal(readFileSync(bin).toString('hex'), 'b400000001000000' + '04000000fdffffff' + '9500000000000000');
    const want = '       0:\tw0 = 0x1\n       1:\tw0 += -0x3\n       2:\texit\n';
    assert.deepEqual(run(['dis', bin]), { code: 0, out: want, err: '' });
    assert.deepEqual(run(['dis', '-', '--hex-input'], hex.out), { code: 0, out: want, err: '' });
  });
});

test('asm: stdin, --dialect llvm, .data files; dis --labels output assembles again', () => {
  withDir((dir) => {
    const r = run(['asm', '-', '--dialect', 'llvm'], 'call f\nexit\nf:\nr0 = 0x2\nexit\n');
    assert.equal(r.code, 0, r.err);
    const labelled = run(['dis', '-', '--hex-input', '--labels'], r.out);
    assert.equal(labelled.out, '       0:\tcall L2\n       1:\texit\nL2:\n       2:\tr0 = 0x2\n       3:\texit\n');
    assert.equal(run(['asm', '-'], labelled.out).out, r.out);
    const data = join(dir, 't.data');
    writeFileSync(data, '# licence\n-- asm\nmov %r0, 7\nexit\n-- result\n0x7\n');
    assert.equal(run(['asm', data]).out, 'b7 00 00 00 07 00 00 00\n95 00 00 00 00 00 00 00\n');
  });
});

test('dis: --raw-bytes, --cpu v1, --helper-names', () => {
  const hex = '61 21 04 00 00 00 00 00\n85 00 00 00 01 00 00 00\n';
  assert.equal(run(['dis', '-', '--hex-input', '--raw-bytes'], hex).out, '       0:\t61 21 04 00 00 00 00 00\tw1 = *(u32 *)(r2 + 0x4)\n       1:\t85 00 00 00 01 00 00 00\tcall 0x1\n');
  assert.equal(run(['dis', '-', '--hex-input', '--cpu', 'v1', '--helper-names'], hex).out, '       0:\tr1 = *(u32 *)(r2 + 0x4)\n       1:\tcall bpf_map_lookup_elem\n');
});

test('dis --kernel prints the verifier log text with its slot index', () => {
  const hex = '18 01 00 00 05 00 00 00 00 00 00 00 00 00 00 00\n07 01 00 00 f8 ff ff ff\nff 00 00 00 00 00 00 00\n95 00 00 00 00 00 00 00\n';
  assert.deepEqual(run(['dis', '-', '--hex-input', '--kernel'], hex), { code: 0, out: '0: (18) r1 = 0x5\n2: (07) r1 += -8\n3: (ff) <unknown>\n4: (95) exit\n', err: '' });
  assert.equal(run(['dis', '-', '--hex-input', '--kernel', '--labels'], hex).code, 2);
});

test('errors: bad assembly exits 1 with file:line:column, usage errors exit 2', () => {
  withDir((dir) => {
    const src = join(dir, 'bad.s');
    writeFileSync(src, 'mov %r0, 1\n  jeq %r0, %r12, +1\n');
    const r = run(['asm', src]);
    assert.equal(r.code, 1);
    assert.match(r.err, /bad\.s:2:12: invalid register '%r12' \(expected a register %r0\.\.%r10\)/);
    assert.equal(run(['asm', join(dir, 'missing.s')]).code, 2);
    assert.equal(run(['asm']).code, 2);
    assert.equal(run(['asm', src, '--dialect', 'intel']).code, 2);
    assert.equal(run(['dis', src, '--cpu', 'v9']).code, 2);
    // text input is detected like `run` does: here it is (bad) assembly, reported by position
    const odd = run(['dis', '-'], 'abc');
    assert.equal(odd.code, 1);
    assert.match(odd.err, /<stdin>:1:1: unknown instruction 'abc'/);
    // binary input of a wrong length still names the problem
    const short = run(['dis', '-'], '\u0001\u0002\u0003');
    assert.equal(short.code, 1);
    assert.match(short.err, /not a multiple of 8/);
    const badHex = run(['dis', '-', '--hex-input'], 'b7 0');
    assert.equal(badHex.code, 1);
    assert.match(badHex.err, /1:4: odd number of hex digits/);
  });
});

test('--help describes both verbs', () => {
  const a = run(['asm', '--help']);
  assert.equal(a.code, 0);
  assert.match(a.out, /usage: tsbpf asm FILE/);
  assert.match(run(['dis', '--help']).out, /--hex-input/);
  assert.match(run(['--help']).out, /asm .*assemble/);
});
