// The command line writes its output with writeSync on fds 1 and 2
// (src/cli/stdio.ts), so `tsbpf filter` never makes process.stdout; the
// EPIPE handler that makes `tsbpf ... | head` quiet is attached to
// process.stdout only when a verb makes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../paths.js';

const BIN = join(ROOT, 'bin', 'tsbpf.cjs');
const STDIO = pathToFileURL(join(ROOT, 'dist', 'src', 'cli', 'stdio.js')).href;
const CAPTURE = join(ROOT, 'test', 'fixtures', 'filter', 'eth-mixed.pcap');

test('whenStdoutMade runs its callback once, when process.stdout is first used, with that stream', () => {
  const code = [
    `const { whenStdoutMade } = await import(${JSON.stringify(STDIO)});`,
    'const seen = [];',
    'whenStdoutMade((s) => seen.push(s));',
    'const before = seen.length;',
    'const a = process.stdout; const b = process.stdout;',
    "a.write(JSON.stringify({ before, after: seen.length, same: a === b && seen[0] === a, made: process.moduleLoadList.includes('NativeModule internal/fs/sync_write_stream') }));",
  ].join('\n');
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-stdio-'));
  try {
    // stdout a file: Node makes a SyncWriteStream for it (a module the probe can see).
    const out = join(dir, 'out.json');
    const r = spawnSync('bash', ['-c', `"${process.execPath}" --input-type=module -e "$0" > "${out}"`, code], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), { before: 0, after: 1, same: true, made: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tsbpf filter writes to a file without making process.stdout, and the same bytes as through a pipe', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-stdio-'));
  try {
    const out = join(dir, 'out.txt');
    const probe = join(dir, 'probe.cjs');
    // Reports, at exit, whether Node made a stream for a stdout that is a file.
    writeFileSync(probe, "process.on('exit', () => require('fs').writeSync(2, 'made=' + process.moduleLoadList.includes('NativeModule internal/fs/sync_write_stream') + '\\n'));\n");
    const args = ['-r', probe, BIN, 'filter', 'tcp or udp', '-r', CAPTURE];
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "$@" > "${out}"`, 'sh', ...args], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, 'made=false\n');
    const piped = spawnSync(process.execPath, [BIN, 'filter', 'tcp or udp', '-r', CAPTURE], { encoding: 'utf8' });
    assert.equal(piped.status, 0, piped.stderr);
    assert.equal(readFileSync(out, 'utf8'), piped.stdout);
    assert.match(piped.stdout, /\n138 packets read, [1-9]\d* matched 'tcp or udp'\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a reader that closes the pipe early (| head) ends tsbpf quietly with status 0', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-stdio-'));
  try {
    // The fixture's records 40 times over: a listing of 5520 lines, more than a pipe holds.
    const one = readFileSync(CAPTURE);
    const big = join(dir, 'big.pcap');
    writeFileSync(big, Buffer.concat([one, ...Array.from({ length: 39 }, () => one.subarray(24))]));
    const r = spawnSync('bash', ['-o', 'pipefail', '-c', `"${process.execPath}" "${BIN}" filter ip -r "${big}" | head -n 1`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /^\d+\t\d+\.\d+\t\d+\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
