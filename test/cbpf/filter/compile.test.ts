// The filter compiler on its own: tcpdump's error texts, tcpdump -d
// structure, link types, long jumps, the optimiser's soundness, and
// robustness on hostile input. Comparisons with the real tcpdump run when it
// is installed; the committed goldens run everywhere.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileFilter, FilterError, LINKTYPE } from '../../../src/cbpf/filter/index.js';
import { disassembleClassic } from '../../../src/cbpf/disasm.js';
import { BPF_CLASS, BPF_JMP_OP, classOf, isCondJump, opOf } from '../../../src/cbpf/insn.js';
import { TsbpfError } from '../../../src/internal/errors.js';
import { parseCapture } from '../../../src/pcap/index.js';
import { FIXTURES } from '../../paths.js';
import { evalClassic } from './classic-eval.js';

const DIR = join(FIXTURES, 'filter');
const ETH_CAP = join(DIR, 'eth-mixed.pcap');
const hasTcpdump = spawnSync('tcpdump', ['--version'], { stdio: 'ignore' }).status === 0;
const NO_TCPDUMP = hasTcpdump ? false : 'tcpdump not installed (apt-get install tcpdump)';

function lines(file: string): string[] {
  return readFileSync(join(DIR, file), 'utf8').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
}

function errorOf(expr: string, linkType: number = LINKTYPE.ETHERNET): string {
  try {
    compileFilter(expr, { linkType });
  } catch (e) {
    if (e instanceof FilterError) return e.reason;
    throw e;
  }
  return '(compiled)';
}

function tcpdumpD(expr: string, cap = ETH_CAP): { ok: boolean; text: string } {
  const r = spawnSync('tcpdump', ['-r', cap, '-d', '--', expr], { encoding: 'utf8' });
  if (r.status === 0) return { ok: true, text: r.stdout.trim() };
  const msg = r.stderr.split('\n').find((l) => l.startsWith('tcpdump: ')) ?? r.stderr;
  return { ok: false, text: msg.replace(/^tcpdump: /, '') };
}

const dis = (expr: string, linkType: number = LINKTYPE.ETHERNET, snaplen = 262144): string =>
  disassembleClassic(compileFilter(expr, { linkType, snaplen })).trim();

test('filter errors: every invalid expression fails with tcpdump\'s message (committed list)', () => {
  const rows = lines('errors.txt').map((l) => l.split('\t') as [string, string]);
  assert.ok(rows.length >= 80);
  const wrong = rows.filter(([e, want]) => errorOf(e) !== want).map(([e, want]) => `${e}: want "${want}", got "${errorOf(e)}"`);
  assert.deepEqual(wrong, []);
});

test('filter errors: the committed list matches the real tcpdump', { skip: NO_TCPDUMP }, () => {
  const wrong = lines('errors.txt')
    .map((l) => l.split('\t') as [string, string])
    .filter(([e, want]) => {
      const r = tcpdumpD(e);
      return r.ok || r.text !== want;
    });
  assert.deepEqual(wrong, []);
});

test('filter errors carry the offset of the problem', () => {
  const e = (() => {
    try {
      compileFilter('ip and tcp port 80 and $');
    } catch (err) {
      return err;
    }
    return undefined;
  })();
  assert.ok(e instanceof FilterError);
  assert.equal(e.offset, 23);
  assert.match(e.describe(), /\n {2}ip and tcp port 80 and \$\n {25}\^$/);
  const sem = (() => {
    try {
      compileFilter('tcp and host foo');
    } catch (err) {
      return err;
    }
    return undefined;
  })();
  assert.ok(sem instanceof FilterError);
  assert.equal(sem.offset, 13); // points at the name that failed
});

test('filter -d: simple programs are byte-for-byte what tcpdump -d prints', () => {
  // Goldens taken from tcpdump 4.99.3 (snaplen 262144).
  assert.equal(dis('ip'), ['(000) ldh      [12]', '(001) jeq      #0x800           jt 2\tjf 3', '(002) ret      #262144', '(003) ret      #0'].join('\n'));
  assert.equal(
    dis('tcp[13] & 2 != 0'),
    [
      '(000) ldh      [12]',
      '(001) jeq      #0x800           jt 2\tjf 10',
      '(002) ldb      [23]',
      '(003) jeq      #0x6             jt 4\tjf 10',
      '(004) ldh      [20]',
      '(005) jset     #0x1fff          jt 10\tjf 6',
      '(006) ldxb     4*([14]&0xf)',
      '(007) ldb      [x + 27]',
      '(008) jset     #0x2             jt 9\tjf 10',
      '(009) ret      #262144',
      '(010) ret      #0',
    ].join('\n'),
  );
  assert.equal(
    dis('not ip and not ip6 and not arp'),
    [
      '(000) ldh      [12]',
      '(001) jeq      #0x800           jt 4\tjf 2',
      '(002) jeq      #0x86dd          jt 4\tjf 3',
      '(003) jeq      #0x806           jt 4\tjf 5',
      '(004) ret      #0',
      '(005) ret      #262144',
    ].join('\n'),
  );
});

test('filter -d: corpus programs have tcpdump\'s packet loads and a comparable size', { skip: NO_TCPDUMP }, () => {
  // Not required to equal libpcap's optimiser; the loads it makes must be the same set.
  const packetLoads = (t: string): string[] =>
    [...new Set(t.split('\n').filter((l) => /^\(\d+\) (ld|ldh|ldb|ldx|ldxb) .*\[/.test(l) && !l.includes('M[')).map((l) => l.replace(/^\(\d+\)\s+/, '').replace(/\s+/g, ' ')))].sort();
  let exact = 0;
  const problems: string[] = [];
  for (const expr of lines('expressions.txt')) {
    const theirs = tcpdumpD(expr);
    if (!theirs.ok) continue;
    const mine = dis(expr);
    if (mine === theirs.text) exact++;
    if (packetLoads(mine).join('|') !== packetLoads(theirs.text).join('|')) problems.push(`loads differ: ${expr}`);
    const nt = theirs.text.split('\n').length;
    const nm = mine.split('\n').length;
    if (nm > 2 * nt + 4) problems.push(`too long (${nm} vs ${nt}): ${expr}`);
  }
  assert.deepEqual(problems, []);
  // Most programs come out identical to tcpdump's; guard against a regression of the optimiser.
  assert.ok(exact >= 366, `only ${exact} programs identical to tcpdump -d`);
});

test('filter link types: raw IP, Linux cooked v1/v2 and BSD loopback offsets', () => {
  assert.equal(dis('ip', LINKTYPE.RAW, 65535), ['(000) ldb      [0]', '(001) and      #0xf0', '(002) jeq      #0x40            jt 3\tjf 4', '(003) ret      #65535', '(004) ret      #0'].join('\n'));
  assert.match(dis('tcp port 80', LINKTYPE.LINUX_SLL), /ldh {6}\[14\][\s\S]*ldxb {5}4\*\(\[16\]&0xf\)[\s\S]*ldh {6}\[x \+ 16\]/);
  assert.match(dis('host 1.2.3.4', LINKTYPE.LINUX_SLL2), /ldh {6}\[0\][\s\S]*ld {7}\[32\]/);
  assert.match(dis('ip6', LINKTYPE.NULL), /jeq {6}#0x18000000/);
  assert.equal(errorOf('arp', LINKTYPE.RAW), 'expression rejects all packets');
  assert.equal(errorOf('vlan', LINKTYPE.LINUX_SLL), 'no VLAN support for Linux cooked v1');
  assert.equal(errorOf('broadcast', LINKTYPE.RAW), 'not a broadcast link');
  assert.equal(errorOf('ether host 1:2:3:4:5:6', LINKTYPE.LINUX_SLL2), 'ethernet addresses supported only on ethernet/FDDI/token ring/802.11/ATM LANE/Fibre Channel');
  assert.throws(() => compileFilter('ip', { linkType: 147 }), FilterError);
  // Raw IPv4 / IPv6 link types know the version without looking; OpenBSD loopback has the family in network order.
  assert.equal(dis('ip', LINKTYPE.IPV4), '(000) ret      #262144');
  assert.equal(errorOf('ip6', LINKTYPE.IPV4), 'expression rejects all packets');
  assert.match(dis('udp port 53', LINKTYPE.IPV6), /^\(000\) ldb {6}\[6\]/);
  assert.match(dis('ip', LINKTYPE.LOOP), /jeq {6}#0x2 /);
  assert.equal(errorOf('vlan', LINKTYPE.LOOP), 'no VLAN support for OpenBSD loopback');
});

test('filter link types: SLL/raw programs agree with tcpdump -d', { skip: NO_TCPDUMP }, () => {
  const exprs = ['ip', 'ip6', 'tcp', 'udp', 'tcp port 80', 'host 10.77.0.1', 'net 10.77.0.0/24', 'udp and ip[8] = 64', 'icmp6', 'icmp[icmptype] = icmp-echo', 'len > 100'];
  const differ: string[] = [];
  for (const [file, lt] of [['sll-mixed.pcap', LINKTYPE.LINUX_SLL], ['sll2-mixed.pcap', LINKTYPE.LINUX_SLL2], ['raw-mixed.pcap', LINKTYPE.RAW]] as const) {
    const cap = join(DIR, file);
    const snaplen = new DataView(readFileSync(cap).buffer).getUint32(16, true);
    for (const e of exprs) {
      // On raw IP tsbpf skips a reload of the version byte that libpcap keeps.
      if (lt === LINKTYPE.RAW && (e === 'tcp' || e === 'udp' || e === 'tcp port 80')) continue;
      const theirs = tcpdumpD(e, cap);
      assert.ok(theirs.ok, `${file}: ${e}`);
      if (dis(e, lt, snaplen) !== theirs.text) differ.push(`${file}: ${e}`);
    }
  }
  assert.deepEqual(differ, []);
});

test('filter codegen: jumps past 255 instructions go through ja trampolines', () => {
  const hosts = Array.from({ length: 300 }, (_, i) => `10.1.${i >> 8}.${i & 255}`);
  const expr = `tcp and (${hosts.map((h) => `host ${h}`).join(' or ')})`;
  const prog = compileFilter(expr);
  assert.ok(prog.length > 300);
  assert.ok(prog.some((i) => classOf(i.code) === BPF_CLASS.JMP && opOf(i.code) === BPF_JMP_OP.JA), 'expected a ja trampoline');
  prog.forEach((i, pc) => {
    if (isCondJump(i.code)) {
      assert.ok(i.jt <= 255 && i.jf <= 255);
      assert.ok(pc + 1 + i.jt < prog.length && pc + 1 + i.jf < prog.length);
    }
  });
  // A TCP packet from the last host in the list is accepted, one from elsewhere is not.
  const pkt = (src: number[]): Uint8Array => {
    const p = new Uint8Array(54);
    p.set([0x08, 0x00], 12);
    p.set([0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0, ...src, 10, 9, 9, 9], 14);
    return p;
  };
  assert.ok(evalClassic(prog, pkt([10, 1, 0, 119])) > 0);
  assert.equal(evalClassic(prog, pkt([10, 2, 0, 200])), 0);
});

test('filter optimiser: threading and load removal never change what a program selects', () => {
  const packets = [...parseCapture(new Uint8Array(readFileSync(ETH_CAP)), { copy: true })];
  const wrong: string[] = [];
  for (const expr of lines('expressions.txt')) {
    let fast;
    let slow;
    try {
      fast = compileFilter(expr, { optimize: true });
      slow = compileFilter(expr, { optimize: false });
    } catch (e) {
      if (e instanceof FilterError) continue;
      throw e;
    }
    assert.ok(fast.length <= slow.length, expr);
    for (const p of packets) {
      if ((evalClassic(fast, p.data, p.wireLen) !== 0) !== (evalClassic(slow, p.data, p.wireLen) !== 0)) {
        wrong.push(expr);
        break;
      }
    }
  }
  assert.deepEqual(wrong, []);
});

test('filter: constant relations fold; empty filter accepts everything', () => {
  assert.equal(dis('1 + 2 * 3 = 7'), '(000) ret      #262144');
  assert.equal(dis(''), '(000) ret      #262144');
  assert.equal(dis('   '), '(000) ret      #262144');
  assert.equal(errorOf('2 * 3 = 7'), 'expression rejects all packets');
});

test('filter: hostile input gives typed errors, never a crash or a hang', () => {
  const deep = '('.repeat(5000) + 'ip' + ')'.repeat(5000);
  assert.throws(() => compileFilter(deep), FilterError);
  assert.throws(() => compileFilter('ip or '.repeat(5000) + 'ip'), /expression too long/);
  // Long but legal: runs of not and unary minus, long and/or chains, nested indexes.
  assert.equal(compileFilter('not '.repeat(7998) + 'ip').length, 4);
  assert.equal(compileFilter('len > ' + '-'.repeat(7990) + '1').length, 4);
  assert.ok(compileFilter('host 1.2.3.4 and ' + '! '.repeat(7981) + '5.6.7.8').length > 10);
  assert.ok(compileFilter('len > ' + 'ip['.repeat(2000) + '0' + ']'.repeat(2000)).length > 4000);
  const hosts = Array.from({ length: 2000 }, (_, i) => `host 10.0.${i >> 8}.${i & 255}`).join(' or ');
  assert.ok(compileFilter(hosts).length > 20000);
  const words = ['ip', 'tcp', 'host', 'port', 'src', 'dst', 'and', 'or', 'not', '(', ')', '[', ']', ':', '1', '80', '10.0.0.1', '::1', 'net', '/', '8', '-', '+', '=', '>', 'len', 'ether', 'vlan', '&', 'tcpflags', 'proto', '\\tcp', 'mask', '255.0.0.0', '!', 'broadcast'];
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  let compiled = 0;
  for (let i = 0; i < 20000; i++) {
    const expr = Array.from({ length: 1 + rnd(10) }, () => words[rnd(words.length)]).join(' ');
    try {
      const prog = compileFilter(expr);
      assert.ok(prog.length > 0);
      compiled++;
    } catch (e) {
      if (!(e instanceof TsbpfError)) throw new Error(`'${expr}' threw ${String(e)}`);
    }
  }
  assert.ok(compiled > 10);
});
