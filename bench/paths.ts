// Where the shared benchmark material and our committed fixtures live,
// relative to the compiled file (dist/bench/*.js) or the repo root.
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { existsSync } from 'node:fs';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root (works from bench/ and from dist/bench/). */
export const ROOT = existsSync(join(here, '..', 'package.json')) ? resolve(here, '..') : resolve(here, '..', '..');
export const SHARED_BENCH = process.env.TSBPF_SHARED_BENCH ?? resolve(ROOT, '..', 'shared', 'bench');
export const BENCH_OBJECTS = join(ROOT, 'test', 'fixtures', 'bench');
