// Map speed: nanoseconds per lookup/update
//   - from programs: lookups.bpf.o's programs (100 map operations per run) on
//     the interpreter and the JIT, minus the `nop` program's run time, next to
//     the same object in the kernel (`bpftool prog run`, JIT on);
//   - through the JS helper path: the helper function called directly;
//   - from user space: BpfMap.lookup/update on bytes, and insert+delete pairs,
//     also on a map shared with other threads (writer lock, atomic reads);
//   - the Wasm lookup fast path (src/maps/lookup-wasm.ts) called from JS;
//   - a JavaScript Map<number, bigint> for scale.
// `benchMaps()` returns harness rows; `mapsSuite` plugs into bench/suites.ts.
// Run alone: node dist/bench/maps/maps.bench.js [--quick]
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Runtime } from '../../src/runtime/runtime.js';
import { hasEngine } from '../../src/vm/engines.js';
import { RuntimeMemory } from '../../src/vm/memory.js';
import { MapTable } from '../../src/maps/table.js';
import type { BpfMap } from '../../src/maps/base.js';
import { wasmLookup } from '../../src/maps/lookup-wasm.js';
import { HelperContext, standardHelpers } from '../../src/helpers/index.js';
import { BPF_FUNC } from '../../src/internal/uapi.gen.js';
import type { HelperEnv } from '../../src/helpers/registry.js';
import { timeOps, type BenchContext, type Row, type Suite } from '../harness.js';
import { kernelAvailable } from '../kernel.js';
import { ROOT } from '../paths.js';

const OPS = 100;
const OBJECT = join(ROOT, 'bench', 'maps', 'lookups.bpf.o');
const PROGRAMS = ['hash_update', 'hash_lookup', 'array_lookup'] as const;
const NOTE = `ns per map op (${OPS} per run, nop run subtracted)`;

/** Mean ns per run of each program, from the runtime's BPF_PROG_TEST_RUN (as the kernel's duration). */
function benchPrograms(ctx: Pick<BenchContext, 'filter' | 'scale' | 'log'>): Row[] {
  const rows: Row[] = [];
  const repeat = Math.max(200, Math.round(5000 * ctx.scale));
  const dataIn = new Uint8Array(64);
  for (const engine of ['interp', ...(hasEngine('jit') ? ['jit'] : [])]) {
    const rt = new Runtime({ engine });
    try {
      const coll = rt.loadObject(readFileSync(OBJECT), { file: OBJECT });
      const time = (name: string): number => {
        const p = coll.program(name);
        p.testRun({ dataIn, repeat: 50 }); // warm up (and compile)
        const samples = [0, 1, 2].map(() => p.testRun({ dataIn, repeat }).durationNs).sort((x, y) => x - y);
        return samples[1]!;
      };
      coll.program('hash_update').testRun({ dataIn }); // keys 0..63 exist
      const base = time('nop');
      for (const name of PROGRAMS) {
        if (!ctx.filter.test(`maps/${name}/${engine}`)) continue;
        rows.push({ program: `maps/${name}`, packet: '-', engine, ns_per_run: Math.max(0, time(name) - base) / OPS, note: NOTE });
      }
    } catch (e) {
      // one engine failing must not take the other rows with it
      ctx.log(`maps/${engine}: ${(e as Error).message.split('\n')[0]}`);
    } finally {
      rt.dispose();
    }
  }
  return rows;
}

function benchKernel(ctx: Pick<BenchContext, 'filter' | 'scale' | 'log'>): Row[] {
  const rows: Row[] = [];
  const why = kernelAvailable();
  if (why) {
    ctx.log(`maps/kernel: skipped (${why})`);
    return rows;
  }
  const dir = `/sys/fs/bpf/tsbpf_mapbench_${process.pid}`;
  const pkt = `/tmp/tsbpf_mapbench_${process.pid}.bin`;
  writeFileSync(pkt, new Uint8Array(64));
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('bpftool', ['prog', 'loadall', OBJECT, dir], { stdio: 'pipe' });
    const time = (name: string): number => {
      const repeat = String(Math.max(1000, Math.round(100_000 * ctx.scale)));
      const samples: number[] = [];
      for (let r = 0; r < 3; r++) {
        const out = execFileSync('bpftool', ['prog', 'run', 'pinned', join(dir, name), 'data_in', pkt, 'repeat', repeat], { encoding: 'utf8' });
        const m = /duration \(average\): (\d+)ns/.exec(out);
        if (m) samples.push(Number(m[1]));
      }
      samples.sort((a, b) => a - b);
      return samples[1] ?? samples[0] ?? NaN;
    };
    time('hash_update');
    const base = time('nop');
    for (const name of PROGRAMS) {
      if (!ctx.filter.test(`maps/${name}/kernel`)) continue;
      rows.push({ program: `maps/${name}`, packet: '-', engine: 'kernel', ns_per_run: Math.max(0, time(name) - base) / OPS, note: NOTE });
    }
  } catch (e) {
    ctx.log(`maps/kernel: ${(e as Error).message.split('\n')[0]}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(pkt, { force: true });
  }
  return rows;
}

function benchJs(ctx: Pick<BenchContext, 'filter' | 'scale'>): Row[] {
  const rows: Row[] = [];
  const target = 150 * ctx.scale;
  const mem = new RuntimeMemory({ maxBytes: 16 * 1024 * 1024 });
  const table = new MapTable(mem);
  const h = table.create({ name: 'h', type: 'hash', keySize: 4, valueSize: 8, maxEntries: 1024 });
  const a = table.create({ name: 'a', type: 'array', keySize: 4, valueSize: 8, maxEntries: 1024 });
  const keys = Array.from({ length: 64 }, (_, i) => Uint8Array.of(i, 0, 0, 0));
  const val = new Uint8Array(8);
  for (const k of keys) h.update(k, val);
  // the same hash shared with (potential) worker threads: writers lock, readers check generations
  const hs = table.create({ name: 'hs', type: 'hash', keySize: 4, valueSize: 8, maxEntries: 1024 });
  for (const k of keys) hs.update(k, val);
  hs.handle();
  const fresh = Uint8Array.of(0, 1, 0, 0);
  // the helper path: the helper function with a register block, as an engine calls it
  const helpers = standardHelpers();
  const run = new HelperContext({ maps: table, seed: 1 });
  const regs = new Int32Array(12);
  const env: HelperEnv = { mem, regs, pc: 0, run };
  const keyAddr = mem.alloc(8, { name: 'key' }).start;
  const valAddr = mem.alloc(8, { name: 'val' }).start;
  const lookup = helpers.get(BPF_FUNC.map_lookup_elem!)!.fn;
  const update = helpers.get(BPF_FUNC.map_update_elem!)!.fn;
  const viaHelper = (fn: (e: HelperEnv) => void, map: BpfMap): (() => void) => () => {
    for (let i = 0; i < OPS; i++) {
      mem.dv.setUint32(keyAddr, i & 63, true);
      regs[2] = map.desc;
      regs[4] = keyAddr;
      regs[6] = valAddr;
      regs[8] = 0;
      fn(env);
    }
  };
  const cases: [string, string, () => void][] = [
    ['hash_lookup', 'js-helper', viaHelper(lookup, h)],
    ['hash_update', 'js-helper', viaHelper(update, h)],
    ['array_lookup', 'js-helper', viaHelper(lookup, a)],
    ['hash_lookup', 'user', () => { for (let i = 0; i < OPS; i++) h.lookup(keys[i & 63]!); }],
    ['hash_update', 'user', () => { for (let i = 0; i < OPS; i++) h.update(keys[i & 63]!, val); }],
    ['array_lookup', 'user', () => { for (let i = 0; i < OPS; i++) a.lookup(keys[i & 63]!); }],
    ['hash_insert_delete', 'user', () => { for (let i = 0; i < OPS; i++) (h.update(fresh, val), h.delete(fresh)); }],
    ['hash_lookup', 'user-shared', () => { for (let i = 0; i < OPS; i++) hs.lookup(keys[i & 63]!); }],
    ['hash_update', 'user-shared', () => { for (let i = 0; i < OPS; i++) hs.update(keys[i & 63]!, val); }],
    ['hash_insert_delete', 'user-shared', () => { for (let i = 0; i < OPS; i++) (hs.update(fresh, val), hs.delete(fresh)); }],
  ];
  // the Wasm fast path (src/maps/lookup-wasm.ts), called from JS: an upper bound
  // of what JITed code pays when it imports it (no JS boundary there)
  const wasm = wasmLookup(mem);
  const viaWasm = (map: BpfMap): (() => void) => () => {
    for (let i = 0; i < OPS; i++) {
      mem.dv.setUint32(keyAddr, i & 63, true);
      wasm(map.desc, keyAddr, 0);
    }
  };
  cases.push(['hash_lookup', 'wasm', viaWasm(h)], ['array_lookup', 'wasm', viaWasm(a)], ['hash_lookup', 'wasm-shared', viaWasm(hs)]);
  const jsMap = new Map<number, bigint>();
  for (let i = 0; i < 64; i++) jsMap.set(i, 0n);
  let sink = 0n;
  cases.push(['hash_lookup', 'js-map', () => { for (let i = 0; i < OPS; i++) sink += jsMap.get(i & 63)!; }]);
  for (const [name, engine, fn] of cases) {
    if (!ctx.filter.test(`maps/${name}/${engine}`)) continue;
    const note =
      engine === 'user'
        ? 'ns per op, BpfMap on bytes (copies in and out)'
        : engine === 'user-shared'
          ? 'ns per op, BpfMap on bytes, map shared with other threads (locks, atomics)'
          : engine === 'wasm-shared'
            ? 'ns per op, Wasm lookup of a map shared with other threads'
        : engine === 'js-map'
          ? 'ns per op, JavaScript Map<number, bigint> for scale'
          : engine === 'wasm'
            ? 'ns per op, Wasm lookup (lookup-wasm.ts) called from JS'
            : 'ns per op, helper function called directly';
    rows.push({ program: `maps/${name}`, packet: '-', engine, ns_per_run: timeOps(fn, { inner: OPS, targetMs: target }), note });
  }
  if (sink < 0n) rows.length = 0; // keep `sink` alive
  return rows;
}

/** Every map benchmark row. */
export function benchMaps(ctx: Pick<BenchContext, 'filter' | 'scale' | 'log'> = { filter: /./, scale: 1, log: () => {} }): Row[] {
  return [...benchPrograms(ctx), ...benchKernel(ctx), ...benchJs(ctx)];
}

export const mapsSuite: Suite = {
  name: 'maps',
  run: async (ctx) => benchMaps(ctx),
};

if (process.argv[1]?.endsWith('maps.bench.js')) {
  const quick = process.argv.includes('--quick');
  const rows = benchMaps({ filter: /./, scale: quick ? 0.2 : 1, log: (m) => process.stderr.write(m + '\n') });
  rows.sort((x, y) => x.program.localeCompare(y.program));
  for (const r of rows) process.stdout.write(`${r.program.padEnd(18)} ${r.engine.padEnd(10)} ${r.ns_per_run.toFixed(1).padStart(8)} ns/op\n`);
}
