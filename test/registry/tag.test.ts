// Program tags as the kernel computes them: SHA-1 (SHA-256 from Linux 6.18)
// over the instructions with map references zeroed; compared with the
// running kernel through bpftool when it can load programs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { loadObject } from '../../src/elf/index.js';
import { programTag } from '../../src/registry/tag.js';
import { ROOT } from '../paths.js';

const RET2 = new Uint8Array([0xb7, 0, 0, 0, 2, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]); // r0 = 2; exit

test('r0 = 2; exit has the tag bpftool shows for it', () => {
  assert.equal(programTag(RET2), '3b185187f1855c4c');
  assert.equal(programTag(RET2, 'sha256'), '614b434cd8324ecc');
});

test('map references do not change the tag; other immediates do', () => {
  // r1 = map fd N (lddw src=1); r0 = 0; exit
  const prog = (fd: number, value = false, off = 0): Uint8Array => {
    const b = new Uint8Array(32);
    const dv = new DataView(b.buffer);
    b[0] = 0x18;
    b[1] = 0x01 | ((value ? 2 : 1) << 4);
    dv.setInt32(4, fd, true);
    dv.setInt32(12, off, true);
    b[16] = 0xb7;
    b[24] = 0x95;
    return b;
  };
  assert.equal(programTag(prog(3)), programTag(prog(1234)));
  assert.equal(programTag(prog(3, true, 8)), programTag(prog(9, true, 16)));
  const plain = prog(3);
  plain[1] = 0x01; // src = 0: a plain 64-bit constant is part of the program
  const other = plain.slice();
  other[4] = 4;
  assert.notEqual(programTag(plain), programTag(other));
});

function kernelUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  try {
    execFileSync('bpftool', ['version'], { stdio: 'pipe' });
    execFileSync('sh', ['-c', 'mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf'], { stdio: 'pipe' });
  } catch {
    return 'bpftool or bpffs unavailable';
  }
  return undefined;
}

/** Linux 6.18 switched the tag to SHA-256. */
function kernelHash(): 'sha1' | 'sha256' {
  const [maj = 0, min = 0] = release().split(/[.-]/).map(Number);
  return maj > 6 || (maj === 6 && min >= 18) ? 'sha256' : 'sha1';
}

test('tags agree with the running kernel (bpftool prog loadall)', (t) => {
  const why = kernelUnavailable();
  if (why !== undefined) {
    t.skip(`kernel comparison skipped: ${why}`);
    return;
  }
  // Known divergences (may only shrink). subprogs.o (nested sub-functions)
  // agrees since src/elf/link.ts appends sub-functions depth first, as libbpf.
  const KNOWN_DIVERGENT = new Set<string>();
  for (const rel of ['examples/xdp/flowcount.o', 'examples/globals.o', 'examples/subprogs.o']) {
    const file = join(ROOT, rel);
    const pin = `/sys/fs/bpf/tsbpf_tag_test_${process.pid}`;
    try {
      execFileSync('bpftool', ['prog', 'loadall', file, pin], { stdio: 'pipe' });
    } catch (e) {
      t.diagnostic(`${rel}: the kernel refused it (${String((e as { stderr?: unknown }).stderr ?? e).split('\n')[0]}); not compared`);
      continue;
    }
    try {
      const shown = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show', 'pinned', `${pin}/${loadObject(readFileSync(file)).programs[0]!.name}`], { encoding: 'utf8' })) as { tag: string; name: string };
      const ours = loadObject(readFileSync(file)).programs.find((p) => p.name.startsWith(shown.name))!;
      const tag = programTag(ours.insns, kernelHash());
      if (KNOWN_DIVERGENT.has(rel)) assert.notEqual(tag, shown.tag, `${rel} now agrees with the kernel: remove it from KNOWN_DIVERGENT`);
      else assert.equal(tag, shown.tag, `${rel} ${ours.name}`);
    } finally {
      rmSync(pin, { recursive: true, force: true });
    }
  }
});
