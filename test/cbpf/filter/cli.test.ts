// `tsbpf filter` end to end: the verb run as a process on the committed captures.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { PacketRecord } from '../../../src/pcap/index.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileFilter } from '../../../src/cbpf/filter/index.js';
import { disassembleClassic } from '../../../src/cbpf/disasm.js';
import { MemorySink, PcapWriter, PcapngWriter, fileSink, parseCapture, readCaptureSync } from '../../../src/pcap/index.js';
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
    // Runs of matches longer than the writer's buffer go straight to the file: still the same bytes.
    const out = join(dir, 'out.pcap');
    const want = expectedPcap(big, 'ip or ip6');
    assert.ok(want.bytes.length > 1 << 17, `only ${want.bytes.length} bytes selected`);
    assert.equal(tsbpf('-r', big, '-w', out, 'ip or ip6').status, 0);
    assert.deepEqual(new Uint8Array(readFileSync(out)), want.bytes);
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

/** What -w must write: every accepted packet, cut to the accept length, through the pcap writer (microseconds). */
function expectedPcap(file: string, expr: string, snaplen?: number): { bytes: Uint8Array; matched: number; total: number } {
  const sink = new MemorySink();
  let w: PcapWriter | undefined;
  let matched = 0;
  let total = 0;
  for (const p of parseCapture(new Uint8Array(readFileSync(file)))) {
    total++;
    const r = evalClassic(compileFilter(expr, { linkType: p.linkType, ...(snaplen !== undefined && { snaplen }) }), p.data, p.wireLen);
    if (r === 0) continue;
    matched++;
    w ??= new PcapWriter(sink, { linkType: p.linkType });
    w.write({ data: p.data.subarray(0, Math.min(r, p.data.length)), wireLen: p.wireLen, tsSec: p.tsSec, tsNsec: p.tsNsec });
  }
  w?.close();
  return { bytes: sink.bytes(), matched, total };
}

test('tsbpf filter -w is byte-identical to the writer fed the accepted packets (pcap, nanosecond pcap, pcapng; accept length cuts)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-filter-'));
  try {
    const cases: [string, string, string[]][] = [
      [CAP, 'tcp or udp', []],
      [CAP, 'ip', ['--snaplen', '60']],
      [join(FIXTURES, 'pcap', 'lo-ns.pcap'), 'tcp', []],
      [join(FIXTURES, 'pcap', 'lo-ns.pcapng'), 'tcp[tcpflags] & tcp-ack != 0', ['--snaplen', '70']],
    ];
    for (const [file, expr, extra] of cases) {
      const out = join(dir, 'out.pcap');
      rmSync(out, { force: true });
      const snaplen = extra[0] === '--snaplen' ? Number(extra[1]) : undefined;
      const want = expectedPcap(file, expr, snaplen);
      assert.ok(want.matched > 2 && want.matched < want.total, `${file} '${expr}' selects ${want.matched} of ${want.total}`);
      const r = tsbpf('-r', file, '-w', out, ...extra, expr);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), `${want.total} packets read, ${want.matched} matched '${expr}', written to ${out}`);
      assert.deepEqual(new Uint8Array(readFileSync(out)), want.bytes, `${file} '${expr}' ${extra.join(' ')}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tsbpf filter -c stops after COUNT matches when writing; -w refuses matches of two link types', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-filter-'));
  try {
    const out = join(dir, 'out.pcap');
    const want = expected('tcp');
    const r = tsbpf('-r', CAP, '-w', out, '-c', '5', 'tcp');
    assert.equal(r.status, 0, r.stderr);
    // The count of packets read stops at the fifth match, as tcpdump -c does.
    assert.equal(r.stdout.trim(), `${want[4]! + 1} packets read, 5 matched 'tcp', written to ${out}`);
    const got = [...parseCapture(new Uint8Array(readFileSync(out)), { copy: true })];
    assert.deepEqual(got.map((p) => p.data), want.slice(0, 5).map((i) => packets[i]!.data));
    // two-if.pcapng has an Ethernet and a Linux cooked interface, both carrying IP.
    const mixed = tsbpf('-r', join(FIXTURES, 'pcap', 'two-if.pcapng'), '-w', join(dir, 'mixed.pcap'), 'ip or ip6');
    assert.equal(mixed.status, 2);
    assert.match(mixed.stderr, /-w writes one pcap link type, but matching packets are EN10MB and LINUX_SLL/);
    // Listing works across link types: indices count every packet of the file.
    const list = tsbpf('-r', join(FIXTURES, 'pcap', 'two-if.pcapng'), 'ip or ip6');
    assert.equal(list.status, 0, list.stderr);
    const all = [...parseCapture(new Uint8Array(readFileSync(join(FIXTURES, 'pcap', 'two-if.pcapng'))), { copy: true })];
    const idx = all.flatMap((p, i) => (evalClassic(compileFilter('ip or ip6', { linkType: p.linkType }), p.data, p.wireLen) !== 0 ? [i] : []));
    const lines = list.stdout.trim().split('\n');
    assert.deepEqual(lines.slice(0, -1).map((l) => Number(l.split('\t')[0])), idx);
    assert.equal(lines.at(-1), `${all.length} packets read, ${idx.length} matched 'ip or ip6'`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const hasTcpdump = spawnSync('tcpdump', ['--version'], { stdio: 'ignore' }).status === 0;

test('tsbpf filter -w writes the packets tcpdump -w writes, on every link type of the filter captures', { skip: hasTcpdump ? false : 'tcpdump not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-filter-'));
  let nonEmpty = 0;
  const key = (p: PacketRecord): string => `${p.tsSec}.${p.tsNsec} ${p.wireLen} ${Buffer.from(p.data).toString('hex')}`;
  try {
    const files: string[] = [];
    for (const name of ['eth-mixed.pcap', 'eth-short.pcap', 'sll-mixed.pcap', 'sll2-mixed.pcap', 'raw-mixed.pcap']) {
      const file = join(FIXTURES, 'filter', name);
      // and the same packets as big-endian pcapng in nanoseconds (the pcapng scan driver's byte swaps and division)
      const ng = join(dir, `${name}ng`);
      const recs = [...readCaptureSync(file)].map((p) => ({ ...p, data: p.data.slice() }));
      const w = new PcapngWriter(fileSink(ng), { bigEndian: true, interfaces: [{ linkType: recs[0]!.linkType, tsDecimals: 9 }] });
      for (const p of recs) w.write(p);
      w.close();
      files.push(file, ng);
    }
    for (const file of files) {
      const name = file;
      for (const expr of ['tcp port 80 or udp port 53', 'ip6 and not icmp6', 'tcp[tcpflags] & tcp-syn != 0']) {
        const out = join(dir, 'out.pcap');
        const r = tsbpf(expr, '-r', file, '-w', out);
        assert.equal(r.status, 0, r.stderr);
        const theirs = spawnSync('tcpdump', ['-r', file, '-w', '-', '--', expr], { stdio: ['ignore', 'pipe', 'ignore'] });
        assert.equal(theirs.status, 0);
        const want = [...parseCapture(new Uint8Array(theirs.stdout), { copy: true })].map(key);
        const got = [...parseCapture(new Uint8Array(readFileSync(out)), { copy: true })].map(key);
        assert.deepEqual(got, want, `${name} '${expr}'`);
        assert.match(r.stdout, new RegExp(`, ${want.length} matched`));
        if (want.length > 0) nonEmpty++;
      }
    }
    assert.ok(nonEmpty >= 24, `only ${nonEmpty} of 30 cases select anything`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
