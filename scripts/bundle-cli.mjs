#!/usr/bin/env node
// Builds the CLI bundle that dist/src/cli/main.js starts from (see the top of
// src/cli/main.ts): run after tsc by `npm run build`, `prepare`, `test` and
// `bench`.
//  1. esbuild (a dev dependency) bundles dist/src/cli/cli.js and everything
//     it imports into one CommonJS script, and again with the filter verb
//     alone (the bundle `tsbpf filter` starts from);
//  2. a stamp records dist/.tsbuildinfo, so main.js ignores the bundle once
//     tsc has emitted again;
//  3. warm-up runs write V8's code cache for each bundle, holding the
//     functions such a run compiles (`tsbpf filter` over a small capture
//     for the filter bundle).
// Without esbuild (a production install) it says so and leaves no bundle:
// the CLI then loads its ES modules, as it did before bundling.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLE_FILES, WRITE_CACHE_ENV } from '../dist/src/cli/bundle-files.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const cliDir = join(root, 'dist', 'src', 'cli');
const out = (name) => join(cliDir, name);

// Whatever happens below, no bundle from an older build stays in use.
for (const name of Object.values(BUNDLE_FILES)) rmSync(out(name), { force: true });

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.log('bundle-cli: esbuild is not installed (npm install): the CLI runs from its ES modules, which starts slower');
  process.exit(0);
}

/**
 * The filter bundle's verb list: cli.js's import of ./verbs.js is answered
 * with a list of the filter verb alone (its name and summary from the
 * command itself), so no other verb's modules are bundled.
 */
const filterOnlyVerbs = {
  name: 'filter-only-verbs',
  setup(build) {
    build.onResolve({ filter: /^\.\/verbs\.js$/ }, (args) => (args.importer === out('cli.js') ? { path: 'verbs.js', namespace: 'filter-only' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'filter-only' }, () => ({
      resolveDir: cliDir,
      contents: "import { filter } from './filter.js';\nexport const VERBS = [{ name: filter.name, summary: filter.summary, load: async () => filter }];\n",
    }));
  },
};

for (const [file, plugins] of [
  [BUNDLE_FILES.bundle, []],
  [BUNDLE_FILES.filterBundle, [filterOnlyVerbs]],
]) {
  await esbuild.build({
    entryPoints: [out('cli.js')],
    outfile: out(file),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // main.js reads the bundle as latin1 (no UTF-8 decoding at start-up): esbuild escapes everything else.
    charset: 'ascii',
    // CommonJS has no import.meta: modules that locate files beside themselves
    // (scan-split.js, its worker) get the bundle's own URL instead of nothing.
    banner: { js: 'var __tsbpf_bundle_url = require("node:url").pathToFileURL(__filename).href;' },
    define: { 'import.meta.url': '__tsbpf_bundle_url' },
    plugins,
    logLevel: 'warning',
  });
  const nonAscii = readFileSync(out(file)).findIndex((b) => b > 0x7f);
  if (nonAscii >= 0) {
    rmSync(out(file));
    throw new Error(`bundle-cli: ${file} has a non-ASCII byte at ${nonAscii}, which main.js would misread`);
  }
}

const info = join(root, 'dist', '.tsbuildinfo');
const st = existsSync(info) ? statSync(info) : undefined;
/** @type {import('../dist/src/cli/bundle-files.js').BundleStamp} */
const stamp = { tsbuildinfo: st === undefined ? null : { mtimeMs: st.mtimeMs, size: st.size } };
writeFileSync(out(BUNDLE_FILES.stamp), JSON.stringify(stamp) + '\n');

// Warm-up runs, one per bundle: the filter path the benchmark times
// (compile, JIT, pcap scan, -w) for the filter bundle; for the whole one an
// example object run over packets (loader, verifier, JIT, maps), or the
// verb list where the examples are not there.
const capture = join(root, 'test', 'fixtures', 'filter', 'eth-mixed.pcap');
const example = [join(root, 'examples', 'xdp', 'flowcount.o'), join(root, 'examples', 'xdp', 'flows.pcap')];
for (const [args, cache] of [
  [['filter', 'tcp port 80', '-r', capture, '-w', '/dev/null'], BUNDLE_FILES.filterCache],
  [example.every((f) => existsSync(f)) ? ['run', example[0], '--pcap', example[1]] : ['--help'], BUNDLE_FILES.cache],
]) {
  const run = spawnSync(process.execPath, [out('main.js'), ...args], { env: { ...process.env, [WRITE_CACHE_ENV]: '1' }, encoding: 'utf8' });
  if (run.status !== 0) {
    console.error(`bundle-cli: the warm-up run 'tsbpf ${args.join(' ')}' failed (${run.status ?? run.signal}), no code cache: ${run.stderr.trim()}`);
    process.exit(1);
  }
  if (!existsSync(out(cache))) {
    // tsc emitted again meanwhile (another build in the same tree), so main.js ran the modules: the bundle is stale anyway.
    console.log('bundle-cli: tsc ran during the warm-up, so the bundle is already stale: run it again after the build');
    process.exit(0);
  }
}
const kb = (name) => `${(statSync(out(name)).size / 1024).toFixed(0)} KiB`;
console.log(
  `bundle-cli: ${BUNDLE_FILES.bundle} ${kb(BUNDLE_FILES.bundle)} (code cache ${kb(BUNDLE_FILES.cache)}), ${BUNDLE_FILES.filterBundle} ${kb(BUNDLE_FILES.filterBundle)} (code cache ${kb(BUNDLE_FILES.filterCache)})`,
);
