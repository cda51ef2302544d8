import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../src/asm/index.js';
import { decodeProgram } from '../../src/isa/decode.js';
import { VerifierError } from '../../src/internal/errors.js';
import { checkHelperCalls, isGplCompatible, standardHelpers } from '../../src/helpers/index.js';

const prog = (calls: number[]): ReturnType<typeof decodeProgram> => decodeProgram(assemble([...calls.map((c) => `call ${c}`), 'r0 = 0', 'exit'].join('\n')));

test('checkHelperCalls: unknown ids and GPL-only helpers are refused with the kernel messages', () => {
  const reg = standardHelpers();
  assert.doesNotThrow(() => checkHelperCalls(prog([1, 2, 5]), reg, 'Dual MIT/GPL'));
  assert.throws(() => checkHelperCalls(prog([1, 6]), reg, 'MIT'), (e: unknown) => e instanceof VerifierError && e.insn === 1 && e.reason === 'cannot call GPL-restricted function from non-GPL compatible program');
  assert.doesNotThrow(() => checkHelperCalls(prog([1, 6]), reg, 'GPL'));
  assert.throws(() => checkHelperCalls(prog([1, 9]), reg, 'GPL'), /program of this type cannot use helper bpf_skb_store_bytes#9/);
  assert.throws(() => checkHelperCalls(prog([60000]), reg, 'GPL'), /invalid func unknown#60000/);
  reg.register({ id: 60000, name: 'my_helper', fn: (env) => void (env.regs[0] = 1) });
  assert.doesNotThrow(() => checkHelperCalls(prog([60000]), reg, 'GPL'));
});

test('isGplCompatible: the kernel list, exact strings', () => {
  for (const l of ['GPL', 'GPL v2', 'GPL and additional rights', 'Dual BSD/GPL', 'Dual MIT/GPL', 'Dual MPL/GPL']) assert.equal(isGplCompatible(l), true, l);
  for (const l of ['MIT', 'gpl', 'Proprietary', '', 'GPL-2.0']) assert.equal(isGplCompatible(l), false, l);
});
