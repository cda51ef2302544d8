// Shared by the tests that check a self-written object's programs against a
// table of expected verdicts (program -> undefined for accept, or a text the
// log must contain), first in tsbpf's verifier, then, as root, in the
// running kernel with the same messages.
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { ObjectSpec } from '../../src/elf/spec.js';
import type { Btf } from '../../src/btf/index.js';
import { checkProgram } from '../../src/cli/check.js';
import { kernelLoad } from '../elf/kernel-harness.js';

/** Program name -> undefined (accepted) or a text the rejection's log must contain. */
export type ExpectedVerdicts = Readonly<Record<string, string | undefined>>;

/** tsbpf's verifier gives every program of `spec` its expected verdict. */
export function assertTsbpfVerdicts(spec: ObjectSpec, expect: ExpectedVerdicts): void {
  assert.deepEqual(spec.programs.map((p) => p.name).sort(), Object.keys(expect).sort());
  for (const p of spec.programs) {
    const want = expect[p.name];
    const r = checkProgram(spec, p, undefined, 1);
    if (want === undefined) assert.equal(r.verdict, 'accept', `${p.name}: ${r.log}`);
    else {
      assert.equal(r.verdict, 'reject', p.name);
      assert.ok(r.log.includes(want), `${p.name}: expected '${want}' in\n${r.log}`);
    }
  }
}

/** The running kernel gives the same verdicts and messages (a diagnostic instead where it cannot load). */
export function assertKernelVerdicts(t: TestContext, spec: ObjectSpec, target: Btf, expect: ExpectedVerdicts): void {
  const res = kernelLoad(spec, spec.programs, target);
  if (typeof res === 'string') {
    t.diagnostic(`kernel comparison skipped: ${res}`);
    return;
  }
  for (const k of res) {
    const want = expect[k.name];
    assert.equal(k.ok, want === undefined, `kernel on ${k.name}: ${k.log?.join(' | ')}`);
    if (want !== undefined) assert.ok(k.log?.join('\n').includes(want), `kernel on ${k.name}: expected '${want}' in ${k.log?.join(' | ')}`);
  }
}
