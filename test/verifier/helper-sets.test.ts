// The verifier's helper prototypes and allow lists (the kernel's) and the
// runtime's helper implementations meet: every helper the runtime runs is
// allowed for some program type and has a prototype, except for a committed
// list that may only shrink (test/fixtures/verifier/helper-exceptions.txt);
// a helper the kernel allows and the runtime lacks is refused at load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve, dirname } from 'node:path';
import { Runtime } from '../../src/runtime/runtime.js';
import { helperAllowLists, helperProto } from '../../src/helpers/protos.js';
import { BPF_FUNC, BPF_PROG_TYPE, nameOf } from '../../src/internal/uapi.gen.js';
import { checkHelperCalls } from '../../src/helpers/check-calls.js';
import { decodeProgram } from '../../src/isa/decode.js';
import { VerifierError } from '../../src/internal/errors.js';

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

test('every helper the runtime implements is one some program type may call, with a prototype (known exceptions listed)', () => {
  // The allow lists are the kernel's (src/helpers/allow-lists.ts); a helper
  // the kernel allows and the runtime lacks is refused when a program is
  // loaded into the runtime (check-calls.ts), which the next test checks.
  const impl = implementedIds();
  const everAllowed = new Set<number>();
  for (const ids of helperAllowLists().values()) for (const id of ids) everAllowed.add(id);
  const found = new Set<string>();
  for (const id of impl) {
    if (!everAllowed.has(id)) found.add(`implemented-not-allowed ${nameOf(BPF_FUNC, id)}`);
    if (helperProto(id) === undefined) found.add(`implemented-no-prototype ${nameOf(BPF_FUNC, id)}`);
  }
  const missing = [...found].filter((l) => !exceptions.includes(l));
  const stale = exceptions.filter((l) => !found.has(l));
  assert.deepEqual(missing, [], 'new mismatches (fix the allow list or the prototype, or list them)');
  assert.deepEqual(stale, [], 'these exceptions are fixed: delete their lines from helper-exceptions.txt');
});

test('a helper the kernel allows but the runtime does not run is refused when the runtime loads the program', () => {
  const rt = new Runtime();
  try {
    const id = BPF_FUNC['get_func_ip']!;
    assert.equal(rt.helpers.get(id), undefined, 'pick another helper: the runtime implements this one now');
    assert.ok(helperAllowLists().get(BPF_PROG_TYPE['kprobe']!)!.has(id));
    // r1 = r1 (ctx); call get_func_ip; exit
    const prog = decodeProgram(new Uint8Array([0x85, 0, 0, 0, id, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]));
    assert.throws(() => checkHelperCalls(prog, rt.helpers, 'GPL'), (e: Error) => e instanceof VerifierError && /cannot use helper bpf_get_func_ip#173/.test(e.message));
  } finally {
    rt.dispose();
  }
});

test('each allow list is checked: an xdp program may not call skb helpers, a tc program may not call xdp ones', () => {
  const lists = helperAllowLists();
  const xdp = lists.get(BPF_PROG_TYPE['xdp']!)!;
  const tc = lists.get(BPF_PROG_TYPE['sched_cls']!)!;
  assert.ok(xdp.has(BPF_FUNC['xdp_load_bytes']!) && !xdp.has(BPF_FUNC['skb_pull_data']!));
  assert.ok(tc.has(BPF_FUNC['skb_pull_data']!) && !tc.has(BPF_FUNC['xdp_load_bytes']!));
});
