// The stack and task helpers from a verified tracing program with a
// stack_trace map (test/fixtures/helpers/stack.c), on the interpreter and the
// JIT: tsbpf has no stack to walk and no task_struct, so get_stackid and
// get_stack fail with -EFAULT (get_stack zeroing its buffer) and
// get_current_task is NULL. The kernel would return real ids and pointers
// here, so there is no differential half.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime } from '../../src/runtime/runtime.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FIXTURE = join(ROOT, 'test', 'fixtures', 'helpers', 'stack.o');

for (const engine of ['interp', 'jit']) {
  test(`get_stackid / get_stack / get_current_task from a raw tracepoint (${engine})`, () => {
    const rt = new Runtime({ engine });
    try {
      const coll = rt.loadObject(readFileSync(FIXTURE), { file: FIXTURE });
      assert.equal(coll.map('stacks').typeName, 'stack_trace');
      const r = coll.program('stackid').testRun({ ctxIn: new Uint8Array(96) });
      assert.equal(r.retval, 15, `flags ${r.retval.toString(2)}`);
      assert.equal(coll.map('stacks').nextKey(), undefined, 'no stack was stored');
    } finally {
      rt.dispose();
    }
  });
}
