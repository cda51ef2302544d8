// Starts the command line (cli.ts) for both entries: bin/tsbpf.cjs, the
// `tsbpf` binary, and main.js (`node dist/src/cli/main.js`, which tests and
// scripts use).
//
// Start-up decides short runs: `tsbpf filter` over a capture of a million
// packets takes about as long as Node takes to start, and compiling a
// hundred-odd ES modules from source took longer than the filtering. So when
// the build made one (scripts/bundle-cli.mjs, run by `npm run build`), the
// command line is loaded from a single-file bundle of cli.ts with a V8 code
// cache: one file read and almost no compiling. `tsbpf filter` loads a
// bundle of the filter verb alone (a third of the size). Nothing here
// changes what a command does; anything off falls back to the slower way:
//  - no bundle (or a stamp without its bundle), or a bundle older than the
//    last tsc run (dist/.tsbuildinfo differs from what the bundle recorded;
//    an installed package has none, see stampIsCurrent): the ES modules;
//  - no cache, or a cache V8 refuses (another Node version or other V8
//    flags such as --cpu-prof): the bundle, compiled from source.
// CommonJS, importing only Node built-ins and bundle-load.cjs: started from
// bin/tsbpf.cjs, Node's ES-module loader (~5 ms) never starts on the bundle
// path; only the fallback imports ES modules.

import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLE_FILES, WRITE_CACHE_ENV, bundleFiles, loadBundle, stampIsCurrent, type BundleKind, type BundleStamp } from './bundle-load.cjs';

const here = __dirname;
const tsbuildinfo = join(here, '..', '..', '.tsbuildinfo');

function readStamp(): BundleStamp | undefined {
  try {
    return JSON.parse(readFileSync(join(here, BUNDLE_FILES.stamp), 'utf8')) as BundleStamp;
  } catch {
    return undefined;
  }
}

/** One stat: is the bundle from the current tsc output? */
function bundleIsCurrent(stamp: BundleStamp): boolean {
  return stampIsCurrent(stamp, statSync(tsbuildinfo, { throwIfNoEntry: false }));
}

/** Run the command line with these arguments (process.argv.slice(2)); sets process.exitCode. */
export async function startCli(argv: string[]): Promise<void> {
  const stamp = readStamp();
  // `tsbpf filter` from the filter-only bundle when there is one (a build before it had none).
  const kind: BundleKind = argv[0] === 'filter' && existsSync(join(here, BUNDLE_FILES.filterBundle)) ? 'filter' : 'cli';
  if (stamp === undefined || !bundleIsCurrent(stamp) || !existsSync(join(here, bundleFiles(kind).bundle))) {
    // The ES modules (tsc keeps this import() in CommonJS output).
    const { runCli } = (await import('./cli.js')) as { runCli(argv: string[]): Promise<void> };
    return runCli(argv);
  }
  const { exports, script } = loadBundle(here, kind);
  await exports.runCli(argv, { dir: here, kind });
  // The cache is made after the run, so it holds the functions the run compiled too.
  if (process.env[WRITE_CACHE_ENV] !== undefined) writeFileSync(join(here, bundleFiles(kind).cache), script.createCachedData());
}
