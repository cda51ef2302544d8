// `tsbpf run` and `tsbpf conformance-plugin`, in process through the Command
// interface, plus one subprocess check of the exit codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { run, programFromInput, formatValue } from '../../src/cli/run.js';
import { conformancePlugin, parsePluginHex } from '../../src/cli/conformance-plugin.js';
import type { Io } from '../../src/cli/command.js';
import { ROOT, CONFORMANCE_DIR, SHARED } from '../paths.js';
import { MemoryFault, VerifierError } from '../../src/internal/errors.js';

function io(stdin = ''): Io & { outText: () => string; errText: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out: (t) => void out.push(t),
    err: (t) => void err.push(t),
    readStdin: async () => new TextEncoder().encode(stdin),
    outText: () => out.join('\n'),
    errText: () => err.join('\n'),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'tsbpf-run-'));
const file = (name: string, content: string | Uint8Array): string => {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
};

test('run detects assembly, hex text, raw bytes and .data files', async () => {
  const cases: Array<[string, string | Uint8Array, string]> = [
    ['a.s', 'mov %r0, 5\nadd %r0, 7\nexit\n', 'r0 = 0xc (12)'],
    ['b.s', 'r0 = 42\nexit\n', 'r0 = 0x2a (42)'],
    ['c.hex', 'b7 00 00 00 ff ff ff ff  # r0 = -1\n95 00 00 00 00 00 00 00\n', 'r0 = 0xffffffffffffffff (18446744073709551615, signed -1)'],
    ['d.bin', Uint8Array.of(0xb7, 0, 0, 0, 3, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0), 'r0 = 0x3 (3)'],
  ];
  for (const [name, content, want] of cases) {
    const t = io();
    assert.equal(await run.run([file(name, content)], t), 0);
    assert.equal(t.outText(), want, name);
  }
  const t = io();
  assert.equal(await run.run([join(CONFORMANCE_DIR, 'tests', 'subnet.data')], t), 0);
  assert.equal(t.outText(), 'r0 = 0x1 (1)');
  assert.equal(programFromInput(new TextEncoder().encode('exit\n'), 'x', false).kind, 'asm');
});

test('run --mem gives r1/r2; faults and rejections are typed errors', async () => {
  const p = file('m.s', 'ldxh %r0, [%r1+1]\nadd %r0, %r2\nexit\n');
  const t = io();
  await run.run([p, '--mem', '00 34 12'], t);
  assert.equal(t.outText(), `r0 = ${formatValue(0x1234n + 3n)}`);
  await assert.rejects(run.run([p, '--mem', '00'], io()), MemoryFault);
  await assert.rejects(run.run([file('e.s', 'or %r0, %r10\nexit\n')], io()), VerifierError);
  await assert.rejects(run.run([p, '--budget=-1'], io()), /--budget expects a non-negative integer/);
});

test('run takes map-free programs from object files; XDP gets an xdp_md around --mem', async () => {
  const packet = readFileSync(join(SHARED, 'bench', 'packets', 'udp4_1500.bin'));
  const t = io();
  assert.equal(await run.run([join(ROOT, 'test', 'fixtures', 'bench', 'parse_verify.o'), '--mem', packet.toString('hex')], t), 0);
  assert.equal(t.outText(), `r0 = ${formatValue(287445897n)}`);
  await assert.rejects(run.run([join(ROOT, 'test', 'fixtures', 'bench', 'hashcount.o')], io()), /uses maps/);
  await assert.rejects(run.run([join(ROOT, 'test', 'fixtures', 'bench', 'nop.o'), '--section', 'nosuch'], io()), /no program in section or named 'nosuch' \(have: xdp\//);
  await assert.rejects(run.run([file('n.s', 'mov %r0, 0\nexit\n'), '--trace', '--engine', 'jit'], io()), /--trace needs the interpreter/);
});

test('run --trace prints instructions and changed registers', async () => {
  const t = io();
  await run.run([file('t.s', 'mov %r0, 1\nlsh %r0, 40\nexit\n'), '--trace'], t);
  const lines = t.outText().split('\n');
  assert.match(lines[0]!, /^\s+0: r0 = 0x1\s+; r0 = 0x1$/);
  assert.match(lines[1]!, /^\s+1: r0 <<= 0x28\s+; r0 = 0x10000000000$/);
  assert.match(lines[2]!, /^\s+2: exit$/);
  assert.equal(lines[3], '3 instructions');
});

test('conformance-plugin follows the runner contract', async () => {
  const prog = '61  10  00  00  00  00  00  00  95  00  00  00  00  00  00  00  \n';
  const t = io(prog);
  assert.equal(await conformancePlugin.run(['aa  bb  cc  dd  ', '--interpret'], t), 0);
  assert.equal(t.outText(), 'ddccbbaa');
  assert.deepEqual([...parsePluginHex('0a  zz  ff\n 1 ')], [0x0a, 0xff, 0x01]);
  await assert.rejects(conformancePlugin.run([], io(prog)), MemoryFault);
  await assert.rejects(conformancePlugin.run(['--frobnicate'], io(prog)), /unknown option/);
});

test('conformance-plugin --elf runs main, or the code section', async (t) => {
  const hexOf = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0') + '  ').join('') + '\n';
  const nop = io(hexOf(readFileSync(join(ROOT, 'test', 'fixtures', 'bench', 'nop_verify.o'))));
  assert.equal(await conformancePlugin.run(['--elf'], nop), 0);
  assert.equal(nop.outText(), '2');
  const mc = spawnSync('llvm-mc-19', ['-triple', 'bpf', '-filetype=obj', '-o', join(dir, 'm.o'), file('m.s', '\t.text\n\t.globl main\n\t.type main,@function\nother:\n\tr0 = 7\n\texit\nmain:\n\tr0 = 42\n\texit\n.Lend:\n\t.size main, .Lend-main\n')]);
  if (mc.error || mc.status !== 0) {
    t.skip('llvm-mc-19 not available');
    return;
  }
  const m = io(hexOf(readFileSync(join(dir, 'm.o'))));
  assert.equal(await conformancePlugin.run(['--elf'], m), 0);
  assert.equal(m.outText(), '2a');
});

test('exit codes of the real process', () => {
  const main = join(ROOT, 'dist', 'src', 'cli', 'main.js');
  const ok = spawnSync(process.execPath, [main, 'conformance-plugin'], { input: 'b7 00 00 00 2a 00 00 00 95 00 00 00 00 00 00 00\n' });
  assert.equal(ok.status, 0);
  assert.equal(ok.stdout.toString().trim(), '2a');
  const fault = spawnSync(process.execPath, [main, 'run', file('f.s', 'mov %r1, 0\nldxb %r0, [%r1]\nexit\n')]);
  assert.equal(fault.status, 1);
  assert.match(fault.stderr.toString(), /pc 1: invalid read of 1 byte at 0x0: NULL pointer/);
  const usage = spawnSync(process.execPath, [main, 'run']);
  assert.equal(usage.status, 2);
});
