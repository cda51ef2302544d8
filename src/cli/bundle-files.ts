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
  /** dist/.tsbuildinfo when the bundle was made (null: there was none, as in an installed package). */
  tsbuildinfo: { mtimeMs: number; size: number } | null;
}

/**
 * The bundle was made from the current tsc output: `now` is dist/.tsbuildinfo
 * as it is (undefined: missing), which tsc rewrites whenever it emits.
 */
export function stampIsCurrent(stamp: BundleStamp, now: { mtimeMs: number; size: number } | undefined): boolean {
  if (now === undefined || stamp.tsbuildinfo === null) return now === undefined && stamp.tsbuildinfo === null;
  return now.mtimeMs === stamp.tsbuildinfo.mtimeMs && now.size === stamp.tsbuildinfo.size;
}

/** Set (to anything) for the bundler's warm-up run: main.js writes the code cache when the command ends. */
export const WRITE_CACHE_ENV = 'TSBPF_WRITE_CLI_CACHE';
