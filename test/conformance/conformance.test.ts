// bpf_conformance on the interpreter (and on every other registered engine):
// all 313 files of shared/conformance/tests must pass, and all 60 files of
// shared/conformance/negative must be rejected: by the parser or assembler,
// the decoder, the register-init check, or by giving a result other than the
// expected one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFORMANCE_DIR } from '../paths.js';
import { parseDataFile, type DataFile } from '../../src/asm/data-file.js';
import { assemble } from '../../src/asm/assemble.js';
import { decodeProgram, type Program } from '../../src/isa/decode.js';
import { checkRegisterInit } from '../../src/verifier/init-check.js';
import { createVm } from '../../src/vm/vm.js';
import { engineNames, trustProgram } from '../../src/vm/engines.js';
import { conformanceHelpers } from '../../src/helpers/test-helpers.js';
import { TsbpfError } from '../../src/internal/errors.js';

const files = (dir: string): string[] =>
  readdirSync(join(CONFORMANCE_DIR, dir))
    .filter((f) => f.endsWith('.data'))
    .sort();

/** Parse, assemble (or take raw), decode and check a test file; throws TsbpfError on rejection. */
function load(dir: string, name: string): { df: DataFile; prog: Program } {
  const text = readFileSync(join(CONFORMANCE_DIR, dir, name), 'utf8');
  const df = parseDataFile(text, name);
  const bytes = df.raw ?? assemble(df.asm, { dialect: 'conformance', file: name, firstLine: df.asmLine });
  // run on every registered engine, the unchecked one included: trusted on purpose
  const prog = trustProgram(decodeProgram(bytes));
  // the conformance contract: r1 = input address, r2 = its length, r10 = frame pointer
  checkRegisterInit(prog, { entryArgs: 2 });
  return { df, prog };
}

const vm = createVm({ helpers: conformanceHelpers() });
const engines = engineNames();

const TESTS = files('tests');
const NEGATIVE = files('negative');

test('the corpus is all there', () => {
  assert.equal(TESTS.length, 313);
  assert.equal(NEGATIVE.length, 60);
});

for (const engine of engines) {
  test(`conformance tests on '${engine}'`, async (t) => {
    for (const name of TESTS) {
      await t.test(name, () => {
        const { df, prog } = load('tests', name);
        assert.equal(df.skipped, undefined, `parser would skip: ${df.skipped}`);
        assert.ok(df.result !== undefined, 'no expected result');
        assert.ok(prog.length > 0, 'no instructions');
        const r = vm.run(prog, { engine, ...(df.mem ? { mem: df.mem } : {}) });
        assert.equal(`0x${r.r0.toString(16)}`, `0x${df.result.toString(16)}`);
      });
    }
  });
}

test('negative conformance files are rejected', async (t) => {
  for (const name of NEGATIVE) {
    await t.test(name, () => {
      let verdict: string;
      try {
        const { df, prog } = load('negative', name);
        if (df.skipped !== undefined) verdict = `skipped: ${df.skipped}`;
        else if (prog.length === 0) verdict = 'no instructions';
        else {
          const want = df.result ?? 0n;
          const r = vm.run(prog, { ...(df.mem ? { mem: df.mem } : {}) });
          assert.notEqual(r.r0, want, `ran and produced the expected 0x${want.toString(16)}: not rejected`);
          verdict = `wrong result 0x${r.r0.toString(16)}`;
        }
      } catch (e) {
        if (!(e instanceof TsbpfError)) throw e; // a crash is not a rejection
        verdict = `${e.name}: ${e.message}`;
      }
      t.diagnostic(verdict);
    });
  }
});
