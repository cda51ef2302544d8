// Embedders register their own helpers with prototypes (issue 4): the
// verifier checks calls to them from the prototype, and the runtime runs them.
// The object is clang-built (test/fixtures/custom-helper/custom_helper.c):
// it calls helper 1000 with a stack buffer of 8 bytes and returns the result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Runtime } from '../../src/runtime/index.js';
import { argU32, setR0, type HelperDef } from '../../src/helpers/registry.js';
import { FIXTURES } from '../paths.js';

const object = (): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, 'custom-helper', 'custom_helper.o')));

/** Sums `size` bytes at `buf` (reads the runtime memory, bounds-checked). */
const sumBytes = (proto: HelperDef['proto']): HelperDef => ({
  id: 1000,
  name: 'sum_bytes',
  ...(proto !== undefined ? { proto } : {}),
  fn: (env) => {
    const bytes = env.mem.read(argU32(env, 1), argU32(env, 2));
    setR0(env, bytes.reduce((a, b) => a + b, 0));
  },
});

test('a helper registered with a prototype is verified and runs on every engine', () => {
  for (const engine of ['interp', 'jit']) {
    const rt = new Runtime({ engine, helpers: [sumBytes({ args: ['mem', 'const_size'], ret: 'integer' })] });
    const coll = rt.loadObject(object());
    const res = coll.programs.get('call_custom')!.testRun({ dataIn: new Uint8Array(64) });
    assert.equal(res.retval, 36, engine);
  }
});

test('the prototype is enforced: a size argument that is not constant memory size is refused', () => {
  // claiming the buffer is a map key makes the call ill-typed for the verifier
  const rt = new Runtime({ helpers: [sumBytes({ args: ['const_map_ptr', 'anything'], ret: 'integer' })] });
  assert.throws(() => rt.loadObject(object()), (e: unknown) => e instanceof Error && /instruction 6: R1 type=fp expected=map_ptr/.test(e.message));
});

test('without a prototype an unknown helper cannot pass verification', () => {
  const rt = new Runtime({ helpers: [sumBytes(undefined)] });
  assert.throws(() => rt.loadObject(object()), (e: unknown) => e instanceof Error && /instruction 6: invalid func unknown#1000/.test(e.message));
});
