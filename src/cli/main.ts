#!/usr/bin/env node
// The tsbpf binary: starts the command line (cli.ts).
//
// Start-up decides short runs: `tsbpf filter` over a capture of a million
// packets takes about as long as Node takes to start, and compiling a
// hundred-odd ES modules from source took longer than the filtering. So when
// the build made one (scripts/bundle-cli.mjs, run by `npm run build`), the
// command line is loaded from a single-file bundle of cli.ts with a V8 code
// cache: one file read and almost no compiling. `tsbpf filter` loads a
// bundle of the filter verb alone (a third of the size). Nothing here
// changes what a command does; anything off falls back to the slower way:
//  - no bundle, or a bundle older than the last tsc run (dist/.tsbuildinfo
//    differs from what the bundle recorded; an installed package has none,
//    see stampIsCurrent): the ES modules, as before;
//  - no cache, or a cache V8 refuses (another Node version or other V8
//    flags such as --cpu-prof): the bundle, compiled from source.
// This file imports only Node built-ins and bundle-files.js (the bundle's
// file names and loader, built-ins only), so the fallback costs nothing extra.

import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLE_FILES, WRITE_CACHE_ENV, bundleFiles, loadBundle, stampIsCurrent, type BundleKind, type BundleStamp } from './bundle-files.js';

const here = fileURLToPath(new URL('.', import.meta.url));
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

async function start(argv: string[]): Promise<void> {
  const stamp = readStamp();
  if (stamp === undefined || !bundleIsCurrent(stamp)) {
    const { runCli } = await import('./cli.js');
    return runCli(argv);
  }
  // `tsbpf filter` from the filter-only bundle when there is one (a build before it had none).
  const kind: BundleKind = argv[0] === 'filter' && existsSync(join(here, BUNDLE_FILES.filterBundle)) ? 'filter' : 'cli';
  const { exports, script } = loadBundle(here, kind);
  await exports.runCli(argv, { dir: here, kind });
  // The cache is made after the run, so it holds the functions the run compiled too.
  if (process.env[WRITE_CACHE_ENV] !== undefined) writeFileSync(join(here, bundleFiles(kind).cache), script.createCachedData());
}

await start(process.argv.slice(2));
