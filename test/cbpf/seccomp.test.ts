// A real seccomp filter, compiled by libseccomp from the rules in
// seccomp/policy.c and committed as binary: tsbpf's SeccompFilter must give
// every system call the action those rules say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeccompFilter } from '../../src/cbpf/classic-filter.js';
import { readClassicBinary } from '../../src/cbpf/read.js';
import { checkClassic } from '../../src/cbpf/check.js';
import { AUDIT_ARCH, SECCOMP_RET, describeSeccompAction } from '../../src/cbpf/seccomp.js';
import { engineNames } from '../../src/vm/engines.js';
import { ROOT } from '../paths.js';

const POLICY = readClassicBinary(new Uint8Array(readFileSync(join(ROOT, 'test', 'cbpf', 'seccomp', 'policy.bpf'))));
const X86_64 = AUDIT_ARCH.X86_64;
const NR = { read: 0, write: 1, mmap: 9, lseek: 8, getpid: 39, ptrace: 101, openat: 257, close: 3 };
const EPERM = SECCOMP_RET.ERRNO | 1;

const CASES: ReadonlyArray<readonly [string, number, number, readonly bigint[], number]> = [
  ['read is allowed', X86_64, NR.read, [], SECCOMP_RET.ALLOW],
  ['write to fd 1 is allowed', X86_64, NR.write, [1n], SECCOMP_RET.ALLOW],
  ['write to fd 2 is refused', X86_64, NR.write, [2n], EPERM],
  ['write to fd 1 + 2^32 compares all 64 bits', X86_64, NR.write, [0x100000001n], EPERM],
  ['ptrace kills the process', X86_64, NR.ptrace, [], SECCOMP_RET.KILL_PROCESS],
  ['mmap without PROT_EXEC is allowed', X86_64, NR.mmap, [0n, 4096n, 3n], SECCOMP_RET.ALLOW],
  ['mmap with PROT_EXEC is refused', X86_64, NR.mmap, [0n, 4096n, 5n], EPERM],
  ['openat is traced with tag 7', X86_64, NR.openat, [], SECCOMP_RET.TRACE | 7],
  ['lseek past 4 GiB is allowed', X86_64, NR.lseek, [3n, 0x100000001n], SECCOMP_RET.ALLOW],
  ['lseek to 4 GiB exactly is refused', X86_64, NR.lseek, [3n, 0x100000000n], EPERM],
  ['lseek far past 4 GiB is allowed', X86_64, NR.lseek, [3n, 0x7_0000_0000n], SECCOMP_RET.ALLOW],
  ['lseek below 4 GiB is refused', X86_64, NR.lseek, [3n, 5n], EPERM],
  ['getpid is logged', X86_64, NR.getpid, [], SECCOMP_RET.LOG],
  ['other calls get the default EPERM', X86_64, NR.close, [], EPERM],
  ['x32 system calls are refused', X86_64, 0x40000000 + NR.read, [], SECCOMP_RET.KILL_THREAD],
  ['another architecture is killed', AUDIT_ARCH.I386, NR.read, [], SECCOMP_RET.KILL_THREAD],
];

test('the libseccomp filter passes the kernel seccomp checker', () => {
  checkClassic(POLICY, { mode: 'seccomp' });
});

for (const engine of engineNames()) {
  test(`libseccomp policy on '${engine}': every call gets the action of its rule`, () => {
    const f = new SeccompFilter(POLICY, { engine });
    for (const [what, arch, nr, args, want] of CASES) {
      const got = f.run({ nr, arch, args });
      assert.equal(describeSeccompAction(got), describeSeccompAction(want >>> 0), what);
      assert.equal(got, want >>> 0, what);
    }
  });
}

test('describeSeccompAction', () => {
  assert.equal(describeSeccompAction(0x7fff0000), 'ALLOW');
  assert.equal(describeSeccompAction(0x00050016), 'ERRNO(22)');
  assert.equal(describeSeccompAction(0x80000000), 'KILL_PROCESS');
  assert.equal(describeSeccompAction(0x12340000), 'KILL_PROCESS (unknown action 0x12340000)');
});
