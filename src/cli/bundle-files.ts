// The CLI bundle for the ES modules: its file names, stamp check and loader
// (bundle-load.cts, CommonJS so that the CommonJS launcher can load them
// without Node's ES-module loader; re-exported here), and what a run from
// the bundle needs: where the bundle is, so a command that starts worker
// threads starts them from the bundle too (the second thread of a split
// capture scan). Imports only Node built-ins and bundle-load.cjs.

import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BundleKind } from './bundle-load.cjs';

export { BUNDLE_FILES, WRITE_CACHE_ENV, bundleFiles, loadBundle, stampIsCurrent } from './bundle-load.cjs';
export type { BundleExports, BundleKind, BundleStamp } from './bundle-load.cjs';

/**
 * Set by runCli when the command line runs from the bundle: the directory
 * of the bundle, so a command that starts worker threads can start them
 * from the bundle too (bundleWorkerCode) instead of from the ES modules.
 */
export const bundleContext: { dir?: string; kind?: BundleKind } = {};

/** A split scan's worker entry (src/cbpf/scan-split.ts WorkerEntry) that loads a bundle in `dir` and runs its second thread from there. */
export function bundleWorkerEntry(dir: string, kind: BundleKind): { url: string; call: string } {
  return { url: pathToFileURL(join(dir, 'bundle-files.js')).href, call: `loadBundle(${JSON.stringify(dir)}, ${JSON.stringify(kind)}).exports.scanWorkerMain()` };
}
