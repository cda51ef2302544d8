// The verifier's helper prototypes and the runtime's helper implementations
// meet: every helper a program type may call (per the verifier) is one the
// runtime runs, and every helper the runtime runs is allowed for some program
// type, except for a committed list that may only shrink
// (test/fixtures/verifier/helper-exceptions.txt).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve, dirname } from 'node:path';
import { Runtime } from '../../src/runtime/runtime.js';
import { helperAllowLists, helperProto } from '../../src/helpers/protos.js';
import { BPF_FUNC, BPF_PROG_TYPE, nameOf } from '../../src/internal/uapi.gen.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const exceptions = readFileSync(resolve(root, 'test/fixtures/verifier/helper-exceptions.txt'), 'utf8')
  .split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));

function implementedIds(): Set<number> {
  const rt = new Runtime();
  try {
    const ids = new Set<number>();
    // Kernel helper ids only (embedders' own ids are above the kernel's range).
    for (let id = 1; id < 512; id++) if (rt.helpers.get(id) !== undefined && nameOf(BPF_FUNC, id) !== undefined) ids.add(id);
    return ids;
  } finally {
    rt.dispose();
  }
}

test('per program type, the helpers the verifier allows are the helpers the runtime implements (known exceptions listed)', () => {
  const impl = implementedIds();
  const lists = helperAllowLists();
  const found = new Set<string>();
  const perType: string[] = [];
  const everAllowed = new Set<number>();
  for (const [type, ids] of lists) {
    for (const id of ids) {
      everAllowed.add(id);
      assert.ok(helperProto(id) !== undefined, `${nameOf(BPF_PROG_TYPE, type)} allows ${nameOf(BPF_FUNC, id)}, which has no prototype`);
      if (!impl.has(id)) {
        found.add(`allowed-not-implemented ${nameOf(BPF_FUNC, id)}`);
        perType.push(`${nameOf(BPF_PROG_TYPE, type)}: ${nameOf(BPF_FUNC, id)}`);
      }
    }
  }
  for (const id of impl) if (!everAllowed.has(id)) found.add(`implemented-not-allowed ${nameOf(BPF_FUNC, id)}`);
  const missing = [...found].filter((l) => !exceptions.includes(l));
  const stale = exceptions.filter((l) => !found.has(l));
  assert.deepEqual(missing, [], `new mismatches (implement the helper, fix the allow list, or list them): ${perType.join(', ')}`);
  assert.deepEqual(stale, [], 'these exceptions are fixed: delete their lines from helper-exceptions.txt');
});

test('each allow list is checked: an xdp program may not call skb helpers, a tc program may not call xdp ones', () => {
  const lists = helperAllowLists();
  const xdp = lists.get(BPF_PROG_TYPE['xdp']!)!;
  const tc = lists.get(BPF_PROG_TYPE['sched_cls']!)!;
  assert.ok(xdp.has(BPF_FUNC['xdp_load_bytes']!) && !xdp.has(BPF_FUNC['skb_pull_data']!));
  assert.ok(tc.has(BPF_FUNC['skb_pull_data']!) && !tc.has(BPF_FUNC['xdp_load_bytes']!));
});
