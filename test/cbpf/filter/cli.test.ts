// `tsbpf filter` end to end: the verb run as a process on the committed captures.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileFilter } from '../../../src/cbpf/filter/index.js';
import { disassembleClassic } from '../../../src/cbpf/disasm.js';
import { MemorySink, PcapWriter, parseCapture } from '../../../src/pcap/index.js';
import { FIXTURES, ROOT } from '../../paths.js';
import { evalClassic } from './classic-eval.js';

const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const CAP = join(FIXTURES, 'filter', 'eth-mixed.pcap');

function tsbpf(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return tsbpfWithInput(undefined, ...args);
}

function tsbpfWithInput(input: Buffer | undefined, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, 'filter', ...args], { encoding: 'utf8', ...(input && { input }) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const packets = [...parseCapture(new Uint8Array(readFileSync(CAP)), { copy: true })];
const expected = (expr: string): number[] => {
  const prog = compileFilter(expr);
  return packets.flatMap((p, i) => (evalClassic(prog, p.data, p.wireLen) !== 0 ? [i] : []));
};

test('tsbpf filter -d prints the program like tcpdump -d; words are joined', () => {
  const r = tsbpf('-d', 'tcp', 'port', '22');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), disassembleClassic(compileFilter('tcp port 22')).trim());
  const dd = tsbpf('-d', '--output', 'ddd', 'ip');
  assert.equal(dd.stdout.trim().split('\n')[0], '4');
});

test('tsbpf filter -r lists matching packets and the counts', () => {
  const r = tsbpf('-r', CAP, 'udp port 53 or icmp');
  assert.equal(r.status, 0, r.stderr);
  const out = r.stdout.trim().split('\n');
  const want = expected('udp port 53 or icmp');
  assert.ok(want.length > 4);
  assert.deepEqual(out.slice(0, -1).map((l) => Number(l.split('\t')[0])), want);
  assert.equal(out.at(-1), `${packets.length} packets read, ${want.length} matched 'udp port 53 or icmp'`);
});

test('tsbpf filter -w writes exactly the matching packets; -c stops early', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-filter-'));
  try {
    const out = join(dir, 'out.pcap');
    const r = tsbpf('-r', CAP, '-w', out, 'tcp[tcpflags] & tcp-syn != 0');
    assert.equal(r.status, 0, r.stderr);
    const want = expected('tcp[tcpflags] & tcp-syn != 0');
    const got = [...parseCapture(new Uint8Array(readFileSync(out)), { copy: true })];
    assert.equal(got.length, want.length);
    got.forEach((p, i) => assert.deepEqual(p.data, packets[want[i]!]!.data));
    const c = tsbpf('-r', CAP, '-q', '-c', '3', 'ip6');
    assert.match(c.stdout, /, 3 matched 'ip6'/);
    const stdin = tsbpfWithInput(readFileSync(CAP), '-r', '-', '-q', 'arp');
    assert.equal(stdin.stdout.trim(), `${packets.length} packets read, ${expected('arp').length} matched 'arp'`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tsbpf filter: bad expressions exit 1 with tcpdump\'s message and a caret; bad usage exits 2', () => {
  const bad = tsbpf('-d', 'tcp port 80 and $');
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /can't parse filter expression: syntax error\n {2}tcp port 80 and \$\n {18}\^/);
  assert.equal(tsbpf('-d', 'host localhost').stderr.split('\n')[0], "tsbpf filter: unknown host 'localhost'");
  assert.equal(tsbpf('ip').status, 2);
  assert.equal(tsbpf('-d', '--link-type', 'NOPE', 'ip').status, 2);
  const missing = tsbpf('-r', join(FIXTURES, 'filter', 'missing.pcap'), 'ip');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /^tsbpf filter: ENOENT: no such file or directory, open '.*missing\.pcap'/);
  assert.equal(tsbpf('-r', CAP, '-w', join(FIXTURES, 'no-such-dir', 'x.pcap'), 'ip').status, 1);
});

test('tsbpf filter: a progress line on long captures, counts at the end', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-filter-'));
  try {
    // 30 copies of the capture: over 4000 packets.
    const sink = new MemorySink();
    const w = new PcapWriter(sink, { linkType: 1 });
    for (let i = 0; i < 30; i++) for (const p of packets) w.write(p);
    w.close();
    const big = join(dir, 'big.pcap');
    writeFileSync(big, sink.bytes());
    const r = tsbpf('-r', big, '-q', '--progress', '0.000001', 'udp');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /big\.pcap: \d+ packets read, \d+ matched\.\.\./);
    assert.equal(r.stdout.trim(), `${30 * packets.length} packets read, ${30 * expected('udp').length} matched 'udp'`);
    assert.equal(tsbpf('-r', big, '-q', '--progress', '0', 'udp').stderr, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tsbpf filter --ebpf prints the translation with the classic lines as comments', () => {
  const r = tsbpf('--ebpf', '--link-type', 'RAW', 'ip');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /; \(000\) ldb {6}\[0\]/);
  assert.match(r.stdout, /exit/);
});
