// `tsbpf filter` against tcpdump, whole commands side by side (issue 7):
//   node dist/src/cli/main.js filter EXPR -r FILE -w /dev/null
//   tcpdump -r FILE -w /dev/null EXPR
// on a generated capture of a million mixed packets (big-capture.ts), median
// of 3 runs each, taken alternately so both see the same machine load.
// ns_per_run is wall-clock nanoseconds per packet of the whole command,
// start-up included. The note also gives the throughput after start-up:
// both tools are timed on the 138-packet template capture too, and that
// time is taken off (the marginal rate, which is what a bigger file tends to).
// Before timing, both tools' selections are counted and must agree.
// Runs as a suite (filterSuite) or alone: node dist/bench/cbpf/filter.bench.js [REGEX]

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCapture } from '../../src/pcap/index.js';
import type { BenchContext, Row, Suite } from '../harness.js';
import { ROOT } from '../paths.js';
import { TEMPLATE_CAPTURE, bigCapture } from './big-capture.js';

const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const PACKETS = 1_000_000;
const CAPTURE_NAME = 'mixed-1M';
const REPS = 3;

export const FILTER_EXPRESSIONS = [
  'tcp port 80',
  'udp and not port 53',
  'host 10.0.0.1 or net 192.168.0.0/16',
  'tcp[tcpflags] & tcp-syn != 0',
  'ip6 and (icmp6 or udp)',
] as const;

type Tool = 'tsbpf' | 'tcpdump';

function command(tool: Tool, expr: string, file: string, out: string): [string, string[]] {
  return tool === 'tsbpf' ? [process.execPath, [MAIN, 'filter', expr, '-r', file, '-w', out]] : ['tcpdump', ['-r', file, '-w', out, '--', expr]];
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

/** Packets each tool selects: tsbpf's count line and the records tcpdump writes to standard output. */
function selections(expr: string, file: string, withTcpdump: boolean): { tsbpf: number; tcpdump?: number } {
  const t = spawnSync(process.execPath, [MAIN, 'filter', expr, '-r', file, '-q'], { encoding: 'utf8' });
  const m = /(\d+) packets read, (\d+) matched/.exec(t.stdout);
  if (t.status !== 0 || m === null) throw new Error(`tsbpf filter '${expr}' failed: ${t.stderr.trim()}`);
  if (!withTcpdump) return { tsbpf: Number(m[2]) };
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
    const exprs = FILTER_EXPRESSIONS.filter((e) => ctx.filter.test(`cbpf-filter/filter:${e}/${CAPTURE_NAME}`));
    if (exprs.length === 0) return rows;
    const tcpdump = hasTcpdump();
    if (!tcpdump) ctx.log('cbpf-filter: tcpdump rows skipped (tcpdump not installed: apt-get install tcpdump)');
    const tools: Tool[] = tcpdump ? ['tsbpf', 'tcpdump'] : ['tsbpf'];
    const cap = bigCapture(PACKETS, ctx.log);
    const tiny = [...parseCapture(new Uint8Array(readFileSync(TEMPLATE_CAPTURE)))].length;
    for (const expr of exprs) {
      const sel = selections(expr, cap.path, tcpdump);
      if (sel.tcpdump !== undefined && sel.tcpdump !== sel.tsbpf) throw new Error(`'${expr}': tsbpf selects ${sel.tsbpf} packets, tcpdump ${sel.tcpdump}`);
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
          t === 'tsbpf' && tcpdump
            ? `; ${(pps('tsbpf') / pps('tcpdump')).toFixed(2)}x tcpdump (${fmtRatio(marginal('tsbpf') / marginal('tcpdump'))} after start-up, ${fmtRatio(cpu.get('tcpdump')! / cpu.get('tsbpf')!)} by CPU time)`
            : '';
        rows.push({
          program: `filter:${expr}`,
          packet: CAPTURE_NAME,
          engine: t,
          ns_per_run: (big.get(t)! * 1e6) / cap.packets,
          note: `${fmtRate(pps(t))} pps, ${sel.tsbpf} matched, CPU ${cpu.get(t)!.toFixed(0)} ms, start-up ${small.get(t)!.toFixed(0)} ms, ${fmtRate(marginal(t))} pps after it${vs}`,
        });
      }
      ctx.log(`cbpf-filter: '${expr}' tsbpf ${big.get('tsbpf')!.toFixed(0)} ms${tcpdump ? `, tcpdump ${big.get('tcpdump')!.toFixed(0)} ms` : ''}`);
    }
    rmSync(TIME_OUT, { force: true });
    return rows;
  },
};

// Standalone: node dist/bench/cbpf/filter.bench.js [REGEX]
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const filter = new RegExp(process.argv[2] ?? '.');
  const rows = await filterSuite.run({ filter, scale: 1, log: (m) => process.stderr.write(m + '\n') });
  for (const r of rows) console.log(`${r.program.padEnd(40)} ${r.packet.padEnd(10)} ${r.engine.padEnd(8)} ${r.ns_per_run.toFixed(1).padStart(8)} ns/pkt  ${r.note ?? ''}`);
}
