// Stand-in dist/ trees for the launcher tests (main-bundle.test.ts,
// launcher.test.ts): the real entries (bin/tsbpf.cjs, main.js) and the
// launcher they start, with a cli.js and a bundle that only say which of
// them ran, so the launcher's choice is visible.
import { copyFileSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLE_FILES, type BundleStamp } from '../../src/cli/bundle-files.js';
import { ROOT } from '../paths.js';

export const CLI_DIR = join(ROOT, 'dist', 'src', 'cli');

/** main.js and what it loads before the bundle or cli.js. */
const LAUNCHER_FILES = ['main.js', 'launch.cjs', 'bundle-load.cjs'] as const;

export interface FakeDist {
  /** The copy's root (its dist/ is `${root}/dist`). */
  root: string;
  dist: string;
  /** dist/src/cli of the copy. */
  cli: string;
  /** The copy's bin/tsbpf.cjs. */
  bin: string;
}

/** A package copy in a temporary directory; the caller removes `root`. */
export function fakeDist(): FakeDist {
  const root = mkdtempSync(join(tmpdir(), 'tsbpf-launcher-'));
  const dist = join(root, 'dist');
  const cli = join(dist, 'src', 'cli');
  mkdirSync(cli, { recursive: true });
  mkdirSync(join(root, 'bin'));
  for (const f of LAUNCHER_FILES) copyFileSync(join(CLI_DIR, f), join(cli, f));
  const bin = join(root, 'bin', 'tsbpf.cjs');
  copyFileSync(join(ROOT, 'bin', 'tsbpf.cjs'), bin);
  writeFileSync(join(cli, 'cli.js'), "export async function runCli(argv) { process.stdout.write('modules ' + argv.join(' ') + '\\n'); }\n");
  writeFileSync(
    join(cli, BUNDLE_FILES.bundle),
    "exports.runCli = async (argv) => { process.stdout.write('bundle ' + argv.join(' ') + ' ' + typeof require + '\\n'); };\n",
  );
  return { root, dist, cli, bin };
}

/** The stamp of a build whose dist/.tsbuildinfo is `file` (undefined: none). */
export function stampOf(file: string | undefined): BundleStamp {
  if (file === undefined) return { tsbuildinfo: null };
  const st = statSync(file);
  return { tsbuildinfo: { mtimeMs: st.mtimeMs, size: st.size } };
}
