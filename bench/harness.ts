// The benchmark harness: every suite returns rows of one shape, so results can
// be compared across commits (`npm run bench -- --json`). Timings are medians
// of several repetitions taken in the same process run; compare engines side
// by side, never across runs.

export interface Row {
  program: string;
  packet: string;
  /** interp | jit | jit-batch | kernel | native | js | ... */
  engine: string;
  ns_per_run: number;
  insns_per_run?: number;
  /** Free text: what was measured when it is not a packet run (e.g. "ms per load"). */
  note?: string;
}

export interface BenchContext {
  /** Only run cases whose "suite/program/packet" matches. */
  filter: RegExp;
  /** Scale for iteration counts (0.2 = quick). */
  scale: number;
  log(msg: string): void;
}

export interface Suite {
  readonly name: string;
  run(ctx: BenchContext): Promise<Row[]>;
}

/**
 * Time `fn` (which performs `inner` operations per call): calibrate to about
 * `targetMs` per repetition, then take the median of `reps` repetitions.
 * Returns nanoseconds per operation.
 */
export function timeOps(fn: () => void, options: { inner?: number; targetMs?: number; reps?: number } = {}): number {
  const inner = options.inner ?? 1;
  const targetMs = options.targetMs ?? 200;
  const reps = options.reps ?? 5;
  // warm up and calibrate
  let calls = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) fn();
    const dt = performance.now() - t0;
    if (dt >= targetMs / 4 || calls >= 1 << 26) {
      calls = Math.max(1, Math.round((calls * targetMs) / Math.max(dt, 0.001)));
      break;
    }
    calls *= 4;
  }
  const samples: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) fn();
    samples.push(((performance.now() - t0) * 1e6) / (calls * inner));
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

export const BENCH_PROGRAMS = ['nop', 'parse', 'checksum', 'hashcount', 'alu64', 'array'] as const;
export const BENCH_PACKETS = ['tcp4_syn_64', 'udp4_1500', 'tcp6_512'] as const;
