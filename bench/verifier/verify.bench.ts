// Verifier speed: ms to verify every program of examples/big.o, a
// generated ~4,000-instruction program with branches, stack spills and map
// lookups (many states, pruning at every join), warm (after one run), and
// loops that use the whole 1M-instruction budget (loops.ts): processed
// instructions per second of the walk.
// `verifierSuite` plugs into bench/suites.ts.
// Run alone: node dist/bench/verifier/verify.bench.js
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadObject } from '../../src/elf/load.js';
import { decodeProgram, type Program } from '../../src/isa/decode.js';
import { assemble } from '../../src/asm/assemble.js';
import { verify } from '../../src/verifier/verify.js';
import { objectVerifyOptions, unrelocatedMapLoads } from '../../src/verifier/object.js';
import type { VerifyOptions } from '../../src/verifier/env.js';
import { timeOps, type BenchContext, type Row, type Suite } from '../harness.js';
import { ROOT } from '../paths.js';
import { BUDGET_LOOPS } from './loops.js';

interface Job {
  readonly prog: Program;
  readonly opts: VerifyOptions;
}

/** Every program of examples/big.o as the runtime verifies it. */
function bigJobs(): Job[] {
  const file = join(ROOT, 'examples', 'big.o');
  const spec = loadObject(new Uint8Array(readFileSync(file)), { file });
  return spec.programs.map((p) => ({ prog: decodeProgram(unrelocatedMapLoads(p), { validate: false }), opts: { ...objectVerifyOptions(spec, p), logLevel: 0 } }));
}

/**
 * A generated socket filter of about `blocks` x 8 instructions: each block
 * reads a stack slot, does arithmetic, branches on it, and every 16th block
 * looks up an array map and null-checks the result.
 */
export function generatedJob(blocks = 500): Job {
  const lines = ['r6 = r1', 'r1 = 0', '*(u64 *)(r10 - 8) = r1', '*(u32 *)(r10 - 16) = r1'];
  for (let b = 0; b < blocks; b++) {
    if (b % 16 === 15) {
      lines.push('r2 = r10', 'r2 += -16', 'ld_pseudo r1, 1, 0', 'call 1', 'if r0 == 0 goto +1', 'r1 = *(u64 *)(r0 + 0)', 'r1 = 0');
      continue;
    }
    lines.push(
      'r1 = *(u64 *)(r10 - 8)',
      `r1 += ${(b * 7) % 13}`,
      'r1 &= 0xffff',
      `if r1 > ${1000 + b} goto +2`,
      'r2 = r1',
      'r2 <<= 1',
      '*(u64 *)(r10 - 8) = r1',
      `r3 = ${b}`,
    );
  }
  lines.push('r0 = 0', 'exit');
  const prog = decodeProgram(assemble(lines.join('\n'), { dialect: 'llvm' }), { validate: false });
  return { prog, opts: { progType: 1, maps: [{ type: 2, keySize: 4, valueSize: 8, maxEntries: 4 }], logLevel: 0 } };
}

function msPerVerify(jobs: readonly Job[], scale: number): number {
  const run = (): void => {
    for (const j of jobs) {
      const r = verify(j.prog, j.opts);
      if (!r.ok) throw new Error(`benchmark program rejected: ${r.error?.reason}`);
    }
  };
  run(); // warm
  return timeOps(run, { targetMs: 200 * scale, reps: 5 }) / 1e6;
}

/** Best CPU ms of `n` single runs (on a shared machine the wall clock also counts other processes). */
function cpuMsPerVerify(jobs: readonly Job[], n: number): number {
  let best = Infinity;
  for (let i = 0; i < n; i++) {
    const c0 = process.cpuUsage();
    for (const j of jobs) verify(j.prog, j.opts);
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / 1000);
  }
  return best;
}

export const verifierSuite: Suite = {
  name: 'verifier',
  async run(ctx: BenchContext): Promise<Row[]> {
    const rows: Row[] = [];
    if (ctx.filter.test('verifier/big.o/verify')) {
      const jobs = bigJobs();
      const insns = jobs.reduce((n, j) => n + j.prog.length, 0);
      const ms = msPerVerify(jobs, ctx.scale);
      ctx.log(`verifier: big.o (${jobs.length} programs, ${insns} insns): ${ms.toFixed(2)} ms; CPU best of 20 ${cpuMsPerVerify(jobs, 20).toFixed(1)} ms`);
      rows.push({ program: 'verifier/big.o', packet: '-', engine: 'js', ns_per_run: ms * 1e6, insns_per_run: insns, note: 'ms per verify of every program, warm' });
    }
    if (ctx.filter.test('verifier/generated/verify')) {
      const job = generatedJob();
      const ms = msPerVerify([job], ctx.scale);
      ctx.log(`verifier: generated program (${job.prog.length} insns): ${ms.toFixed(2)} ms; CPU best of 20 ${cpuMsPerVerify([job], 20).toFixed(1)} ms`);
      rows.push({ program: 'verifier/generated', packet: '-', engine: 'js', ns_per_run: ms * 1e6, insns_per_run: job.prog.length, note: 'ms per verify, warm' });
    }
    for (const loop of BUDGET_LOOPS) {
      if (!ctx.filter.test(`verifier/${loop.name}/verify`)) continue;
      const prog = decodeProgram(assemble(loop.source, { dialect: 'llvm' }), { validate: false });
      const opts: VerifyOptions = { progType: 1, logLevel: 0 };
      const t0 = process.hrtime.bigint();
      const c0 = process.cpuUsage();
      const r = verify(prog, opts);
      const cpu = process.cpuUsage(c0);
      const ns = Number(process.hrtime.bigint() - t0);
      if (r.ok || !r.error!.reason.startsWith('BPF program is too large')) throw new Error(`benchmark loop ${loop.name} should use the whole budget: ${r.error?.reason}`);
      const rate = r.processed / (ns / 1e9);
      // (CPU time too: on a shared machine the wall clock also counts other processes.)
      const cpuMs = (cpu.user + cpu.system) / 1000;
      ctx.log(`verifier: ${loop.name} (${prog.length} insns, ${r.processed} processed): ${(ns / 1e6).toFixed(0)} ms, ${(rate / 1e6).toFixed(2)}M insns/s; CPU ${cpuMs.toFixed(0)} ms, ${(r.processed / cpuMs / 1e3).toFixed(2)}M insns/s`);
      rows.push({ program: `verifier/${loop.name}`, packet: '-', engine: 'js', ns_per_run: ns, insns_per_run: r.processed, note: 'one walk to the 1M budget; ns/insn = per processed insn' });
    }
    return rows;
  },
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await verifierSuite.run({ filter: /./, scale: 1, log: (m) => console.log(m) });
  void rows;
}
