// Iterator contexts and iterator / tracing helpers (src/verifier/tracing-ctx.ts,
// src/progtypes/iter-targets.ts, src/helpers/allow-lists.ts): each program of
// the self-written fixture (test/fixtures/verifier/real/iter_ctx.c) makes one
// access or call; tsbpf's verdict must be the expected one and, as root, the
// running kernel's, with the same message. Needs the kernel's BTF
// (/sys/kernel/btf/vmlinux); skips without it.
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadObject } from '../../src/elf/load.js';
import { kernelBtf } from '../../src/elf/target-btf.js';
import { assertKernelVerdicts, assertTsbpfVerdicts } from './expect-verdicts.js';

const FILE = fileURLToPath(new URL('../../../test/fixtures/verifier/real/iter_ctx.o', import.meta.url));

/** Program -> undefined (accepted) or a text both verifiers' logs must contain. */
const EXPECT: Record<string, string | undefined> = {
  task_checked: undefined,
  task_unchecked: "R2 invalid mem access 'ptr_or_null_'",
  fd_read: undefined,
  past_file: "func 'bpf_iter_task_file' doesn't have 5-th argument",
  seq_write_meta: undefined,
  seq_write_file: 'R1 is of type file but seq_file is expected',
  copy_task_sleepable: undefined,
  copy_task_not_sleepable: 'helper call might sleep in a non-sleepable prog',
  prog_checked: undefined,
  prog_beyond_member: 'access beyond the end of member pages (mend:2) in struct bpf_prog with off 0 size 4',
  func_ip_raw_tp: 'func bpf_get_func_ip#173 supported only for fentry/fexit/fmod_ret programs',
  seq_write_raw_tp: 'program of this type cannot use helper bpf_seq_write#127',
  file_d_path: undefined,
};

test('iterator contexts and helpers: as the kernel types them', (t) => {
  const target = kernelBtf();
  if (!target) {
    t.skip('no /sys/kernel/btf/vmlinux: iterator contexts need the kernel BTF');
    return;
  }
  const spec = loadObject(new Uint8Array(readFileSync(FILE)), { file: FILE, coreTarget: target });
  assertTsbpfVerdicts(spec, EXPECT);
  assertKernelVerdicts(t, spec, target, EXPECT);
});
