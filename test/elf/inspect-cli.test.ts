// `tsbpf inspect` and object disassembly, end to end through the CLI entry point.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { disassembleObject } from '../../src/cli/dis-object.js';
import { EXAMPLES, exampleBytes, loadExample } from './helpers.js';
import { taskTargetTypes } from '../btf/core-target.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 60000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('inspect --json lists programs and maps with kernel type names', () => {
  const r = cli('inspect', '--json', EXAMPLES + 'maps.o');
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.deepEqual(j.programs.map((p: Record<string, unknown>) => [p.name, p.section, p.type, p.license]), [
    ['tail_target', 'xdp', 'xdp', 'GPL'],
    ['count_packets', 'xdp', 'xdp', 'GPL'],
  ]);
  assert.equal(j.programs[1].insns, loadExample('maps.o').programs[1]!.insns.length / 8);
  assert.deepEqual(j.maps.find((m: { name: string }) => m.name === 'jumps').init_values, [{ index: 2, program: 'tail_target' }]);
  const flows = j.maps.find((m: { name: string }) => m.name === 'flows');
  assert.deepEqual(flows, { name: 'flows', type: 'hash', key_size: 16, value_size: 24, max_entries: 1024, flags: 0, section: '.maps' });
  assert.ok(j.btf.types > 0);
});

test('inspect text output names programs, maps, global data, externs and CO-RE needs', () => {
  const g = cli('inspect', EXAMPLES + 'globals.o');
  assert.equal(g.status, 0, g.stderr);
  assert.match(g.stdout, /use_globals\s+xdp\s+xdp\s+\d+/);
  assert.match(g.stdout, /\.rodata\s+array\s+4\s+\d+\s+1\s+0x\w+\s+global data, read-only/);
  const c = cli('inspect', EXAMPLES + 'core.o');
  assert.equal(c.status, 0, c.stderr);
  assert.match(c.stdout, /needs CO-RE \(\d+ relocations\)/);
  assert.match(c.stdout, /LINUX_KERNEL_VERSION \(kconfig\)/);
});

test('inspect exits 1 with a one-line reason when the object does not load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-inspect-'));
  const bad = join(dir, 'truncated.o');
  writeFileSync(bad, exampleBytes('maps.o').subarray(0, 100));
  const r = cli('inspect', bad);
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /truncated\.o: .*run past the end/);
  const missing = cli('inspect', join(dir, 'nope.o'));
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /ENOENT/);
  assert.equal(cli('inspect').status, 2);
});

test('object disassembly: labels per function, map names, source lines', () => {
  const spec = loadExample('subprogs.o');
  const text = disassembleObject(spec, { section: 'first', source: true });
  assert.match(text, /^Disassembly of program first \(section tc, type sched_cls, \d+ instructions\):/);
  for (const fn of ['first:', 'sum_squares:', 'store:', 'square:']) assert.ok(text.includes(`\n${fn}\n`), fn);
  assert.match(text, /r1 = map\[results\] ll/);
  assert.match(text, /call bpf_map_lookup_elem/);
  assert.match(text, /; return x \* x;/);
  const second = disassembleObject(spec, { section: 'second' });
  assert.match(second, /r2 = func\[add_step\] ll/);
  assert.doesNotMatch(second, /^; /m, 'no source lines without --source');
  assert.throws(() => disassembleObject(spec, { section: 'nope' }), /no program in section nope; programs: tc \(first\), tc \(second\)/);
  const g = disassembleObject(loadExample('globals.o'));
  assert.match(g, /= map\[\.rodata\.str1\.1\] ll/);
  assert.match(g, /= map\[\.data\]\+8 ll/);
});

test('inspect --btf and dis --btf apply CO-RE relocations against a target BTF file', () => {
  const obj = fileURLToPath(new URL('../../../test/fixtures/objects/core/core_task.o', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-btf-'));
  const target = join(dir, 'target.btf');
  writeFileSync(target, taskTargetTypes().b.bytes());
  const r = cli('inspect', obj, '--btf', target);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /CO-RE relocations \(35; 35 applied, 2 poisoned\)/);
  assert.match(r.stdout, /core_kinds insn 4: field_byte_offset struct task_struct access 0:0 -> 12 \(\[\d+\] struct task_struct \+ 0:3\)/);
  const j = JSON.parse(cli('inspect', '--json', obj, '--btf', target).stdout);
  assert.deepEqual(j.core_relos.find((x: { insn: number; program: string }) => x.program === 'core_kinds' && x.insn === 4).value, 12);
  const d = cli('dis', obj, '--btf', target, '--section', 'core_poisoned');
  assert.equal(d.status, 0, d.stderr);
  assert.match(d.stdout, /0:\s+85 00 00 00 10 23 ad 0b\s+call 0xbad2310/);
  const bad = cli('inspect', obj, '--btf', join(dir, 'missing.btf'));
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /missing\.btf: cannot read the target BTF \(ENOENT\)/);
});

test('run FILE.o --kconfig/--btf: .kconfig values from a .config file, none refuses with the externs named', () => {
  const obj = fileURLToPath(new URL('../../../test/fixtures/objects/kconfig/kconfig.o', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-kconfig-'));
  const config = join(dir, 'config');
  writeFileSync(config, 'CONFIG_BPF_SYSCALL=y\nCONFIG_HZ=1000\nCONFIG_TUN=m\n');
  const pkt = join(dir, 'pkt.bin');
  writeFileSync(pkt, new Uint8Array(64));
  const r = cli('run', obj, '--data', pkt, '--kconfig', config, '--json');
  assert.equal(r.status, 0, r.stderr);
  const bss = (JSON.parse(r.stdout) as { maps: Record<string, { value_decoded: { out: number[] } }[]> }).maps['.bss']!;
  assert.deepEqual(bss[0]!.value_decoded.out.slice(1, 4), [1, 2, 1000], 'CONFIG_BPF_SYSCALL, CONFIG_TUN (module), CONFIG_HZ');
  const none = cli('run', obj, '--data', pkt, '--kconfig', 'none');
  assert.equal(none.status, 1);
  assert.match(none.stderr, /uses extern CONFIG_HZ, a \.kconfig value/);
  const core = cli('run', fileURLToPath(new URL('../../../test/fixtures/objects/core/core_task.o', import.meta.url)), '--prog', 'core_subfn', '--btf', 'none', '--ctx', pkt);
  assert.equal(core.status, 1);
  assert.match(core.stderr, /program core_subfn \(section kprobe\/do_nanosleep\): needs 5 CO-RE relocations against a target BTF/);
});
