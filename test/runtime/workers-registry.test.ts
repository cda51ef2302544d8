// The pieces under Runtime.share/attach, in one thread: the record codec,
// the registry's limits, and what an attached runtime learns from it later
// (maps created after it attached, programs loaded anywhere). The threads
// themselves are in workers.test.ts.
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { Runtime } from '../../src/runtime/runtime.js';
import { ShareError } from '../../src/runtime/errors.js';
import { decodeShared, encodeShared } from '../../src/runtime/share-codec.js';
import { UsageError } from '../../src/internal/errors.js';
import { counterAsm, objectSpec } from './spec-builder.js';
import { taskTarget } from '../btf/core-target.js';
import { join } from 'node:path';
import { FIXTURES } from '../paths.js';
import { argU32, setR0, type HelperDef } from '../../src/helpers/registry.js';

const u32 = (v: number): Uint8Array => Uint8Array.of(v, v >>> 8, v >>> 16, v >>> 24);

test('codec: plain data with byte arrays and bigints (CO-RE results) round-trips; a truncated record is a UsageError', () => {
  const v = { a: 1, s: 'x', list: [Uint8Array.of(1, 2, 3), { inner: new Uint8Array(0) }], none: null, patched: [-(2n ** 63n), 2n ** 64n - 1n] };
  const bytes = encodeShared(v);
  assert.deepEqual(decodeShared(bytes, 't'), v);
  for (const cut of [3, 10, bytes.length - 1]) assert.throws(() => decodeShared(bytes.subarray(0, cut), 'rec'), (e: unknown) => e instanceof UsageError && /rec: malformed/.test(e.message));
});

test('share: a registry too small for the maps there are is a ShareError, and the next share starts over', () => {
  const rt = new Runtime();
  for (let i = 0; i < 8; i++) rt.maps.create({ name: `m${i}`, type: 'hash', keySize: 4, valueSize: 4, maxEntries: 4 });
  assert.throws(() => rt.share({ registryBytes: 1024 }), (e: unknown) => e instanceof ShareError && /registry is full/.test(e.message));
  const a = Runtime.attach(rt.share());
  assert.deepEqual(a.maps.list().map((m) => m.name), rt.maps.list().map((m) => m.name));
  assert.throws(() => rt.share({ cpu: 3 }), ShareError, 'cpu out of range (cpus 1)');
  a.dispose();
  rt.dispose();
});

test('share: a runtime over a memory that is not shared refuses', () => {
  const rt = new Runtime({ memory: { shared: false } });
  assert.throws(() => rt.share(), (e: unknown) => e instanceof ShareError && /not shared/.test(e.message));
  rt.dispose();
});

test('attach: maps created afterwards are found by name, id and pointer; both sides see each other\'s writes', () => {
  const rt = new Runtime({ cpus: 2 });
  const a = Runtime.attach(rt.share());
  assert.equal(a.cpu, 1);
  const late = rt.maps.create({ name: 'late', type: 'lpm_trie', keySize: 8, valueSize: 4, maxEntries: 8, flags: 1 });
  const mine = a.map('late');
  assert.equal(mine.id, late.id);
  assert.equal(a.maps.byDesc(late.desc), mine);
  mine.update(Uint8Array.of(8, 0, 0, 0, 10, 0, 0, 0), u32(7));
  assert.deepEqual(late.lookup(Uint8Array.of(32, 0, 0, 0, 10, 1, 2, 3)), u32(7));
  const q = rt.maps.create({ name: 'q', type: 'queue', keySize: 0, valueSize: 4, maxEntries: 4 });
  assert.equal(a.maps.byId(q.id)?.name, 'q');
  a.dispose();
  rt.dispose();
});

test('attach: a program loaded in the attached runtime is published; the creator runs it on the same map', () => {
  const rt = new Runtime();
  const spec = objectSpec([{ name: 'bump', type: 'raw_tracepoint', maps: [[2, 0]], asm: counterAsm('r2 = 0', 5) }], [{ name: 'total', type: 'array', keySize: 4, valueSize: 8, maxEntries: 1 }]);
  rt.maps.create({ name: 'total', type: 'array', keySize: 4, valueSize: 8, maxEntries: 1 });
  const a = Runtime.attach(rt.share());
  const p = a.loadObject(spec).program('bump');
  const mine = rt.program(p.id);
  assert.ok(mine !== undefined && mine !== p && mine.verifierLog !== undefined, 'the creator has its own copy, verified');
  mine.testRun({ ctxIn: new Uint8Array(16) });
  p.testRun({ ctxIn: new Uint8Array(16) });
  assert.deepEqual(rt.map('total').lookup(u32(0)), Uint8Array.of(10, 0, 0, 0, 0, 0, 0, 0));
  a.dispose();
  rt.dispose();
});

test('attach: a program far bigger than an inline registry record (examples/big.o, ~10,000 instructions) travels out of line, byte for byte', () => {
  const rt = new Runtime();
  const coll = rt.loadObject(readFileSync(fileURLToPath(new URL('../../../examples/big.o', import.meta.url))), { verify: false });
  const share = rt.share({ registryBytes: 4096 }); // inline, big.o's records alone would need far more
  const a = Runtime.attach(share);
  for (const p of coll.programs.values()) {
    const mine = a.program(p.id)!;
    assert.ok(p.insns.length > 4096);
    assert.deepEqual(mine.insns, p.insns);
    assert.deepEqual(mine.spec.functions, p.spec.functions);
    assert.ok(p.spec.lineInfo.length > 0 && mine.spec.lineInfo.length === 0, 'line info (display only) stays behind');
    assert.equal(mine.verifierLog, undefined, 'loaded without verification: it stays so');
  }
  a.dispose();
  rt.dispose();
});

test('attach: CO-RE-relocated programs travel (their relocation results hold bigints), with their verdict', () => {
  const file = fileURLToPath(new URL('../../../test/fixtures/objects/core/core_task.o', import.meta.url));
  const rt = new Runtime();
  const c = rt.loadObject(new Uint8Array(readFileSync(file)), { file, programs: ['core_kinds'], coreTarget: taskTarget() });
  const p = c.program('core_kinds');
  assert.ok(p.spec.coreRelos.some((r) => typeof r.result?.value === 'bigint'));
  const a = Runtime.attach(rt.share());
  const mine = a.programNamed('core_kinds');
  assert.deepEqual(mine.insns, p.insns);
  assert.deepEqual(mine.spec.coreRelos, p.spec.coreRelos);
  assert.ok(mine.verifierLog !== undefined);
  a.dispose();
  rt.dispose();
});

test('attach: a program unloaded (with its maps) before a thread attached is skipped, and what came after still arrives', () => {
  const rt = new Runtime();
  rt.share(); // the registry exists from here on: the object below is published
  const spec = objectSpec([{ name: 'gone', type: 'raw_tracepoint', maps: [[0, 0]], asm: `r1 = 0 ll
      r0 = 0
      exit` }], [{ name: 'm', type: 'array', keySize: 4, valueSize: 4, maxEntries: 1 }]);
  const coll = rt.loadObject(spec, { verify: false });
  const id = coll.program('gone').id;
  coll.close();
  rt.maps.create({ name: 'after', type: 'hash', keySize: 4, valueSize: 4, maxEntries: 2 });
  const a = Runtime.attach(rt.share());
  assert.equal(a.program(id), undefined);
  assert.throws(() => a.programNamed('gone'), (e: unknown) => e instanceof ShareError && /uses map 'm', which was closed/.test(e.message));
  assert.throws(() => a.map('m'), ShareError);
  assert.equal(a.map('after').name, 'after');
  a.dispose();
  rt.dispose();
});

test('attach: a map whose state stays in its thread (devmap) does not stop the others; it and its programs say why they are missing', () => {
  const rt = new Runtime();
  const spec = objectSpec([{ name: 'uses_dev', type: 'xdp', maps: [[0, 0]], asm: `r1 = 0 ll
      r0 = 2
      exit` }], [{ name: 'dev', type: 'devmap', keySize: 4, valueSize: 4, maxEntries: 4 }, { name: 'ok', type: 'array', keySize: 4, valueSize: 4, maxEntries: 1 }]);
  rt.loadObject(spec, { verify: false });
  const a = Runtime.attach(rt.share());
  assert.equal(a.map('ok').name, 'ok');
  assert.throws(() => a.map('dev'), (e: unknown) => e instanceof ShareError && /devmap map, whose state is outside the shared memory/.test(e.message));
  assert.throws(() => a.programNamed('uses_dev'), (e: unknown) => e instanceof ShareError && /uses map 'dev', which is a devmap/.test(e.message));
  a.dispose();
  rt.dispose();
});

test('attach: a map created after the attach in memory the creator had to grow is usable there (views and bounds follow)', () => {
  const rt = new Runtime();
  const a = Runtime.attach(rt.share());
  const before = rt.mem.wasm.buffer.byteLength;
  const big = rt.maps.create({ name: 'big', type: 'array', keySize: 4, valueSize: 4096, maxEntries: 2048 }); // 8 MiB
  assert.ok(rt.mem.wasm.buffer.byteLength > before, 'the memory grew');
  const value = new Uint8Array(4096).fill(7);
  a.map('big').update(u32(2047), value);
  assert.deepEqual(big.lookup(u32(2047)), value);
  // a program of the attached runtime writes the last byte through the checked interpreter
  const spec = objectSpec([{ name: 'poke', type: 'raw_tracepoint', maps: [[2, 0]], asm: `r1 = 2047
      *(u32 *)(r10 - 4) = r1
      r1 = 0 ll
      r2 = r10
      r2 += -4
      call 1
      if r0 == 0 goto out
      r1 = 9
      *(u8 *)(r0 + 4095) = r1
    out:
      r0 = 0
      exit` }], [{ name: 'big', type: 'array', keySize: 4, valueSize: 4096, maxEntries: 2048 }]);
  a.loadObject(spec).program('poke').testRun({ ctxIn: new Uint8Array(16), engine: 'interp' });
  assert.equal(big.lookup(u32(2047))![4095], 9);
  a.dispose();
  rt.dispose();
});

test('attach: a forged or stale share is a ShareError (wrong registry address, claim past the records, a disposed creator)', () => {
  const rt = new Runtime();
  const share = rt.share();
  assert.throws(() => Runtime.attach({ ...share, registry: share.registry + 64 }), (e: unknown) => e instanceof ShareError && /no share registry/.test(e.message));
  assert.throws(() => Runtime.attach({ ...share, claim: 1 << 20 }), ShareError);
  assert.throws(() => Runtime.attach({ ...share, cpu: -1 }), (e: unknown) => e instanceof ShareError && /not a runtime share/.test(e.message));
  assert.throws(() => Runtime.attach(undefined as never), ShareError);
  const later = rt.share();
  rt.dispose();
  assert.throws(() => Runtime.attach(later), ShareError);
});

test('attach: a program calling an embedder helper runs in a thread that registered it too, and says why where it did not', () => {
  const sumBytes: HelperDef = {
    id: 1000,
    name: 'sum_bytes',
    proto: { args: ['mem', 'const_size'], ret: 'integer' },
    fn: (env) => setR0(env, env.mem.read(argU32(env, 1), argU32(env, 2)).reduce((x, y) => x + y, 0)),
  };
  const rt = new Runtime({ helpers: [sumBytes] });
  rt.loadObject(new Uint8Array(readFileSync(join(FIXTURES, 'custom-helper', 'custom_helper.o'))));
  const without = Runtime.attach(rt.share());
  assert.throws(() => without.programNamed('call_custom'), (e: unknown) => e instanceof ShareError && /AttachOptions.helpers/.test(e.message));
  const withIt = Runtime.attach(rt.share(), { helpers: [sumBytes] });
  assert.equal(withIt.programNamed('call_custom').testRun({ dataIn: new Uint8Array(64) }).retval, 36);
  without.dispose();
  withIt.dispose();
  rt.dispose();
});
