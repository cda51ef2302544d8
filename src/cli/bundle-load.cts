// The CLI bundle's facts, as CommonJS: the file names scripts/bundle-cli.mjs
// writes beside main.js, how a launcher tells whether they are current, and
// how a thread loads a bundle. CommonJS (a .cts, so tsc emits
// bundle-load.cjs) because the CommonJS launcher (launch.cts, started by
// bin/tsbpf.cjs) needs them before anything else and must not start Node's
// ES-module loader for them: that alone costs ~5 ms. The ES modules
// import all of this through bundle-files.ts. Node built-ins only.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Script } from 'node:vm';

/** Files the bundler writes in dist/src/cli/. */
export const BUNDLE_FILES = {
  /** cli.ts and everything it imports, as one CommonJS script. */
  bundle: 'cli.bundle.cjs',
  /** V8's code cache for the bundle, made by a warm-up run. */
  cache: 'cli.bundle.cache',
  /**
   * cli.ts with the filter verb only (and what it imports: no loader,
   * verifier, BTF or maps), for `tsbpf filter`, where start-up counts: a
   * third of the size, ~3.5 ms faster to read and deserialize.
   */
  filterBundle: 'filter.bundle.cjs',
  /** V8's code cache for the filter bundle. */
  filterCache: 'filter.bundle.cache',
  /** A BundleStamp: what the bundles were built from. */
  stamp: 'cli.bundle.json',
} as const;

/** Which bundle: the whole command line, or the filter verb alone. */
export type BundleKind = 'cli' | 'filter';

/** The bundle and code cache file names of a kind. */
export function bundleFiles(kind: BundleKind): { bundle: string; cache: string } {
  return kind === 'filter' ? { bundle: BUNDLE_FILES.filterBundle, cache: BUNDLE_FILES.filterCache } : { bundle: BUNDLE_FILES.bundle, cache: BUNDLE_FILES.cache };
}

/** Written next to the bundle: the tsc build it was made from. */
export interface BundleStamp {
  /** dist/.tsbuildinfo when the bundle was made (null: there was none). */
  tsbuildinfo: { mtimeMs: number; size: number } | null;
}

/**
 * The bundle was made from the current tsc output: `now` is dist/.tsbuildinfo
 * as it is, which tsc (incremental, as tsconfig.json sets it) rewrites
 * whenever it emits. Without one nothing is compiled here: an installed
 * package (npm publishes dist/src only), whose bundle is as current as the rest.
 */
export function stampIsCurrent(stamp: BundleStamp, now: { mtimeMs: number; size: number } | undefined): boolean {
  if (now === undefined) return true;
  return stamp.tsbuildinfo !== null && now.mtimeMs === stamp.tsbuildinfo.mtimeMs && now.size === stamp.tsbuildinfo.size;
}

/** Set (to anything) for the bundler's warm-up run: the launcher writes the code cache when the command ends. */
export const WRITE_CACHE_ENV = 'TSBPF_WRITE_CLI_CACHE';

/** What the bundle (cli.ts) exports. */
export interface BundleExports {
  runCli(argv: string[], bundle?: { dir: string; kind: BundleKind }): Promise<void>;
  /** The entry of a split scan's second thread (src/cbpf/scan-worker.ts), loaded lazily (bundles before it lack it: the scan then stays on one thread). */
  scanWorkerMain?(): Promise<void>;
}

function readOptional(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/** Load a bundle in `dir` as CommonJS does (same wrapper, a require for the built-ins), with its code cache when V8 takes it. */
export function loadBundle(dir: string, kind: BundleKind = 'cli'): { exports: BundleExports; script: Script } {
  const names = bundleFiles(kind);
  const file = join(dir, names.bundle);
  // The bundler makes it pure ASCII (esbuild escapes the rest), so latin1 reads it the same, without UTF-8 decoding.
  const source = readFileSync(file, 'latin1');
  const cachedData = readOptional(join(dir, names.cache));
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    ...(cachedData !== undefined && { cachedData }),
  });
  const init = script.runInThisContext() as (e: object, r: NodeRequire, m: { exports: object }, f: string, d: string) => void;
  const module = { exports: {} as Partial<BundleExports> };
  init(module.exports, createRequire(file), module, file, dir);
  if (typeof module.exports.runCli !== 'function') throw new Error(`${file} does not export runCli: rebuild it with 'npm run build'`);
  return { exports: module.exports as BundleExports, script };
}
