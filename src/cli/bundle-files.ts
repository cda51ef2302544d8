// Names of the files the CLI bundler (scripts/bundle-cli.mjs) writes beside
// main.js, and how main.js tells whether they are current. Shared by both;
// imports nothing, so main.js loads it for free.

/** Files the bundler writes in dist/src/cli/. */
export const BUNDLE_FILES = {
  /** cli.ts and everything it imports, as one CommonJS script. */
  bundle: 'cli.bundle.cjs',
  /** V8's code cache for the bundle, made by a warm-up run. */
  cache: 'cli.bundle.cache',
  /** A BundleStamp: what the bundle was built from. */
  stamp: 'cli.bundle.json',
} as const;

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

/** Set (to anything) for the bundler's warm-up run: main.js writes the code cache when the command ends. */
export const WRITE_CACHE_ENV = 'TSBPF_WRITE_CLI_CACHE';
