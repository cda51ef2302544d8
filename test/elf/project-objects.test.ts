// Objects built from real projects' sources (suricata's ebpf/, Linux's
// samples/bpf, falco's modern probe...), found under the directories in
// TSBPF_PROJECT_OBJECTS (colon-separated, searched recursively). The objects
// are the projects' code and are never committed; docs/real-objects.md says
// how they were built and what each gave. Every object must load or fail
// with the precise reason listed here; with the kernel's BTF, every CO-RE
// relocation must apply; programs the kernel can take without an attach
// target go to the kernel when root is available.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kernelBtf } from '../../src/elf/target-btf.js';
import { kernelKconfig } from '../../src/elf/kernel-config.js';
import { loadObject } from '../../src/elf/load.js';
import { unsupportedReasons } from '../../src/elf/runnable.js';
import type { ObjectSpec } from '../../src/elf/spec.js';
import { decodeProgram } from '../../src/isa/decode.js';
import { TsbpfError } from '../../src/internal/errors.js';
import { kernelLoad, kernelLoadable } from './kernel-harness.js';
import { projectObjects, sized, withLoaderTypes } from './project-objects.js';
import { firstDifference, libbpfPatches, libbpfStreams } from './libbpf-oracle.js';

/** Kernel refusals that come from this machine or from building one object alone, not from tsbpf's streams. */
const ENVIRONMENTAL = [
  /cannot use helper bpf_override_return/, // CONFIG_BPF_KPROBE_OVERRIDE is off
  /cannot use helper bpf_probe_write_user/, // kernel lockdown (LOCKDOWN_BPF_WRITE_USER)
  /from non-GPL compatible program/, // an object built without its license (samples' xdp_sample.bpf.o is linked into others)
  // This guest's kernel refuses every trampoline program (fentry, fexit, fmod_ret) with EPERM; bpftool does too.
  /\((fentry|fexit|fmod_ret)\/[^)]*\): Operation not permitted/,
  // tetragon's sleepable uprobe "offload" programs write pt_regs, which this kernel does not allow for uprobes yet (libbpf: same log).
  /\(uprobe(\.multi)?\.s\/[^)]*\): Permission denied invalid bpf_context access/,
];

/** Objects libbpf refuses too, with tsbpf's reason. */
const EXPECTED_FAILURES: Record<string, RegExp> = {
  // samples/bpf: a pre-__uint() map definition in ".maps" (libbpf: "attr 'type': expected PTR, got int").
  tcp_dumpstats_kern: /map bpf_next_dump: field type is __u32, not declared with __uint\(\)/,
  // tetragon: the large generic kprobe/uprobe variants call cel_expr_0..7, which tetragon's Go loader
  // links in per policy (libbpf: "failed to find BTF for extern 'cel_expr_1'").
  ...Object.fromEntries(['generic_kprobe', 'multi_kprobe', 'generic_uprobe', 'multi_uprobe'].flatMap((o) =>
    ['v53', 'v511', 'v61'].map((v) => [`bpf_${o}_${v}`, /call to cel_expr_\d, a function this object declares but does not define/]))),
};

function objects(): string[] {
  return projectObjects(process.env['TSBPF_PROJECT_OBJECTS']);
}

test('old-style map definition in .maps: refused for its type field, as libbpf does', () => {
  const file = fileURLToPath(new URL('../../../test/fixtures/objects/regress/old_style_btf_map.o', import.meta.url));
  assert.throws(() => loadObject(new Uint8Array(readFileSync(file)), { file }), /map old_style: field type is __u32, not declared with __uint\(\) \(libbpf: expected PTR\)/);
});

test('a kfunc whose address is tested before it is called is a kfunc (falco\'s dump_task), and the kernel takes it so', (t) => {
  const file = fileURLToPath(new URL('../../../test/fixtures/objects/regress/ksym_exists_kfunc.o', import.meta.url));
  const spec = loadObject(new Uint8Array(readFileSync(file)), { file });
  // The first reference to bpf_rcu_read_lock is the ld_imm64 of its address, then the call.
  assert.deepEqual(spec.externs.map((e) => [e.name, e.kind, e.refs.map((r) => r.insn)]), [
    ['bpf_rcu_read_lock', 'kfunc', [0, 3]],
    ['bpf_rcu_read_unlock', 'kfunc', [4]],
  ]);
  const target = kernelBtf();
  if (!target) return t.skip('no /sys/kernel/btf/vmlinux: kernel check skipped');
  const progs = kernelLoadable(spec, target);
  assert.equal(progs.length, 1, 'the kernel has bpf_rcu_read_lock/unlock, so the program goes to it');
  const results = kernelLoad(spec, progs, target);
  if (typeof results === 'string') return t.skip(results);
  assert.equal(results[0]!.ok, true, `${results[0]!.error ?? ''} ${results[0]!.log?.slice(-3).join(' | ') ?? ''}`);
});

test('real projects\' objects (TSBPF_PROJECT_OBJECTS) load or fail with a precise reason', (t) => {
  const files = objects();
  if (files.length === 0) {
    t.skip('TSBPF_PROJECT_OBJECTS is unset or has no .o files (see docs/real-objects.md for building suricata, Linux samples and falco objects)');
    return;
  }
  const target = kernelBtf();
  if (!target) t.diagnostic('no /sys/kernel/btf/vmlinux: CO-RE relocations are listed, not applied');
  const kconfig = kernelKconfig();
  // libbpf's virtual extern: 1 when syscalls go through pt_regs wrappers (x86-64 since 4.17).
  if (existsSync('/proc/kallsyms') && /\b__x64_sys_bpf\b/.test(readFileSync('/proc/kallsyms', 'utf8'))) kconfig.set('LINUX_HAS_SYSCALL_WRAPPER', '1');
  let loaded = 0, relocated = 0, poisoned = 0, kernelOk = 0, kernelTried = 0, oracleChecked = 0;
  let oracleSkip: string | undefined;
  let unusedPatches = 0;
  const kernelRejects: string[] = [];
  let kernelSkip: string | undefined;
  for (const file of files) {
    const name = basename(file, '.o').replace(/\.bpf$/, '');
    const expected = EXPECTED_FAILURES[name];
    const bytes = new Uint8Array(readFileSync(file));
    let spec: ObjectSpec;
    try {
      spec = loadObject(bytes, { file, kconfig, ...(target ? { coreTarget: target } : {}) });
    } catch (e) {
      assert.ok(e instanceof TsbpfError, `${file}: ${String(e)}`);
      assert.ok(expected, `${file} failed: ${e.message}`);
      assert.match(e.message, expected);
      continue;
    }
    assert.equal(expected, undefined, `${file} loaded but should fail with ${expected}`);
    loaded++;
    for (const p of spec.programs) {
      decodeProgram(p.insns);
      if (!target || !p.autoload) continue;
      const core = unsupportedReasons(spec, p).filter((r) => r.includes('CO-RE'));
      assert.deepEqual(core, [], `${file} ${p.name}`);
    }
    for (const r of spec.coreRelos) {
      if (r.result) relocated++;
      if (r.result?.poisoned) poisoned++;
    }
    if (target && spec.coreRelos.length > 0 && !oracleSkip) {
      const patches = libbpfPatches(file);
      if (typeof patches === 'string') oracleSkip = patches;
      else {
        const { streams, unplaced } = libbpfStreams(loadObject(bytes, { file, kconfig }), patches);
        // libbpf also relocates sub-functions no program calls; tsbpf links only called ones, so those patches land nowhere.
        unusedPatches += unplaced.length;
        for (const p of spec.programs) if (p.autoload) assert.equal(firstDifference(`${file} ${p.name}`, p.insns, streams.get(p.name)!), undefined);
        oracleChecked += patches.length;
      }
    }
    const typed = withLoaderTypes(spec, name);
    const progs = kernelLoadable(typed, target);
    if (progs.length === 0 || kernelSkip) continue;
    const results = kernelLoad({ ...typed, maps: typed.maps.map(sized) }, progs, target);
    if (typeof results === 'string') {
      kernelSkip = results;
      continue;
    }
    t.diagnostic(`${name}: kernel accepted ${results.filter((r) => r.ok).length} of ${results.length} (of ${spec.programs.length} programs)`);
    for (const r of results) {
      kernelTried++;
      if (r.ok) kernelOk++;
      else {
        const section = spec.programs.find((p) => p.name === r.name)?.section ?? '?';
        const why = `${name}/${r.name} (${section}): ${r.error ?? ''} ${r.log?.slice(-2).join(' | ') ?? ''}`;
        assert.ok(ENVIRONMENTAL.some((re) => re.test(why)), `kernel refused ${why}`);
        kernelRejects.push(why);
      }
    }
  }
  t.diagnostic(`${files.length} objects: ${loaded} loaded; ${relocated} CO-RE relocations applied (${poisoned} poisoned, as libbpf poisons them)`);
  if (oracleSkip) t.diagnostic(`libbpf comparison skipped: ${oracleSkip}`);
  else t.diagnostic(`${oracleChecked - unusedPatches} libbpf CO-RE patches reproduced byte for byte (${unusedPatches} in sub-functions no program calls)`);
  if (kernelSkip) t.diagnostic(`kernel check skipped: ${kernelSkip}`);
  else t.diagnostic(`kernel accepted ${kernelOk} of ${kernelTried} programs it can load (no attach target, or one the kernel's BTF names)`);
  for (const r of kernelRejects) t.diagnostic(`kernel refused (environment) ${r.slice(0, 160)}`);
});
