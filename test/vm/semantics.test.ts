// Runs the engine semantics table (cases.ts) on the interpreter, and checks
// that the table touches every instruction of the ISA table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CASES, runCase } from './cases.js';
import { createVm } from '../../src/vm/vm.js';
import { conformanceHelpers } from '../../src/helpers/test-helpers.js';
import { INSNS } from '../../src/isa/table.js';
import { decodeProgram } from '../../src/isa/decode.js';
import { encodeSlots } from '../../src/isa/decode.js';
import { BudgetExceeded, MemoryFault, ProgramError } from '../../src/internal/errors.js';

const ERRORS = { MemoryFault, BudgetExceeded, ProgramError } as const;

test('semantics table on the interpreter', async (t) => {
  const vm = createVm({ helpers: conformanceHelpers() });
  for (const k of CASES) {
    await t.test(k.name, () => {
      if (k.error) {
        const cls = ERRORS[k.error.kind];
        assert.throws(
          () => runCase(vm, k, 'interp'),
          (e: unknown) => {
            assert.ok(e instanceof cls, `expected ${k.error!.kind}, got ${String(e)}`);
            if (k.error!.pc !== undefined) assert.equal((e as { pc: number }).pc, k.error!.pc, String(e));
            return true;
          },
        );
      } else {
        const r = runCase(vm, k, 'interp');
        assert.equal(r.r0, k.r0, `r0 = 0x${r.r0.toString(16)}, expected 0x${k.r0!.toString(16)}`);
        assert.equal(BigInt(r.r0lo >>> 0) | (BigInt(r.r0hi >>> 0) << 32n), r.r0);
      }
    });
  }
  // nothing leaks: every run frees its input and packet regions
  assert.deepEqual(vm.mem.list().map((r) => r.name), ['stack']);
});

test('every instruction of the ISA table has a semantics case', () => {
  const used = new Set<number>();
  for (const k of CASES) {
    const prog = decodeProgram(encodeSlots(k.prog));
    for (let i = 0; i < prog.length; i++) if (prog.op[i]! >= 0) used.add(prog.op[i]!);
  }
  const missing = INSNS.filter((d) => !used.has(d.op)).map((d) => d.name);
  assert.deepEqual(missing, []);
});
