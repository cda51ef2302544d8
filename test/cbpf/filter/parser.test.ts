// Lexer and parser of filter expressions: tokens as libpcap's scanner makes
// them, the implicit-qualifier rule, and yacc's operator grouping.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFilter, parseFilter, tokenize, type Expr } from '../../../src/cbpf/filter/index.js';
import { parseIPv6, parseMac } from '../../../src/cbpf/filter/lexer.js';
import { BPF_JMP_OP, opOf, isCondJump } from '../../../src/cbpf/insn.js';

const kinds = (s: string): string[] => tokenize(s).map((t) => `${t.kind}:${t.kind === 'num' ? t.value : t.text}`);

test('lexer: longest match decides between names, numbers and addresses', () => {
  assert.deepEqual(kinds('tcp-syn'), ['num:2', 'eof:']);
  assert.deepEqual(kinds('len-1'), ['id:len-1', 'eof:']);
  assert.deepEqual(kinds('len -1'), ['kw:len', 'op:-', 'num:1', 'eof:']);
  assert.deepEqual(kinds('portrange 10-20'), ['kw:portrange', 'id:10-20', 'eof:']);
  assert.deepEqual(kinds('0x1f 017 9'), ['num:31', 'num:15', 'num:9', 'eof:']);
  assert.deepEqual(kinds('10.1.2'), ['hid:10.1.2', 'eof:']);
  assert.deepEqual(kinds('1.2.3.4.5'), ['id:1.2.3.4.5', 'eof:']);
  assert.deepEqual(kinds('fe80::1/64'), ['hid6:fe80::1', 'op:/', 'num:64', 'eof:']);
  assert.deepEqual(kinds('::'), ['hid6:::', 'eof:']);
  assert.deepEqual(kinds('02:aa:bb:cc:dd:01'), ['eid:02:aa:bb:cc:dd:01', 'eof:']);
  assert.deepEqual(kinds('0102.0304.0506 010203040506'), ['eid:0102.0304.0506', 'eid:010203040506', 'eof:']);
  assert.deepEqual(kinds('\\tcp'), ['id:tcp', 'eof:']);
  assert.deepEqual(kinds('a>=b!=c&&d||!e<<f'), ['id:a', 'op:>=', 'id:b', 'op:!=', 'id:c', 'op:&&', 'id:d', 'op:||', 'op:!', 'id:e', 'op:<<', 'id:f', 'eof:']);
  assert.deepEqual(kinds('icmp6-echo icmp-unreach tcpflags'), ['num:128', 'num:3', 'num:13', 'eof:']);
});

test('lexer: number range and octal errors, illegal characters', () => {
  assert.throws(() => tokenize('08'), /number 08 contains non-octal digit/);
  assert.throws(() => tokenize('4294967296'), /number 4294967296 overflows 32 bits/);
  assert.equal(tokenize('4294967295')[0]!.value, 4294967295);
  assert.throws(() => tokenize('ip $'), (e: unknown) => e instanceof Error && 'offset' in e && e.offset === 3);
});

test('address parsers: IPv6 forms and MAC spellings', () => {
  const hex = (b: Uint8Array | null): string => (b === null ? 'null' : Buffer.from(b).toString('hex'));
  assert.equal(hex(parseIPv6('::')), '0'.repeat(32));
  assert.equal(hex(parseIPv6('::1')), '0'.repeat(31) + '1');
  assert.equal(hex(parseIPv6('fe80::')), 'fe80' + '0'.repeat(28));
  assert.equal(hex(parseIPv6('1:2:3:4:5:6:7:8')), '00010002000300040005000600070008');
  assert.equal(hex(parseIPv6('::ffff:10.1.2.3')), '00000000000000000000ffff0a010203');
  for (const bad of [':::', '1::2::3', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '12345::', '::1.2.3', 'g::1']) assert.equal(parseIPv6(bad), null, bad);
  assert.equal(hex(parseMac('1:2:3:4:5:6')), '010203040506');
  assert.equal(hex(parseMac('01-02-03-04-05-06')), '010203040506');
  assert.equal(parseMac('1:2:3:4:5'), null);
});

/** The qualifiers of every primitive in order, as "proto/dir/type id". */
function prims(e: Expr | undefined): string[] {
  if (e === undefined) return [];
  switch (e.t) {
    case 'and':
    case 'or':
      return [...prims(e.l), ...prims(e.r)];
    case 'not':
      return prims(e.e).map((p) => `!${p}`);
    case 'prim':
      return [`${e.q.proto}/${e.q.dir}/${e.q.type} ${'text' in e.id ? e.id.text : ''}`];
    default:
      return [e.t];
  }
}

test('parser: a bare id reuses the qualifiers before it', () => {
  assert.deepEqual(prims(parseFilter('host 1.2.3.4 or 5.6.7.8')), ['default/default/host 1.2.3.4', 'default/default/host 5.6.7.8']);
  assert.deepEqual(prims(parseFilter('tcp dst port 80 or 443 or 22')), ['tcp/dst/port 80', 'tcp/dst/port 443', 'tcp/dst/port 22']);
  assert.deepEqual(prims(parseFilter('not host a and b')), ['!default/default/host a', 'default/default/host b']);
  assert.deepEqual(prims(parseFilter('host a and not b')), ['default/default/host a', '!default/default/host b']);
  // Explicit qualifiers start a fresh set: `src port 22 and dst 23` is `dst host 23`.
  assert.deepEqual(prims(parseFilter('src port 22 and dst 23')), ['default/src/port 22', 'default/dst/default 23']);
  // A group inherits, and the qualifiers before the group are back in force after it.
  assert.deepEqual(prims(parseFilter('port 80 and (443 or 22)')), ['default/default/port 80', 'default/default/port 443', 'default/default/port 22']);
  assert.deepEqual(prims(parseFilter('host a and (tcp or udp) or b')), ['default/default/host a', 'abbrev', 'abbrev', 'default/default/host b']);
  assert.deepEqual(prims(parseFilter('src or dst port 22')), ['default/src-or-dst/port 22']);
  assert.deepEqual(prims(parseFilter('src and dst host 1.2.3.4')), ['default/src-and-dst/host 1.2.3.4']);
});

test('parser: and/or have equal precedence and group to the left; not binds tightest', () => {
  const shape = (e: Expr | undefined): string => {
    if (e === undefined) return '';
    if (e.t === 'and' || e.t === 'or') return `(${shape(e.l)} ${e.t} ${shape(e.r)})`;
    if (e.t === 'not') return `!${shape(e.e)}`;
    if (e.t === 'abbrev') return e.proto;
    return e.t;
  };
  assert.equal(shape(parseFilter('ip or ip6 and tcp')), '((ip or ip6) and tcp)');
  assert.equal(shape(parseFilter('ip and ip6 or tcp')), '((ip and ip6) or tcp)');
  assert.equal(shape(parseFilter('not ip and tcp')), '(!ip and tcp)');
  assert.equal(shape(parseFilter('!(ip || udp) && tcp')), '(!(ip or udp) and tcp)');
});

test('parser: arithmetic groups as libpcap\'s yacc grammar does (including % and ^)', () => {
  // Values from tcpdump 4.99 -d for `ip[0] > EXPR` (libpcap folds the constant).
  const cases: [string, number][] = [
    ['1 ^ 1 | 1', 0], ['1 | 1 ^ 1', 1], ['1 ^ 1 & 0', 1], ['0 & 1 ^ 1', 0], ['7 % 4 + 1', 2], ['1 + 7 % 4', 4],
    ['7 % 4 << 1', 7], ['7 % 4 * 2', 7], ['2 * 7 % 4', 6], ['7 % 4 % 3', 0], ['1 << 2 + 1', 8], ['6 & 3 << 1', 6],
    ['1 | 6 & 3', 3], ['1 ^ 6 << 1', 0xd], ['1 ^ 3 + 1', 5], ['12 % 5 - 1', 0], ['-1 - -1', 0], ['8 >> 1 >> 1', 2],
    ['2 - 1 - 1', 0], ['100 / 7 / 2', 7], ['2 + 3 << 1', 10], ['-2 * 3', 0xfffffffa], ['2 * 3 + 4 << 1 & 0xff', 0x14],
  ];
  for (const [expr, want] of cases) {
    const prog = compileFilter(`ip[0] > ${expr}`);
    const jgt = prog.find((i) => isCondJump(i.code) && opOf(i.code) === BPF_JMP_OP.JGT);
    assert.ok(jgt, expr);
    assert.equal(jgt.k, want, expr);
  }
});

test('parser: parentheses may hold arithmetic or a filter', () => {
  assert.equal(parseFilter('(ip[0] & 0xf) > 5')?.t, 'rel');
  assert.equal(parseFilter('(tcp or udp)')?.t, 'or');
  assert.equal(parseFilter('((ip))')?.t, 'abbrev');
  assert.equal(parseFilter('(5) = 5')?.t, 'rel');
  assert.equal(parseFilter('port (80)')?.t, 'prim');
  assert.equal(parseFilter('host (1.2.3.4 or 5.6.7.8)')?.t, 'or');
});
