// The engine semantics table (test/vm/cases.ts), written once, run on the
// JIT: unverified (every case, errors included) and verified (the cases that
// end normally; a verified program never faults).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CASES, runCase } from '../cases.js';
import { createVm } from '../../../src/vm/vm.js';
import { conformanceHelpers } from '../../../src/helpers/test-helpers.js';
import { BudgetExceeded, MemoryFault, ProgramError } from '../../../src/internal/errors.js';
import '../../../src/vm/jit/index.js';

const ERRORS = { MemoryFault, BudgetExceeded, ProgramError } as const;

for (const engine of ['jit', 'jit-verified']) {
  test(`semantics table on ${engine}`, async (t) => {
    const vm = createVm({ helpers: conformanceHelpers() });
    for (const k of CASES) {
      if (engine === 'jit-verified' && k.error) continue;
      await t.test(k.name, () => {
        if (k.error) {
          const cls = ERRORS[k.error.kind];
          assert.throws(
            () => runCase(vm, k, engine),
            (e: unknown) => {
              assert.ok(e instanceof cls, `expected ${k.error!.kind}, got ${String(e)}`);
              if (k.error!.pc !== undefined && k.error!.kind !== 'BudgetExceeded') assert.equal((e as { pc: number }).pc, k.error!.pc, String(e));
              return true;
            },
          );
        } else {
          const r = runCase(vm, k, engine);
          assert.equal(r.r0, k.r0, `r0 = 0x${r.r0.toString(16)}, expected 0x${k.r0!.toString(16)}`);
          assert.equal(BigInt(r.r0lo >>> 0) | (BigInt(r.r0hi >>> 0) << 32n), r.r0);
        }
      });
    }
    // runs free their regions; the JIT adds only its one control block per memory
    assert.deepEqual(vm.mem.list().map((r) => r.name).sort(), ['jit-ctl', 'stack']);
  });
}
