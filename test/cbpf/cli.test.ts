// `tsbpf cbpf`: the verb's subcommands through the same entry main.ts uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cbpf } from '../../src/cli/cbpf.js';
import type { Io } from '../../src/cli/command.js';
import { UsageError } from '../../src/internal/errors.js';
import { ClassicError } from '../../src/cbpf/errors.js';
import { readCaptureSync } from '../../src/pcap/reader.js';
import { FIXTURES } from '../paths.js';

const PCAP = join(FIXTURES, 'pcap', 'lo-us.pcap');
// ldh [12]; jeq #0x800 -> ldb [23]; jeq #17 (udp) -> ret #96 ; else ret #0
const DDD = '6\n40 0 0 12\n21 0 3 2048\n48 0 0 23\n21 0 1 17\n6 0 0 96\n6 0 0 0\n';

async function cli(args: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => (out += t.endsWith('\n') ? t : t + '\n'), err: (t) => (err += t + '\n'), readStdin: async () => new TextEncoder().encode(stdin) };
  const code = await cbpf.run(args, io);
  return { code, out, err };
}

test('dis prints the tcpdump -d listing and the other forms', async () => {
  const r = await cli(['dis', '-'], DDD);
  assert.equal(r.code, 0);
  assert.equal(r.out.split('\n')[1], '(001) jeq      #0x800           jt 2\tjf 5');
  assert.equal((await cli(['dis', '-', '--output', 'ddd'], DDD)).out, DDD);
  assert.match((await cli(['dis', '-', '--output', 'dd'], DDD)).out, /^\{ 0x28, 0, 0, 0x0000000c \},/);
  await assert.rejects(cli(['dis', '-', '--output', 'x'], DDD), UsageError);
  await assert.rejects(cli(['dis', '-', '--format', 'bogus'], DDD), UsageError);
});

test('check applies the kernel rules, --seccomp the seccomp ones', async () => {
  assert.match((await cli(['check', '-'], DDD)).out, /ok, 6 instructions \(socket filter\)/);
  await assert.rejects(cli(['check', '-', '--seccomp'], DDD), (e: unknown) => e instanceof ClassicError && /instruction 0: .*not allowed in seccomp/.test(e.message));
  await assert.rejects(cli(['check', '-', '--format', 'asm'], 'ld M[0]\nret a\n'), /M\[0\] is read before/);
});

test('translate prints eBPF with classic comments, or writes the bytes', async () => {
  const r = await cli(['translate', '-'], DDD);
  assert.match(r.out, /; \(000\) ldh {6}\[12\]\n +\d+:\tr6 = r1|; \(000\) ldh {6}\[12\]/);
  assert.match(r.out, /exit/);
  const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-cli-'));
  try {
    const o = join(tmp, 'x.bin');
    const w = await cli(['translate', '-', '-o', o], DDD);
    assert.match(w.out, /eBPF instructions from 6 classic/);
    assert.equal(readFileSync(o).length % 8, 0);
  } finally {
    rmSync(tmp, { recursive: true });
  }
});

test('run --pcap counts and writes accepted packets cut to the return value; --verbose agrees', async () => {
  const udp = [...readCaptureSync(PCAP)].filter((p) => p.data[12] === 8 && p.data[13] === 0 && p.data[23] === 17).length;
  assert.ok(udp > 0);
  const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-cli-'));
  try {
    const prog = join(tmp, 'p.ddd');
    writeFileSync(prog, DDD);
    const out = join(tmp, 'o.pcap');
    const r = await cli(['run', prog, '--pcap', PCAP, '-w', out]);
    assert.equal(r.out, `36 packets, ${udp} accepted\n`);
    const written = [...readCaptureSync(out)];
    assert.equal(written.length, udp);
    assert.ok(written.every((p) => p.data.length === Math.min(96, p.wireLen)));
    const v = await cli(['run', prog, '--pcap', PCAP, '--verbose', '--engine', 'interp']);
    const lines = v.out.trimEnd().split('\n');
    assert.equal(lines.length, 37);
    assert.equal(lines.filter((l) => /\t96$/.test(l)).length, udp);
  } finally {
    rmSync(tmp, { recursive: true });
  }
});

test('run --packet and --seccomp', async () => {
  const pkt = '000000000000000000000000' + '0800' + '4500001c00000000' + '4011' + '0000'.repeat(5);
  assert.equal((await cli(['run', '-', '--packet', pkt], DDD)).out, '96\n');
  assert.equal((await cli(['run', '-', '--packet', pkt.slice(0, 40)], DDD)).out, '0\n');
  const sec = 'ld [0]\njeq #39, allow, deny\nallow: ret #0x7fff0000\ndeny: ret #0\n';
  assert.equal((await cli(['run', '-', '--format', 'asm', '--seccomp', '--nr', '39'], sec)).out, '0x7fff0000 ALLOW\n');
  assert.equal((await cli(['run', '-', '--format', 'asm', '--seccomp', '--nr', '40'], sec)).out, '0x00000000 KILL_THREAD\n');
  await assert.rejects(cli(['run', '-', '--format', 'asm', '--seccomp'], sec), /needs --nr/);
  await assert.rejects(cli(['run', '-'], DDD), /needs --pcap/);
  await assert.rejects(cli(['frob', '-'], DDD), /expected a subcommand/);
});
