// JIT benchmarks: the benchmark programs (checksum, alu64, parse, nop) under
// the JIT in both modes (unverified: checks and budget; verified: none) and
// both entry points (one call per run; the batch entry), plus compile time
// per 1,000 instructions. Runs as a suite (jitSuite) or alone:
//   node dist/bench/vm/jit.bench.js [REGEX]
// Results are checked against the BENCH_VERIFY digests before timing.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadObject } from '../../src/elf/load.js';
import { decodeProgram, type Program } from '../../src/isa/decode.js';
import { createVm, type Vm } from '../../src/vm/vm.js';
import { compile, type JitEngine } from '../../src/vm/jit/engine.js';
import { BENCH_PACKETS, timeOps, type Row, type Suite } from '../harness.js';
import { BENCH_OBJECTS, SHARED_BENCH } from '../paths.js';

const PROGRAMS = ['nop', 'parse', 'checksum', 'alu64'] as const;
const EXPECTED: Record<string, Record<string, number>> = {
  nop: { tcp4_syn_64: 2, udp4_1500: 2, tcp6_512: 2 },
  parse: { tcp4_syn_64: 102891600, udp4_1500: 287445897, tcp6_512: 104202262 },
  checksum: { tcp4_syn_64: 8712, udp4_1500: 14205, tcp6_512: 40683 },
  alu64: { tcp4_syn_64: 4277262295, udp4_1500: 589372471, tcp6_512: 3186397638 },
};
const BATCH = 256;

function loadProgram(name: string): Program {
  const file = join(BENCH_OBJECTS, `${name}.o`);
  const p = loadObject(new Uint8Array(readFileSync(file)), { file }).programs[0];
  if (!p) throw new Error(`${file}: no program`);
  return decodeProgram(p.insns);
}

/** Map a packet and an xdp_md (data, data_end as 32-bit addresses) for it. */
function xdpContext(vm: Vm, bytes: Uint8Array): number {
  const packet = vm.mem.alloc(bytes.length, { name: 'packet', kind: 'packet', init: bytes });
  const ctx = vm.mem.alloc(24, { name: 'xdp_md', kind: 'ctx', writable: false });
  vm.mem.dv.setUint32(ctx.start, packet.start, true);
  vm.mem.dv.setUint32(ctx.start + 4, packet.start + bytes.length, true);
  vm.mem.dv.setUint32(ctx.start + 8, packet.start, true);
  return ctx.start;
}

/** Records for the batch entry: every record's r1 is the same ctx. */
function batchRecords(vm: Vm, ctx: number): { args: number; out: number } {
  const r = vm.mem.alloc(BATCH * 48, { name: 'batch', kind: 'scratch' });
  for (let k = 0; k < BATCH; k++) vm.mem.dv.setUint32(r.start + 40 * k, ctx, true);
  return { args: r.start, out: r.start + 40 * BATCH };
}

/** ms to compile `prog` (JIT stages plus WebAssembly.Module), median of several. */
function compileMs(vm: Vm, prog: Program, verified: boolean): number {
  return timeOps(() => compile(prog, vm.config, { verified }), { targetMs: 100, reps: 5 }) / 1e6;
}

/** A long straight-line-and-branches program for compile time: many copies of parse's body would not link, so repeat ALU/jump blocks. */
function syntheticProgram(n: number): Program {
  const bytes = new Uint8Array(n * 8);
  const dv = new DataView(bytes.buffer);
  for (let i = 0; i < n - 1; i++) {
    const k = i % 4;
    const at = i * 8;
    if (k === 3) {
      // if r1 > i goto +1 (forward branch over one instruction)
      dv.setUint8(at, 0x25);
      dv.setUint8(at + 1, 0x01);
      dv.setInt16(at + 2, Math.min(1, n - 2 - i), true);
      dv.setInt32(at + 4, i, true);
    } else {
      // r0 += i / r0 ^= r1 / r2 = *(u32 *)(r10 - 8)
      const ops = [
        [0x07, 0x00, 0, i],
        [0xaf, 0x10, 0, 0],
        [0x61, 0xa2, -8, 0],
      ] as const;
      const [op, regs, off, imm] = ops[k]!;
      dv.setUint8(at, op);
      dv.setUint8(at + 1, regs);
      dv.setInt16(at + 2, off, true);
      dv.setInt32(at + 4, imm, true);
    }
  }
  dv.setUint8((n - 1) * 8, 0x95);
  return decodeProgram(bytes);
}

export const jitSuite: Suite = {
  name: 'jit',
  async run(ctx) {
    const rows: Row[] = [];
    for (const name of PROGRAMS) {
      const prog = loadProgram(name);
      const verify = loadProgram(`${name}_verify`);
      for (const packet of BENCH_PACKETS) {
        const vm = createVm();
        const args = [xdpContext(vm, new Uint8Array(readFileSync(join(SHARED_BENCH, 'packets', `${packet}.bin`))))];
        const recs = batchRecords(vm, args[0]!);
        const want = EXPECTED[name]![packet]!;
        for (const verified of [false, true]) {
          const mode = verified ? 'jit-v' : 'jit-u';
          const check = compile(verify, vm.config, { verified });
          const got = Number(check.run(args).r0 & 0xffffffffn);
          check.runBatchAt(BATCH, recs.args, recs.out);
          const gotBatch = vm.mem.dv.getUint32(recs.out + 8 * (BATCH - 1), true);
          if (got !== want || gotBatch !== want) {
            ctx.log(`${mode}/${name}/${packet}: WRONG RESULT ${got}/${gotBatch}, expected ${want}; not timed`);
            continue;
          }
          const e: JitEngine = compile(prog, vm.config, { verified });
          if (ctx.filter.test(`${mode}/${name}/${packet}`)) {
            rows.push({ program: name, packet, engine: mode, ns_per_run: timeOps(() => e.run(args), { targetMs: 150 * ctx.scale + 20 }) });
          }
          if (ctx.filter.test(`${mode}-batch/${name}/${packet}`)) {
            const ns = timeOps(() => e.runBatchAt(BATCH, recs.args, recs.out), { inner: BATCH, targetMs: 150 * ctx.scale + 20 });
            rows.push({ program: name, packet, engine: `${mode}-batch`, ns_per_run: ns });
          }
        }
      }
    }
    if (ctx.filter.test('jit-compile')) {
      const vm = createVm();
      for (const n of [1000, 10000]) {
        const p = syntheticProgram(n);
        for (const verified of [false, true]) {
          const ms = compileMs(vm, p, verified);
          rows.push({ program: `synthetic${n}`, packet: '-', engine: verified ? 'jit-v' : 'jit-u', ns_per_run: ms * 1e6, note: `compile: ${((ms * 1000) / n).toFixed(3)} ms per 1000 insns` });
        }
      }
      for (const name of ['parse', 'checksum', 'alu64']) {
        const p = loadProgram(name);
        const ms = compileMs(vm, p, false);
        rows.push({ program: name, packet: '-', engine: 'jit-u', ns_per_run: ms * 1e6, note: `compile: ${p.length} insns, ${((ms * 1000) / p.length).toFixed(3)} ms per 1000 insns` });
      }
    }
    return rows;
  },
};

// Standalone: node dist/bench/vm/jit.bench.js [REGEX]
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const filter = new RegExp(process.argv[2] ?? '.');
  const rows = await jitSuite.run({ filter, scale: 0.3, log: (m) => process.stderr.write(m + '\n') });
  for (const r of rows) {
    console.log(`${r.program.padEnd(16)} ${r.packet.padEnd(12)} ${r.engine.padEnd(13)} ${r.ns_per_run.toFixed(1).padStart(12)} ns  ${r.note ?? ''}`);
  }
}
