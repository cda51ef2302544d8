// The benchmark programs (clang-19 -O2 objects in test/fixtures/bench, built
// with -DBENCH_VERIFY) run on the interpreter must return the digests listed
// in shared/bench/README.md. Only the map-free ones: parse, checksum, alu64, nop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, SHARED } from '../paths.js';
import { loadObject } from '../../src/elf/index.js';
import { createVm } from '../../src/vm/vm.js';
import { checkRegisterInit } from '../../src/verifier/init-check.js';

const PACKETS = ['tcp4_syn_64', 'udp4_1500', 'tcp6_512'] as const;
const DIGESTS: Record<string, readonly [number, number, number]> = {
  nop: [2, 2, 2],
  parse: [102891600, 287445897, 104202262],
  checksum: [8712, 14205, 40683],
  alu64: [4277262295, 589372471, 3186397638],
};

test('bench programs return the README digests', async (t) => {
  const vm = createVm();
  for (const [name, want] of Object.entries(DIGESTS)) {
    const spec = loadObject(readFileSync(join(FIXTURES, 'bench', `${name}_verify.o`)), { file: `${name}_verify.o` });
    const prog = vm.load(spec.programs[0]!.insns);
    checkRegisterInit(prog);
    for (let i = 0; i < PACKETS.length; i++) {
      await t.test(`${name} ${PACKETS[i]}`, () => {
        const data = readFileSync(join(SHARED, 'bench', 'packets', `${PACKETS[i]}.bin`));
        const pkt = vm.mem.alloc(data.length, { name: 'packet', kind: 'packet', init: data });
        // struct xdp_md: u32 data, u32 data_end, ...; packet addresses fit in 32 bits
        const ctx = vm.mem.alloc(24, { name: 'ctx', kind: 'ctx' });
        vm.mem.dv.setUint32(ctx.start, pkt.start, true);
        vm.mem.dv.setUint32(ctx.start + 4, pkt.start + data.length, true);
        try {
          const r = vm.run(prog, { args: [ctx.start] });
          assert.equal(r.r0lo >>> 0, want[i]);
        } finally {
          vm.mem.free(pkt);
          vm.mem.free(ctx);
        }
      });
    }
  }
});
