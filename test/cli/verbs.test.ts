// The verb list in src/cli/verbs.ts is lazy (modules load when their verb
// runs); this keeps its names and summaries in step with the verb files, and
// checks that every verb answers --help through the real binary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { VERBS } from '../../src/cli/verbs.js';
import { ROOT } from '../paths.js';

test('every verb entry loads a Command with the same name and summary', async () => {
  for (const v of VERBS) {
    const cmd = await v.load();
    assert.equal(cmd.name, v.name);
    assert.equal(cmd.summary, v.summary, `summary of ${v.name} differs between verbs.ts and its file`);
    assert.ok(cmd.help.length > 40, `${v.name} has help text`);
  }
});

test('tsbpf --help lists every verb; VERB --help exits 0; unknown verbs exit 2', () => {
  const bin = join(ROOT, 'dist', 'src', 'cli', 'main.js');
  const out = execFileSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
  for (const v of VERBS) assert.match(out, new RegExp(`^  ${v.name} `, 'm'));
  for (const v of VERBS) execFileSync(process.execPath, [bin, v.name, '--help'], { encoding: 'utf8' });
  assert.throws(
    () => execFileSync(process.execPath, [bin, 'no-such-verb'], { stdio: 'pipe' }),
    (e: unknown) => (e as { status?: number }).status === 2,
  );
});
