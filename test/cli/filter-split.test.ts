// `tsbpf filter -w` on two threads (forced on a small capture with
// TSBPF_FILTER_SPLIT_MIN=0, split in the middle) writes the same file and counts as on one, from
// the ES modules and, when it is current, from the CLI bundle, whose worker
// thread starts from the bundle too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUNDLE_FILES, stampIsCurrent, type BundleStamp } from '../../src/cli/bundle-files.js';
import { FIXTURES, ROOT } from '../paths.js';

const CLI = join(ROOT, 'dist', 'src', 'cli');
const CAPTURES = ['eth-mixed.pcap', 'sll-mixed.pcap', 'raw-mixed.pcap'].map((f) => join(FIXTURES, 'filter', f));

/** Start the CLI: main.js (the bundle when current), or cli.js's runCli straight from the ES modules. */
const ENTRIES = {
  main: [join(CLI, 'main.js')],
  modules: ['--input-type=module', '-e', `const { runCli } = await import(${JSON.stringify(pathToFileURL(join(CLI, 'cli.js')).href)}); await runCli(process.argv.slice(1));`],
};

function filter(entry: readonly string[], env: NodeJS.ProcessEnv, ...args: string[]): { stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...entry, 'filter', ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  assert.equal(r.status, 0, r.stderr);
  return { stdout: r.stdout, stderr: r.stderr };
}

function bundleIsCurrent(): boolean {
  const stampFile = join(CLI, BUNDLE_FILES.stamp);
  if (!existsSync(stampFile)) return false;
  const info = join(ROOT, 'dist', '.tsbuildinfo');
  return stampIsCurrent(JSON.parse(readFileSync(stampFile, 'utf8')) as BundleStamp, existsSync(info) ? statSync(info) : undefined);
}

function sameOnTwoThreads(entry: readonly string[]): void {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-filter-split-'));
  try {
    for (const cap of CAPTURES) {
      for (const expr of ['tcp', 'udp or icmp', 'not ip']) {
        const one = join(dir, 'one.pcap');
        const two = join(dir, 'two.pcap');
        const a = filter(entry, { TSBPF_FILTER_SPLIT_MIN: undefined, TSBPF_FILTER_SPLIT_AT: undefined }, expr, '-r', cap, '-w', one);
        const at = String(Math.floor(readFileSync(cap).length / 2));
        const b = filter(entry, { TSBPF_FILTER_SPLIT_MIN: '0', TSBPF_FILTER_SPLIT_AT: at }, expr, '-r', cap, '-w', two);
        assert.equal(b.stdout, a.stdout.replace(one, two), `${cap} '${expr}'`);
        assert.match(b.stderr, /TSBPF_FILTER_SPLIT_MIN: joined/, `${cap} '${expr}': ${b.stderr}`);
        assert.deepEqual(readFileSync(two), readFileSync(one), `${cap} '${expr}'`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('tsbpf filter -w on two threads writes the same bytes and counts (ES modules)', () => {
  sameOnTwoThreads(ENTRIES.modules);
});

test('tsbpf filter -w on two threads from the CLI bundle (its worker loads the bundle)', { skip: bundleIsCurrent() ? false : 'the CLI bundle is older than the last tsc run (npm run build makes it)' }, () => {
  sameOnTwoThreads(ENTRIES.main);
});
