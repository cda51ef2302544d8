// The translation to eBPF: differential tests against the test-only
// reference evaluator on random programs and packets, on every engine that
// is registered, plus the edge cases the translation documents.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClassicFilter, SeccompFilter } from '../../src/cbpf/classic-filter.js';
import { assembleClassic } from '../../src/cbpf/asm.js';
import { translateClassic } from '../../src/cbpf/translate.js';
import { decodeProgram } from '../../src/isa/index.js';
import { createVm } from '../../src/vm/vm.js';
import { engineNames } from '../../src/vm/engines.js';
import { referenceRun, Rng } from './reference.js';
import { randomPacket, randomProgram } from './gen.js';
import { disassembleClassic } from '../../src/cbpf/disasm.js';
import { disassembleTranslation } from '../../src/cbpf/disasm-translation.js';
import type { ClassicInsn } from '../../src/cbpf/insn.js';

const ENGINES = engineNames();

for (const engine of ENGINES) {
  test(`random classic programs: translation on '${engine}' equals the reference`, () => {
    const vm = createVm();
    const r = new Rng(0xc1a551c + engine.length);
    let nonzero = 0;
    for (let p = 0; p < 300; p++) {
      const prog = randomProgram(r);
      const f = new ClassicFilter(prog, { vm, engine });
      try {
        for (let i = 0; i < 12; i++) {
          const pkt = randomPacket(r);
          const wire = pkt.length + (r.int(3) === 0 ? r.int(2000) : 0);
          const want = referenceRun(prog, pkt, wire);
          const got = f.run(pkt, wire);
          if (got !== want) {
            assert.fail(`program ${p} packet ${i} (${pkt.length} bytes, wire ${wire}): eBPF ${got}, reference ${want}\n${disassembleClassic(prog)}packet ${Buffer.from(pkt).toString('hex')}`);
          }
          if (want !== 0) nonzero++;
        }
      } finally {
        f.dispose();
      }
    }
    // the generator must exercise accepting paths too, or the comparison says little
    assert.ok(nonzero > 500, `only ${nonzero} non-zero results`);
  });
}

test('out-of-packet loads end the filter with 0', () => {
  const f = new ClassicFilter(assembleClassic('ld #7\nldh [12]\nret #99\n'));
  assert.equal(f.run(new Uint8Array(14)), 99);
  assert.equal(f.run(new Uint8Array(13)), 0);
  assert.equal(f.run(new Uint8Array(0)), 0);
});

test('indexed loads: X + k wraps at 32 bits, negative sums address the SKF areas (as in the kernel)', () => {
  const pkt = Uint8Array.from({ length: 64 }, (_, i) => i + 100);
  const run = (src: string, netOffset?: number): number => new ClassicFilter(assembleClassic(src), netOffset === undefined ? {} : { netOffset }).run(pkt);
  assert.equal(run('ldx #0xffffffff\nldb [x + 1]\nret a\n'), 100); // wraps to offset 0
  assert.equal(run('ldx #0xfffffff0\nldb [x + 0x20]\nret a\n'), 116); // wraps to offset 16
  assert.equal(run('ldx #3\nldb [x + 1]\nret a\n'), 104);
  assert.equal(run('ldx #0x7fffffff\nldb [x + 2]\nret #7\n'), 0); // 0x80000001: below SKF_LL_OFF
  assert.equal(run('ldx #5\nldb [x + 0xffe00000]\nret a\n'), 105); // SKF_LL_OFF + 5
  assert.equal(run('ldx #2\nldb [x + 0xfff00000]\nret a\n', 14), 116); // SKF_NET_OFF + 2, network header at 14
  assert.equal(run('ldx #2\nldb [x + 0xfff00000]\nret #7\n'), 0); // no network offset known
  assert.equal(run('ldx #2\nldb [x + 0xfffff000]\nret #7\n'), 0); // the ancillary area is not addressable by indexed loads
});

test('division and modulo by X = 0 return 0; by non-zero X they divide', () => {
  for (const op of ['div', 'mod']) {
    const f = new ClassicFilter(assembleClassic(`ld #100\nldx len\n${op} x\nret a\n`.replace('ldx len', 'ldx #len')));
    assert.equal(f.run(new Uint8Array(0)), 0, op);
    assert.equal(f.run(new Uint8Array(7)), op === 'div' ? 14 : 2, op);
  }
});

test('ld #pktlen is the wire length, loads are bounded by the captured length', () => {
  const f = new ClassicFilter(assembleClassic('ld #len\nret a\n'));
  assert.equal(f.run(new Uint8Array(60), 1514), 1514);
  const g = new ClassicFilter(assembleClassic('ld [56]\nret a\n'));
  assert.equal(g.run(Uint8Array.from({ length: 60 }, (_, i) => i), 1514), 0x38393a3b);
  assert.equal(g.run(new Uint8Array(59), 1514), 0);
});

test('big packets: offsets past 32 KiB load through a register; past 64 KiB they return 0', () => {
  const pkt = new Uint8Array(70000);
  pkt[0x9000] = 0x12;
  pkt[0x9001] = 0x34;
  pkt[0xfffe] = 7;
  const f = new ClassicFilter(assembleClassic('ldh [0x9000]\nret a\n'), { snaplen: 1000 });
  assert.equal(f.run(pkt), 0x1234);
  assert.equal(new ClassicFilter(assembleClassic('ldb [0xfffe]\nret a\n')).run(pkt), 7);
  assert.equal(new ClassicFilter(assembleClassic('ldb [0xffff]\nret #5\n')).run(pkt), 0);
  assert.equal(new ClassicFilter(assembleClassic('ldx #0x9000\nldh [x + 0]\nret a\n')).run(pkt), 0x1234);
});

test('ancillary loads read the ctx; hatype and cpu are constants', () => {
  const prog = assembleClassic('ld #proto\nst M[0]\nld #ifidx\nadd #0\ntax\nld #hatype\nadd x\nret a\n');
  const f = new ClassicFilter(prog, { hatype: 772 });
  assert.equal(f.run(new Uint8Array(4), 4, { ifindex: 3 }), 775);
  const p = new ClassicFilter(assembleClassic('ld #proto\nret a\n'));
  assert.equal(p.run(new Uint8Array(4), 4, { protocol: 0x86dd }), 0x86dd);
  assert.equal(p.run(new Uint8Array(4)), 0, 'metadata does not leak into the next packet');
  assert.throws(() => translateClassic(assembleClassic('ld #rand\nret a\n')), /needs a kernel helper/);
});

test('SKF_LL_OFF and SKF_NET_OFF loads', () => {
  const pkt = Uint8Array.from({ length: 40 }, (_, i) => i);
  const ll = new ClassicFilter([{ code: 0x30, jt: 0, jf: 0, k: (-0x200000 + 5) >>> 0 }, { code: 0x16, jt: 0, jf: 0, k: 0 }]);
  assert.equal(ll.run(pkt), 5);
  const net = [{ code: 0x30, jt: 0, jf: 0, k: (-0x100000 + 2) >>> 0 }, { code: 0x16, jt: 0, jf: 0, k: 0 }];
  assert.equal(new ClassicFilter(net, { netOffset: 14 }).run(pkt), 16);
  assert.throws(() => translateClassic(net), /netOffset/);
});

test('jumps: the fall-through side is left out, long programs keep correct targets', () => {
  // 200 instructions between a branch and its target
  const body = Array.from({ length: 200 }, () => 'add #1').join('\n');
  const f = new ClassicFilter(assembleClassic(`ldb [0]\njeq #1, one, other\none: ${body}\nret a\nother: ret #9\n`));
  assert.equal(f.run(Uint8Array.of(1)), 201);
  assert.equal(f.run(Uint8Array.of(2)), 9);
});

test('the translation is valid eBPF and uses only JMP32 compares on A', () => {
  const t = translateClassic(assembleClassic('ldh [12]\njeq #0x800, yes, no\nyes: ret #0xffffffff\nno: ret #0\n'));
  const prog = decodeProgram(t.ebpf);
  assert.equal(prog.length, t.slots);
  const f = new ClassicFilter(assembleClassic('ldh [12]\njeq #0x800, yes, no\nyes: ret #0xffffffff\nno: ret #0\n'));
  const pkt = new Uint8Array(14);
  pkt[12] = 8;
  assert.equal(f.run(pkt), 0xffffffff);
});

test('seccomp: loads read struct seccomp_data, len is 64', () => {
  // allow getpid (39) on x86_64, kill otherwise; return the arch's low byte + len for anything else
  const src = [
    'ld [4]',
    'jeq #0xc000003e, arch_ok, kill',
    'arch_ok: ld [0]',
    'jeq #39, allow, other',
    'allow: ret #0x7fff0000',
    'other: ld [16]',
    'jeq #1234, arg, kill',
    'arg: ld #len',
    'ret a',
    'kill: ret #0',
  ].join('\n');
  const f = new SeccompFilter(assembleClassic(src));
  assert.equal(f.run({ nr: 39, arch: 0xc000003e }), 0x7fff0000);
  assert.equal(f.run({ nr: 1, arch: 0xc000003e, args: [1234n] }), 64);
  assert.equal(f.run({ nr: 39, arch: 0x40000003 }), 0);
  assert.throws(() => new SeccompFilter(assembleClassic('ldh [0]\nret a\n')), /not allowed in seccomp/);
  assert.throws(() => new SeccompFilter(assembleClassic('ld [2]\nret a\n')), /aligned/);
});

/** ldx #0; 4093 x ld [x + 1]; ret a: the fail tail is ~45,000 slots from the first load. */
function hugeProgram(): ClassicInsn[] {
  const prog: ClassicInsn[] = [{ code: 0x01, jt: 0, jf: 0, k: 0 }];
  for (let i = 0; i < 4093; i++) prog.push({ code: 0x40, jt: 0, jf: 0, k: 1 });
  prog.push({ code: 0x16, jt: 0, jf: 0, k: 0 });
  return prog;
}

for (const engine of ENGINES) {
  // The JIT's structuring pass recurses once per nested block and overflows
  // the JS stack on this 4000-deep chain of exits (reported to the JIT).
  test(`programs past 32767 eBPF slots: far jumps (gotol) on '${engine}'`, () => {
    const prog = hugeProgram();
    const t = translateClassic(prog);
    assert.ok(t.slots > 32768, `${t.slots} slots`);
    const f = new ClassicFilter(prog, { engine });
    assert.equal(f.run(Uint8Array.of(0, 0, 0, 0, 7)), 7, engine);
    assert.equal(f.run(Uint8Array.of(0, 0, 0, 7)), 0, `${engine}: out of packet`);
    f.dispose();
  });
}

test('disassembleTranslation: classic lines before their eBPF, unreachable ones left out', () => {
  const prog = assembleClassic('ldh [12]\nret a\nret #5\n');
  const lines = disassembleTranslation(prog, translateClassic(prog));
  const i0 = lines.indexOf('; (000) ldh      [12]');
  const i1 = lines.indexOf('; (001) ret      ');
  assert.ok(i0 >= 0 && i1 > i0, lines.join('\n'));
  assert.match(lines[i0 + 1]!, /^ +\d+:\tr2 = r8$/);
  assert.ok(!lines.some((l) => l.includes('(002)')), 'unreachable ret #5 is not translated');
  assert.ok(lines.includes('; out of packet / division by zero: return 0'));
  assert.match(lines[lines.length - 1]!, /exit$/);
});

test('bounds checks: a load inside the range proven on every path has none of its own', () => {
  const checks = (src: string): number => {
    const prog = assembleClassic(src);
    const lines = disassembleTranslation(prog, translateClassic(prog));
    return lines.filter((l) => /if r2 > r9 goto/.test(l)).length;
  };
  assert.equal(checks('ldh [12]\nldb [5]\nld [10]\nret a'), 1);
  assert.equal(checks('ldb [5]\nldh [12]\nret a'), 2);
  // proven on both branches: [23] on one, [30] on the other; [20] after the join needs nothing
  assert.equal(checks('ldb [0]\njeq #1, a1, b1\na1: ldb [23]\nja j\nb1: ldb [30]\nj: ldb [20]\nret a'), 4 - 1);
  // proven on one branch only: the load after the join is checked
  assert.equal(checks('ldb [0]\njeq #1, a1, j\na1: ldb [23]\nj: ldb [20]\nret a'), 3);
  // and the results stay right at every packet length
  const f = new ClassicFilter(assembleClassic('ldb [0]\njeq #1, a1, j\na1: ldb [23]\nj: ldb [20]\nret a'));
  for (let len = 0; len <= 25; len++) {
    const pkt = Uint8Array.from({ length: len }, (_, i) => (i === 0 ? 1 : i));
    assert.equal(f.run(pkt), len >= 24 ? 20 : 0, `length ${len}`);
    pkt[0] = 2;
    assert.equal(f.run(pkt), len >= 21 ? 20 : 0, `length ${len}, other branch`);
  }
});
