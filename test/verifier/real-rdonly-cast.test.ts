// bpf_rdonly_cast after CO-RE relocation (src/verifier/kfunc-check.ts): the
// type id bpf_core_type_id_kernel() leaves in the program is the target
// BTF's once relocated, and the kernel reads it in its own BTF. The
// self-written fixture (test/fixtures/verifier/real/rdonly_cast.c) casts the
// current task and reads two of its members at their relocated offsets;
// tsbpf's verdicts must be the expected ones and, as root, the running
// kernel's. Needs the kernel's BTF (/sys/kernel/btf/vmlinux); skips without it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { loadObject } from '../../src/elf/load.js';
import { kernelBtf } from '../../src/elf/target-btf.js';
import { checkProgram } from '../../src/cli/check.js';
import { assertKernelVerdicts, assertTsbpfVerdicts } from './expect-verdicts.js';

const FILE = fileURLToPath(new URL('../../../test/fixtures/verifier/real/rdonly_cast.o', import.meta.url));

/** Program -> undefined (accepted) or the error both verifiers give. */
const EXPECT: Record<string, string | undefined> = {
  cast_task: undefined,
  cast_task_write: 'only read is supported',
};

const bytes = (): Uint8Array => new Uint8Array(readFileSync(FILE));

test('bpf_rdonly_cast: the relocated type id names the target BTF\'s struct, as the kernel reads it', (t) => {
  const target = kernelBtf();
  if (!target) {
    t.skip('no /sys/kernel/btf/vmlinux: CO-RE relocation needs a target BTF');
    return;
  }
  const spec = loadObject(bytes(), { file: FILE, coreTarget: target });
  assert.equal(spec.coreTarget, target, 'the spec records what it was relocated against');
  const casts = spec.coreRelos.filter((r) => r.typeName === 'struct task_struct' && r.kindName === 'type_id_target');
  assert.ok(casts.length >= 2 && casts.every((r) => r.result !== undefined && !r.result.poisoned), 'both type ids relocated');
  // the target's id is not a struct of the program's own (small) BTF: read there, the cast would be refused
  assert.ok(Number(casts[0]!.result!.value) >= spec.btf!.types.length);
  const got = Object.fromEntries(spec.programs.map((p) => {
    const r = checkProgram(spec, p, undefined, 1);
    return [p.name, r.verdict === 'accept' ? undefined : r.error];
  }));
  assert.deepEqual(got, EXPECT);
  assertKernelVerdicts(t, spec, target, EXPECT);
});

test('bpf_rdonly_cast: without CO-RE relocation the id is still the program BTF\'s type', () => {
  const spec = loadObject(bytes(), { file: FILE });
  assert.equal(spec.coreTarget, undefined);
  const got = Object.fromEntries(spec.programs.map((p) => [p.name, checkProgram(spec, p, undefined, 1).error]));
  assert.deepEqual(got, EXPECT);
});

test('tsbpf check --btf kernel relocates first, then checks the cast against the kernel\'s type', (t) => {
  if (!kernelBtf()) {
    t.skip('no /sys/kernel/btf/vmlinux');
    return;
  }
  const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const r = spawnSync(process.execPath, [main, 'check', FILE, '--btf', 'kernel', '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  const rows = JSON.parse(r.stdout) as { program: string; verdict: string; error?: string }[];
  assert.deepEqual(Object.fromEntries(rows.map((x) => [x.program, x.error])), EXPECT);
  const bad = spawnSync(process.execPath, [main, 'check', FILE, '--btf', '/nonexistent/vmlinux'], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /cannot read the target BTF \(ENOENT\)/);
});
