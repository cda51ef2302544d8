// Regression for falco's probe (docs/real-objects.md): loads from a frozen
// read-only array at a constant offset are that constant, as the kernel's
// bpf_map_direct_read makes them. Falco takes each event's parameter count
// from .rodata tables and sizes its ring-buffer stores by it; without the
// constant, every t_hotplug-like store looked out of range. The fixture
// (test/fixtures/verifier/real/rodata_index.c) is checked against tsbpf and,
// as root, against the running kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadObject } from '../../src/elf/load.js';
import type { ObjectSpec } from '../../src/elf/spec.js';
import { checkProgram } from '../../src/cli/check.js';
import { kernelLoad } from '../elf/kernel-harness.js';

const FILE = fileURLToPath(new URL('../../../test/fixtures/verifier/real/rodata_index.o', import.meta.url));

function load(): ObjectSpec {
  return loadObject(new Uint8Array(readFileSync(FILE)), { file: FILE });
}

/** The spec with .rodata not frozen: the loads are unknown scalars again. */
function unfrozen(spec: ObjectSpec): ObjectSpec {
  return { ...spec, maps: spec.maps.map((m) => (m.section === '.rodata' ? { ...m, frozen: false } : m)) };
}

const verdict = (spec: ObjectSpec, name: string): ReturnType<typeof checkProgram> =>
  checkProgram(spec, spec.programs.find((p) => p.name === name)!, undefined, 1);

test('rodata: a constant index read from frozen .rodata bounds the store', () => {
  const spec = load();
  const ok = verdict(spec, 'in_range');
  assert.equal(ok.verdict, 'accept', ok.log);
  const bad = verdict(spec, 'past_end');
  assert.equal(bad.verdict, 'reject');
  assert.match(bad.log, /invalid access to map value, value_size=8 off=8 size=1/);
});

test('rodata: without freezing, the index is unknown and the store refused', () => {
  const r = verdict(unfrozen(load()), 'in_range');
  assert.equal(r.verdict, 'reject');
  assert.match(r.error ?? '', /unbounded memory access/);
});

test('rodata: the running kernel gives the same verdicts', (t) => {
  const spec = load();
  const res = kernelLoad(spec, spec.programs);
  if (typeof res === 'string') {
    t.skip(res);
    return;
  }
  const by = new Map(res.map((r) => [r.name, r]));
  assert.equal(by.get('in_range')?.ok, true, by.get('in_range')?.log?.join('\n'));
  assert.equal(by.get('past_end')?.ok, false);
  assert.match(by.get('past_end')?.log?.join('\n') ?? '', /invalid access to map value, value_size=8 off=8 size=1/);
});
