// Loader speed: parse, BTF, BTF.ext, maps and linking of examples/big.o
// (about 10,000 instructions in eleven functions, with BTF and line info).
// `benchElfLoad()` returns milliseconds per load; `elfLoadSuite` plugs into
// bench/suites.ts. Run alone: node dist/bench/elf/load.bench.js
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadObject } from '../../src/elf/load.js';
import { timeOps, type BenchContext, type Row, type Suite } from '../harness.js';
import { ROOT } from '../paths.js';

export interface ElfLoadResult {
  /** Median milliseconds per loadObject call. */
  ms: number;
  insns: number;
  lineInfo: number;
}

export function benchElfLoad(scale = 1): ElfLoadResult {
  const bytes = new Uint8Array(readFileSync(join(ROOT, 'examples', 'big.o')));
  const spec = loadObject(bytes, { file: 'big.o' });
  const insns = spec.programs.reduce((n, p) => n + p.insns.length / 8, 0);
  const ns = timeOps(() => loadObject(bytes, { file: 'big.o' }), { targetMs: 200 * scale, reps: 5 });
  return { ms: ns / 1e6, insns, lineInfo: spec.programs.reduce((n, p) => n + p.lineInfo.length, 0) };
}

export const elfLoadSuite: Suite = {
  name: 'elf',
  async run(ctx: BenchContext): Promise<Row[]> {
    if (!ctx.filter.test('elf/big.o/load')) return [];
    const r = benchElfLoad(ctx.scale);
    ctx.log(`elf load: big.o, ${r.insns} insns, ${r.lineInfo} line records: ${r.ms.toFixed(2)} ms per load`);
    return [{ program: 'big.o', packet: '-', engine: 'js', ns_per_run: r.ms * 1e6, insns_per_run: r.insns, note: 'ms per loadObject (ELF+BTF+link)' }];
  },
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = benchElfLoad();
  console.log(`loadObject(big.o): ${r.ms.toFixed(2)} ms (${r.insns} insns, ${r.lineInfo} line records)`);
}
