// Reads of the kernel's struct for a map through a map pointer (map-ptr.ts):
// by the kernel's BTF when it is given, refused with a reason when not; as
// root the same programs go through the running kernel's verifier too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verify } from '../../src/verifier/index.js';
import { decodeProgram } from '../../src/isa/decode.js';
import { assemble } from '../../src/asm/assemble.js';
import { loadKernelBtf } from '../../src/verifier/kfuncs-vmlinux.js';
import { kernelVerdicts } from './kernel.js';

const SOCKET_FILTER = 1;
const ARRAY = { type: 2, keySize: 4, valueSize: 48, maxEntries: 1 };
const bytes = (body: string): Uint8Array => assemble(`r1 = 0\nld_pseudo r1, 1, 0\n${body}\nr0 = 1\nexit`, { dialect: 'llvm' });

// [program body, kernel's verdict, our reason when rejected]
const CASES: [string, 'accept' | 'reject', string?][] = [
  ['r6 = *(u64 *)(r1 + 0)', 'accept'],
  ['r6 = *(u32 *)(r1 + 1)', 'accept'],
  ['r6 = *(u64 *)(r1 - 8)', 'reject', 'R1 is bpf_array invalid negative access: off=-8'],
  ['*(u64 *)(r1 + 0) = r1', 'reject', 'only read from bpf_array is supported'],
  ['r6 = *(u64 *)(r1 + 30000)', 'reject', 'access beyond struct bpf_array'],
];

const kernelBtf = loadKernelBtf();

test('map pointer reads follow the kernel struct in the kernel BTF', { skip: kernelBtf ? false : 'no /sys/kernel/btf/vmlinux' }, () => {
  for (const [body, verdict, reason] of CASES) {
    const r = verify(decodeProgram(bytes(body), { validate: false }), { progType: SOCKET_FILTER, maps: [ARRAY], kernelBtf });
    assert.equal(r.ok ? 'accept' : 'reject', verdict, `${body}: ${r.error?.reason}`);
    if (reason) assert.ok(r.error!.reason.includes(reason), `${body}: ${r.error!.reason}`);
  }
  // Without privilege, never.
  const r = verify(decodeProgram(bytes(CASES[0]![0]), { validate: false }), { progType: SOCKET_FILTER, maps: [ARRAY], kernelBtf, privileged: false });
  assert.equal(r.error?.reason, "'bpf_array' access is allowed only to CAP_PERFMON and CAP_SYS_ADMIN");
});

test('without the kernel BTF a map pointer read is refused with the reason', () => {
  const r = verify(decodeProgram(bytes(CASES[0]![0]), { validate: false }), { progType: SOCKET_FILTER, maps: [ARRAY] });
  assert.equal(r.ok, false);
  assert.match(r.error!.reason, /kernel's BTF/);
});

test('the running kernel gives the same verdicts (root only)', (t) => {
  const kv = kernelVerdicts(CASES.map(([body]) => ({ bytes: bytes(body), progType: SOCKET_FILTER, maps: [ARRAY] })));
  if (kv[0]!.status === 'unavailable') {
    t.skip(`kernel oracle unavailable: ${kv[0]!.log}`);
    return;
  }
  assert.deepEqual(kv.map((k) => k.status), CASES.map(([, v]) => v), kv.map((k) => k.log.split('\n').slice(-3).join(' | ')).join('\n'));
});
