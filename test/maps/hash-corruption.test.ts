// An unverified program may overwrite a hash entry's header (the values sit
// next to the headers, as in the kernel's htab). It must not be able to hang
// the host: every chain walk is bounded by the map's size. Found by the map
// fuzzer (src/vm/fuzz/gen-maps.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MapTable } from '../../src/maps/table.js';
import { createVm } from '../../src/vm/vm.js';
import { standardHelpers, HelperContext } from '../../src/helpers/index.js';
import { assemble } from '../../src/asm/assemble.js';
import { compile } from '../../src/vm/jit/index.js';
import { mapIntrinsics } from '../../src/vm/jit/index.js';
import { Interpreter } from '../../src/vm/interpreter.js';

test('a program that makes a hash entry its own successor cannot hang lookups, deletes or iteration', () => {
  for (const engine of ['interp', 'jit']) {
    const helpers = standardHelpers();
    const vm = createVm({ helpers });
    const maps = new MapTable(vm.mem);
    const m = maps.create({ name: 'h', type: 'hash', keySize: 4, valueSize: 8, maxEntries: 1, flags: 64 /* BPF_F_ZERO_SEED */ });
    m.update(Uint8Array.of(1, 0, 0, 0), new Uint8Array(8));
    // look up key 1, write the entry's own address into its `next` link (value - 32), then look up key 2
    const prog = vm.load(
      assemble(
        `r1 = 1
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = ${m.desc} ll
call 1
if r0 == 0 goto out
r1 = r0
r1 += -32
*(u32 *)(r0 - 32) = w1
r1 = 2
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = ${m.desc} ll
call 1
out:
exit`,
        { dialect: 'llvm' },
      ),
    );
    const e = engine === 'interp' ? new Interpreter(prog, vm.config) : compile(prog, vm.config, mapIntrinsics(maps, helpers));
    const r = e.run([], { budget: 1000, run: new HelperContext({ maps }) });
    assert.equal(r.r0, 0n, `${engine}: key 2 is not found`);
    // user space: lookups, deletes and iteration of the damaged map end too
    assert.equal(m.lookup(Uint8Array.of(2, 0, 0, 0)), undefined);
    assert.ok([...m.keys()].length <= 1);
  }
});
