// .kconfig externs: libbpf's map layout and value rules, checked by hand and
// against the .kconfig map libbpf fills from the running kernel's config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { kernelVersionCode, parseKconfig } from '../../src/elf/kconfig.js';
import { kernelConfigPaths, kernelKconfig } from '../../src/elf/kernel-config.js';
import { loadObject } from '../../src/elf/load.js';
import { unsupportedReasons } from '../../src/elf/runnable.js';
import { decodeProgram } from '../../src/isa/decode.js';
import { PseudoLd } from '../../src/isa/fields.js';
import { taskTarget } from '../btf/core-target.js';
import { EXAMPLES, exampleBytes } from './helpers.js';

const FILE = fileURLToPath(new URL('../../../test/fixtures/objects/kconfig/kconfig.o', import.meta.url));
const bytes = (): Uint8Array => new Uint8Array(readFileSync(FILE));

const CONFIG = `# comment
CONFIG_BPF_SYSCALL=y
CONFIG_TUN=m
CONFIG_HZ=0x3e8
CONFIG_NR_CPUS=8
CONFIG_LOCALVERSION="-tsbpf-test-version"
# CONFIG_DEFAULT_HOSTNAME is not set
`;

test('parseKconfig and kernelVersionCode read .config text and release strings', () => {
  const v = parseKconfig(CONFIG);
  assert.equal(v.get('CONFIG_TUN'), 'm');
  assert.equal(v.get('CONFIG_DEFAULT_HOSTNAME'), 'n');
  assert.equal(v.get('CONFIG_LOCALVERSION'), '"-tsbpf-test-version"');
  assert.equal(kernelVersionCode('6.12.300-amd64'), (6 << 16) + (12 << 8) + 255);
  assert.equal(kernelVersionCode('not a version'), undefined);
});

test('kconfig.o: values typed by each extern, libbpf\'s layout, lddw turned into .kconfig loads', () => {
  const values = parseKconfig(CONFIG);
  values.set('LINUX_KERNEL_VERSION', String(0x060c00));
  values.set('CONFIG_DEFAULT_HOSTNAME', '"abcdef"');
  const spec = loadObject(bytes(), { file: FILE, kconfig: values });
  const m = spec.maps.find((x) => x.name === '.kconfig')!;
  // align 8: NR_CPUS@0; align 4: HZ@8, TUN@12, LINUX_KERNEL_VERSION@16; align 2: NO_SUCH_NUMBER@20;
  // align 1 by size then name: BPF_SYSCALL@22, NO_SUCH_OPTION@23, DEFAULT_HOSTNAME[4]@24, LOCALVERSION[16]@28.
  const dv = new DataView(m.initial!.buffer, m.initial!.byteOffset);
  assert.equal(m.valueSize, 44);
  assert.equal(dv.getBigUint64(0, true), 8n);
  assert.equal(dv.getInt32(8, true), 1000);
  assert.equal(dv.getUint32(12, true), 2, 'm is TRI_MODULE');
  assert.equal(dv.getUint32(16, true), 0x060c00);
  assert.equal(dv.getUint16(20, true), 0, 'weak and missing reads as zero');
  assert.equal(m.initial![22], 1);
  assert.equal(Buffer.from(m.initial!.subarray(24, 28)).toString('latin1'), 'abc\0', 'strings are truncated to the array, NUL-terminated');
  assert.equal(Buffer.from(m.initial!.subarray(28, 44)).toString('latin1'), '-tsbpf-test-ver\0');
  assert.equal(m.frozen, true);
  const p = spec.programs[0]!;
  assert.deepEqual(p.externs, []);
  assert.deepEqual(unsupportedReasons(spec, p), []);
  const d = decodeProgram(p.insns);
  const index = spec.maps.indexOf(m);
  const hz = spec.externs.find((e) => e.name === 'CONFIG_HZ')!.refs[0]!.insn;
  assert.equal(d.src[hz], PseudoLd.MAP_VALUE);
  assert.equal(d.imm[hz], index);
  assert.ok(p.mapRefs.some((r) => r.insn === hz && r.map === index && r.offset === 8));
});

test('kconfig values of the wrong kind, out of range or missing are refused, naming the extern', () => {
  const load = (extra: Record<string, string>): unknown => {
    const values = new Map([['LINUX_KERNEL_VERSION', '1'], ['CONFIG_BPF_SYSCALL', 'y'], ...Object.entries(extra)]);
    return loadObject(bytes(), { file: FILE, kconfig: values });
  };
  assert.throws(() => load({ CONFIG_BPF_SYSCALL: 'm' }), /extern \(kcfg\) 'CONFIG_BPF_SYSCALL': value 'm' is a module, not a bool/);
  assert.throws(() => load({ CONFIG_TSBPF_NO_SUCH_NUMBER: '65536' }), /'CONFIG_TSBPF_NO_SUCH_NUMBER': value '65536' does not fit in 2 bytes/);
  assert.throws(() => load({ CONFIG_HZ: '"250"' }), /'CONFIG_HZ': value '"250"' implies a char array type/);
  assert.throws(() => load({ CONFIG_HZ: '25x' }), /'CONFIG_HZ': value '25x' is not a number/);
  assert.throws(() => loadObject(bytes(), { file: FILE, kconfig: new Map([['CONFIG_BPF_SYSCALL', 'y']]) }), /extern \(kcfg\) 'LINUX_KERNEL_VERSION': value not found/);
  assert.ok(load({}));
});

test('examples/core.o runs as-is given a CO-RE target and kconfig values', () => {
  const spec = loadObject(exampleBytes('core.o'), { file: EXAMPLES + 'core.o', coreTarget: taskTarget(), kconfig: new Map([['LINUX_KERNEL_VERSION', '1']]) });
  assert.deepEqual(unsupportedReasons(spec, spec.programs[0]!), []);
});

test('kconfig.o: the .kconfig map equals the one libbpf fills from this kernel\'s config', (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root (bpftool prog loadall)');
  if (!kernelConfigPaths().some((p) => existsSync(p))) return t.skip('no kernel config (/proc/config.gz or /boot/config-*)');
  const v = spawnSync('bpftool', ['version'], { encoding: 'utf8' });
  if (v.error || v.status !== 0) return t.skip('bpftool is not installed');
  const pin = `/sys/fs/bpf/tsbpf-kconfig-${process.pid}`;
  try {
    const load = spawnSync('bpftool', ['prog', 'loadall', FILE, pin], { encoding: 'utf8' });
    if (load.status !== 0) return t.skip(`bpftool prog loadall failed: ${load.stderr.trim().split('\n').pop()}`);
    const prog = JSON.parse(spawnSync('bpftool', ['prog', 'show', 'pinned', `${pin}/read_kconfig`, '-j'], { encoding: 'utf8' }).stdout) as { map_ids: number[] };
    const kmap = prog.map_ids.find((id) => (JSON.parse(spawnSync('bpftool', ['map', 'show', 'id', String(id), '-j'], { encoding: 'utf8' }).stdout) as { name: string }).name.endsWith('.kconfig'));
    assert.ok(kmap !== undefined, 'libbpf created a .kconfig map');
    const dump = JSON.parse(spawnSync('bpftool', ['map', 'dump', 'id', String(kmap), '-j'], { encoding: 'utf8' }).stdout) as { value: string[] }[];
    const theirs = Buffer.from(dump[0]!.value.map((b) => parseInt(b, 16)));
    const spec = loadObject(bytes(), { file: FILE, kconfig: kernelKconfig() });
    const ours = Buffer.from(spec.maps.find((m) => m.name === '.kconfig')!.initial!);
    assert.equal(ours.toString('hex'), theirs.toString('hex'));
  } finally {
    rmSync(pin, { recursive: true, force: true });
  }
});
