// Native C rows: the same logic as the BPF programs compiled by gcc -O2
// (../shared/bench/native), built into /tmp and timed by its own driver.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_PACKETS, BENCH_PROGRAMS, type Row, type Suite } from './harness.js';
import { SHARED_BENCH } from './paths.js';

const OUT = '/tmp/tsbpf-bench-native';

export const nativeSuite: Suite = {
  name: 'native',
  async run(ctx) {
    const rows: Row[] = [];
    try {
      execFileSync('make', ['-s', '-C', join(SHARED_BENCH, 'native'), `OUT=${OUT}`], { stdio: 'pipe' });
    } catch (e) {
      ctx.log(`native: skipped (cannot build with make/gcc: ${(e as Error).message.split('\n')[0]})`);
      return rows;
    }
    const bin = join(OUT, 'bench_native');
    if (!existsSync(bin)) return rows;
    for (const program of BENCH_PROGRAMS) {
      for (const packet of BENCH_PACKETS) {
        if (!ctx.filter.test(`native/${program}/${packet}`)) continue;
        const out = execFileSync(bin, [program, join(SHARED_BENCH, 'packets', `${packet}.bin`), '0', '3'], { encoding: 'utf8' });
        const m = /median=([\d.]+)/.exec(out);
        if (m) rows.push({ program, packet, engine: 'native', ns_per_run: Number(m[1]) });
      }
    }
    return rows;
  },
};
