// Expect tests: `tsbpf inspect` and `tsbpf dis --source` output for example
// objects, committed under test/elf/golden/. Accepting a change is a
// deliberate step: TSBPF_UPDATE_GOLDEN=1 rewrites the files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { disassembleObject } from '../../src/cli/dis-object.js';
import { inspectText } from '../../src/cli/inspect.js';
import { loadExample } from './helpers.js';

const GOLDEN = fileURLToPath(new URL('../../../test/elf/golden/', import.meta.url));

function expectGolden(name: string, actual: string): void {
  const path = GOLDEN + name;
  if (process.env['TSBPF_UPDATE_GOLDEN'] === '1' || !existsSync(path)) {
    writeFileSync(path, actual);
    return;
  }
  assert.equal(actual, readFileSync(path, 'utf8'), `${name} differs (TSBPF_UPDATE_GOLDEN=1 to accept)`);
}

for (const file of ['maps.o', 'globals.o', 'legacy_maps.o', 'core.o']) {
  test(`inspect ${file}`, () => expectGolden(file.replace('.o', '.inspect.txt'), inspectText(loadExample(file)) + '\n'));
}

for (const file of ['subprogs.o', 'loops.o', 'globals.o']) {
  test(`dis --source ${file}`, () => expectGolden(file.replace('.o', '.dis.txt'), disassembleObject(loadExample(file), { source: true }) + '\n'));
}
