// Kernel rows: the same objects loaded into the running kernel and timed with
// BPF_PROG_TEST_RUN through `bpftool prog run ... repeat N` (JIT on). Needs
// root and bpftool; skipped with a message otherwise.
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_PACKETS, BENCH_PROGRAMS, type Row, type Suite } from './harness.js';
import { BENCH_OBJECTS, SHARED_BENCH } from './paths.js';

export function kernelAvailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  try {
    execFileSync('bpftool', ['version'], { stdio: 'pipe' });
  } catch {
    return 'bpftool not installed';
  }
  try {
    execFileSync('sh', ['-c', 'mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf'], { stdio: 'pipe' });
  } catch {
    return 'cannot mount bpffs';
  }
  return undefined;
}

export const kernelSuite: Suite = {
  name: 'kernel',
  async run(ctx) {
    const rows: Row[] = [];
    const why = kernelAvailable();
    if (why) {
      ctx.log(`kernel: skipped (${why})`);
      return rows;
    }
    for (const program of BENCH_PROGRAMS) {
      const pin = `/sys/fs/bpf/tsbpf_bench_${process.pid}_${program}`;
      const obj = join(BENCH_OBJECTS, `${program}.o`);
      if (!existsSync(obj)) continue;
      let loaded = false;
      try {
        for (const packet of BENCH_PACKETS) {
          if (!ctx.filter.test(`kernel/${program}/${packet}`)) continue;
          if (!loaded) {
            execFileSync('bpftool', ['prog', 'load', obj, pin], { stdio: 'pipe' });
            loaded = true;
          }
          const repeat = Math.max(1000, Math.round((program === 'alu64' || program === 'array' ? 200_000 : 2_000_000) * ctx.scale));
          const samples: number[] = [];
          for (let r = 0; r < 3; r++) {
            const out = execFileSync('bpftool', ['prog', 'run', 'pinned', pin, 'data_in', join(SHARED_BENCH, 'packets', `${packet}.bin`), 'repeat', String(repeat)], { encoding: 'utf8' });
            const m = /duration \(average\): (\d+)ns/.exec(out);
            if (m) samples.push(Number(m[1]));
          }
          samples.sort((a, b) => a - b);
          if (samples.length) rows.push({ program, packet, engine: 'kernel', ns_per_run: samples[Math.floor(samples.length / 2)]! });
        }
      } catch (e) {
        ctx.log(`kernel: ${program}: ${(e as Error).message.split('\n')[0]}`);
      } finally {
        rmSync(pin, { force: true });
      }
    }
    return rows;
  },
};
