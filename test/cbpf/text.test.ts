// Readers and the tcpdump -d printer, checked against real tcpdump output:
// for each expression, tcpdump -ddd parsed by our reader and printed by our
// disassembler must equal tcpdump -d byte for byte, and -dd must parse to the
// same program. Skips (with a message) when tcpdump is not installed; the
// inline cases below run everywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { assembleClassic, parseClassicNumber } from '../../src/cbpf/asm.js';
import { disassembleClassic, formatDd, formatDdd } from '../../src/cbpf/disasm.js';
import { classicDef, Operand, type ClassicInsn } from '../../src/cbpf/insn.js';
import { detectClassicFormat, parseDd, parseDdd, readClassic, readClassicBinary, writeClassicBinary } from '../../src/cbpf/read.js';
import { AsmError } from '../../src/internal/errors.js';
import { ClassicError } from '../../src/cbpf/errors.js';

const EXPRESSIONS: readonly [linktype: string, expr: string][] = [
  ['EN10MB', 'ip'],
  ['EN10MB', 'tcp port 80'],
  ['EN10MB', 'udp and (port 53 or port 5353)'],
  ['EN10MB', 'host 10.1.2.3 and not port 22'],
  ['EN10MB', 'net 192.168.0.0/16 or ip6 net fe80::/10'],
  ['EN10MB', 'tcp[tcpflags] & (tcp-syn|tcp-fin) != 0'],
  ['EN10MB', 'ip[2:2] - ((ip[0]&0xf)<<2) - ((tcp[12]&0xf0)>>2) != 0'],
  ['EN10MB', 'icmp[icmptype] == icmp-echo or icmp6'],
  ['EN10MB', 'vlan 100 and tcp'],
  ['EN10MB', 'ether broadcast or ether multicast'],
  ['EN10MB', 'ether host 00:11:22:33:44:55'],
  ['EN10MB', 'len > 1000 or less 64'],
  ['EN10MB', 'portrange 1000-2000'],
  ['EN10MB', 'arp or rarp'],
  ['EN10MB', 'ip proto 47 or ip6 proto 58'],
  ['EN10MB', 'ip[8] * 3 / 2 % 7 > 1 and ip[9] ^ 6 = 0 and -ip[1] != 0'],
  ['EN10MB', 'tcp dst port 443 and ip[6:2] & 0x1fff = 0'],
  ['EN10MB', 'ip multicast'],
  ['EN10MB', 'mpls 42'],
  ['EN10MB', 'pppoes and ip'],
  ['RAW', 'ip and udp port 123'],
  ['RAW', 'ip6 and tcp'],
  ['LINUX_SLL', 'tcp port 80'],
  ['LINUX_SLL', 'inbound and icmp'],
  ['LINUX_SLL2', 'ip6 and udp'],
  ['NULL', 'ip'],
  ['IEEE802_11', 'wlan type data'],
];

function tcpdump(args: string[]): string | undefined {
  const r = spawnSync('tcpdump', args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  return r.stdout;
}

const haveTcpdump = tcpdump(['-y', 'EN10MB', '-d', 'ip']) !== undefined;

/** The listing does not show k for operand-less codes (tax, txa, neg, ret a); compare modulo that. */
function normalise(prog: readonly ClassicInsn[]): ClassicInsn[] {
  return prog.map((i) => (classicDef(i.code)?.operand === Operand.None ? { ...i, k: 0 } : i));
}

test('tcpdump -ddd read and printed equals tcpdump -d byte for byte; -dd and the listing read back', { skip: haveTcpdump ? false : 'tcpdump not installed' }, () => {
  let compared = 0;
  for (const [lt, expr] of EXPRESSIONS) {
    const ddd = tcpdump(['-y', lt, '-ddd', expr]);
    const d = tcpdump(['-y', lt, '-d', expr]);
    const dd = tcpdump(['-y', lt, '-dd', expr]);
    if (ddd === undefined || d === undefined || dd === undefined) assert.fail(`tcpdump rejected ${lt} '${expr}'`);
    const prog = parseDdd(ddd);
    assert.equal(disassembleClassic(prog), d, `${lt} '${expr}'`);
    assert.deepEqual(parseDd(dd), prog, `-dd ${lt} '${expr}'`);
    assert.equal(formatDdd(prog), ddd, `-ddd printer ${lt} '${expr}'`);
    assert.equal(formatDd(prog), dd, `-dd printer ${lt} '${expr}'`);
    assert.deepEqual(normalise(assembleClassic(d)), normalise(prog), `listing ${lt} '${expr}'`);
    assert.deepEqual(readClassic(new TextEncoder().encode(ddd)), prog);
    assert.deepEqual(readClassic(new TextEncoder().encode(dd)), prog);
    assert.deepEqual(readClassicBinary(writeClassicBinary(prog)), prog);
    compared++;
  }
  assert.equal(compared, EXPRESSIONS.length);
});

test('printer: libpcap formats, fixed cases', () => {
  const prog: ClassicInsn[] = [
    { code: 0x28, jt: 0, jf: 0, k: 12 },
    { code: 0x15, jt: 0, jf: 3, k: 0x800 },
    { code: 0x30, jt: 0, jf: 0, k: 0xfffff030 },
    { code: 0x04, jt: 0, jf: 0, k: 0xffffffff },
    { code: 0x05, jt: 0, jf: 0, k: 1 },
    { code: 0x06, jt: 0, jf: 0, k: 0xffffffff },
    { code: 0x16, jt: 0, jf: 0, k: 0 },
    { code: 0xffff, jt: 0, jf: 0, k: 0 },
  ];
  assert.equal(
    disassembleClassic(prog),
    [
      '(000) ldh      [12]',
      '(001) jeq      #0x800           jt 2\tjf 5',
      '(002) ldb      [vlanp]',
      '(003) add      #-1',
      '(004) ja       6',
      '(005) ret      #-1',
      '(006) ret      ',
      '(007) unimp    0xffff',
      '',
    ].join('\n'),
  );
});

test('bpf_asm syntax: labels, aliases, one-target jumps, ancillary names, comments', () => {
  const prog = assembleClassic(`
    ; IPv4 TCP to port 22, bpf_asm style
          ldh [12]
          jne #0x800, drop        ; jneq with one target: fall through when equal
          ldb [23]
          jeq #6, tcp, drop
    tcp:  ldxb 4*([14]&0xf)
          ldh [x + 16]
          jlt #22, drop, hit      /* jlt swaps the targets of jge */
    hit:  ret #-1
    drop: ld #proto
          ldi #0b101
          ldx 4*([0]&0xf)
          jmp out
          ret a
    out:  ret #0
  `);
  assert.deepEqual(
    prog.map((i) => [i.code, i.jt, i.jf, i.k]),
    [
      [0x28, 0, 0, 12],
      [0x15, 0, 6, 0x800],
      [0x30, 0, 0, 23],
      [0x15, 0, 4, 6],
      [0xb1, 0, 0, 14],
      [0x48, 0, 0, 16],
      [0x35, 0, 1, 22],
      [0x06, 0, 0, 0xffffffff],
      [0x20, 0, 0, 0xfffff000],
      [0x00, 0, 0, 5],
      [0xb1, 0, 0, 0],
      [0x05, 0, 0, 1],
      [0x16, 0, 0, 0],
      [0x06, 0, 0, 0],
    ],
  );
});

test('assembler errors name the line and column', () => {
  const cases: [string, RegExp][] = [
    ['ldh [12]\nfrob #1\nret #0', /^2:\d+: unknown mnemonic 'frob'/],
    ['jeq #1, nowhere, done\ndone: ret #0', /undefined label 'nowhere'/],
    ['back: ret #0\nja back', /backwards/],
    ['ldh #5\nret #0', /operand '#5' is not valid here \(expected \[k\] or \[x \+ k\]\)/],
    ['ld #0x1ffffffff\nret a', /bad number/],
    ['l: ret #0\nl: ret #1', /defined twice/],
    ['(000) ldh [12]\n(002) ret #0', /out of sequence/],
  ];
  for (const [src, re] of cases) {
    assert.throws(() => assembleClassic(src), (e: unknown) => e instanceof AsmError && re.test(e.message), src);
  }
});

test('ddd and dd readers reject malformed input with positions', () => {
  assert.throws(() => parseDdd('2\n40 0 0 12\n6 0 0'), (e: unknown) => e instanceof AsmError && /count says 2/.test(e.message));
  assert.throws(() => parseDdd('1\n40 0 300 12'), (e: unknown) => e instanceof AsmError && e.line === 2 && e.column === 6 && /bad jf/.test(e.message));
  assert.throws(() => parseDd('{ 0x28, 0, 0 },'), (e: unknown) => e instanceof AsmError && /four fields/.test(e.message));
  assert.throws(() => parseDd('int x;'), /no \{ code, jt, jf, k \} entries/);
  assert.throws(() => readClassicBinary(new Uint8Array(9)), (e: unknown) => e instanceof ClassicError && /multiple of 8/.test(e.message));
  // one-line comma form (iptables xt_bpf / tc)
  assert.deepEqual(parseDdd('2,6 0 0 1,6 0 0 0'), [
    { code: 6, jt: 0, jf: 0, k: 1 },
    { code: 6, jt: 0, jf: 0, k: 0 },
  ]);
});

test('format detection and binary byte order', () => {
  const prog: ClassicInsn[] = [{ code: 0x28, jt: 1, jf: 2, k: 0x01020304 }];
  const le = writeClassicBinary(prog);
  assert.deepEqual([...le], [0x28, 0, 1, 2, 4, 3, 2, 1]);
  const be = writeClassicBinary(prog, { bigEndian: true });
  assert.deepEqual(readClassicBinary(be, { bigEndian: true }), prog);
  assert.equal(detectClassicFormat(le), 'bin');
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
  assert.equal(detectClassicFormat(enc('1\n6 0 0 0\n')), 'ddd');
  assert.equal(detectClassicFormat(enc('{ 0x6, 0, 0, 0x00000000 },\n')), 'dd');
  assert.equal(detectClassicFormat(enc('ret #0\n')), 'asm');
  assert.equal(detectClassicFormat(enc('(000) ret      #0\n')), 'asm');
});

test('numbers: C forms and range', () => {
  assert.equal(parseClassicNumber('0x10'), 16);
  assert.equal(parseClassicNumber('010'), 8);
  assert.equal(parseClassicNumber('0b11'), 3);
  assert.equal(parseClassicNumber('-1'), 0xffffffff);
  assert.equal(parseClassicNumber('4294967295'), 0xffffffff);
  assert.equal(parseClassicNumber('4294967296'), undefined);
  assert.equal(parseClassicNumber('12abc'), undefined);
});
