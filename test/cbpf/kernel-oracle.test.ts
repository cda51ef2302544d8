// The translation against the Linux kernel itself: random classic programs
// are attached to a packet socket on lo (kernel_oracle.py, root only) and
// the frames the kernel lets through, cut to the filter's return value,
// must match what tsbpf computes. Programs the kernel refuses must be
// refused by tsbpf's checker. Skips without root or AF_PACKET.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ClassicFilter } from '../../src/cbpf/classic-filter.js';
import { checkClassic } from '../../src/cbpf/check.js';
import { assembleClassic } from '../../src/cbpf/asm.js';
import type { ClassicInsn } from '../../src/cbpf/insn.js';
import { ROOT } from '../paths.js';
import { Rng } from './reference.js';
import { randomProgram } from './gen.js';

const ORACLE = join(ROOT, 'test', 'cbpf', 'kernel_oracle.py');

type OracleResult = 'EINVAL' | number[];

/** Runs the oracle; undefined when it cannot run here. */
function kernel(programs: readonly (readonly ClassicInsn[])[], packets: readonly Uint8Array[]): OracleResult[] | undefined {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return undefined;
  const input = JSON.stringify({ programs: programs.map((p) => p.map((i) => [i.code, i.jt, i.jf, i.k >>> 0])), packets: packets.map((p) => Buffer.from(p).toString('hex')) });
  const r = spawnSync('python3', [ORACLE], { input, encoding: 'utf8', timeout: 60_000 });
  if (r.error || r.status === 77) return undefined;
  assert.equal(r.status, 0, `oracle failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as OracleResult[];
}

/** Ethernet frames of 14..96 bytes with a random unicast source and destination, so they are told apart from other lo traffic. */
function frames(r: Rng, n: number): Uint8Array[] {
  return Array.from({ length: n }, () => {
    const f = new Uint8Array(14 + r.int(83));
    for (let i = 0; i < f.length; i++) f[i] = r.int(256);
    f[0]! &= 0xfe;
    return f;
  });
}

const probe = kernel([[{ code: 0x06, jt: 0, jf: 0, k: 0 }]], []);
const skip = probe === undefined ? 'needs root and AF_PACKET (kernel oracle)' : false;

test('random classic programs: tsbpf equals the kernel on lo', { skip }, () => {
  const r = new Rng(0x4b45524e);
  const programs = Array.from({ length: 100 }, () => randomProgram(r, 24));
  const packets = frames(r, 10);
  const got = kernel(programs, packets)!;
  let accepted = 0;
  programs.forEach((prog, p) => {
    const k = got[p]!;
    assert.notEqual(k, 'EINVAL', `kernel refused program ${p}, which tsbpf's checker accepts`);
    const f = new ClassicFilter(prog);
    packets.forEach((pkt, i) => {
      const ours = Math.min(f.run(pkt), pkt.length);
      if (ours !== 0) accepted++;
      assert.equal(ours, (k as number[])[i], `program ${p}, packet ${i}`);
    });
    f.dispose();
  });
  assert.ok(accepted > 50, `${accepted} accepted`);
});

test('indexed loads that wrap at 32 bits or land in the SKF_LL_OFF area: tsbpf equals the kernel', { skip }, () => {
  const progs = [
    'ldx #0xffffffff\nldb [x + 1]\nret a',
    'ldx #0xfffffff0\nldh [x + 0x20]\nret a',
    'ldx #0x7fffffff\nldb [x + 2]\nret #7',
    'ldx #5\nldb [x + 0xffe00000]\nret a',
    'ldx #0x100\nld [x + 0xffffff00]\nret a',
    'ldx #2\nldb [x + 0xfffff000]\nret #7',
    'ldxb 4*([0xffe00003]&0xf)\ntxa\nret a',
  ].map((s) => assembleClassic(s));
  const pkt = Uint8Array.from({ length: 64 }, (_, i) => (i === 0 ? 0x02 : i + 40));
  const got = kernel(progs, [pkt])!;
  progs.forEach((p, i) => assert.deepEqual([Math.min(new ClassicFilter(p).run(pkt), pkt.length)], got[i], `program ${i}`));
});

test('programs the kernel refuses, tsbpf refuses', { skip }, () => {
  const bad = [
    'div #0\nret a',
    'ld M[0]\nret a',
    'rsh #32\nret a',
    'ldb [0]\nret x',
    'ld #len',
  ].map((s) => {
    try {
      return assembleClassic(s);
    } catch {
      return [{ code: 0x0e, jt: 0, jf: 0, k: 0 }];
    }
  });
  bad.push([{ code: 0x28 | 0x100, jt: 0, jf: 0, k: 0 }, { code: 0x06, jt: 0, jf: 0, k: 0 }]);
  const got = kernel(bad, [])!;
  bad.forEach((prog, i) => {
    assert.equal(got[i], 'EINVAL', `kernel accepted bad program ${i}`);
    assert.throws(() => checkClassic(prog), `tsbpf accepted bad program ${i}`);
  });
});

test('ancillary loads on lo: ifindex 1, hatype ARPHRD_LOOPBACK, protocol from the EtherType', { skip }, () => {
  const progs = ['ld #ifidx\nret a', 'ld #hatype\nret a', 'ld #proto\nret a', 'ld #len\nret a'].map((s) => assembleClassic(s));
  const pkt = new Uint8Array(2100);
  pkt.set([0x02, 1, 2, 3, 4, 5, 0x02, 6, 7, 8, 9, 10, 0x08, 0x00]);
  const got = kernel(progs, [pkt])!;
  // Each result is a length, so the kernel's answer is visible only up to the frame length.
  assert.deepEqual(got, [[1], [772], [0x800], [2100]]);
  const meta = { ifindex: 1, protocol: 0x0800 };
  assert.deepEqual(
    progs.map((p) => Math.min(new ClassicFilter(p, { hatype: 772 }).run(pkt, pkt.length, meta), pkt.length)),
    [1, 772, 0x800, 2100],
  );
});
