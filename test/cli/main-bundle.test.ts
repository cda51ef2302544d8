// dist/src/cli/main.js (through launch.cjs, as bin/tsbpf.cjs does: see
// launcher.test.ts) starts the CLI from the bundle scripts/bundle-cli.mjs
// builds (with its V8 code cache) only while the bundle matches the last tsc
// run; otherwise from the ES modules. The launcher is exercised on a copy
// with stand-in bundle and modules (so the choice is visible), then the real
// bundle, when it is current, must write the same bytes as the modules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLE_FILES, WRITE_CACHE_ENV, stampIsCurrent, type BundleStamp } from '../../src/cli/bundle-files.js';
import { ROOT } from '../paths.js';
import { CLI_DIR, fakeDist, stampOf } from './launcher-dist.js';

function launch(cli: string, env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(process.execPath, [join(cli, 'main.js'), 'a', 'b'], { encoding: 'utf8', env: { ...process.env, ...env } });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('main.js runs the bundle only while its stamp matches dist/.tsbuildinfo', () => {
  const { root, dist, cli } = fakeDist();
  try {
    const info = join(dist, '.tsbuildinfo');
    // No stamp: the modules.
    assert.equal(launch(cli), 'modules a b\n');
    // Installed package: no .tsbuildinfo (npm ships dist/src only), whatever the stamp says.
    writeFileSync(join(cli, BUNDLE_FILES.stamp), JSON.stringify(stampOf(undefined)));
    assert.equal(launch(cli), 'bundle a b function\n');
    writeFileSync(info, 'build 0');
    writeFileSync(join(cli, BUNDLE_FILES.stamp), JSON.stringify(stampOf(info)));
    rmSync(info);
    assert.equal(launch(cli), 'bundle a b function\n');
    // tsc ran after the bundle was made: stale.
    writeFileSync(info, 'build 1');
    assert.equal(launch(cli), 'modules a b\n');
    // ... also when there was no .tsbuildinfo when it was made.
    writeFileSync(join(cli, BUNDLE_FILES.stamp), JSON.stringify(stampOf(undefined)));
    assert.equal(launch(cli), 'modules a b\n');
    writeFileSync(join(cli, BUNDLE_FILES.stamp), JSON.stringify(stampOf(info)));
    assert.equal(launch(cli), 'bundle a b function\n');
    // Emitted again (a different size here): stale again.
    writeFileSync(info, 'build 22');
    assert.equal(launch(cli), 'modules a b\n');
    // A stamp that does not parse is no stamp.
    writeFileSync(join(cli, BUNDLE_FILES.stamp), '{');
    assert.equal(launch(cli), 'modules a b\n');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('tsbpf filter starts from the filter-only bundle when there is one; other verbs and older builds from the whole one', () => {
  const { root, dist, cli } = fakeDist();
  try {
    writeFileSync(join(cli, BUNDLE_FILES.stamp), JSON.stringify(stampOf(undefined)));
    const run = (...args: string[]): string => {
      const r = spawnSync(process.execPath, [join(cli, 'main.js'), ...args], { encoding: 'utf8', env: { ...process.env, [WRITE_CACHE_ENV]: '1' } });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    };
    // A build before the filter bundle: the whole bundle for everything.
    assert.equal(run('filter', 'x'), 'bundle filter x function\n');
    writeFileSync(join(cli, BUNDLE_FILES.filterBundle), "exports.runCli = async (argv, b) => { process.stdout.write('filter bundle ' + argv.join(' ') + ' ' + b.kind + '\\n'); };\n");
    rmSync(join(cli, BUNDLE_FILES.cache));
    assert.equal(run('filter', 'x'), 'filter bundle filter x filter\n');
    // Its code cache goes to its own file.
    assert.ok(existsSync(join(cli, BUNDLE_FILES.filterCache)) && !existsSync(join(cli, BUNDLE_FILES.cache)));
    assert.equal(run('a', 'filter'), 'bundle a filter function\n');
    assert.ok(existsSync(join(cli, BUNDLE_FILES.cache)));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the warm-up run writes a code cache that later runs load; a cache V8 refuses is only slower', () => {
  const { root, dist, cli } = fakeDist();
  try {
    writeFileSync(join(cli, BUNDLE_FILES.stamp), JSON.stringify(stampOf(undefined)));
    const cache = join(cli, BUNDLE_FILES.cache);
    assert.equal(launch(cli, { [WRITE_CACHE_ENV]: '1' }), 'bundle a b function\n');
    assert.ok(existsSync(cache) && statSync(cache).size > 0, 'cache written');
    assert.equal(launch(cli), 'bundle a b function\n');
    writeFileSync(cache, 'not a V8 code cache');
    assert.equal(launch(cli), 'bundle a b function\n');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the real bundle writes the same -w file and output as the modules', (t) => {
  const stampFile = join(CLI_DIR, BUNDLE_FILES.stamp);
  const info = join(ROOT, 'dist', '.tsbuildinfo');
  const stamp = existsSync(stampFile) ? (JSON.parse(readFileSync(stampFile, 'utf8')) as BundleStamp) : undefined;
  if (stamp === undefined || !stampIsCurrent(stamp, existsSync(info) ? statSync(info) : undefined)) {
    t.skip('no current CLI bundle (npm run build makes one after tsc)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-bundle-'));
  try {
    const capture = join(ROOT, 'test', 'fixtures', 'filter', 'eth-mixed.pcap');
    const args = (out: string): string[] => ['filter', 'ip or ip6', '-r', capture, '-w', out];
    const viaBundle = spawnSync(process.execPath, [join(CLI_DIR, 'main.js'), ...args(join(dir, 'b.pcap'))], { encoding: 'utf8' });
    const loader = `const { runCli } = await import(${JSON.stringify(join(CLI_DIR, 'cli.js'))}); await runCli(process.argv.slice(1));`;
    const viaModules = spawnSync(process.execPath, ['--input-type=module', '-e', loader, ...args(join(dir, 'm.pcap'))], { encoding: 'utf8' });
    assert.equal(viaModules.status, 0, viaModules.stderr);
    assert.equal(viaBundle.status, 0, viaBundle.stderr);
    assert.equal(viaBundle.stdout.replace(join(dir, 'b.pcap'), 'OUT'), viaModules.stdout.replace(join(dir, 'm.pcap'), 'OUT'));
    assert.match(viaBundle.stdout, /138 packets read, \d+ matched/);
    assert.deepEqual(readFileSync(join(dir, 'b.pcap')), readFileSync(join(dir, 'm.pcap')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
