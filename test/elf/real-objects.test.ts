// Objects from real projects, when the system has them: cilium/ebpf's test
// objects (Debian golang-github-cilium-ebpf-dev, built by clang 7 to 14, both
// byte orders) and xdp-tools' programs (libxdp1, xdp-tools). Each must load,
// or fail with the precise reason listed here. More directories can be given
// in TSBPF_REAL_OBJECTS (colon-separated). Loadable programs also go to the
// kernel when root is available.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadObject } from '../../src/elf/load.js';
import { decodeProgram } from '../../src/isa/decode.js';
import { disassembleObject } from '../../src/cli/dis-object.js';
import { TsbpfError } from '../../src/internal/errors.js';
import { kernelLoad, kernelLoadable } from './kernel-harness.js';
import { firstDifference, libbpfPatches, libbpfStreams } from './libbpf-oracle.js';
import { kernelBtf } from '../../src/elf/target-btf.js';
import { BtfKind } from '../../src/btf/types.js';
import type { ObjectSpec, ProgramSpec } from '../../src/elf/spec.js';

/** Built by test/fixtures/objects/build-linux-selftests.sh (GPL, not committed). */
const LINUX = fileURLToPath(new URL('../../../test/fixtures/objects/linux', import.meta.url));

const DIRS = [
  ...(process.env['TSBPF_REAL_OBJECTS']?.split(':').filter(Boolean) ?? []),
  '/usr/share/gocode/src/github.com/cilium/ebpf/testdata',
  '/usr/share/gocode/src/github.com/cilium/ebpf/btf/testdata',
  '/usr/lib/x86_64-linux-gnu/bpf',
  '/usr/lib/aarch64-linux-gnu/bpf',
  '/usr/lib/bpf',
];

/** Objects that are broken on purpose (cilium's loader tests), and why they must fail. */
const EXPECTED_FAILURES: Record<string, RegExp> = {
  fwd_decl: /call to fwd, a function this object declares but does not define/,
  invalid_btf_map_init: /map hash_map: definition has non-zero data/,
  invalid_map: /map invalid_map: unrecognised non-zero byte/,
};

/** Objects whose programs also go to the kernel by default. */
const KERNEL_SAMPLE = ['xdp-dispatcher.o', 'xdpdump_xdp.o', 'xdpfilt_alw_all.o', 'xdpfilt_dny_eth.o', 'xsk_def_xdp_prog.o'];

function objects(): string[] {
  const out: string[] = [];
  for (const d of DIRS) {
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if ((f.endsWith('.o') || f.endsWith('.elf')) && statSync(p).isFile()) out.push(p);
    }
  }
  return out.sort();
}

test('objects from real projects load or fail with a precise reason', (t) => {
  const files = objects();
  if (files.length === 0) {
    t.skip(`no real-project objects found (install golang-github-cilium-ebpf-dev or libxdp1, or set TSBPF_REAL_OBJECTS)`);
    return;
  }
  let loaded = 0;
  let kernelChecked = 0;
  let kernelSkip: string | undefined;
  for (const file of files) {
    const base = file.split('/').pop()!.replace(/-e[lb]\.elf$/, '').replace(/\.o$/, '');
    const expected = EXPECTED_FAILURES[base];
    const t0 = performance.now();
    let spec;
    try {
      spec = loadObject(new Uint8Array(readFileSync(file)), { file });
    } catch (e) {
      assert.ok(e instanceof TsbpfError, `${file}: ${String(e)}`);
      assert.ok(expected, `${file} failed: ${e.message}`);
      assert.match(e.message, expected);
      continue;
    }
    assert.ok(performance.now() - t0 < 1000);
    assert.equal(expected, undefined, `${file} loaded but should fail with ${expected}`);
    for (const p of spec.programs) decodeProgram(p.insns);
    if (spec.programs.length) disassembleObject(spec, { source: true });
    loaded++;
    // cilium's loader objects are deliberately odd (unspec types, fake constants): only our loading is checked for them.
    // The kernel takes up to a second per object here; a sample keeps the test short (TSBPF_KERNEL_ALL=1 checks all).
    const sampled = process.env['TSBPF_KERNEL_ALL'] === '1' || KERNEL_SAMPLE.some((n) => file.endsWith('/' + n));
    const progs = file.includes('/cilium/') || !sampled ? [] : kernelLoadable(spec);
    if (progs.length && kernelSkip === undefined) {
      const results = kernelLoad(spec, progs);
      if (typeof results === 'string') kernelSkip = results;
      else {
        for (const r of results) {
          assert.ok(r.ok, `${file}: ${r.name}: ${r.error}\n${(r.log ?? []).join('\n')}`);
          kernelChecked++;
        }
      }
    }
  }
  console.log(`# real objects: ${files.length} files, ${loaded} loaded, kernel accepted ${kernelChecked} programs${kernelSkip ? ` (kernel: ${kernelSkip})` : ''}`);
  assert.ok(loaded > 0);
});

/**
 * Why some selftests objects do not load, all on purpose: they are halves of
 * statically linked programs, deliberately invalid, or use BPF arenas.
 */
const SELFTEST_REASONS = [
  /static map definitions are not supported/,
  /a function this object declares but does not define \(link the objects first/,
  /is a BPF arena global/,
  /pinning \d+ is not supported/,
];

test('the Linux BPF selftests load, or fail with a typed error naming the unsupported feature', (t) => {
  if (!existsSync(LINUX)) {
    t.skip('no Linux selftest objects (run test/fixtures/objects/build-linux-selftests.sh)');
    return;
  }
  const files = readdirSync(LINUX).filter((f) => f.endsWith('.o')).sort();
  const reasons = new Map<string, number>();
  let loaded = 0;
  let slowest = 0;
  for (const f of files) {
    const t0 = performance.now();
    try {
      const spec = loadObject(new Uint8Array(readFileSync(join(LINUX, f))), { file: f });
      for (const p of spec.programs) assert.ok(p.insns.length > 0 && p.insns.length % 8 === 0);
      loaded++;
    } catch (e) {
      assert.ok(e instanceof TsbpfError, `${f}: ${e instanceof Error ? e.stack : String(e)}`);
      // Group by the reason without names and offsets.
      const key = e.message.replace(/^[^:]+: (section [^:]+: )?(offset \d+: )?/, '').replace(/[\w.]+ is a BPF arena global/, 'X is a BPF arena global').slice(0, 120);
      reasons.set(key, (reasons.get(key) ?? 0) + 1);
      assert.ok(SELFTEST_REASONS.some((r) => r.test(e.message)), `${f}: unexpected failure: ${e.message}`);
    }
    slowest = Math.max(slowest, performance.now() - t0);
  }
  const summary = [...reasons].sort((a, b) => b[1] - a[1]).map(([r, n]) => `#   ${n} x ${r}`).join('\n');
  console.log(`# linux selftests: ${files.length} objects, ${loaded} loaded, slowest ${slowest.toFixed(0)} ms\n${summary}`);
  assert.ok(loaded >= files.length * 0.9, `only ${loaded} of ${files.length} loaded`);
  assert.ok(slowest < 1000);
});

/** Programs the selftests mark `__success` (a BTF decl tag) and load without special flags. */
function expectedToVerify(spec: ObjectSpec): ProgramSpec[] {
  const btf = spec.btf;
  if (!btf) return [];
  const tags = new Map<string, string[]>();
  for (const t of btf.types) {
    if (t.kind !== BtfKind.DECL_TAG || t.componentIdx !== -1) continue;
    const target = btf.type(t.type);
    if (target.kind !== BtfKind.FUNC) continue;
    const list = tags.get(target.name) ?? [];
    list.push(t.name);
    tags.set(target.name, list);
  }
  return kernelLoadable(spec).filter((p) => {
    const tg = tags.get(p.name) ?? [];
    return tg.includes('comment:test_expect_success') && !tg.some((x) => /test_expect_failure|test_prog_flags|unpriv/.test(x));
  });
}

test('the kernel verifies the selftests programs marked __success, as tsbpf linked them', (t) => {
  if (!existsSync(LINUX)) {
    t.skip('no Linux selftest objects (run test/fixtures/objects/build-linux-selftests.sh)');
    return;
  }
  // Every verifier_*.o takes a few minutes; by default a sample (TSBPF_KERNEL_ALL=1 for all).
  let files = readdirSync(LINUX).filter((f) => f.startsWith('verifier_') && f.endsWith('.o')).sort();
  if (process.env['TSBPF_KERNEL_ALL'] !== '1') files = files.filter((_, i) => i % 8 === 0);
  let checked = 0;
  for (const f of files) {
    let spec: ObjectSpec;
    try {
      spec = loadObject(new Uint8Array(readFileSync(join(LINUX, f))), { file: f });
    } catch {
      continue; // load failures are the previous test's business
    }
    const programs = expectedToVerify(spec);
    if (programs.length === 0) continue;
    const results = kernelLoad(spec, programs);
    if (typeof results === 'string') {
      t.skip(results);
      return;
    }
    for (const r of results) {
      assert.ok(r.ok, `${f}: ${r.name}: ${r.error}\n${(r.log ?? []).join('\n')}${r.btfError ? `\nBTF: ${r.btfError}` : ''}`);
      checked++;
    }
  }
  console.log(`# kernel verified ${checked} selftests programs from ${files.length} objects`);
  assert.ok(checked > 0);
});

test('the selftests\' CO-RE relocations against the kernel\'s BTF equal libbpf\'s, patch for patch', (t) => {
  if (!existsSync(LINUX)) return t.skip('no Linux selftest objects (run test/fixtures/objects/build-linux-selftests.sh)');
  const target = kernelBtf();
  if (!target) return t.skip('the kernel has no BTF (/sys/kernel/btf/vmlinux)');
  // By default the core_reloc tests (every relocation kind, flavors, bitfields, enum64...); all with TSBPF_KERNEL_ALL=1.
  let files = readdirSync(LINUX).filter((f) => f.endsWith('.o')).sort();
  if (process.env['TSBPF_KERNEL_ALL'] !== '1') files = files.filter((f) => f.startsWith('test_core_reloc') || f.startsWith('core_kern'));
  let compared = 0, patches = 0, libbpfRefused = 0;
  for (const f of files) {
    const bytes = new Uint8Array(readFileSync(join(LINUX, f)));
    let plain: ObjectSpec;
    try {
      plain = loadObject(bytes, { file: f });
    } catch {
      continue; // covered by the load test above
    }
    if (plain.coreRelos.length === 0) continue;
    const ours = loadObject(bytes, { file: f, coreTarget: target });
    const theirs = libbpfPatches(join(LINUX, f));
    if (typeof theirs === 'string') {
      if (/needs root|neither cc/.test(theirs)) return t.skip(theirs);
      libbpfRefused++; // libbpf 1.1 stops before relocating (kfuncs this kernel lacks, struct_ops...)
      continue;
    }
    const { streams } = libbpfStreams(plain, theirs);
    for (const p of ours.programs) if (p.autoload) assert.equal(firstDifference(`${f} ${p.name}`, p.insns, streams.get(p.name)!), undefined);
    compared++;
    patches += theirs.length;
  }
  t.diagnostic(`${compared} objects, ${patches} libbpf patches reproduced; libbpf stopped before relocating ${libbpfRefused}`);
  assert.ok(compared > 0);
});
