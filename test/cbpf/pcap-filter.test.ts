// End to end: the programs tcpdump compiles for each fixture capture, read
// with our -ddd reader, translated and run on every engine, must accept
// exactly the packets tcpdump itself accepts from the same file. Skips
// (with a message) without tcpdump.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicFilter } from '../../src/cbpf/classic-filter.js';
import { parseDdd } from '../../src/cbpf/read.js';
import { linkTypeInfo, LINKTYPE } from '../../src/pcap/linktype.js';
import { readCaptureSync } from '../../src/pcap/reader.js';
import { PcapWriter, fileSink } from '../../src/pcap/writer.js';
import { createVm } from '../../src/vm/vm.js';
import { engineNames } from '../../src/vm/engines.js';
import { FIXTURES } from '../paths.js';

const DIR = join(FIXTURES, 'pcap');
const haveTcpdump = spawnSync('tcpdump', ['--version']).status === 0;
const skip = haveTcpdump ? false : 'tcpdump not installed';

const EXPRESSIONS = [
  'ip',
  'ip6',
  'tcp',
  'udp',
  'icmp or icmp6',
  'tcp port 47001',
  'udp dst port 47002',
  'udp and port 47003',
  'tcp[tcpflags] & (tcp-syn|tcp-fin) != 0',
  'tcp[tcpflags] & tcp-push != 0 and len > 200',
  'ip[2:2] - ((ip[0]&0xf)<<2) - ((tcp[12]&0xf0)>>2) > 100',
  'greater 500',
  'less 80',
  'host 127.0.0.1 and not tcp',
  'ip6 and udp[8:4] = 0x02020202',
  'inbound',
  'ether[0] & 1 = 0',
  'ip6[6] = 17',
  'udp[4:2] > 200',
];

/** Identity of a packet; microseconds, because tcpdump -w writes microsecond pcap even from a nanosecond file. */
const key = (p: { tsSec: number; tsNsec: number; wireLen: number }): string => `${p.tsSec}.${Math.floor(p.tsNsec / 1000)}/${p.wireLen}`;

/** The packets tcpdump accepts from a file. */
function tcpdumpAccepts(file: string, expr: string, tmp: string): string[] | undefined {
  const out = join(tmp, 'out.pcap');
  const r = spawnSync('tcpdump', ['-r', file, '-w', out, expr], { encoding: 'utf8' });
  if (r.status !== 0) return undefined; // not valid for this link type (e.g. 'inbound' on Ethernet)
  return [...readCaptureSync(out)].map((p) => key(p));
}

function ourAccepts(file: string, ddd: string, engine: string): string[] {
  const prog = parseDdd(ddd);
  const vm = createVm();
  let f: ClassicFilter | undefined;
  const acc: string[] = [];
  for (const p of readCaptureSync(file)) {
    const info = linkTypeInfo(p.linkType);
    f ??= new ClassicFilter(prog, { vm, engine, ...(info && { hatype: info.hatype }) });
    if (f.run(p.data, p.wireLen) !== 0) acc.push(key(p));
  }
  return acc;
}

function compareFile(file: string, tmp: string): number {
  let compared = 0;
  for (const expr of EXPRESSIONS) {
    const want = tcpdumpAccepts(file, expr, tmp);
    if (want === undefined) continue;
    const ddd = spawnSync('tcpdump', ['-r', file, '-ddd', expr], { encoding: 'utf8' }).stdout;
    for (const engine of engineNames()) {
      assert.deepEqual(ourAccepts(file, ddd, engine), want, `${file} '${expr}' on ${engine}`);
    }
    compared++;
  }
  return compared;
}

for (const name of ['lo-us.pcap', 'lo-ns.pcap', 'any-sll.pcap', 'any-sll2.pcap', 'lo-ns.pcapng']) {
  test(`${name}: filters accept exactly what tcpdump accepts`, { skip }, () => {
    const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-cbpf-'));
    try {
      const n = compareFile(join(DIR, name), tmp);
      assert.ok(n >= EXPRESSIONS.length - 2, `only ${n} expressions compiled for ${name}`);
    } finally {
      rmSync(tmp, { recursive: true });
    }
  });
}

test('raw IP captures (written by our writer, read by tcpdump): same acceptance', { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-cbpf-'));
  try {
    const raw = join(tmp, 'raw.pcap');
    const w = new PcapWriter(fileSink(raw), { linkType: LINKTYPE.RAW });
    for (const p of readCaptureSync(join(DIR, 'lo-us.pcap'))) w.write({ ...p, data: p.data.subarray(14), wireLen: p.wireLen - 14 });
    w.close();
    assert.ok(compareFile(raw, tmp) >= EXPRESSIONS.length - 3);
  } finally {
    rmSync(tmp, { recursive: true });
  }
});
