// Global functions: signatures from BTF, each verified once on its own, calls
// checked against the prototype (examples/subprogs.o has static and global
// sub-functions).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve, dirname } from 'node:path';
import { loadObject } from '../../src/elf/load.js';
import { decodeProgram } from '../../src/isa/decode.js';
import { verify, funcSignatures } from '../../src/verifier/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const spec = loadObject(new Uint8Array(readFileSync(resolve(root, 'examples/subprogs.o'))));
const first = spec.programs.find((p) => p.name === 'first')!;

test('signatures tell global from static functions and type their arguments', () => {
  const sigs = funcSignatures(spec.btf, first.funcInfo, '__sk_buff');
  const byName = new Map(sigs.map((s) => [s.name, s]));
  assert.deepEqual(byName.get('first')!.args, [{ kind: 'ctx' }]);
  assert.equal(byName.get('store')!.global, true);
  assert.deepEqual(byName.get('store')!.args, [{ kind: 'scalar' }, { kind: 'scalar' }]);
  assert.equal(byName.get('square')!.global, false);
  assert.equal(funcSignatures(undefined, first.funcInfo, '__sk_buff').length, 0);
});

test('a global function is validated separately and its call returns an unknown scalar', () => {
  const funcs = funcSignatures(spec.btf, first.funcInfo, '__sk_buff');
  const maps = spec.maps.map((m) => ({ type: m.typeId, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries }));
  const prog = decodeProgram(first.insns, { validate: false });
  const r = verify(prog, { progType: first.typeId, maps, funcs, btf: true, logLevel: 2 });
  assert.equal(r.ok, true, r.log);
  assert.match(r.log, /^Validating store\(\) func#\d+\.\.\.$/m);
  // Without signatures the same program is still accepted, following the call inline.
  assert.equal(verify(prog, { progType: first.typeId, maps }).ok, true);
});
