// The benchmark programs of ../shared/bench on our engines: the interpreter,
// the JIT called once per packet, and the JIT's batch entry (one call runs the
// program over many packets inside Wasm). Programs get a 24-byte xdp_md whose
// data/data_end are 32-bit addresses in the runtime memory, as clang's
// 32-bit ctx loads expect. Each engine's result is checked against the
// BENCH_VERIFY build's documented digest before it is timed. The map
// programs (hashcount, array) load through src/runtime, so their maps are
// real runtime maps and the JIT inlines their lookups as the runtime sets up.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadObject } from '../../src/elf/load.js';
import { decodeProgram, type Program } from '../../src/isa/decode.js';
import { createVm, type Vm } from '../../src/vm/vm.js';
import { trustProgram } from '../../src/vm/engines.js';
import { verify } from '../../src/verifier/verify.js';
import { objectVerifyOptions } from '../../src/verifier/object.js';
import { HelperContext } from '../../src/helpers/context.js';
import { Runtime } from '../../src/runtime/runtime.js';
import type { Engine } from '../../src/vm/types.js';
import type { Region } from '../../src/vm/memory.js';
import { BENCH_PACKETS, timeOps, type Row, type Suite } from '../harness.js';
import { BENCH_OBJECTS, SHARED_BENCH } from '../paths.js';

/** Programs that need no maps (the map programs join when the runtime has maps). */
const PROGRAMS = ['nop', 'parse', 'checksum', 'alu64'] as const;

/** Expected digests of the _verify builds (../shared/bench/README.md). */
const EXPECTED: Record<string, Record<string, number>> = {
  nop: { tcp4_syn_64: 2, udp4_1500: 2, tcp6_512: 2 },
  parse: { tcp4_syn_64: 102891600, udp4_1500: 287445897, tcp6_512: 104202262 },
  checksum: { tcp4_syn_64: 8712, udp4_1500: 14205, tcp6_512: 40683 },
  alu64: { tcp4_syn_64: 4277262295, udp4_1500: 589372471, tcp6_512: 3186397638 },
};

function loadProgram(name: string): Program {
  const file = join(BENCH_OBJECTS, `${name}.o`);
  const spec = loadObject(new Uint8Array(readFileSync(file)), { file });
  const p = spec.programs[0];
  if (!p) throw new Error(`${file}: no program`);
  const prog = decodeProgram(p.insns);
  // The unchecked engine ('jit-verified') runs only what our verifier accepted.
  const res = verify(prog, objectVerifyOptions(spec, p));
  if (!res.ok) throw new Error(`${file}: the verifier rejects ${p.name}: ${res.error?.message ?? 'rejected'}`);
  return trustProgram(prog);
}

interface Setup {
  vm: Vm;
  ctx: Region;
  packet: Region;
}

/** Map the packet and an xdp_md pointing at it. */
function setup(vm: Vm, bytes: Uint8Array): Setup {
  const packet = vm.mem.alloc(bytes.length, { name: 'packet', kind: 'packet', init: bytes });
  const ctx = vm.mem.alloc(24, { name: 'xdp_md', kind: 'ctx', writable: false });
  const dv = vm.mem.dv;
  dv.setUint32(ctx.start + 0, packet.start, true); // data
  dv.setUint32(ctx.start + 4, packet.start + bytes.length, true); // data_end
  dv.setUint32(ctx.start + 8, packet.start, true); // data_meta
  return { vm, ctx, packet };
}

const BATCH = 256;

interface BatchEngine {
  runBatchAt(n: number, a: number, o: number, options?: { run?: unknown }): void;
}

/**
 * The first run's digest of the _verify builds on fresh maps: hashcount
 * returns the packet counter before the run (0: it inserts), array the
 * count of byte 0 after the run.
 */
const MAP_EXPECTED: Record<string, Record<string, number>> = {
  hashcount: { tcp4_syn_64: 0, udp4_1500: 0, tcp6_512: 0 },
  array: { tcp4_syn_64: 25, udp4_1500: 12, tcp6_512: 39 },
};

/** A runtime with the object loaded (verified, so jit-verified may run it), an xdp_md for the packet, and a helper context. */
function mapSetup(name: string, bytes: Uint8Array): { rt: Runtime; code: Program; ctx: number; run: HelperContext } {
  const rt = new Runtime({ verify: true });
  const file = join(BENCH_OBJECTS, `${name}.o`);
  const coll = rt.loadObject(new Uint8Array(readFileSync(file)), { file });
  const p = [...coll.programs.values()][0]!;
  const s = setup(rt.vm, bytes);
  return { rt, code: p.code, ctx: s.ctx.start, run: new HelperContext(rt.helperContextOptions()) };
}

/** hashcount and array through the runtime: per-run rows for each engine and the verified JIT's batch entry. */
function mapProgramRows(ctx: Parameters<Suite['run']>[0], name: string, packet: string, bytes: Uint8Array, rows: Row[]): void {
  const want = MAP_EXPECTED[name]![packet]!;
  for (const engine of ['interp', 'jit', 'jit-verified', 'jit-batch']) {
    if (!ctx.filter.test(`${engine}/${name}/${packet}`)) continue;
    const check = mapSetup(`${name}_verify`, bytes);
    const checkEngine = check.rt.vm.engine(check.code, engine === 'jit-batch' ? 'jit-verified' : engine);
    let got: number;
    if (engine === 'jit-batch') {
      const recs = check.rt.mem.alloc(48, { name: 'batch', kind: 'scratch' });
      check.rt.mem.dv.setUint32(recs.start, check.ctx, true);
      (checkEngine as unknown as BatchEngine).runBatchAt(1, recs.start, recs.start + 40, { run: check.run });
      got = check.rt.mem.dv.getUint32(recs.start + 40, true);
    } else got = checkEngine.run([check.ctx], { run: check.run }).r0lo >>> 0;
    check.rt.dispose();
    if (got !== want) {
      ctx.log(`${engine}/${name}/${packet}: WRONG RESULT ${got}, expected ${want}; not timed`);
      continue;
    }
    const t = mapSetup(name, bytes);
    const e: Engine = t.rt.vm.engine(t.code, engine === 'jit-batch' ? 'jit-verified' : engine);
    const args = [t.ctx];
    const opts = { run: t.run };
    // the first run inserts (hashcount); every timed run takes the lookup-hit path, as in the kernel's numbers
    const insns = t.rt.vm.engine(t.code, 'interp').run(args, opts).insns;
    if (engine === 'jit-batch') {
      const recs = t.rt.mem.alloc(BATCH * 48, { name: 'batch', kind: 'scratch' });
      for (let k = 0; k < BATCH; k++) t.rt.mem.dv.setUint32(recs.start + 40 * k, t.ctx, true);
      const be = e as unknown as BatchEngine;
      const ns = timeOps(() => be.runBatchAt(BATCH, recs.start, recs.start + 40 * BATCH, opts), { inner: BATCH, targetMs: 150 * ctx.scale + 20 });
      rows.push({ program: name, packet, engine, ns_per_run: ns });
    } else {
      const ns = timeOps(() => e.run(args, opts), { targetMs: 150 * ctx.scale + 20 });
      rows.push({ program: name, packet, engine, ns_per_run: ns, insns_per_run: engine === 'interp' ? insns : undefined });
    }
    t.rt.dispose();
  }
}

export const programsSuite: Suite = {
  name: 'programs',
  async run(ctx) {
    const rows: Row[] = [];
    for (const name of ['hashcount', 'array']) {
      for (const packet of BENCH_PACKETS) {
        mapProgramRows(ctx, name, packet, new Uint8Array(readFileSync(join(SHARED_BENCH, 'packets', `${packet}.bin`))), rows);
      }
    }
    for (const name of PROGRAMS) {
      const prog = loadProgram(name);
      const verify = loadProgram(`${name}_verify`);
      for (const packet of BENCH_PACKETS) {
        const bytes = new Uint8Array(readFileSync(join(SHARED_BENCH, 'packets', `${packet}.bin`)));
        const vm = createVm();
        const s = setup(vm, bytes);
        const args = [s.ctx.start];
        const want = EXPECTED[name]![packet]!;
        const engines: [string, () => number, () => void][] = [];
        for (const engine of ['interp', 'jit', 'jit-verified']) {
          if (!ctx.filter.test(`${engine}/${name}/${packet}`)) continue;
          const got = Number(vm.run(verify, { args, engine }).r0 & 0xffffffffn);
          if (got !== want) {
            ctx.log(`${engine}/${name}/${packet}: WRONG RESULT ${got}, expected ${want}; not timed`);
            continue;
          }
          const e = vm.engine(prog, engine);
          const insns = vm.run(prog, { args, engine: 'interp' }).insns;
          const ns = timeOps(() => e.run(args), { targetMs: 150 * ctx.scale + 20 });
          rows.push({ program: name, packet, engine, ns_per_run: ns, insns_per_run: engine === 'interp' ? insns : undefined });
        }
        if (ctx.filter.test(`jit-batch/${name}/${packet}`)) {
          // batches run the verified-mode JIT: the kernel's numbers are for verified code too
          const e = vm.engine(prog, 'jit-verified') as unknown as { runBatchAt(n: number, a: number, o: number): void };
          const vEngine = vm.engine(verify, 'jit-verified') as unknown as { runBatchAt(n: number, a: number, o: number): void };
          const recs = vm.mem.alloc(BATCH * 48, { name: 'batch', kind: 'scratch' });
          const dv = vm.mem.dv;
          for (let k = 0; k < BATCH; k++) dv.setUint32(recs.start + 40 * k, s.ctx.start, true);
          const out = recs.start + 40 * BATCH;
          vEngine.runBatchAt(BATCH, recs.start, out);
          const got = vm.mem.dv.getUint32(out + 8 * (BATCH - 1), true);
          if (got !== want) ctx.log(`jit-batch/${name}/${packet}: WRONG RESULT ${got}, expected ${want}; not timed`);
          else {
            const ns = timeOps(() => e.runBatchAt(BATCH, recs.start, out), { inner: BATCH, targetMs: 150 * ctx.scale + 20 });
            rows.push({ program: name, packet, engine: 'jit-batch', ns_per_run: ns });
          }
        }
        void engines;
      }
    }
    return rows;
  },
};
