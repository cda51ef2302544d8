// bin/tsbpf.cjs, the `tsbpf` binary: a CommonJS entry that starts the CLI
// from its bundle (with the code cache) while the bundle is current, and from
// the ES modules when it is stale or missing, without starting Node's
// ES-module loader on the bundle path (that is what it saves over main.js).
// First on a stand-in tree (launcher-dist.ts) where the choice is visible,
// then on a copy of the real dist/src: every verb answers the same through
// the bundle and through the modules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLE_FILES, stampIsCurrent, type BundleStamp } from '../../src/cli/bundle-files.js';
import { VERBS } from '../../src/cli/verbs.js';
import { ROOT } from '../paths.js';
import { CLI_DIR, fakeDist, stampOf } from './launcher-dist.js';

function run(entry: string, args: readonly string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [entry, ...args], { encoding: 'utf8', env: { ...process.env, TSBPF_WRITE_CLI_CACHE: undefined } });
}

function ok(entry: string, ...args: string[]): string {
  const r = run(entry, args);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('bin/tsbpf.cjs runs the bundle while it is current, the modules when it is stale or missing', () => {
  const { root, dist, cli, bin } = fakeDist();
  try {
    assert.equal(ok(bin, 'a', 'b'), 'modules a b\n');
    const info = join(dist, '.tsbuildinfo');
    writeFileSync(info, 'build 0');
    writeFileSync(join(cli, BUNDLE_FILES.stamp), JSON.stringify(stampOf(info)));
    assert.equal(ok(bin, 'a', 'b'), 'bundle a b function\n');
    writeFileSync(info, 'build 11');
    assert.equal(ok(bin, 'a', 'b'), 'modules a b\n', 'stale');
    writeFileSync(join(cli, BUNDLE_FILES.stamp), JSON.stringify(stampOf(info)));
    assert.equal(ok(bin, 'a', 'b'), 'bundle a b function\n');
    rmSync(join(cli, BUNDLE_FILES.bundle));
    assert.equal(ok(bin, 'a', 'b'), 'modules a b\n', 'a stamp without its bundle');
    assert.equal(ok(bin, 'filter', 'x'), 'modules filter x\n');
    writeFileSync(join(cli, BUNDLE_FILES.filterBundle), "exports.runCli = async (argv, b) => { process.stdout.write('filter bundle ' + b.kind + '\\n'); };\n");
    assert.equal(ok(bin, 'filter', 'x'), 'filter bundle filter\n');
    assert.equal(ok(bin, 'a', 'b'), 'modules a b\n');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('bin/tsbpf.cjs does not start the ES-module loader on the bundle path; main.js does', () => {
  const { root, cli, bin } = fakeDist();
  try {
    writeFileSync(join(cli, BUNDLE_FILES.stamp), JSON.stringify(stampOf(undefined)));
    // The stand-in bundle reports whether Node has run an ES module by now: its
    // module jobs (internal/modules/esm/loader itself loads with node:vm, for import()).
    writeFileSync(
      join(cli, BUNDLE_FILES.bundle),
      "exports.runCli = async () => { process.stdout.write(String(process.moduleLoadList.includes('NativeModule internal/modules/esm/module_job')) + '\\n'); };\n",
    );
    assert.equal(ok(join(cli, 'main.js')), 'true\n', 'the probe sees the loader of an ES-module entry');
    assert.equal(ok(bin), 'false\n');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('bin/tsbpf.cjs in a checkout that was never built says to build it', () => {
  const root = mkdtempSync(join(tmpdir(), 'tsbpf-bin-'));
  try {
    mkdirSync(join(root, 'bin'));
    cpSync(join(ROOT, 'bin', 'tsbpf.cjs'), join(root, 'bin', 'tsbpf.cjs'));
    const r = run(join(root, 'bin', 'tsbpf.cjs'), ['--help']);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `tsbpf: ${join(root, 'dist', 'src', 'cli', 'launch.cjs')} is missing: build tsbpf first (npm run build)\n`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

/** Whether dist/src/cli holds a bundle built from the current tsc output. */
function realBundleIsCurrent(): boolean {
  const stampFile = join(CLI_DIR, BUNDLE_FILES.stamp);
  const info = join(ROOT, 'dist', '.tsbuildinfo');
  if (!existsSync(stampFile) || !existsSync(join(CLI_DIR, BUNDLE_FILES.bundle))) return false;
  const stamp = JSON.parse(readFileSync(stampFile, 'utf8')) as BundleStamp;
  return stampIsCurrent(stamp, existsSync(info) ? statSync(info) : undefined);
}

test('every verb answers the same through bin/tsbpf.cjs from the bundle and from the modules', (t) => {
  if (!realBundleIsCurrent()) {
    t.skip('no current CLI bundle (npm run build makes one after tsc)');
    return;
  }
  // A package copy: dist/src with the bundle (no dist/.tsbuildinfo: current, as installed), and the bin.
  const root = mkdtempSync(join(tmpdir(), 'tsbpf-bin-'));
  try {
    cpSync(join(ROOT, 'dist', 'src'), join(root, 'dist', 'src'), { recursive: true });
    mkdirSync(join(root, 'bin'));
    cpSync(join(ROOT, 'bin', 'tsbpf.cjs'), join(root, 'bin', 'tsbpf.cjs'));
    const bin = join(root, 'bin', 'tsbpf.cjs');
    const capture = join(ROOT, 'test', 'fixtures', 'filter', 'eth-mixed.pcap');
    const cases: string[][] = [
      ['--help'],
      ...VERBS.map((v) => [v.name, '--help']),
      ['nosuchverb'],
      ['filter', 'tcp port 80 or udp', '-r', capture, '-w', join(root, 'OUT.pcap')],
      ['filter', '-d', 'ip6 and tcp'],
      ['filter', 'tcp port', '-r', capture],
    ];
    const example = join(ROOT, 'examples', 'xdp', 'flowcount.o');
    if (existsSync(example)) cases.push(['run', example, '--pcap', join(ROOT, 'examples', 'xdp', 'flows.pcap')]);
    const answers = (): { out: string[]; written: Buffer } => {
      const out = cases.map((args) => {
        const r = run(bin, args);
        return `${args.join(' ')}: status ${r.status}\n${r.stdout}${r.stderr}`;
      });
      return { out, written: readFileSync(join(root, 'OUT.pcap')) };
    };
    const fromBundle = answers();
    rmSync(join(root, 'dist', 'src', 'cli', BUNDLE_FILES.stamp));
    const fromModules = answers();
    assert.deepEqual(fromBundle.out, fromModules.out);
    assert.deepEqual(fromBundle.written, fromModules.written);
    // Not vacuous: the help lists the verbs, the capture matched something, a bad expression fails.
    assert.match(fromBundle.out[0]!, /status 0\n[^]*filter/);
    assert.match(fromBundle.out.find((o) => o.startsWith('filter tcp port 80 or udp '))!, /status 0\n138 packets read, [1-9]\d* matched/);
    assert.match(fromBundle.out.find((o) => o.startsWith('filter tcp port -r '))!, /status [12]\n/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
