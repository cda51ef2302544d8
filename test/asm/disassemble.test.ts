// The disassembler must print exactly what llvm-objdump-19 prints: checked
// against the committed fixtures (test/fixtures/llvm/, made by
// gen-llvm-fixtures.ts) and, when llvm-objdump-19 is installed, against a
// live run over the whole conformance corpus.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { disassembleProgram, formatInsn } from '../../src/asm/disassemble.js';
import { decodeProgram } from '../../src/isa/decode.js';
import { assemble } from '../../src/asm/assemble.js';
import { conformanceCases, hasConformance, hexToBytes, readFixture, uniqueEncodings } from './corpus.js';
import { objdump, objdumpAvailable, objdumpFile } from './llvm-objdump.js';
import { readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../paths.js';
import { llvmTexts } from './gen-llvm-fixtures.js';
import { kernelTexts } from './gen-kernel-fixture.js';
import { kernelAvailable } from './kernel-probe.js';

/** Our text for one encoding. Decoded alone, so jump targets are not checked. */
function ours(hex: string, alu32: boolean): string {
  const prog = decodeProgram(hexToBytes(hex), { validate: false });
  assert.ok(prog.op[0]! >= 0, `${hex} is not an instruction of the table`);
  return formatInsn(prog, 0, { alu32 });
}

/** Compare every fixture entry; report all mismatches at once. */
function checkFixture(file: string, alu32: boolean): void {
  const fx = readFixture(file);
  assert.ok(fx.size > 300, `${file} has ${fx.size} entries`);
  const bad: string[] = [];
  for (const [hex, want] of fx) {
    const got = ours(hex, alu32);
    if (got !== want) bad.push(`${hex}: llvm '${want}', ours '${got}'`);
  }
  assert.deepEqual(bad, [], `${bad.length} of ${fx.size} differ`);
}

test('disassembly of every conformance encoding matches llvm-objdump --mcpu=v3 (fixture)', () => {
  checkFixture('conformance-insns.v3.txt', true);
});

test('disassembly of every conformance encoding matches plain llvm-objdump (fixture, alu32: false)', () => {
  checkFixture('conformance-insns.v1.txt', false);
});

test('disassembly of two samples per table row matches llvm-objdump --mcpu=v3 (fixture)', () => {
  checkFixture('table-rows.v3.txt', true);
});

test('disassembly of two samples per table row matches plain llvm-objdump (fixture, alu32: false)', () => {
  checkFixture('table-rows.v1.txt', false);
});

const noObjdump = objdumpAvailable() ? false : 'llvm-objdump-19 is not installed';
const noCorpus = hasConformance() ? false : 'conformance corpus not found (set TSBPF_SHARED)';

test('live: llvm-objdump-19 prints every conformance encoding as we do, and as the fixture says', { skip: noObjdump || noCorpus }, () => {
  const encodings = uniqueEncodings(conformanceCases().map((c) => c.bytes));
  const fixture = readFixture('conformance-insns.v3.txt');
  const live = llvmTexts(encodings, 'v3');
  const bad: string[] = [];
  for (const [hex, want] of live) {
    const got = ours(hex, true);
    if (got !== want) bad.push(`${hex}: llvm '${want}', ours '${got}'`);
    if (fixture.get(hex) !== want) bad.push(`${hex}: fixture '${fixture.get(hex)}' is stale, llvm now says '${want}'`);
  }
  assert.deepEqual(bad, []);
});

test('live: whole corpus disassembles line for line like objdump (index, raw bytes, target annotations)', { skip: noObjdump || noCorpus }, () => {
  const progs = conformanceCases().map((c) => c.bytes);
  const blob = new Uint8Array(progs.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of progs) {
    blob.set(p, at);
    at += p.length;
  }
  for (const [mcpu, alu32] of [['v3', true], [undefined, false]] as const) {
    const want = objdump(blob, mcpu).map((l) => l.line);
    const got = disassembleProgram(decodeProgram(blob), {
      alu32,
      index: true,
      rawBytes: true,
      symbols: { target: (slot) => `.text+0x${(slot * 8).toString(16)}` },
    });
    assert.equal(got.length, want.length);
    const bad = got.flatMap((g, k) => (g === want[k] ? [] : [`ours:  ${g}\nllvm:  ${want[k]}`]));
    assert.deepEqual(bad.slice(0, 10), [], `mcpu ${mcpu ?? 'default'}: ${bad.length} lines differ`);
  }
});

function prog(...lines: string[]) {
  return decodeProgram(assemble(lines.join('\n'), { dialect: 'llvm' }), { validate: false });
}

test('symbol hooks name helpers, pseudo lddw immediates and jump targets', () => {
  const p = prog('r1 = 0x0 ll', 'ld_pseudo r1, 0x1, 0x7', 'call 0x1', 'if r0 == 0x0 goto +0x1', 'r0 = 0x0', 'exit');
  const text = disassembleProgram(p, {
    symbols: {
      helper: (id) => (id === 1 ? 'bpf_map_lookup_elem' : undefined),
      pseudo: (src, imm) => (src === 1 ? `map[fd:${imm}]` : undefined),
      target: (slot) => `L${slot}`,
    },
  });
  assert.deepEqual(text, ['r1 = 0x0 ll', 'r1 = map[fd:7] ll', 'call bpf_map_lookup_elem', 'if r0 == 0x0 goto +0x1 <L7>', 'r0 = 0x0', 'exit']);
  // Without hooks the numbers stay, as llvm prints them.
  assert.equal(formatInsn(p, 2), 'ld_pseudo\tr1, 0x1, 0x7');
  assert.equal(formatInsn(p, 4), 'call 0x1');
});

test('labels mode names targets so local calls survive a round trip', () => {
  const p = prog('call f', 'goto +0x1', 'r0 = 0x1', 'exit', 'f:', 'r0 = 0x2', 'exit');
  assert.deepEqual(disassembleProgram(p, { labels: true }), ['call L4', 'goto L3', 'r0 = 0x1', 'L3:', 'exit', 'L4:', 'r0 = 0x2', 'exit']);
  // Plain mode prints the call as llvm does: a bare offset, which would re-assemble as a helper call.
  assert.equal(formatInsn(p, 0), 'call 0x3');
});

test('indirect packet loads keep a non-zero immediate (llvm drops it)', () => {
  const p = prog('r0 = *(u16 *)skb[r3 + 0x10]', 'r0 = *(u8 *)skb[r3 - 0x2]', 'r0 = *(u32 *)skb[r3]', 'r0 = *(u8 *)skb[-0x4]');
  assert.deepEqual(disassembleProgram(p), ['r0 = *(u16 *)skb[r3 + 0x10]', 'r0 = *(u8 *)skb[r3 - 0x2]', 'r0 = *(u32 *)skb[r3]', 'r0 = *(u8 *)skb[-0x4]']);
});

test('encodings that are not instructions print as <unknown>, one slot each', () => {
  const bytes = hexToBytes('ff00000000000000' + '9500000000000000' + '1801000001000000');
  const p = decodeProgram(bytes, { validate: false });
  assert.deepEqual(disassembleProgram(p, { index: true }), ['       0:\t<unknown>', '       1:\texit', '       2:\t<unknown>']);
});

// ---- Kernel (verifier log) syntax ----------------------------------------------

test('kernel syntax of every probe encoding matches the 6.18 verifier log (fixture)', () => {
  const fx = readFixture('kernel-insns.txt');
  assert.ok(fx.size > 200, `${fx.size} entries`);
  const bad: string[] = [];
  for (const [hex, want] of fx) {
    const prog = decodeProgram(hexToBytes(hex), { validate: false });
    const got = formatInsn(prog, 0, { syntax: 'kernel' });
    if (got !== want) bad.push(`${hex}: kernel '${want}', ours '${got}'`);
  }
  assert.deepEqual(bad, []);
});

test('live: the running kernel prints the probe program as our kernel syntax does', { skip: kernelAvailable() ? false : 'needs root, bpffs, bpftool and llvm-mc-19' }, () => {
  const want = kernelTexts();
  const fixture = readFixture('kernel-insns.txt');
  const bad: string[] = [];
  for (const [hex, text] of want) {
    const got = formatInsn(decodeProgram(hexToBytes(hex), { validate: false }), 0, { syntax: 'kernel' });
    if (got !== text) bad.push(`${hex}: kernel '${text}', ours '${got}'`);
    if (fixture.get(hex) !== text) bad.push(`${hex}: fixture '${fixture.get(hex)}' is stale`);
  }
  assert.deepEqual(bad, []);
});

test('kernel syntax: symbol hooks and the forms the probe cannot load', () => {
  const p = prog('r1 = 0x0 ll', 'ld_pseudo r2, 0x2, 0x3', 'call 0x1', 'call 0x270f', 'r0 = *(u8 *)skb[r3 - 0x4]', 'call f', 'f:', 'exit');
  const k = (i: number, symbols?: Parameters<typeof formatInsn>[2]): string => formatInsn(p, i, { syntax: 'kernel', ...symbols });
  assert.equal(k(0), '(18) r1 = 0x0');
  assert.equal(k(2), '(18) r2 = 0x3');
  assert.equal(k(2, { symbols: { pseudo: (src, imm) => `map[id:${imm}]+${src}` } }), '(18) r2 = map[id:3]+2');
  assert.equal(k(4), '(85) call bpf_map_lookup_elem#1');
  assert.equal(k(5), '(85) call unknown#9999');
  assert.equal(k(5, { symbols: { helper: () => 'my_helper' } }), '(85) call my_helper#9999');
  assert.equal(k(6), '(50) r0 = *(u8 *)skb[r3 + -4]');
  assert.equal(k(7), '(85) call pc+0');
});

test('may_goto and addr_space_cast in both syntaxes (llvm-objdump-19; kernel/bpf/disasm.c wording)', () => {
  const p = prog('may_goto +0x1', 'r1 = addr_space_cast(r2, 0x0, 0x1)', 'r3 = addr_space_cast(r4, 0x1, 0x0)', 'may_goto -0x4', 'exit');
  assert.deepEqual(disassembleProgram(p, { rawBytes: true }), [
    'e5 00 01 00 00 00 00 00\tmay_goto +0x1',
    'bf 21 01 00 01 00 00 00\tr1 = addr_space_cast(r2, 0x0, 0x1)',
    'bf 43 01 00 00 00 01 00\tr3 = addr_space_cast(r4, 0x1, 0x0)',
    'e5 00 fc ff 00 00 00 00\tmay_goto -0x4',
    '95 00 00 00 00 00 00 00\texit',
  ]);
  assert.deepEqual(disassembleProgram(p, { syntax: 'kernel' }), [
    '(e5) may_goto pc+1',
    '(bf) r1 = addr_space_cast(r2, 0, 1)',
    '(bf) r3 = addr_space_cast(r4, 1, 0)',
    '(e5) may_goto pc-4',
    '(95) exit',
  ]);
  const labelled = disassembleProgram(p, { labels: true });
  assert.deepEqual(labelled, ['L0:', 'may_goto L2', 'r1 = addr_space_cast(r2, 0x0, 0x1)', 'L2:', 'r3 = addr_space_cast(r4, 0x1, 0x0)', 'may_goto L0', 'exit']);
  assert.deepEqual(assemble(labelled.join('\n'), { dialect: 'llvm' }), p.bytes);
  // The conformance dialect spells them like ja and like LLVM's operand order.
  assert.deepEqual(assemble('may_goto +1\naddr_space_cast %r1, %r2, 0, 1\naddr_space_cast %r3, %r4, 1, 0\nmay_goto -4\nexit', { dialect: 'conformance' }), p.bytes);
});

/**
 * Committed BPF objects of the repository (examples, fixtures, benchmarks),
 * little-endian only. Only what git tracks: developers may have large
 * uncommitted object sets (the Linux selftests build) with instructions this
 * comparison does not cover (LD_IND with SKF_NET_OFF immediates, which llvm
 * prints without the immediate; invalid registers).
 */
function repoObjects(): string[] {
  let listed: string[];
  try {
    listed = execFileSync('git', ['ls-files', '-z', '--', '*.o'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter((f) => f !== '');
  } catch {
    listed = [];
    const walk = (dir: string, rel: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.')) continue;
        if (e.isDirectory()) walk(join(dir, e.name), join(rel, e.name));
        else if (e.name.endsWith('.o')) listed.push(join(rel, e.name));
      }
    };
    walk(ROOT, '');
  }
  return listed.filter((f) => !f.includes('bpfeb')).map((f) => join(ROOT, f)).sort();
}

test('live: every instruction of the repository\'s clang-built objects prints as llvm-objdump prints it', { skip: noObjdump }, () => {
  const files = repoObjects();
  if (files.length === 0) return;
  let n = 0;
  const bad: string[] = [];
  for (const [mcpu, alu32] of [['v3', true], [undefined, false]] as const) {
    const seen = new Set<string>();
    for (const l of objdumpFile(files, mcpu)) {
      const want = l.text.replace(/ <[^<>]*>$/, '');
      const key = `${l.bytes}\t${want}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const prog = decodeProgram(hexToBytes(l.bytes.replace(/ /g, '')), { validate: false });
      const got = prog.op[0]! < 0 ? '<unknown>' : formatInsn(prog, 0, { alu32 });
      if (got !== want) bad.push(`${l.line.trim()}: ours '${got}'`);
      n++;
    }
  }
  assert.deepEqual(bad.slice(0, 10), [], `${bad.length} differ`);
  assert.ok(n > 1000, `${n} distinct instructions in ${files.length} objects`);
});
