// protochain (libpcap's backward-jump loop over IPv6/IPv4 extension
// headers) from expression to packets: tcpdump -d identity, the packets
// tcpdump selects on the generated capture test/fixtures/filter/eth-chain.pcap
// (the test oracle, ClassicFilter on the interpreter and on the JIT, and
// `tsbpf filter`'s scan driver), the libpcap-dialect checker rules, the
// translation's loop bound, and the verifier on the loop.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileFilter } from '../../../src/cbpf/filter/index.js';
import { disassembleClassic } from '../../../src/cbpf/disasm.js';
import { checkClassic, isLibpcapProgram, markLibpcapProgram } from '../../../src/cbpf/check.js';
import { ClassicFilter } from '../../../src/cbpf/classic-filter.js';
import { assembleClassic } from '../../../src/cbpf/asm.js';
import { ClassicError } from '../../../src/cbpf/errors.js';
import { LOOP_BUDGET, translateClassic } from '../../../src/cbpf/translate.js';
import { decodeProgram } from '../../../src/isa/index.js';
import { verify } from '../../../src/verifier/index.js';
import { BPF_PROG_TYPE } from '../../../src/internal/uapi.gen.js';
import { parseCapture, type PacketRecord } from '../../../src/pcap/index.js';
import { FIXTURES, ROOT } from '../../paths.js';
import { chainCapture, chainPackets } from '../../fixtures/filter/chain-capture.js';
import { evalClassic } from './classic-eval.js';

const CAP = join(FIXTURES, 'filter', 'eth-chain.pcap');
const MIXED = join(FIXTURES, 'filter', 'eth-mixed.pcap');
const hasTcpdump = spawnSync('tcpdump', ['--version'], { stdio: 'ignore' }).status === 0;
const NO_TCPDUMP = hasTcpdump ? false : 'tcpdump not installed (apt-get install tcpdump)';

const EXPRS = [
  'ip6 protochain 6',
  'ip6 protochain 17',
  'ip6 protochain 58',
  'ip6 protochain 59',
  'ip6 protochain 50',
  'ip6 protochain 44',
  'ip protochain 6',
  'ip protochain 17',
  'ip protochain 51',
  'protochain 6',
  'protochain gre',
  'not protochain 6',
  'protochain 6 and tcp',
  'tcp and protochain 17',
  'protochain 6 or protochain 17',
  'vlan and ip6 protochain 6',
  'ip6 protochain 6 and ip6 host fd77::1',
];

const GENEVE_EXPRS = [
  'geneve',
  'geneve 5',
  'geneve 9',
  'geneve 0x123456',
  'geneve 16777215',
  'not geneve',
  'udp and geneve',
  'geneve and ip',
  'geneve and ip6',
  'geneve and arp',
  'geneve and ip host 1.2.3.4',
  'geneve and host 192.168.5.1',
  'geneve and src host 1.2.3.4',
  'geneve and tcp',
  'geneve and udp',
  'geneve and tcp port 80',
  'geneve and port 53',
  'geneve and udp port 123',
  'geneve and portrange 50-130',
  'geneve and ether host 02:11:22:33:44:55',
  'geneve and ether src 02:aa:bb:cc:dd:01',
  'geneve and ether broadcast',
  'geneve and ether multicast',
  'geneve and tcp[13] & 2 != 0',
  'geneve and ip[9] = 17',
  'geneve and ip6 host fd77::2',
  'geneve and tcp dst port 443',
  'geneve 5 and udp',
  'geneve and ip[2:2] > 40',
  'geneve and ether[12:2] = 0x800',
  'geneve and ip[ip[0] & 0xf] > 0',
  'geneve and tcp[tcp[12] >> 4] >= 0',
  'geneve and ether proto 0x86dd',
  'geneve and vlan',
  'geneve and geneve',
  'geneve and len > 100',
];

const packetsOf = (file: string): PacketRecord[] => [...parseCapture(new Uint8Array(readFileSync(file)), { copy: true })];

/** Indices of the packets tcpdump writes for expr (records are matched by timestamp and bytes). */
function tcpdumpSelects(file: string, expr: string, pkts: PacketRecord[]): number[] {
  const r = spawnSync('tcpdump', ['-r', file, '-w', '-', '--', expr], { maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, `tcpdump ${expr}: ${r.stderr}`);
  const out = [...parseCapture(new Uint8Array(r.stdout), { copy: true })];
  const idx: number[] = [];
  let i = 0;
  for (const o of out) {
    while (i < pkts.length && !(pkts[i]!.tsSec === o.tsSec && pkts[i]!.tsNsec === o.tsNsec && Buffer.compare(pkts[i]!.data, o.data) === 0)) i++;
    assert.ok(i < pkts.length, `tcpdump record not in ${file}`);
    idx.push(i++);
  }
  return idx;
}

test('eth-chain.pcap is what its generator writes', () => {
  assert.deepEqual(new Uint8Array(readFileSync(CAP)), chainCapture());
  assert.ok(chainPackets().length >= 30);
});

test('protochain and geneve: -d prints what tcpdump -d prints (libpcap leaves these unoptimised)', { skip: NO_TCPDUMP }, () => {
  const differ: string[] = [];
  for (const expr of [...EXPRS, 'geneve', 'geneve 5', 'geneve and ip host 1.2.3.4', 'geneve and tcp port 80', 'geneve and ether multicast', 'vlan and geneve', 'geneve and mpls']) {
    const theirs = spawnSync('tcpdump', ['-r', CAP, '-d', '--', expr], { encoding: 'utf8' }).stdout.trim();
    const mine = disassembleClassic(compileFilter(expr)).trim();
    if (mine !== theirs) differ.push(expr);
  }
  assert.deepEqual(differ, []);
});

test('protochain: the compiled program is marked as libpcap\'s and has a backward jump', () => {
  const prog = compileFilter('ip6 protochain 6');
  assert.ok(isLibpcapProgram(prog));
  assert.ok(prog.some((i) => i.code === 0x05 && (i.k | 0) < 0));
  assert.ok(!isLibpcapProgram(compileFilter('ip6 and tcp')));
  // The mark travels where the array goes (a worker's structured clone), not to a rebuilt list.
  assert.ok(isLibpcapProgram(structuredClone(prog)));
  assert.ok(!isLibpcapProgram([...prog]));
});

test('protochain and geneve: select the packets tcpdump selects (oracle, interpreter, JIT)', { skip: NO_TCPDUMP }, () => {
  const failures: string[] = [];
  for (const file of [CAP, MIXED]) {
    const pkts = packetsOf(file);
    for (const expr of [...EXPRS, ...GENEVE_EXPRS]) {
      const want = tcpdumpSelects(file, expr, pkts).join(',');
      const prog = compileFilter(expr);
      const oracle = pkts.flatMap((p, i) => (evalClassic(prog, p.data, p.wireLen) !== 0 ? [i] : [])).join(',');
      if (oracle !== want) failures.push(`${file} ${expr}: oracle ${oracle} vs tcpdump ${want}`);
      for (const engine of ['interp', 'jit']) {
        const f = new ClassicFilter(prog, { engine });
        try {
          const got = pkts.flatMap((p, i) => (f.run(p.data, p.wireLen) !== 0 ? [i] : [])).join(',');
          if (got !== want) failures.push(`${file} ${expr} on ${engine}: ${got} vs tcpdump ${want}`);
        } finally {
          f.dispose();
        }
      }
    }
  }
  assert.deepEqual(failures, []);
  // The capture exercises the loop: chains behind extension headers are found.
  const pkts = packetsOf(CAP);
  assert.ok(tcpdumpSelects(CAP, 'ip6 protochain 6', pkts).length > tcpdumpSelects(CAP, 'ip6 proto 6', pkts).length + 3);
});

test('protochain: tsbpf filter (the scan driver) counts what tcpdump counts', { skip: NO_TCPDUMP }, () => {
  const pkts = packetsOf(CAP);
  for (const expr of ['ip6 protochain 6', 'protochain 17', 'not ip protochain 51']) {
    const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'filter', '-r', CAP, expr], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const n = tcpdumpSelects(CAP, expr, pkts).length;
    assert.match(r.stdout, new RegExp(`^${pkts.length} packets read, ${n} matched`, 'm'), expr);
  }
});

test('protochain errors are tcpdump\'s', () => {
  const reason = (e: string): string => {
    try {
      compileFilter(e);
      return '(compiled)';
    } catch (err) {
      return (err as { reason?: string }).reason ?? String(err);
    }
  };
  assert.equal(reason('tcp protochain 6'), "bad protocol applied for 'protochain'");
  assert.equal(reason('ether protochain 6'), "bad protocol applied for 'protochain'");
  assert.equal(reason('protochain foo'), "unknown ip proto 'foo'");
  assert.equal(reason('tcp protochain foo'), 'unknown protocol: foo');
  assert.equal(reason('iso protochain foo'), "unknown osi proto 'foo'");
  assert.equal(reason('ip6 protochain tcp'), "can't parse filter expression: syntax error");
});

test('checker: a backward ja is refused in kernel mode and allowed in libpcap\'s dialect', () => {
  const loop = (): ReturnType<typeof assembleClassic> => assembleClassic('ldx #0\nld #1\njeq #0, l1, l2\nl1: ja l3\nl2: ret #0\nl3: ret #1');
  checkClassic(loop());
  const back = compileFilter('ip6 protochain 6').map((i) => ({ ...i }));
  assert.throws(() => checkClassic(back), ClassicError);
  checkClassic(back, { backwardJumps: true });
  checkClassic(markLibpcapProgram(back));
  // A backward jump before the start, and M[] read on the second round only, stay errors.
  const before = [{ code: 0x05, jt: 0, jf: 0, k: -3 >>> 0 }, { code: 0x06, jt: 0, jf: 0, k: 0 }];
  assert.throws(() => checkClassic(before, { backwardJumps: true }), /before the start/);
  // pc0 ld M[0] reads before any write (the loop's store comes later).
  const lateStore = [
    { code: 0x00, jt: 0, jf: 0, k: 1 }, // ld #1
    { code: 0x15, jt: 2, jf: 0, k: 0 }, // jeq #0 -> ret
    { code: 0x60, jt: 0, jf: 0, k: 0 }, // ld M[0]
    { code: 0x05, jt: 0, jf: 0, k: -4 >>> 0 }, // ja 0
    { code: 0x06, jt: 0, jf: 0, k: 0 },
  ];
  assert.throws(() => checkClassic(lateStore, { backwardJumps: true }), /M\[0\] is read before/);
});

/** An IPv4 packet whose AH header points back at itself: libpcap's loop never ends on it. */
function selfLoopingAh(): Uint8Array {
  const pkt = new Uint8Array(14 + 20 + 24);
  pkt.set([0x08, 0x00], 12);
  pkt.set([0x45, 0, 0, 44, 0, 0, 0x40, 0, 64, 51], 14);
  // AH at IP offset 20: next header AH again, length 3 -> X = (3 + 2) * 4 = 20, the same header.
  pkt.set([51, 3], 34);
  return pkt;
}

test('translation: a loop that does not advance ends after LOOP_BUDGET rounds with 0 (interpreter and JIT)', () => {
  const prog = compileFilter('ip protochain 6');
  for (const engine of ['interp', 'jit']) {
    const f = new ClassicFilter(prog, { engine, budget: 100_000_000 });
    try {
      assert.equal(f.run(selfLoopingAh()), 0, engine);
      // The same filter still accepts a real chain afterwards (the budget is per packet).
      const ok = chainPackets().find((p) => p[12] === 0x08 && p[23] === 51 && evalClassic(prog, p) !== 0)!;
      assert.notEqual(f.run(ok), 0, engine);
    } finally {
      f.dispose();
    }
  }
  assert.equal(LOOP_BUDGET, 8192);
  assert.throws(() => evalClassic(prog, selfLoopingAh()), /loops without end/);
});

test('translation: a loop back to instruction 0 does not refill its budget', () => {
  // ld #1; ja 0 (back to the first instruction): without a bound this never ends.
  const prog = markLibpcapProgram([
    { code: 0x00, jt: 0, jf: 0, k: 1 },
    { code: 0x05, jt: 0, jf: 0, k: -2 >>> 0 },
    { code: 0x06, jt: 0, jf: 0, k: 1 },
  ]);
  for (const engine of ['interp', 'jit']) {
    const f = new ClassicFilter(prog, { engine, budget: 100_000_000 });
    try {
      assert.equal(f.run(new Uint8Array(64)), 0, engine);
    } finally {
      f.dispose();
    }
  }
});

test('translation: the verifier walks a protochain loop to its budget and refuses it cleanly (the bound is structural)', () => {
  // Every round has a new X range and a new budget value, so no state prunes
  // (the kernel would refuse it the same way); ClassicFilter and the scan
  // driver rely on the budget in the code instead.
  const r = verify(decodeProgram(translateClassic(compileFilter('ip6 protochain 6')).ebpf), { progType: BPF_PROG_TYPE['sched_cls']! });
  assert.equal(r.ok, false);
  assert.match(r.error?.message ?? '', /too complex|too large/);
});

test('tsbpf cbpf --libpcap: tcpdump\'s own protochain program (-ddd) checks and runs only when marked', { skip: NO_TCPDUMP }, () => {
  const ddd = spawnSync('tcpdump', ['-r', CAP, '-ddd', 'ip6 protochain 6'], { encoding: 'utf8' }).stdout;
  const cli = (...args: string[]): ReturnType<typeof spawnSync> =>
    spawnSync(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'cbpf', ...args, '-'], { input: ddd, encoding: 'utf8' });
  const refused = cli('check');
  assert.equal(refused.status, 1);
  assert.match(String(refused.stderr), /ja -15 jumps back to 4: Linux classic filters only jump forward/);
  assert.equal(cli('check', '--libpcap').status, 0);
  const run = cli('run', '--libpcap', '--pcap', CAP);
  assert.equal(run.status, 0, String(run.stderr));
  const n = tcpdumpSelects(CAP, 'ip6 protochain 6', packetsOf(CAP)).length;
  assert.match(String(run.stdout), new RegExp(`^${packetsOf(CAP).length} packets, ${n} accepted`, 'm'));
});
