// The kernel accepts our linked programs: each example program that needs no
// CO-RE, externs or BTF attach target is handed, as tsbpf linked it, to
// BPF_PROG_LOAD with freshly created maps (test/elf/kernel-load.py does the
// bpf(2) calls). Skips with a message without root, python3 or bpf(2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exampleObjects, loadExample } from './helpers.js';
import { kernelLoad, kernelLoadable } from './kernel-harness.js';

test('the kernel accepts the linked example programs', (t) => {
  let checked = 0;
  for (const file of exampleObjects()) {
    const spec = loadExample(file);
    const programs = kernelLoadable(spec);
    if (programs.length === 0) continue;
    const results = kernelLoad(spec, programs);
    if (typeof results === 'string') {
      t.skip(results);
      return;
    }
    for (const res of results) {
      assert.ok(res.ok, `${file}: ${res.name}: ${res.error}\n${(res.log ?? []).join('\n')}`);
      checked++;
    }
  }
  assert.ok(checked >= 15, `checked ${checked} programs`);
  console.log(`# kernel accepted ${checked} linked programs`);
});
