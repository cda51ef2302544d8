// Critical sections in clang-built objects (test/fixtures/verifier/critical/):
// the bpf_spin_lock offset comes from the maps' BTF (not at 0 here), a lock
// taken in a static function is released by its caller, global functions
// may be called in RCU and preempt-disabled sections but not while holding
// a lock, nor, when they may sleep, in any section or a non-sleepable program, and section kfuncs are resolved by their extern names. As root the
// same objects go through the kernel (bpftool prog loadall), whose verdict
// and error line must be ours.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { verify } from '../../src/verifier/index.js';
import { decodeProgram } from '../../src/isa/decode.js';
import { loadObject } from '../../src/elf/index.js';
import { objectVerifyOptions, unrelocatedMapLoads, verifierMaps } from '../../src/verifier/object.js';
import { kernelErrorLine } from './kernel.js';
import { FIXTURES } from '../paths.js';

const DIR = join(FIXTURES, 'verifier', 'critical');

interface Expect {
  readonly object: string;
  /** Program name -> undefined (accepted) or our error reason, which is the kernel's error line. */
  readonly programs: Readonly<Record<string, string | undefined>>;
}

const OBJECTS: readonly Expect[] = [
  { object: 'critical.o', programs: { count_by_len: undefined, count_total: undefined, global_in_sections: undefined, count_global: undefined } },
  { object: 'global_under_lock.o', programs: { global_under_lock: 'use static function instead' } },
  { object: 'res_lock.o', programs: { read_res_lock: 'bpf_res_spin_lock cannot be accessed directly by load/store' } },
  { object: 'res_locks_accept.o', programs: { count_locked: undefined, two_locks: undefined } },
  { object: 'res_locks_unchecked.o', programs: { unchecked: 'bpf_res_spin_unlock without taking a lock' } },
  { object: 'res_locks_twice.o', programs: { twice: 'Acquiring the same lock again, AA deadlock detected' } },
  { object: 'res_locks_out_of_order.o', programs: { out_of_order: 'bpf_res_spin_unlock cannot be out of order' } },
  { object: 'res_locks_held_at_exit.o', programs: { held_at_exit: 'BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region' } },
  { object: 'res_locks_helper_inside.o', programs: { helper_inside: 'function calls are not allowed while holding a lock' } },
  // global functions that may sleep (bpf_copy_from_user, or a callee that calls it)
  { object: 'might_sleep_accept.o', programs: { sleeps_outside: undefined } },
  ...['in_rcu', 'in_preempt', 'in_irq', 'through_callee', 'not_sleepable'].map((v) => ({
    object: `might_sleep_${v}.o`,
    programs: { [v === 'not_sleepable' ? 'sleeps_in_kprobe' : `sleeps_${v}`]: 'a non-sleepable BPF program context' },
  })),
];

function load(object: string): ReturnType<typeof loadObject> {
  return loadObject(new Uint8Array(readFileSync(join(DIR, object))), { file: object });
}

test('critical objects: the lock offset of each map comes from its BTF (a struct member, or a variable of a data section)', () => {
  const maps = verifierMaps(load('critical.o'));
  assert.deepEqual(maps.map((m) => [m.name, m.valueBtf, m.spinLockOff]), [['by_len', true, 8], ['total', true, 8], ['.data.locked', true, 0]]);
});

for (const { object, programs } of OBJECTS) {
  for (const [name, reason] of Object.entries(programs)) {
    test(`critical objects: ${object} ${name} is ${reason === undefined ? 'accepted' : 'refused'}`, () => {
      const spec = load(object);
      const p = spec.programs.find((x) => x.name === name)!;
      const r = verify(decodeProgram(unrelocatedMapLoads(p), { validate: false }), objectVerifyOptions(spec, p, { logLevel: 1 }));
      if (reason === undefined) assert.ok(r.ok, r.log);
      else {
        assert.equal(r.ok, false, `accepted:\n${r.log}`);
        assert.equal(r.error!.reason, reason);
        // the kernel's two-line message, the second line being its error line
        if (name === 'global_under_lock') assert.match(r.log, /global function calls are not allowed while holding a lock,\nuse static function instead\n/);
        if (object.startsWith('might_sleep_')) {
          assert.match(r.log, /global functions that may sleep are not allowed in non-sleepable context,\ni\.e\., in a RCU\/IRQ\/preempt-disabled section, or in\na non-sleepable BPF program context\n/);
        }
      }
    });
  }
}

/** bpftool prog loadall: accepted, or the failing program and its verifier error line; undefined without bpftool or root. */
function kernelLoad(object: string): { ok: true } | { ok: false; prog: string; error: string } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const pin = `/sys/fs/bpf/tsbpf-critical-${process.pid}`;
  try {
    const r = spawnSync('bpftool', ['prog', 'loadall', join(DIR, object), pin], { encoding: 'utf8', timeout: 60_000 });
    if (r.error) return undefined;
    if (r.status === 0) return { ok: true };
    const text = `${r.stdout}\n${r.stderr}`;
    const prog = /libbpf: prog '([^']+)': (?:BPF program load failed|failed to load)/.exec(text)?.[1] ?? '?';
    const log = /-- BEGIN PROG LOAD LOG --\n([\s\S]*?)-- END PROG LOAD LOG --/.exec(text)?.[1] ?? text;
    return { ok: false, prog, error: kernelErrorLine(log) };
  } finally {
    rmSync(pin, { recursive: true, force: true });
  }
}

test('critical objects: a bpf_res_spin_lock map is off limits to socket filters and tracing programs', () => {
  const spec = load('res_lock.o');
  const p = spec.programs.find((x) => x.name === 'read_res_lock')!;
  assert.equal(verifierMaps(spec)[0]!.resSpinLockOff, 8);
  for (const [type, why] of [[1, 'socket filter progs cannot use bpf_spin_lock yet'], [2, 'tracing progs cannot use bpf_spin_lock yet']] as const) {
    const r = verify(decodeProgram(unrelocatedMapLoads(p), { validate: false }), objectVerifyOptions(spec, p, { logLevel: 1, progType: type }));
    assert.equal(r.error?.reason, why);
  }
});

test('critical objects: the kernel agrees (root with bpftool only)', (t) => {
  const got: string[] = [];
  const want: string[] = [];
  for (const { object, programs } of OBJECTS) {
    const k = kernelLoad(object);
    if (k === undefined) {
      t.skip('needs root and bpftool');
      return;
    }
    const refused = Object.entries(programs).find(([, reason]) => reason !== undefined);
    want.push(refused ? `${object}: ${refused[0]} ${refused[1]}` : `${object}: accepted`);
    got.push(k.ok ? `${object}: accepted` : `${object}: ${k.prog} ${k.error}`);
  }
  assert.deepEqual(got, want);
});

test('critical objects: the runtime verifies and runs them (locks taken and released, section kfuncs as no-ops)', async () => {
  const { Runtime } = await import('../../src/runtime/runtime.js');
  const rt = new Runtime();
  try {
    const coll = rt.loadObject(readFileSync(join(DIR, 'critical.o')), { file: 'critical.o' });
    const packet = new Uint8Array(100);
    for (let i = 0; i < 3; i++) coll.program('count_total').testRun({ dataIn: packet });
    // the program only counts into buckets that exist
    coll.map('by_len').update(Uint8Array.of(1, 0, 0, 0), new Uint8Array(16));
    coll.program('count_by_len').testRun({ dataIn: packet });
    const key = new Uint8Array(4);
    const total = new DataView(coll.map('total').lookup(key)!.buffer);
    assert.equal(total.getBigInt64(0, true), 6n, 'three runs on a 100-byte packet add 2 each');
    const byLen = new DataView(coll.map('by_len').lookup(Uint8Array.of(1, 0, 0, 0))!.buffer, 0); // bucket(100) = 1
    assert.equal(byLen.getBigInt64(0, true), 1n);
    assert.equal(byLen.getInt32(12, true), 100, 'last length');
    assert.equal(coll.program('global_in_sections').testRun({ dataIn: packet }).retval, 1);
    coll.program('count_global').testRun({ dataIn: packet });
    coll.program('count_global').testRun({ dataIn: packet });
    const data = new DataView(coll.map('.data.locked').lookup(key)!.buffer);
    assert.equal(data.getBigInt64(8, true), 2n, 'gcount after two runs');
  } finally {
    rt.dispose();
  }
});

test('critical objects: the runtime runs bpf_res_spin_lock (a lock it cannot get fails, and the program skips its update)', async () => {
  const { Runtime } = await import('../../src/runtime/runtime.js');
  const rt = new Runtime();
  try {
    const coll = rt.loadObject(readFileSync(join(DIR, 'res_locks_accept.o')), { file: 'res_locks_accept.o' });
    const packet = new Uint8Array(64);
    for (let i = 0; i < 3; i++) coll.program('count_locked').testRun({ dataIn: packet });
    coll.program('two_locks').testRun({ dataIn: packet });
    const g = coll.map('guarded');
    const cnt = (k: number): bigint => new DataView(g.lookup(Uint8Array.of(k, 0, 0, 0))!.buffer).getBigInt64(0, true);
    assert.equal(cnt(0), 3n, 'three locked increments (two_locks adds entry 1, which is 0)');
    // held by someone else (the lock word of entry 0 set in the memory, as another thread would):
    // the lock fails with -ETIMEDOUT and nothing is counted
    const entry0 = (g as unknown as { data: number }).data;
    rt.mem.dv.setUint32(entry0 + 8, 1, true);
    coll.program('count_locked').testRun({ dataIn: packet });
    assert.equal(cnt(0), 3n);
    rt.mem.dv.setUint32(entry0 + 8, 0, true);
    coll.program('count_locked').testRun({ dataIn: packet });
    assert.equal(cnt(0), 4n, 'released, it counts again');
  } finally {
    rt.dispose();
  }
});
