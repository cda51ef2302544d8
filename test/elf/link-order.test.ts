// Sub-functions are appended in libbpf's order (depth-first, at the first
// call), so a linked program is the stream libbpf hands the kernel and its
// tag matches the one `bpftool prog show` reports for the same object.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { loadObject } from '../../src/elf/load.js';
import { programTag } from '../../src/registry/tag.js';
import { EXAMPLES, exampleBytes } from './helpers.js';

test('subprogs.o: nested sub-functions are appended depth-first (first, sum_squares, square, store)', () => {
  const spec = loadObject(exampleBytes('subprogs.o'), { file: 'subprogs.o' });
  const first = spec.programs.find((p) => p.name === 'first')!;
  assert.deepEqual(first.functions.map((f) => f.name), ['first', 'sum_squares', 'square', 'store']);
});

test('subprogs.o: program tags equal the kernel\'s for the object libbpf loads', (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('needs root (bpftool prog loadall)');
    return;
  }
  const v = spawnSync('bpftool', ['version'], { encoding: 'utf8' });
  if (v.error || v.status !== 0) {
    t.skip('bpftool is not installed');
    return;
  }
  const pin = `/sys/fs/bpf/tsbpf-order-${process.pid}`;
  const load = spawnSync('bpftool', ['prog', 'loadall', EXAMPLES + 'subprogs.o', pin], { encoding: 'utf8' });
  try {
    if (load.status !== 0) {
      t.skip(`bpftool prog loadall failed here: ${load.stderr.trim().split('\n').pop()}`);
      return;
    }
    const spec = loadObject(exampleBytes('subprogs.o'), { file: 'subprogs.o' });
    for (const p of spec.programs) {
      const show = spawnSync('bpftool', ['prog', 'show', 'pinned', `${pin}/${p.name}`, '-j'], { encoding: 'utf8' });
      const kernelTag = (JSON.parse(show.stdout) as { tag: string }).tag;
      // Linux 6.18 hashes tags with SHA-256, earlier kernels with SHA-1 (src/registry/tag.ts).
      const ours = [programTag(p.insns, 'sha1'), programTag(p.insns, 'sha256')];
      assert.ok(ours.includes(kernelTag), `${p.name}: kernel tag ${kernelTag}, tsbpf ${ours.join(' / ')}`);
    }
  } finally {
    rmSync(pin, { recursive: true, force: true });
  }
});
