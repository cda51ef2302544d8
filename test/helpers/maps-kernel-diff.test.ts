// Differential test of map semantics seen from a program: fixtures/maps.bpf.o
// (update flags and errors, full maps, queue/stack order, LPM, bloom filter,
// ring buffer output/query, bpf_loop, bpf_for_each_map_elem) prints each
// result with trace_printk. It runs under BPF_PROG_TEST_RUN (bpftool) and on
// tsbpf's Runtime with the interpreter and the JIT; the lines must match.
// The kernel half needs root, bpftool and tracefs and skips otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, dirname } from 'node:path';
import { Runtime } from '../../src/runtime/runtime.js';
import { hasEngine } from '../../src/vm/engines.js';

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURE = join(here, '..', '..', '..', 'test', 'helpers', 'fixtures', 'maps.bpf.o');
const TRACE = '/sys/kernel/tracing/trace';

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  if (spawnSync('bpftool', ['version']).status !== 0) return 'needs bpftool';
  if (!existsSync('/sys/fs/bpf')) return 'needs bpffs';
  if (!existsSync(TRACE)) spawnSync('mount', ['-t', 'tracefs', 'tracefs', '/sys/kernel/tracing']);
  if (!existsSync(TRACE)) return 'needs tracefs at /sys/kernel/tracing';
  return undefined;
}

function kernelLines(): string[] {
  const pin = `/sys/fs/bpf/tsbpf_mapsdiff_${process.pid}`;
  const pkt = `/tmp/tsbpf_mapsdiff_${process.pid}.bin`;
  writeFileSync(pkt, new Uint8Array(64));
  try {
    const load = spawnSync('bpftool', ['prog', 'load', FIXTURE, pin], { encoding: 'utf8' });
    assert.equal(load.status, 0, load.stderr);
    const r = spawnSync('bpftool', ['prog', 'run', 'pinned', pin, 'data_in', pkt], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const mine = new RegExp(`-${r.pid}\\s.*bpf_trace_printk: (TSBPF.*)$`);
    return readFileSync(TRACE, 'utf8')
      .split('\n')
      .map((l) => mine.exec(l)?.[1])
      .filter((l): l is string => l !== undefined);
  } finally {
    rmSync(pin, { force: true });
    rmSync(pkt, { force: true });
  }
}

function ourLines(engine: string): string[] {
  const rt = new Runtime({ engine });
  try {
    const coll = rt.loadObject(readFileSync(FIXTURE), { file: FIXTURE });
    const res = coll.program('maps').testRun({ dataIn: new Uint8Array(64) });
    assert.equal(res.retval, 2);
    return rt.tracePipe.readEntries().map((e) => e.message.replace(/\n$/, ''));
  } finally {
    rt.dispose();
  }
}

const ENGINES = ['interp', ...(hasEngine('jit') ? ['jit'] : [])];

test('map semantics from a program: the kernel and tsbpf print the same results', { skip: skipReason() }, () => {
  const kernel = kernelLines();
  assert.ok(kernel.length >= 30, `kernel printed ${kernel.length} lines`);
  for (const engine of ENGINES) assert.deepEqual(ourLines(engine), kernel, engine);
});

test('map semantics from a program (tsbpf alone): known kernel results', () => {
  for (const engine of ENGINES) {
    const lines = ourLines(engine);
    for (const want of [
      'TSBPF hash flags 0 -17 -2',
      'TSBPF hash full -7 bad flags -22',
      'TSBPF push exist 0 0 noexist -22',
      'TSBPF pop -2 0',
      'TSBPF lpm -22 16 8',
      'TSBPF ringbuf 0 -22 avail 16',
      'TSBPF loop 7 sum 21',
      'TSBPF each hash 4 sum 13018',
    ])
      assert.ok(lines.includes(want), `${engine}: missing "${want}" in\n${lines.join('\n')}`);
  }
});
