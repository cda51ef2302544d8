// Verification is the default: the runtime, `tsbpf run FILE.o` and the
// example objects (Node tracing contexts and map-in-map included); running
// unverified code takes an explicit opt-out, and the unchecked engine takes
// verified programs only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve, dirname } from 'node:path';
import { Runtime } from '../../src/runtime/runtime.js';
import { LoadError } from '../../src/runtime/errors.js';
import { objectSpec } from '../runtime/spec-builder.js';
import { verify } from '../../src/verifier/index.js';
import { decodeProgram } from '../../src/isa/decode.js';
import { assemble } from '../../src/asm/assemble.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const main = resolve(root, 'dist/src/cli/main.js');
const ex = (...f: string[]): string => resolve(root, 'examples', ...f);
const tsbpf = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });

test('a default runtime verifies: a bad program does not load, verify: false loads it', () => {
  const bad = objectSpec([{ name: 'oob', type: 'xdp', asm: 'r2 = *(u32 *)(r1 + 0)\nr0 = *(u8 *)(r2 + 0)\nexit' }]);
  const rt = new Runtime();
  assert.throws(() => rt.loadObject(bad), (e: unknown) => e instanceof LoadError && /program oob \(section xdp\): instruction 1: R2 offset is outside of the packet/.test(e.message));
  const off = new Runtime({ verify: false });
  const coll = off.loadObject(bad);
  assert.equal(coll.program('oob').verifierLog, undefined);
  assert.throws(() => coll.program('oob').testRun({ dataIn: new Uint8Array(60), engine: 'jit-verified' }), /must be loaded with verify: true/);
  rt.dispose();
  off.dispose();
});

test('every example object that the kernel accepts loads verified, Node tracing contexts and map-in-map included', () => {
  const files = ['maps.o', 'programs.o', 'loops.o', 'subprogs.o', 'globals.o', 'big.o', 'xdp/flowcount.o', 'xdp/adjust.o',
    'trace/netif_rcv.o', 'trace/http_latency.o', 'trace/dropmon.o', 'trace/json_sizes.o'];
  for (const f of files) {
    const rt = new Runtime();
    const coll = rt.loadObject(readFileSync(ex(f)), { file: f });
    for (const p of coll.programs.values()) assert.match(p.verifierLog ?? '', /processed \d+ insns/, `${f} ${p.name}`);
    rt.dispose();
  }
});

test('a Node tracepoint program reads its own struct from offset 0 but not past its end', () => {
  const rt = new Runtime();
  const coll = rt.loadObject(readFileSync(ex('trace/netif_rcv.o')), { file: 'netif_rcv.o' });
  assert.ok(coll.program('netif_rcv').verifierLog);
  rt.dispose();
  const r = tsbpf('check', ex('trace/http_latency.o'), '--json');
  assert.equal(r.status, 0, r.stdout + r.stderr);
  // verify() with the struct's size: offset 0 is readable, the end is not, nothing is writable.
  const TRACEPOINT = 5;
  const prog = (text: string) => decodeProgram(assemble(text, { dialect: 'llvm' }), { validate: false });
  assert.equal(verify(prog('r0 = *(u64 *)(r1 + 0)\nr0 = 0\nexit'), { progType: TRACEPOINT, ctxSize: 16 }).ok, true);
  assert.equal(verify(prog('r0 = *(u32 *)(r1 + 12)\nr0 = 0\nexit'), { progType: TRACEPOINT, ctxSize: 16 }).ok, true);
  assert.equal(verify(prog('r0 = *(u64 *)(r1 + 16)\nr0 = 0\nexit'), { progType: TRACEPOINT, ctxSize: 16 }).error?.reason, 'invalid bpf_context access off=16 size=8');
  assert.equal(verify(prog('r0 = *(u64 *)(r1 + 4)\nr0 = 0\nexit'), { progType: TRACEPOINT, ctxSize: 16 }).ok, false);
  assert.equal(verify(prog('r2 = 1\n*(u64 *)(r1 + 0) = r2\nr0 = 0\nexit'), { progType: TRACEPOINT, ctxSize: 16 }).ok, false);
  // Without ctxSize the kernel's tracepoint rule stands.
  assert.equal(verify(prog('r0 = *(u64 *)(r1 + 0)\nr0 = 0\nexit'), { progType: TRACEPOINT }).error?.reason, 'invalid bpf_context access off=0 size=8');
});

test('tsbpf run FILE.o verifies by default; --no-verify opts out', () => {
  // globals.O0.o calls through a register (callx), which the kernel refuses: unknown opcode 8d.
  const data = resolve(root, 'examples', 'xdp', 'flowcount.o'); // any 60+ bytes serve as a frame
  const refused = tsbpf('run', ex('globals.O0.o'), '--data', data);
  assert.equal(refused.status, 1, refused.stdout + refused.stderr);
  assert.match(refused.stderr, /program use_globals \(section xdp\): instruction 38: unknown opcode 8d/);
  const ran = tsbpf('run', ex('globals.O0.o'), '--data', data, '--no-verify');
  assert.equal(ran.status, 0, ran.stderr);
  assert.match(ran.stdout, /retval: /);
  const raw = spawnSync(process.execPath, [main, 'run', '--engine', 'jit-verified', '-'], { encoding: 'utf8', input: 'r0 = 0\nexit\n' });
  assert.notEqual(raw.status, 0);
  assert.match(raw.stderr, /engine jit-verified runs without memory checks and only verified programs/);
});

test('a map load no relocation resolved is refused with or without the verifier', () => {
  const spec = objectSpec([{ name: 'raw', type: 'xdp', asm: 'ld_pseudo r1, 1, 7\nr0 = 2\nexit' }]);
  for (const verifyOpt of [true, false]) {
    const rt = new Runtime({ verify: verifyOpt });
    assert.throws(() => rt.loadObject(spec), (e: unknown) => e instanceof LoadError && /instruction 0: fd -?\d+ is not pointing to valid bpf_map/.test(e.message), `verify: ${verifyOpt}`);
    rt.dispose();
  }
});
