// Locations tests use: the repo root and the shared conformance data, valid
// from the compiled test files in dist/test/.
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { existsSync } from 'node:fs';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = existsSync(join(here, '..', 'package.json')) ? resolve(here, '..') : resolve(here, '..', '..');
export const SHARED = process.env.TSBPF_SHARED ?? resolve(ROOT, '..', 'shared');
export const CONFORMANCE_DIR = join(SHARED, 'conformance');
export const FIXTURES = join(ROOT, 'test', 'fixtures');
