// `tsbpf filter` against tcpdump, whole commands side by side (issue 7):
//   node bin/tsbpf.cjs filter EXPR -r FILE -w /dev/null
//   tcpdump -r FILE -w /dev/null EXPR
// on the same generated capture (big-capture.ts: a million mixed packets;
// ten million for two expressions, where Node's start-up weighs less; the
// million as pcapng for one), both writing the matches to /dev/null. Each
// row is the median of REPS runs per tool, the tools alternating so both see
// the same machine load. ns_per_run is wall-clock nanoseconds per packet of
// the whole command, start-up included; the note gives packets per second,
// the ratio of tsbpf's throughput to tcpdump's (> 1: tsbpf is faster), the
// CPU time (user + system) of each, and the start-up: both tools timed on the
// 138-packet template capture.
// Before timing, both tools' selections are counted and must agree.
// Runs as a suite (filterSuite) or alone: node dist/bench/cbpf/filter.bench.js [REGEX]
// Measure from a frozen copy of dist (cp -a dist bin package.json and
// test/fixtures/filter/eth-mixed.pcap to a directory of their own, run its
// dist/bench/cbpf/filter.bench.js): a tsc run in the tree meanwhile makes
// the CLI bundle stale and tsbpf would start from the ES modules.
//
// Where tsbpf's time goes on mixed-10M (2 GB, 'tcp port 80', CPU time):
// ~90 ms start-up (Node itself ~55-60, measured on the template capture;
// ours ~25: bundle read 3 ms, code-cache compile 4, init 1.5, then the
// filter compile, JIT and first scan ~15), ~200-260 ms of read(2) copying
// the page cache (the same copy tcpdump makes 4 KiB at a time; O_DIRECT
// avoids the copy but reads the disk at ~740 MB/s here), ~90-110 ms
// filtering (about 10 ns a packet), writes of the matches a few ms.
// tcpdump spends ~430 ms user and ~430 ms system. So by CPU time the ratio
// tends to a bit over 2x; wall time adds the machine's load, and at 1M
// packets Node's start-up alone is most of tcpdump's run.
//
// Round 3 (2026-11-25, load average 8-14 on the 2-core VM all the while,
// so absolute times are 2-7x the quiet ones; ratios within one run):
//  - mixed-10M 'tcp port 80': one thread 2.22x and 2.25x tcpdump's wall
//    throughput, 2.05x and 1.95x by CPU time (two bench runs);
//    `--threads 2` 1.59x and 2.32x wall, 1.53x and 1.46x CPU (joined every
//    run). Standalone side-by-sides: one thread 1.86-2.32x wall, 1.97-2.15x
//    CPU; two threads 1.42-1.46x wall (with -q, no output: about the same
//    wall as one thread, +60 ms CPU).
//  - mixed-10M 'host 10.0.0.1 or net 192.168.0.0/16' (3.9M matches):
//    one thread 1.54x wall, 2.00x CPU; two threads 1.28x wall, 1.07x CPU
//    (990 ms: the second half's 430 MB of records buffered, see below).
//  - mixed-1M 'tcp port 80': 0.60x wall, 0.69x CPU (130 vs 90 ms).
//  - Why two threads lose here (profiles of both threads): the worker
//    starts ~75 ms late and costs ~45 ms CPU (Node worker bootstrap ~30 ms
//    plus the bundle); two page-cache copies at once share the memory
//    bandwidth (a half read in parallel costs 60-70% of the whole read in
//    one thread); the second half's -w records go to fresh memory until the
//    first half is written (page faults: ~1.4 ns a byte, ~90 ms for 66 MB,
//    ~600 ms for the 430 MB of the 'host ... or net ...' row, where the
//    256 MiB memory cap spills the rest to a file). On a machine with idle
//    cores and more bandwidth it may pay; it is opt-in.
//  - Start-up: `tsbpf filter` now loads a bundle of the filter verb alone
//    (445 KiB instead of 1.29 MB; read 1.9 vs 3.0 ms, compile with cache
//    2.2 vs 4.2, init 1.0 vs 1.4): on the template capture 88.5 ms CPU
//    instead of 92.6 (median of 31, interleaved), bare `node -e 0` 62 ms,
//    so ours is ~26 ms. An ES-module entry costs ~5 ms more than a
//    CommonJS one (node e.mjs vs e.cjs, both empty): main.js is ESM
//    (the package is "type": "module"); a .cjs launcher would need the bin
//    and tsconfig to change.
//  - Last side-by-side (load average ~10): mixed-10M 'tcp port 80' one
//    thread 1.69x wall, 1.88x CPU; two threads 1.40x / 1.47x; mixed-1M
//    0.55x wall, 0.66x CPU. Under load every memory-bound run gets slower
//    (tcpdump's CPU went 840 -> 980 ms), ours more than tcpdump's.
//
// Round 4, start-up (2026-11-25, load average 2.5-3.7; medians of 21-41
// interleaved runs, CPU from wait4's rusage, frozen copies of dist):
//  - The bin is now bin/tsbpf.cjs, a CommonJS entry (src/cli/launch.cts):
//    no ES-module loader on the bundle path, ~6 ms. The output goes out with
//    writeSync (src/cli/stdio.ts), so process.stdout, whose stream modules
//    cost ~1.5 ms, is never made; the JIT's opcode-name map (W_NAMES) is
//    built when the .wat printer first asks, not at load (~1.3 ms).
//  - Template capture, 'tcp port 80' -w /dev/null: 93.8 -> 84.7 ms CPU
//    (node -e 0: 65.1; main.js, still an ES-module entry: 90.3). --help:
//    85.5 -> 76.7. mixed-1M: 135.9 -> 126.6 ms CPU (tcpdump 99.2).
//  - Where ours goes now (performance.now() marks in a patched bundle, code
//    cache regenerated): bundle read ~0.4 ms, Script with code cache 3.3-5
//    (deserialising 430 KiB), module inits of the scan ~2.3 (isa/table.js
//    1.0 of it: enums 0.23, rows 0.5, derived tables 0.25, so lazy derived
//    tables would save < 0.2 ms), parseArgs' first call ~0.7, first 2 MiB
//    read ~0.4, compileFilter 1.0, translateScanDriver 0.4, decodeProgram of
//    the translation 0.6-0.9 (first run of the decode loop), buildModule 1.8
//    (emitFunction 1.0), new WebAssembly.Module 1.0 (the module is 2 KiB and
//    compiles in 0.04 ms once warm: first NativeModule set-up; functions are
//    compiled lazily, --wasm-lazy-compilation is V8's default here), first
//    scan call 0.15 ms on the template capture.
//  - Wasm tiering: on mixed-1M the first 2 MiB call takes ~1.4 ms against
//    0.07-0.2 for the others (Liftoff, with ~100 page faults of the TurboFan
//    compile in the background). Compiling eagerly with TurboFan
//    (--no-wasm-lazy-compilation --no-liftoff, code cache made with the same
//    flags) removes that but costs as much in compile: mixed-1M 125.1 vs
//    123.6 ms CPU, template capture 83.6 vs 80.3. Left as V8 does it.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCapture } from '../../src/pcap/index.js';
import type { BenchContext, Row, Suite } from '../harness.js';
import { ROOT } from '../paths.js';
import { BUNDLE_FILES, stampIsCurrent, type BundleStamp } from '../../src/cli/bundle-files.js';
import { TEMPLATE_CAPTURE, bigCapture, bigCapturePcapng, type BigCapture } from './big-capture.js';

// The `tsbpf` binary (a CommonJS entry, ~6 ms faster to start than main.js, see src/cli/launch.cts).
const TSBPF = join(ROOT, 'bin', 'tsbpf.cjs');
const REPS = 5;

export const FILTER_EXPRESSIONS = [
  'tcp port 80',
  'udp and not port 53',
  'host 10.0.0.1 or net 192.168.0.0/16',
  'tcp[tcpflags] & tcp-syn != 0',
  'ip6 and (icmp6 or udp)',
] as const;

/** The captures and which expressions run on each (the larger ones take seconds per run). */
const CAPTURES: readonly { name: string; make: (log: (m: string) => void) => BigCapture; exprs: readonly string[]; threads?: boolean }[] = [
  { name: 'mixed-1M', make: (log) => bigCapture(1_000_000, log), exprs: FILTER_EXPRESSIONS },
  { name: 'mixed-1M.pcapng', make: (log) => bigCapturePcapng(1_000_000, log), exprs: ['tcp port 80'] },
  // Also `tsbpf filter --threads 2` (two halves on two threads, scan-split.ts), the tools alternating as before.
  { name: 'mixed-10M', make: (log) => bigCapture(10_000_000, log), exprs: ['tcp port 80', 'host 10.0.0.1 or net 192.168.0.0/16'], threads: true },
];

type Tool = 'tsbpf' | 'tsbpf-2t' | 'tcpdump';

/** Whether main.js will start from the CLI bundle (see src/cli/main.ts), as after `npm run bench`. */
function bundleState(): string {
  const cli = join(ROOT, 'dist', 'src', 'cli');
  const stampFile = join(cli, BUNDLE_FILES.stamp);
  if (!existsSync(stampFile)) return 'no CLI bundle: ES modules';
  const stamp = JSON.parse(readFileSync(stampFile, 'utf8')) as BundleStamp;
  const info = join(ROOT, 'dist', '.tsbuildinfo');
  if (!stampIsCurrent(stamp, existsSync(info) ? statSync(info) : undefined)) return 'CLI bundle older than the last tsc run: ES modules';
  if (existsSync(join(cli, BUNDLE_FILES.filterBundle))) return existsSync(join(cli, BUNDLE_FILES.filterCache)) ? 'filter bundle with code cache' : 'filter bundle without code cache';
  return existsSync(join(cli, BUNDLE_FILES.cache)) ? 'CLI bundle with code cache' : 'CLI bundle without code cache';
}

function command(tool: Tool, expr: string, file: string, out: string): [string, string[]] {
  if (tool === 'tcpdump') return ['tcpdump', ['-r', file, '-w', out, '--', expr]];
  return [process.execPath, [TSBPF, 'filter', expr, '-r', file, '-w', out, ...(tool === 'tsbpf-2t' ? ['--threads', '2'] : [])]];
}

// On a shared machine wall time depends on the load, so the CPU time (user +
// system) of each command is taken too, through GNU time when it is there.
const TIME = '/usr/bin/time';
const TIME_OUT = join(tmpdir(), `tsbpf-bench-time-${process.pid}.txt`);
const hasGnuTime = existsSync(TIME);

interface Timing {
  wallMs: number;
  /** NaN without GNU time. */
  cpuMs: number;
}

/** One run; throws with the tool's message when it fails. */
function timeRun(tool: Tool, expr: string, file: string): Timing {
  const [cmd, args] = command(tool, expr, file, '/dev/null');
  const t0 = performance.now();
  const r = hasGnuTime
    ? spawnSync(TIME, ['-f', '%U %S', '-o', TIME_OUT, cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' })
    : spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const wallMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${tool} '${expr}' on ${file} failed (${r.status ?? r.signal}): ${r.stderr.trim().split('\n').at(-1) ?? ''}`);
  const cpu = hasGnuTime ? readFileSync(TIME_OUT, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number) : [NaN, NaN];
  return { wallMs, cpuMs: 1000 * (cpu[0]! + cpu[1]!) };
}

/** Packets each tool selects: tsbpf's count line, and tcpdump --count (4.99) or the records tcpdump -w - writes. */
function selections(expr: string, file: string, withTcpdump: boolean): { tsbpf: number; tcpdump?: number } {
  const t = spawnSync(process.execPath, [TSBPF, 'filter', expr, '-r', file, '-q'], { encoding: 'utf8' });
  const m = /(\d+) packets read, (\d+) matched/.exec(t.stdout);
  if (t.status !== 0 || m === null) throw new Error(`tsbpf filter '${expr}' failed: ${t.stderr.trim()}`);
  if (!withTcpdump) return { tsbpf: Number(m[2]) };
  const counted = spawnSync('tcpdump', ['--count', '-r', file, '--', expr], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const c = /^(\d+) packets?$/m.exec(counted.stdout ?? '');
  if (counted.status === 0 && c !== null) return { tsbpf: Number(m[2]), tcpdump: Number(c[1]) };
  const d = spawnSync('tcpdump', ['-r', file, '-w', '-', '--', expr], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
  if (d.status !== 0) throw new Error(`tcpdump '${expr}' failed (${d.status})`);
  let n = 0;
  for (const _ of parseCapture(new Uint8Array(d.stdout.buffer, d.stdout.byteOffset, d.stdout.byteLength))) n++;
  return { tsbpf: Number(m[2]), tcpdump: n };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function hasTcpdump(): boolean {
  return spawnSync('tcpdump', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Median wall ms per tool for `expr` on `file` (and the median CPU ms), runs alternating between the tools. */
function timeBoth(expr: string, file: string, tools: readonly Tool[]): { wall: Map<Tool, number>; cpu: Map<Tool, number> } {
  const samples = new Map<Tool, Timing[]>(tools.map((t) => [t, []]));
  for (let i = 0; i < REPS; i++) for (const t of tools) samples.get(t)!.push(timeRun(t, expr, file));
  return {
    wall: new Map(tools.map((t) => [t, median(samples.get(t)!.map((x) => x.wallMs))])),
    cpu: new Map(tools.map((t) => [t, median(samples.get(t)!.map((x) => x.cpuMs))])),
  };
}

const fmtRate = (pps: number): string => (Number.isNaN(pps) ? '?' : pps >= 1e6 ? `${(pps / 1e6).toFixed(2)} M` : `${(pps / 1e3).toFixed(0)} k`);

const fmtRatio = (x: number): string => (Number.isNaN(x) ? '?' : `${x.toFixed(2)}x`);

export const filterSuite: Suite = {
  name: 'cbpf-filter',
  async run(ctx: BenchContext): Promise<Row[]> {
    const rows: Row[] = [];
    const todo = CAPTURES.map((c) => ({ ...c, exprs: c.exprs.filter((e) => ctx.filter.test(`cbpf-filter/filter:${e}/${c.name}`)) })).filter((c) => c.exprs.length > 0);
    if (todo.length === 0) return rows;
    const tcpdump = hasTcpdump();
    if (!tcpdump) ctx.log('cbpf-filter: tcpdump rows skipped (tcpdump not installed: apt-get install tcpdump)');
    const baseTools: Tool[] = tcpdump ? ['tsbpf', 'tcpdump'] : ['tsbpf'];
    const loading = bundleState();
    ctx.log(`cbpf-filter: tsbpf starts from ${loading}`);
    const tiny = [...parseCapture(new Uint8Array(readFileSync(TEMPLATE_CAPTURE)))].length;
    for (const c of todo) {
      const tools: Tool[] = c.threads === true ? ['tsbpf', 'tsbpf-2t', ...baseTools.slice(1)] : baseTools;
      const cap = c.make(ctx.log);
      for (const expr of c.exprs) {
        const sel = selections(expr, cap.path, tcpdump);
        if (sel.tcpdump !== undefined && sel.tcpdump !== sel.tsbpf) throw new Error(`'${expr}' on ${c.name}: tsbpf selects ${sel.tsbpf} packets, tcpdump ${sel.tcpdump}`);
        // Start-up: the same command on the small template capture.
        const small = timeBoth(expr, TEMPLATE_CAPTURE, tools).wall;
        const both = timeBoth(expr, cap.path, tools);
        const big = both.wall;
        const cpu = both.cpu;
        const pps = (t: Tool): number => (cap.packets * 1000) / big.get(t)!;
        // Under load the difference can drown in noise; then there is no marginal rate to give (NaN).
        const marginal = (t: Tool): number => {
          const ms = big.get(t)! - small.get(t)!;
          return ms > 0.1 * big.get(t)! ? ((cap.packets - tiny) * 1000) / ms : NaN;
        };
        for (const t of tools) {
          const vs =
            t !== 'tcpdump' && tcpdump
              ? `; whole command ${fmtRatio(pps(t) / pps('tcpdump'))} tcpdump's throughput (${fmtRatio(cpu.get('tcpdump')! / cpu.get(t)!)} by CPU time, ${fmtRatio(marginal(t) / marginal('tcpdump'))} after start-up); ${loading}`
              : '';
          rows.push({
            program: `filter:${expr}`,
            packet: c.name,
            engine: t,
            ns_per_run: (big.get(t)! * 1e6) / cap.packets,
            note: `${fmtRate(pps(t))} pps (median of ${REPS}, -w /dev/null), ${sel.tsbpf} matched, ${big.get(t)!.toFixed(0)} ms, CPU ${cpu.get(t)!.toFixed(0)} ms, start-up ${small.get(t)!.toFixed(0)} ms, ${fmtRate(marginal(t))} pps after it${vs}`,
          });
        }
        ctx.log(`cbpf-filter: '${expr}' on ${c.name}: ${tools.map((t) => `${t} ${big.get(t)!.toFixed(0)} ms`).join(', ')}`);
      }
    }
    rmSync(TIME_OUT, { force: true });
    return rows;
  },
};

// Standalone: node dist/bench/cbpf/filter.bench.js [REGEX]
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const filter = new RegExp(process.argv[2] ?? '.');
  const rows = await filterSuite.run({ filter, scale: 1, log: (m) => process.stderr.write(m + '\n') });
  for (const r of rows) console.log(`${r.program.padEnd(40)} ${r.packet.padEnd(16)} ${r.engine.padEnd(8)} ${r.ns_per_run.toFixed(1).padStart(8)} ns/pkt  ${r.note ?? ''}`);
}
