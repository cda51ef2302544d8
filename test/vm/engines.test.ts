// The unchecked engine ('jit-verified': no memory checks, no budget) must not
// be reachable by name for code nobody proved safe: a program that writes
// anywhere would otherwise corrupt the runtime's memory (the shadow map
// included). Only programs marked by trustProgram (the runtime does so after
// the verifier accepts them) may use it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../src/asm/assemble.js';
import { createVm } from '../../src/vm/vm.js';
import { isTrusted, trustProgram } from '../../src/vm/engines.js';
import { UsageError } from '../../src/internal/errors.js';
import { SHADOW_BASE } from '../../src/vm/memory.js';

test('jit-verified refuses programs nobody trusted, and runs trusted ones', () => {
  const vm = createVm();
  // writes into the shadow map: exactly what an unchecked engine must never run unverified
  const evil = vm.load(assemble(`r3 = ${SHADOW_BASE + 4}\n*(u64 *)(r3 + 0x0) = r2\nr0 = 0\nexit`, { dialect: 'llvm' }));
  assert.equal(isTrusted(evil), false);
  assert.throws(() => vm.run(evil, { engine: 'jit-verified' }), (e: unknown) => e instanceof UsageError && /only runs programs the verifier accepted/.test(e.message));
  // the checked engines stop it with a fault instead
  assert.throws(() => vm.run(evil, { engine: 'jit' }), /invalid write/);
  assert.throws(() => vm.run(evil, { engine: 'interp' }), /invalid write/);
  const fine = trustProgram(vm.load(assemble('r0 = 42\nexit', { dialect: 'llvm' })));
  assert.equal(vm.run(fine, { engine: 'jit-verified' }).r0, 42n);
});
