// Differential test of helper semantics against the running kernel: the same
// object (fixtures/printk.bpf.o: trace_printk formats, snprintf, strncmp,
// csum_diff, probe_read_kernel_str) runs under BPF_PROG_TEST_RUN via bpftool
// and on tsbpf (src/runtime, interpreter); trace lines and return values must match.
// Needs root, bpftool and tracefs; skips with a message otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, dirname } from 'node:path';
import { Runtime } from '../../src/runtime/runtime.js';

const here = dirname(fileURLToPath(import.meta.url));
// dist/test/helpers -> test/helpers/fixtures
const FIXTURE = join(here, '..', '..', '..', 'test', 'helpers', 'fixtures', 'printk.bpf.o');
const TRACE = '/sys/kernel/tracing/trace';

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  if (spawnSync('bpftool', ['version']).status !== 0) return 'needs bpftool';
  if (!existsSync('/sys/fs/bpf')) return 'needs bpffs';
  if (!existsSync(TRACE)) spawnSync('mount', ['-t', 'tracefs', 'tracefs', '/sys/kernel/tracing']);
  if (!existsSync(TRACE)) return 'needs tracefs at /sys/kernel/tracing';
  return undefined;
}

const SKIP = skipReason();

function kernelRun(): { ret: number; lines: string[] } {
  const pin = `/sys/fs/bpf/tsbpf_printk_${process.pid}`;
  const pkt = `/tmp/tsbpf_printk_${process.pid}.bin`;
  writeFileSync(pkt, new Uint8Array(64));
  try {
    const load = spawnSync('bpftool', ['prog', 'load', FIXTURE, pin], { encoding: 'utf8' });
    assert.equal(load.status, 0, load.stderr);
    const r = spawnSync('bpftool', ['prog', 'run', 'pinned', pin, 'data_in', pkt], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const ret = Number(/Return value: (\d+)/.exec(r.stdout)?.[1]);
    // the trace buffer is shared: keep only this bpftool process's lines
    const mine = new RegExp(`-${r.pid}\\s.*bpf_trace_printk: (TSBPF.*)$`);
    const lines = readFileSync(TRACE, 'utf8')
      .split('\n')
      .map((l) => mine.exec(l)?.[1])
      .filter((l): l is string => l !== undefined);
    return { ret, lines };
  } finally {
    rmSync(pin, { force: true });
    rmSync(pkt, { force: true });
  }
}

function ourRun(): { ret: number; lines: string[] } {
  const rt = new Runtime();
  try {
    const coll = rt.loadObject(readFileSync(FIXTURE), { file: FIXTURE });
    const r = coll.program('printk').testRun({ dataIn: new Uint8Array(64) });
    const lines = rt.tracePipe.readEntries().map((e) => e.message.replace(/\n$/, ''));
    return { ret: r.retval, lines };
  } finally {
    rt.dispose();
  }
}

test('kernel differential: trace_printk, snprintf, strncmp, csum_diff, probe_read_kernel_str', { skip: SKIP }, () => {
  const ours = ourRun();
  const kernel = kernelRun();
  assert.ok(kernel.lines.length >= 10, `kernel produced ${kernel.lines.length} lines`);
  assert.deepEqual(ours.lines, kernel.lines);
  assert.equal(ours.ret, kernel.ret);
  assert.equal(ours.ret, 2, 'XDP_PASS: exactly the malformed formats failed');
});

test('printk fixture on tsbpf alone (no kernel needed)', () => {
  const ours = ourRun();
  assert.equal(ours.ret, 2);
  assert.ok(ours.lines.includes('TSBPF csum=9e47 from=15f8'), ours.lines.join('\n'));
  assert.ok(ours.lines.includes('TSBPF snprintf=22 out=-7-hello-123456'));
});
