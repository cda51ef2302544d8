// The bpf_conformance corpus (313 tests) under the JIT, unverified (every
// access checked, budget on) and verified (no checks), through the VM facade.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conformanceCases, hasConformance } from '../../asm/corpus.js';
import { createVm } from '../../../src/vm/vm.js';
import { conformanceHelpers } from '../../../src/helpers/test-helpers.js';
import '../../../src/vm/jit/index.js';
import { trustProgram } from '../../../src/vm/engines.js';

for (const engine of ['jit', 'jit-verified']) {
  test(`conformance corpus on ${engine}`, { skip: hasConformance() ? false : 'conformance corpus not found' }, () => {
    const vm = createVm({ helpers: conformanceHelpers() });
    const cases = conformanceCases();
    assert.equal(cases.length, 313);
    const failures: string[] = [];
    for (const c of cases) {
      try {
        const code = c.data.raw ?? c.bytes;
        // the unchecked engine runs only trusted programs: this test opts in
        const r = vm.run(trustProgram(vm.load(code)), { engine, ...(c.data.mem ? { mem: c.data.mem } : { mem: new Uint8Array(0) }) });
        if (r.r0 !== c.data.result) failures.push(`${c.name}: r0 = 0x${r.r0.toString(16)}, expected 0x${c.data.result?.toString(16)}`);
      } catch (e) {
        failures.push(`${c.name}: ${String(e)}`);
      }
    }
    assert.deepEqual(failures, []);
  });
}
