// The translation passes tsbpf's verifier as a tc (sched_cls) program over
// struct __sk_buff: packet loads are proven in bounds by the data_end checks,
// M[] stack slots are written before they are read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { translateClassic } from '../../src/cbpf/translate.js';
import { parseDdd } from '../../src/cbpf/read.js';
import { assembleClassic } from '../../src/cbpf/asm.js';
import { verify } from '../../src/verifier/index.js';
import { decodeProgram } from '../../src/isa/index.js';
import { BPF_PROG_TYPE } from '../../src/internal/uapi.gen.js';
import type { ClassicInsn } from '../../src/cbpf/insn.js';
import { Rng } from './reference.js';
import { randomProgram } from './gen.js';

const SCHED_CLS = BPF_PROG_TYPE['sched_cls']!;

function verifyClassic(prog: readonly ClassicInsn[], what: string): void {
  const r = verify(decodeProgram(translateClassic(prog).ebpf), { progType: SCHED_CLS });
  assert.ok(r.ok, `${what}: ${r.error?.message}\n${r.log.split('\n').slice(-12).join('\n')}`);
}

const haveTcpdump = spawnSync('tcpdump', ['--version']).status === 0;

test('tcpdump programs translate to verifiable eBPF', { skip: haveTcpdump ? false : 'tcpdump not installed' }, () => {
  for (const expr of [
    'tcp port 80',
    'ip[2:2] - ((ip[0]&0xf)<<2) - ((tcp[12]&0xf0)>>2) != 0',
    'vlan 100 and tcp',
    'ip[8] * 3 / 2 % 7 > 1',
    'udp and (port 53 or port 5353) and len > 100',
    'ip6 and tcp port 22',
    'icmp[icmptype] == icmp-echo',
  ]) {
    const r = spawnSync('tcpdump', ['-y', 'EN10MB', '-ddd', expr], { encoding: 'utf8' });
    verifyClassic(parseDdd(r.stdout), expr);
  }
});

test('hand-written edge cases verify: far offsets, indexed loads, division by X, scratch memory', () => {
  verifyClassic(assembleClassic('ldh [0x9000]\nldx 4*([0xfff0]&0xf)\nld [x + 0x7ff0]\ndiv x\nst M[15]\nldx M[15]\nmod x\nret a'), 'edge');
  verifyClassic(assembleClassic('ld #proto\nld #vlan_tci\nld #len\nldx #len\nld [0xffff]\nret a'), 'ancillary');
});

test('random classic programs translate to verifiable eBPF', () => {
  const r = new Rng(0x5eed);
  for (let i = 0; i < 150; i++) verifyClassic(randomProgram(r), `random program ${i}`);
});
