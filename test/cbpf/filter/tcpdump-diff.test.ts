// Differential test against the real tcpdump: every expression of
// test/fixtures/filter/expressions.txt is compiled by tsbpf and by tcpdump
// for every committed capture, and both must select exactly the same packets
// (or both reject the expression, with the same message). tsbpf's program
// runs on the test-only reference evaluator and, as a second opinion, on
// ClassicFilter (the eBPF translation on the interpreter).
// Skipped with a message when tcpdump is not installed.
//
// Every expression runs on the Ethernet capture and on one of the other
// five (in turn; eth-chain.pcap is generated, see chain-capture.ts), which keeps the run short on a busy machine; set
// TSBPF_FILTER_FULL=1 to run every expression on every capture.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileFilter, FilterError } from '../../../src/cbpf/filter/index.js';
import type { ClassicInsn } from '../../../src/cbpf/insn.js';
import { ClassicFilter } from '../../../src/cbpf/classic-filter.js';
import { parseCapture, type PacketRecord } from '../../../src/pcap/index.js';
import { FIXTURES } from '../../paths.js';
import { evalClassic } from './classic-eval.js';
import { randomExpressions } from './random-exprs.js';

const DIR = join(FIXTURES, 'filter');
const CAPTURES = ['eth-mixed.pcap', 'eth-short.pcap', 'sll-mixed.pcap', 'sll2-mixed.pcap', 'raw-mixed.pcap', 'eth-chain.pcap'];
const CONCURRENCY = 8;

const hasTcpdump = spawnSync('tcpdump', ['--version'], { stdio: 'ignore' }).status === 0;

interface Capture {
  name: string;
  path: string;
  linkType: number;
  snaplen: number;
  packets: PacketRecord[];
}

function loadCapture(name: string): Capture {
  const path = join(DIR, name);
  const bytes = new Uint8Array(readFileSync(path));
  const packets = [...parseCapture(bytes, { copy: true })];
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  return { name, path, linkType: dv.getUint32(20, true), snaplen: dv.getUint32(16, true), packets };
}

function expressions(): string[] {
  return readFileSync(join(DIR, 'expressions.txt'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

type Outcome = { ok: true; indices: number[] } | { ok: false; message: string };

function runTcpdump(cap: Capture, expr: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const p = spawn('tcpdump', ['-r', cap.path, '-w', '-', '--', expr], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) {
        const line = err.split('\n').find((l) => l.startsWith('tcpdump: ')) ?? err.trim();
        resolve({ ok: false, message: line.replace(/^tcpdump: /, '') });
        return;
      }
      // Map tcpdump's output records back to input indices (order is preserved).
      const selected = [...parseCapture(new Uint8Array(Buffer.concat(out)), { copy: true })];
      const indices: number[] = [];
      let i = 0;
      for (const r of selected) {
        while (i < cap.packets.length && !samePacket(cap.packets[i]!, r)) i++;
        if (i === cap.packets.length) {
          reject(new Error(`tcpdump output record not found in ${cap.name}`));
          return;
        }
        indices.push(i++);
      }
      resolve({ ok: true, indices });
    });
  });
}

function samePacket(a: PacketRecord, b: PacketRecord): boolean {
  return a.tsSec === b.tsSec && a.tsNsec === b.tsNsec && a.data.length === b.data.length && Buffer.compare(a.data, b.data) === 0;
}

function ours(cap: Capture, expr: string): { outcome: Outcome; prog?: ClassicInsn[] } {
  let prog: ClassicInsn[];
  try {
    prog = compileFilter(expr, { linkType: cap.linkType, snaplen: cap.snaplen });
  } catch (e) {
    if (e instanceof FilterError) return { outcome: { ok: false, message: e.reason } };
    throw e;
  }
  const indices: number[] = [];
  cap.packets.forEach((p, i) => {
    if (evalClassic(prog, p.data, p.wireLen) !== 0) indices.push(i);
  });
  return { outcome: { ok: true, indices }, prog };
}

/**
 * Why two outcomes differ, or undefined when they agree. "expression rejects
 * all packets" is tcpdump's optimiser speaking, so it agrees with a program
 * that selects nothing.
 */
function compare(theirs: Outcome, mine: Outcome): string | undefined {
  const nothing = (o: Outcome): boolean => (o.ok ? o.indices.length === 0 : o.message === 'expression rejects all packets');
  if (theirs.ok && mine.ok) {
    if (theirs.indices.join(',') === mine.indices.join(',')) return undefined;
    const only = (a: number[], b: number[]): number[] => a.filter((x) => !b.includes(x)).slice(0, 8);
    return `tcpdump-only ${only(theirs.indices, mine.indices)} tsbpf-only ${only(mine.indices, theirs.indices)}`;
  }
  if (!theirs.ok && !mine.ok) return theirs.message === mine.message ? undefined : `tcpdump says "${theirs.message}", tsbpf says "${mine.message}"`;
  if (nothing(theirs) && nothing(mine)) return undefined;
  const show = (o: Outcome): string => (o.ok ? `selects ${o.indices.length}` : `rejects: ${o.message}`);
  return `tcpdump ${show(theirs)}, tsbpf ${show(mine)}`;
}

async function pool<T>(items: T[], n: number, f: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await f(items[next++]!);
    }),
  );
}

test('filter: tsbpf selects exactly the packets tcpdump selects', { skip: hasTcpdump ? false : 'tcpdump not installed (apt-get install tcpdump)' }, async (t) => {
  const caps = CAPTURES.map(loadCapture);
  const exprs = expressions();
  assert.ok(exprs.length >= 200, `corpus has ${exprs.length} expressions, want >= 200`);
  const full = process.env.TSBPF_FILTER_FULL === '1';
  const others = caps.slice(1);
  const jobs = exprs.flatMap((expr, i) => (full ? caps : [caps[0]!, others[i % others.length]!]).map((cap) => ({ expr, cap })));
  const failures: string[] = [];
  let compared = 0;
  let accepted = 0;
  await pool(jobs, CONCURRENCY, async ({ expr, cap }) => {
    const theirs = await runTcpdump(cap, expr);
    const mine = ours(cap, expr).outcome;
    compared++;
    const problem = compare(theirs, mine);
    if (problem !== undefined) failures.push(`${cap.name}: '${expr}': ${problem}`);
    else if (theirs.ok && theirs.indices.length > 0) accepted++;
  });
  assert.equal(compared, jobs.length);
  assert.deepEqual(failures, []);
  // The corpus must exercise the captures: most expressions select something somewhere.
  assert.ok(accepted > exprs.length, `only ${accepted} (expression, capture) pairs selected any packet`);
  t.diagnostic(`compared ${compared} (expression, capture) pairs${full ? '' : `; TSBPF_FILTER_FULL=1 compares all ${exprs.length * caps.length}`}`);
});

test('filter: random expressions select what tcpdump selects, or fail the same way', { skip: hasTcpdump ? false : 'tcpdump not installed (apt-get install tcpdump)' }, async (t) => {
  const full = process.env.TSBPF_FILTER_FULL === '1';
  const caps = CAPTURES.map(loadCapture);
  const exprs = randomExpressions(20261125, full ? 400 : 80);
  const failures: string[] = [];
  await pool(exprs.map((expr, i) => ({ expr, cap: full ? caps[i % caps.length]! : caps[0]! })), CONCURRENCY, async ({ expr, cap }) => {
    const problem = compare(await runTcpdump(cap, expr), ours(cap, expr).outcome);
    if (problem !== undefined) failures.push(`${cap.name}: '${expr}': ${problem}`);
  });
  t.diagnostic(`${exprs.length} random expressions`);
  assert.deepEqual(failures, []);
});

test('filter: the eBPF translation selects what the classic program selects', () => {
  // Every expression on the Ethernet capture and on one other capture, in turn.
  const caps = CAPTURES.map(loadCapture);
  const others = caps.slice(1);
  const mismatches: string[] = [];
  expressions().forEach((expr, i) => {
    for (const cap of [caps[0]!, others[i % others.length]!]) {
      const { outcome, prog } = ours(cap, expr);
      if (!outcome.ok || prog === undefined) continue;
      const f = new ClassicFilter(prog, { snaplen: cap.snaplen });
      try {
        const viaEbpf = cap.packets.flatMap((p, j) => (f.run(p.data, p.wireLen) !== 0 ? [j] : []));
        if (viaEbpf.join(',') !== outcome.indices.join(',')) mismatches.push(`${cap.name}: ${expr}`);
      } finally {
        f.dispose();
      }
    }
  });
  assert.deepEqual(mismatches, []);
});
