// `tsbpf check`: verdicts, exit codes, --json rows, --prog and --type, on the
// committed example objects (run as a child process, as a user would).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { resolve, dirname } from 'node:path';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const main = resolve(root, 'dist/src/cli/main.js');
const ex = (f: string): string => resolve(root, 'examples', f);
const tsbpf = (...args: string[]) => spawnSync(process.execPath, [main, 'check', ...args], { encoding: 'utf8' });

test('check accepts a safe program with exit status 0', () => {
  const r = tsbpf(ex('xdp/flowcount.o'));
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /flowcount \(xdp, xdp\): accepted, \d+ insns processed/);
});

test('check --json prints one row per program', () => {
  const r = tsbpf(ex('programs.o'), '--json', '--prog', 'sock', '--prog', 'on_open');
  assert.equal(r.status, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
  assert.deepEqual(rows.map((x) => [x.program, x.type, x.verdict]), [['on_open', 'kprobe', 'accept'], ['sock', 'socket_filter', 'accept']].sort((a, b) => (a[0]! < b[0]! ? -1 : 1)));
  for (const row of rows) {
    assert.equal(typeof row.processed, 'number');
    assert.equal(typeof row.ms, 'number');
    assert.equal(row.section !== undefined, true);
  }
});

test('check rejects with exit status 1, the error, its instruction and source line', () => {
  // skb->len read by a program forced to be xdp: offset 0 of xdp_md is data, fine, but
  // a socket filter's ctx read checked as a tracepoint hits the unreadable header.
  const r = tsbpf(ex('programs.o'), '--prog', 'sock', '--type', 'tracepoint', '--json');
  assert.equal(r.status, 1);
  const [row] = JSON.parse(r.stdout) as Record<string, unknown>[];
  assert.equal(row!.verdict, 'reject');
  assert.equal(row!.type, 'tracepoint');
  assert.equal(row!.error, 'invalid bpf_context access off=0 size=4');
  assert.equal(row!.insn, 0);
  assert.match(String(row!.line), /programs\.c:\d+$/);
  const text = tsbpf(ex('programs.o'), '--prog', 'sock', '--type', '5');
  assert.equal(text.status, 1);
  assert.match(text.stdout, /rejected at insn 0: invalid bpf_context access off=0 size=4/);
  assert.match(text.stdout, /^0: \(61\) r0 = \*\(u32 \*\)\(r1 \+0\)$/m);
  assert.match(text.stdout, /processed 1 insns \(limit 1000000\)/);
});

test('check reports usage errors with exit status 2', () => {
  assert.equal(tsbpf(ex('programs.o'), '--type', 'no_such_type').status, 2);
  assert.equal(tsbpf(ex('programs.o'), '--prog', 'missing').status, 2);
  assert.equal(tsbpf().status, 2);
  assert.equal(tsbpf(ex('programs.o'), '--log-level', '7').status, 2);
});

test('check --log-level 2 shows every state of an accepted program', () => {
  const r = tsbpf(ex('legacy_maps.o'), '--log-level', '2');
  assert.equal(r.status, 0, r.stdout);
  assert.match(r.stdout, /^0: R1=ctx\(\) R10=fp0$/m);
  assert.match(r.stdout, /call bpf_map_lookup_elem#1/);
});
