// Interpreter speed in ns per executed instruction on small assembled loops
// (ALU64, ALU32, stack loads/stores, a local call). `benchInterpreter()`
// returns harness rows; `interpSuite` plugs into bench/suites.ts.
// Run alone: node dist/bench/vm/interp.bench.js [--quick]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assemble } from '../../src/asm/assemble.js';
import { loadObject } from '../../src/elf/index.js';
import { createVm } from '../../src/vm/vm.js';
import { timeOps, type BenchContext, type Row, type Suite } from '../harness.js';

const ITER = 20000;

export const PROGRAMS: ReadonlyArray<readonly [name: string, asm: string]> = [
  [
    'alu64-loop',
    `mov %r0, 0
mov %r1, ${ITER}
loop:
add %r0, %r1
xor %r0, 0x55
lsh %r0, 3
rsh %r0, 2
sub %r1, 1
jne %r1, 0, loop
exit`,
  ],
  [
    'alu32-loop',
    `mov32 %r0, 0
mov32 %r1, ${ITER}
loop:
add32 %r0, %r1
mul32 %r0, 3
xor32 %r0, %r1
arsh32 %r0, 1
sub32 %r1, 1
jne32 %r1, 0, loop
exit`,
  ],
  [
    'mem-loop',
    `mov %r1, ${ITER}
mov %r0, 0
stdw [%r10-8], 0
loop:
ldxdw %r2, [%r10-8]
add %r2, %r1
stxdw [%r10-8], %r2
ldxb %r3, [%r10-8]
add %r0, %r3
sub %r1, 1
jne %r1, 0, loop
exit`,
  ],
  [
    'call-loop',
    `mov %r6, ${ITER}
mov %r7, 0
loop:
mov %r1, %r6
call local f
add %r7, %r0
sub %r6, 1
jne %r6, 0, loop
mov %r0, %r7
exit
f:
mov %r0, %r1
and %r0, 7
exit`,
  ],
];

export function benchInterpreter(ctx: Pick<BenchContext, 'filter' | 'scale'> = { filter: /./, scale: 1 }): Row[] {
  const vm = createVm();
  const rows: Row[] = [];
  for (const [name, asm] of PROGRAMS) {
    if (!ctx.filter.test(`interp/${name}`)) continue;
    const prog = vm.load(assemble(asm, { dialect: 'conformance' }));
    const engine = vm.engine(prog, 'interp');
    const insns = engine.run([]).insns;
    const ns = timeOps(() => engine.run([]), { targetMs: 200 * ctx.scale, reps: 5 });
    rows.push({ program: name, packet: '-', engine: 'interp', ns_per_run: ns, insns_per_run: insns });
  }
  vm.dispose();
  return rows;
}

/** Map-free benchmark programs (XDP, clang -O2) and the packets they run on. */
const XDP_PROGRAMS = ['nop', 'parse', 'checksum', 'alu64'] as const;
const PACKETS = ['tcp4_syn_64', 'udp4_1500', 'tcp6_512'] as const;

/**
 * The shared benchmark programs on the interpreter: ns per run and per
 * instruction, one row per (program, packet). `root` is the repository root
 * (for test/fixtures/bench) and `shared` the shared tree (for the packets).
 */
export function benchXdpPrograms(root: string, shared: string, ctx: Pick<BenchContext, 'filter' | 'scale'> = { filter: /./, scale: 1 }): Row[] {
  const vm = createVm();
  const rows: Row[] = [];
  for (const name of XDP_PROGRAMS) {
    const spec = loadObject(readFileSync(join(root, 'test', 'fixtures', 'bench', `${name}.o`)), { file: `${name}.o` });
    const prog = vm.load(spec.programs[0]!.insns);
    const engine = vm.engine(prog, 'interp');
    for (const packet of PACKETS) {
      if (!ctx.filter.test(`interp/${name}/${packet}`)) continue;
      const data = readFileSync(join(shared, 'bench', 'packets', `${packet}.bin`));
      const pkt = vm.mem.alloc(data.length, { name: 'packet', kind: 'packet', init: data });
      // struct xdp_md { u32 data; u32 data_end; ... }: addresses fit in 32 bits
      const xdp = vm.mem.alloc(24, { name: 'xdp_md', kind: 'ctx' });
      vm.mem.dv.setUint32(xdp.start, pkt.start, true);
      vm.mem.dv.setUint32(xdp.start + 4, pkt.start + data.length, true);
      const args = [xdp.start];
      const insns = engine.run(args).insns;
      const ns = timeOps(() => engine.run(args), { targetMs: 200 * ctx.scale, reps: 5 });
      rows.push({ program: name, packet, engine: 'interp', ns_per_run: ns, insns_per_run: insns });
      vm.mem.free(pkt);
      vm.mem.free(xdp);
    }
  }
  vm.dispose();
  return rows;
}

export const interpSuite: Suite = {
  name: 'interp',
  run: async (ctx) => benchInterpreter(ctx),
};

if (process.argv[1]?.endsWith('interp.bench.js')) {
  const quick = process.argv.includes('--quick');
  const root = join(new URL('.', import.meta.url).pathname, '..', '..', '..');
  const shared = process.env.TSBPF_SHARED ?? join(root, '..', 'shared');
  const opts = { filter: /./, scale: quick ? 0.2 : 1 };
  for (const r of [...benchInterpreter(opts), ...benchXdpPrograms(root, shared, opts)]) {
    process.stdout.write(`${r.program.padEnd(12)} ${r.packet.padEnd(12)} ${(r.ns_per_run / 1000).toFixed(2).padStart(10)} us/run ${String(r.insns_per_run).padStart(7)} insns ${(r.ns_per_run / r.insns_per_run!).toFixed(2).padStart(6)} ns/insn\n`);
  }
}
