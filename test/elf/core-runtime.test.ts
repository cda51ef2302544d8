// The runtime with a CO-RE target: programs load with their relocations
// applied and verified; a poisoned instruction in dead code is accepted (as
// the kernel accepts it), a reachable one is refused with the kernel's text,
// and without a target the runtime lists what is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Runtime } from '../../src/runtime/runtime.js';
import { taskTarget } from '../btf/core-target.js';

const FILE = fileURLToPath(new URL('../../../test/fixtures/objects/core/core_task.o', import.meta.url));

test('runtime: core_task.o programs load against a target BTF, poisoned dead code and all', () => {
  const bytes = new Uint8Array(readFileSync(FILE));
  const rt = new Runtime();
  assert.throws(() => rt.loadObject(bytes, { file: FILE, programs: ['core_kinds'] }), /program core_kinds \(section kprobe\/do_nanosleep\): needs 29 CO-RE relocations against a target BTF/);
  const target = taskTarget();
  const c = rt.loadObject(bytes, { file: FILE, programs: ['core_kinds', 'core_subfn'], coreTarget: target });
  assert.ok(c.program('core_kinds'));
  assert.ok(c.program('core_subfn'));
  assert.throws(() => rt.loadObject(bytes, { file: FILE, programs: ['core_poisoned'], coreTarget: target }), /instruction 0: invalid CO-RE relocation: failed to resolve CO-RE relocation field_byte_offset struct pt_regs___signed \+ 0:0/);
  const unverified = rt.loadObject(bytes, { file: FILE, programs: ['core_poisoned'], coreTarget: target, verify: false });
  assert.throws(() => unverified.program('core_poisoned').testRun({ ctxIn: new Uint8Array(168) }), /call to unknown helper id 195896080/);
});

test('runtime: kconfig.o runs with .kconfig values and reads them from the read-only map', () => {
  const file = fileURLToPath(new URL('../../../test/fixtures/objects/kconfig/kconfig.o', import.meta.url));
  const bytes = new Uint8Array(readFileSync(file));
  const rt = new Runtime();
  assert.throws(() => rt.loadObject(bytes, { file }), /uses extern LINUX_KERNEL_VERSION, a \.kconfig value/);
  const kconfig = new Map([['LINUX_KERNEL_VERSION', '396288'], ['CONFIG_BPF_SYSCALL', 'y'], ['CONFIG_HZ', '300'], ['CONFIG_LOCALVERSION', '"-xyz"']]);
  const c = rt.loadObject(bytes, { file, kconfig });
  c.program('read_kconfig').testRun({ dataIn: new Uint8Array(64) });
  const out = c.map('.bss').lookup(new Uint8Array(4))!;
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  assert.deepEqual([0, 1, 2, 3, 5, 7].map((i) => dv.getBigInt64(i * 8, true)), [396288n, 1n, 0n, 300n, BigInt('x'.charCodeAt(0)), 0n]);
});
