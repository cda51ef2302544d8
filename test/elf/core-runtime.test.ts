// The runtime with a CO-RE target: programs load with their relocations
// applied and verified; a poisoned instruction in dead code is accepted (as
// the kernel accepts it), a reachable one is refused with the kernel's text,
// and without a target the runtime lists what is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Runtime } from '../../src/runtime/runtime.js';
import { taskTarget } from '../btf/core-target.js';

const FILE = fileURLToPath(new URL('../../../test/fixtures/objects/core/core_task.o', import.meta.url));

test('runtime: core_task.o programs load against a target BTF, poisoned dead code and all', () => {
  const bytes = new Uint8Array(readFileSync(FILE));
  const rt = new Runtime();
  assert.throws(() => rt.loadObject(bytes, { file: FILE, programs: ['core_kinds'] }), /program core_kinds \(section kprobe\/do_nanosleep\): needs 29 CO-RE relocations against a target BTF/);
  const target = taskTarget();
  const c = rt.loadObject(bytes, { file: FILE, programs: ['core_kinds', 'core_subfn'], coreTarget: target });
  assert.ok(c.program('core_kinds'));
  assert.ok(c.program('core_subfn'));
  assert.throws(() => rt.loadObject(bytes, { file: FILE, programs: ['core_poisoned'], coreTarget: target }), /instruction 0: invalid func unknown#195896080/);
  const unverified = rt.loadObject(bytes, { file: FILE, programs: ['core_poisoned'], coreTarget: target, verify: false });
  assert.throws(() => unverified.program('core_poisoned').testRun({ ctxIn: new Uint8Array(168) }), /call to unknown helper id 195896080/);
});
