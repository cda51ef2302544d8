// Every hand-written case (test/fixtures/verifier/cases.txt) against tsbpf's
// verifier: same verdict as the kernel and the kernel's error text. As root
// the same streams also go through the running kernel, so a case whose
// recorded verdict is wrong fails here rather than silently teaching us the
// wrong rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { resolve, dirname } from 'node:path';
import { caseProgFlags, loadCases } from './cases.js';
import { kernelVerdicts } from './kernel.js';
import { verify } from '../../src/verifier/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const cases = loadCases(resolve(root, 'test/fixtures/verifier/cases.txt'));

test('the case file has cases of both verdicts', () => {
  assert.ok(cases.length >= 100, `only ${cases.length} cases`);
  assert.ok(cases.some((c) => c.expect === 'accept'));
  assert.ok(cases.some((c) => c.expect === 'reject'));
});

for (const c of cases) {
  test(`verifier case: ${c.name}`, () => {
    const r = verify(c.prog, { progType: c.progType, maps: c.maps, license: c.license, sleepable: c.sleepable, logLevel: 1 });
    assert.equal(r.ok ? 'accept' : 'reject', c.expect, `${c.name} (line ${c.line}):\n${r.log}`);
    if (c.message && !r.ok) assert.ok(r.error!.reason.includes(c.message), `expected '${c.message}', got '${r.error!.reason}'`);
    if (!r.ok) assert.ok(r.log.includes(r.error!.reason), 'the log names the error');
    assert.match(r.log, /processed \d+ insns \(limit 1000000\)/);
  });
}

test('kernel agrees with every recorded verdict (root only)', (t) => {
  const kv = kernelVerdicts(cases.map((c) => ({ bytes: c.bytes, progType: c.progType, maps: c.maps, license: c.license, progFlags: caseProgFlags(c) })));
  if (kv[0]?.status === 'unavailable') {
    t.skip(`kernel oracle unavailable: ${kv[0].log}`);
    return;
  }
  const wrong = cases
    .map((c, i) => ({ c, k: kv[i]! }))
    .filter(({ c, k }) => k.status !== c.expect || (c.message !== undefined && k.status === 'reject' && !k.log.includes(c.message)))
    .map(({ c, k }) => `${c.name}: kernel ${k.status} ${k.log.split('\n').slice(-3).join(' | ')}`);
  assert.deepEqual(wrong, []);
});
