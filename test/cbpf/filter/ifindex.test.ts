// `ifindex N`: the interface index field of Linux cooked v2 captures, the
// only savefiles that record it; elsewhere tcpdump's error. Checked against
// the real tcpdump on the committed SLL2 capture (skipped without tcpdump).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileFilter, FilterError } from '../../../src/cbpf/filter/index.js';
import { disassembleClassic } from '../../../src/cbpf/disasm.js';
import { LINKTYPE, parseCapture } from '../../../src/pcap/index.js';
import { FIXTURES } from '../../paths.js';
import { evalClassic } from './classic-eval.js';

const SLL2 = join(FIXTURES, 'filter', 'sll2-mixed.pcap');
const hasTcpdump = spawnSync('tcpdump', ['--version'], { stdio: 'ignore' }).status === 0;

test('ifindex: a 32-bit compare at offset 4 of the Linux cooked v2 header; an error on other link types', () => {
  assert.equal(disassembleClassic(compileFilter('ifindex 3', { linkType: LINKTYPE.LINUX_SLL2 })).trim(), '(000) ld       [4]\n(001) jeq      #0x3             jt 2\tjf 3\n(002) ret      #262144\n(003) ret      #0');
  assert.match(disassembleClassic(compileFilter('ifindex 4294967295', { linkType: LINKTYPE.LINUX_SLL2 })), /jeq +#0xffffffff/);
  for (const [lt, name] of [[LINKTYPE.ETHERNET, 'Ethernet'], [LINKTYPE.LINUX_SLL, 'Linux cooked v1'], [LINKTYPE.RAW, 'Raw IP']] as const) {
    assert.throws(() => compileFilter('tcp and ifindex 3', { linkType: lt }), (e: unknown) => e instanceof FilterError && e.reason === `ifindex not supported on ${name} when reading savefiles`);
  }
  assert.throws(() => compileFilter('pppoes and ifindex 3', { linkType: LINKTYPE.LINUX_SLL2 }), (e: unknown) => e instanceof FilterError && /not supported on PPP/.test(e.reason));
});

test('ifindex selects the packets tcpdump selects on the Linux cooked v2 capture', { skip: hasTcpdump ? false : 'tcpdump not installed' }, () => {
  const packets = [...parseCapture(new Uint8Array(readFileSync(SLL2)), { copy: true })];
  const key = (p: { tsSec: number; tsNsec: number; wireLen: number }): string => `${p.tsSec}.${p.tsNsec} ${p.wireLen}`;
  let nonEmpty = 0;
  for (const expr of ['ifindex 1', 'ifindex 2', 'ifindex 2 and tcp', 'not ifindex 1', 'udp or ifindex 1', 'ifindex 0x7']) {
    const prog = compileFilter(expr, { linkType: LINKTYPE.LINUX_SLL2 });
    const ours = packets.filter((p) => evalClassic(prog, p.data, p.wireLen) !== 0).map(key);
    const theirs = spawnSync('tcpdump', ['-r', SLL2, '-w', '-', '--', expr], { stdio: ['ignore', 'pipe', 'ignore'] });
    assert.equal(theirs.status, 0, expr);
    assert.deepEqual(ours, [...parseCapture(new Uint8Array(theirs.stdout))].map(key), `'${expr}'`);
    if (ours.length > 0) nonEmpty++;
  }
  assert.ok(nonEmpty >= 5, `only ${nonEmpty} expressions select anything`);
});
