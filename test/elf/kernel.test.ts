// The kernel accepts our linked programs: each example program that needs no
// CO-RE, externs or BTF attach target is handed, as tsbpf linked it, to
// BPF_PROG_LOAD with freshly created maps (test/elf/kernel-load.py does the
// bpf(2) calls). Skips with a message without root, python3 or bpf(2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { MapSpec, ProgramSpec } from '../../src/elf/spec.js';
import { decodeProgram } from '../../src/isa/decode.js';
import { BtfEncoder } from '../../src/btf/encode.js';
import { Op } from '../../src/isa/table.js';
import { exampleObjects, loadExample } from './helpers.js';

const HARNESS = fileURLToPath(new URL('../../../test/elf/kernel-load.py', import.meta.url));
/** Program types that load without an attach target or BTF (tracing, lsm, ext, struct_ops need one). */
const LOADABLE = new Set(['socket_filter', 'kprobe', 'sched_cls', 'sched_act', 'tracepoint', 'xdp', 'perf_event', 'cgroup_skb', 'raw_tracepoint', 'syscall']);

/** clang -O0 calls helpers through a pointer (callx), which no kernel accepts; such objects are not a linker test. */
const usesCallx = (p: ProgramSpec): boolean => {
  const d = decodeProgram(p.insns, { validate: false });
  return d.op.some((op) => op === Op.CALLX);
};

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const mapJson = (m: MapSpec): Record<string, unknown> => ({
  name: m.name,
  typeId: m.typeId,
  keySize: m.keySize,
  valueSize: m.valueSize,
  maxEntries: m.maxEntries,
  flags: m.flags,
  initial: m.initial ? hex(m.initial) : null,
  frozen: m.frozen === true,
  innerMap: m.innerMap ? mapJson(m.innerMap) : null,
});

test('the kernel accepts the linked example programs', (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('needs root for bpf(2)');
    return;
  }
  let checked = 0;
  for (const file of exampleObjects()) {
    const spec = loadExample(file);
    if (spec.endianness !== 'little') continue;
    const programs = spec.programs.filter((p) => LOADABLE.has(p.type) && p.coreRelos.length === 0 && p.externs.length === 0 && !usesCallx(p));
    if (programs.length === 0) continue;
    // The object's BTF (after the DATASEC fix-up) goes to the kernel with each
    // program's func_info and line_info, re-based by the linker: the kernel
    // checks that func_info marks exactly the start of every sub-function.
    const enc = spec.btf ? new BtfEncoder(spec.btf) : undefined;
    const lineInfo = (p: ProgramSpec): number[][] =>
      enc ? p.lineInfo.map((l) => [l.insn, enc.stringOffset(l.file), enc.stringOffset(l.text), (l.line << 10) | l.col]) : [];
    const progs = programs.map((p) => ({
      name: p.name,
      typeId: p.typeId,
      expectedAttachTypeId: p.type === 'cgroup_skb' ? p.expectedAttachTypeId ?? null : null,
      sleepable: p.sleepable,
      license: p.license,
      insns: hex(p.insns),
      mapRefs: p.mapRefs,
      funcInfo: p.funcInfo,
      lineInfo: lineInfo(p),
    }));
    const input = JSON.stringify({
      btf: enc ? hex(enc.finish()) : null,
      maps: spec.maps.map(mapJson),
      programs: progs,
    });
    const r = spawnSync('python3', [HARNESS], { input, encoding: 'utf8', timeout: 20000 });
    if (r.error || r.status === 77) {
      t.skip(`kernel check unavailable: ${r.error?.message ?? r.stderr.trim()}`);
      return;
    }
    assert.equal(r.status, 0, r.stderr);
    const results = JSON.parse(r.stdout) as { name: string; ok: boolean; error?: string; log?: string[] }[];
    for (const res of results) {
      assert.ok(res.ok, `${file}: ${res.name}: ${res.error}\n${(res.log ?? []).join('\n')}`);
      checked++;
    }
  }
  assert.ok(checked >= 15, `checked ${checked} programs`);
  console.log(`# kernel accepted ${checked} linked programs`);
});
