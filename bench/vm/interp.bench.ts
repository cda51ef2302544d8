// Interpreter speed in ns per executed instruction on small assembled loops
// (ALU64, ALU32, stack loads/stores, a local call). `benchInterpreter()`
// returns harness rows; `interpSuite` plugs into bench/suites.ts.
// Run alone: node dist/bench/vm/interp.bench.js [--quick]
import { assemble } from '../../src/asm/assemble.js';
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

export const interpSuite: Suite = {
  name: 'interp',
  run: async (ctx) => benchInterpreter(ctx),
};

if (process.argv[1]?.endsWith('interp.bench.js')) {
  const quick = process.argv.includes('--quick');
  for (const r of benchInterpreter({ filter: /./, scale: quick ? 0.2 : 1 })) {
    process.stdout.write(`${r.program.padEnd(12)} ${(r.ns_per_run / 1000).toFixed(1).padStart(8)} us/run  ${r.insns_per_run} insns  ${(r.ns_per_run / r.insns_per_run!).toFixed(2)} ns/insn\n`);
  }
}
