// OSI and IS-IS filters (clnp, esis, isis, l1, l2, iih, lsp, snp, csnp,
// psnp) against the real tcpdump: the -d listings on the link types that
// carry them, and the packets selected from a generated capture of OSI
// frames (every network protocol id and IS-IS PDU type that matters, plain,
// VLAN-tagged and inside PPPoE) mixed with frames that only look alike.
// Skipped with a message when tcpdump is not installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileFilter } from '../../../src/cbpf/filter/index.js';
import { disassembleClassic } from '../../../src/cbpf/disasm.js';
import { LINKTYPE, PcapWriter, fileSink, linkTypeName, parseCapture } from '../../../src/pcap/index.js';
import { evalClassic } from './classic-eval.js';

const hasTcpdump = spawnSync('tcpdump', ['--version'], { stdio: 'ignore' }).status === 0;
const SKIP = hasTcpdump ? false : 'tcpdump not installed';

const EXPRS = [
  'clnp', 'esis', 'es-is', 'isis', 'is-is', 'l1', 'l2', 'iih', 'lsp', 'snp', 'csnp', 'psnp',
  'isis and not iih', 'clnp or esis', 'l1 or tcp', 'not l2', 'vlan and isis', 'vlan 7 and l1', 'pppoes and clnp', 'pppoes 5 and lsp',
];

test('OSI and IS-IS filters: -d prints what tcpdump -d prints (Ethernet, Linux cooked v1 and v2)', { skip: SKIP }, () => {
  for (const lt of [LINKTYPE.ETHERNET, LINKTYPE.LINUX_SLL, LINKTYPE.LINUX_SLL2]) {
    for (const expr of EXPRS) {
      const theirs = spawnSync('tcpdump', ['-y', linkTypeName(lt), '-d', '--', expr], { encoding: 'utf8' });
      if (theirs.status !== 0) continue; // e.g. vlan on Linux cooked captures: an error for both, checked elsewhere
      assert.equal(disassembleClassic(compileFilter(expr, { linkType: lt })).trim(), theirs.stdout.trim(), `${linkTypeName(lt)} '${expr}'`);
    }
  }
});

/** Ethernet frames: 802.3 + LLC with every NLPID and IS-IS PDU type of interest, some tagged or in PPPoE, and look-alikes. */
function osiFrames(): Uint8Array[] {
  const mac = [0x01, 0x80, 0xc2, 0x00, 0x00, 0x14, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55];
  const frames: Uint8Array[] = [];
  const llc = (dsap: number, ssap: number, nlpid: number, pdu: number): number[] => [dsap, ssap, 0x03, nlpid, 27, 1, 0, pdu, 1, 0, 0, 0, 0, 0, 0, 0];
  const dot3 = (body: number[]): number[] => [...mac, body.length >> 8, body.length & 0xff, ...body];
  for (const nlpid of [0x81, 0x82, 0x83, 0x84, 0x00]) {
    for (const pdu of nlpid === 0x83 ? [0, 14, 15, 16, 17, 18, 19, 20, 24, 25, 26, 27, 28] : [17]) {
      frames.push(Uint8Array.from(dot3(llc(0xfe, 0xfe, nlpid, pdu))));
      // 802.1Q tag 7 and 8, then the same
      for (const vid of [7, 8]) frames.push(Uint8Array.from([...mac, 0x81, 0x00, 0x00, vid, 0x00, 19, ...llc(0xfe, 0xfe, nlpid, pdu)]));
      // PPPoE session 5 carrying PPP protocol 0x0023 (OSI): the NLPID right after the PPP header
      frames.push(Uint8Array.from([...mac, 0x88, 0x64, 0x11, 0x00, 0x00, 0x05, 0x00, 0x12, 0x00, 0x23, nlpid, 27, 1, 0, pdu, 0, 0, 0]));
    }
  }
  // look-alikes: another SAP, an Ethernet type instead of a length, a short frame
  frames.push(Uint8Array.from(dot3(llc(0x42, 0x42, 0x83, 17))));
  frames.push(Uint8Array.from([...mac, 0x08, 0x00, ...llc(0xfe, 0xfe, 0x83, 17)]));
  frames.push(Uint8Array.from(dot3(llc(0xfe, 0xfe, 0x83, 17)).slice(0, 19)));
  return frames;
}

test('OSI and IS-IS filters select the packets tcpdump selects', { skip: SKIP }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-iso-'));
  try {
    const frames = osiFrames();
    const file = join(dir, 'osi.pcap');
    const w = new PcapWriter(fileSink(file), { linkType: LINKTYPE.ETHERNET });
    frames.forEach((data, i) => w.write({ data, wireLen: data.length, tsSec: 1000 + i }));
    w.close();
    let nonEmpty = 0;
    for (const expr of EXPRS) {
      const prog = compileFilter(expr, { linkType: LINKTYPE.ETHERNET });
      const ours = frames.flatMap((f, i) => (evalClassic(prog, f) !== 0 ? [i] : []));
      const theirs = spawnSync('tcpdump', ['-r', file, '-w', '-', '--', expr], { stdio: ['ignore', 'pipe', 'ignore'] });
      assert.equal(theirs.status, 0, `tcpdump '${expr}'`);
      const want = [...parseCapture(new Uint8Array(theirs.stdout))].map((p) => p.tsSec - 1000);
      assert.deepEqual(ours, want, `'${expr}'`);
      if (want.length > 0) nonEmpty++;
    }
    assert.ok(nonEmpty >= EXPRS.length - 1, `only ${nonEmpty} of ${EXPRS.length} expressions select anything`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
