// CO-RE relocation against libbpf as the oracle (libbpf-oracle.ts): applying
// the patches libbpf reports to the unrelocated streams must give exactly the
// bytes tsbpf's loader produced with the kernel's BTF as target. The relocated programs
// then go to the kernel, which must accept them (and refuse the poisoned
// one with libbpf's "bad relo" helper id).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { kernelBtf } from '../../src/elf/target-btf.js';
import { loadObject } from '../../src/elf/load.js';
import { kernelLoad } from './kernel-harness.js';
import { firstDifference, libbpfPatches, libbpfStreams } from './libbpf-oracle.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/objects/core/', import.meta.url));
const OBJECTS = ['core_task.o'];

for (const name of OBJECTS) {
  test(`CO-RE: ${name} relocated like libbpf does against the kernel's BTF`, (t) => {
    const file = FIXTURES + name;
    const patches = libbpfPatches(file);
    if (typeof patches === 'string') {
      t.skip(patches);
      return;
    }
    const bytes = new Uint8Array(readFileSync(file));
    const plain = loadObject(bytes, { file });
    const target = kernelBtf()!;
    const relocated = loadObject(bytes, { file, coreTarget: target });
    const { streams, unplaced } = libbpfStreams(plain, patches);
    assert.deepEqual(unplaced, [], 'libbpf patched functions tsbpf did not link anywhere');
    let relocations = 0;
    for (const p of relocated.programs) {
      assert.equal(firstDifference(p.name, p.insns, streams.get(p.name)!), undefined);
      for (const r of p.coreRelos) {
        assert.ok(r.result, `${p.name}: relocation at ${r.insn} was not applied`);
        relocations++;
      }
    }
    assert.ok(relocations >= patches.length, `${relocations} relocations applied, libbpf made ${patches.length} patches`);
    t.diagnostic(`${relocations} relocations in ${relocated.programs.length} programs match libbpf's ${patches.length} patches`);
  });
}

test('CO-RE: the kernel accepts the relocated core_task programs and refuses the poisoned one', (t) => {
  const target = kernelBtf();
  if (!target) {
    t.skip('the kernel has no BTF (/sys/kernel/btf/vmlinux)');
    return;
  }
  const file = FIXTURES + 'core_task.o';
  const spec = loadObject(new Uint8Array(readFileSync(file)), { file, coreTarget: target });
  const results = kernelLoad(spec, spec.programs);
  if (typeof results === 'string') {
    t.skip(results);
    return;
  }
  const byName = new Map(results.map((r) => [r.name, r]));
  assert.equal(byName.get('core_kinds')?.ok, true, `core_kinds: ${byName.get('core_kinds')?.error} ${byName.get('core_kinds')?.log?.slice(-3).join(' | ')}`);
  assert.equal(byName.get('core_subfn')?.ok, true, `core_subfn: ${byName.get('core_subfn')?.error}`);
  const bad = byName.get('core_poisoned')!;
  assert.equal(bad.ok, false);
  assert.match(bad.log?.join('\n') ?? '', /invalid func unknown#195896080/);
});
