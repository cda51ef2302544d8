// Verifier cases for the helpers of sockets, strings, MTU, storage and
// redirects (test/fixtures/helpers/sock-cases.txt): tsbpf's verdict and the
// kernel's error text, and as root the running kernel's verdict for the same
// instructions (test/verifier/kernel.ts), so a wrong expectation fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { resolve, dirname } from 'node:path';
import { loadCases } from '../verifier/cases.js';
import { kernelVerdicts } from '../verifier/kernel.js';
import { verify } from '../../src/verifier/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const cases = loadCases(resolve(root, 'test/fixtures/helpers/sock-cases.txt'));

for (const c of cases) {
  test(`helper verifier case: ${c.name}`, () => {
    const r = verify(c.prog, { progType: c.progType, maps: c.maps, license: c.license, logLevel: 1 });
    assert.equal(r.ok ? 'accept' : 'reject', c.expect, `${c.name} (line ${c.line}):\n${r.log}`);
    if (c.message && !r.ok) assert.ok(r.error!.reason.includes(c.message), `expected '${c.message}', got '${r.error!.reason}'`);
  });
}

test('the kernel agrees with every recorded verdict and message (root only)', (t) => {
  const kv = kernelVerdicts(cases.map((c) => ({ bytes: c.bytes, progType: c.progType, maps: c.maps, license: c.license })));
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
