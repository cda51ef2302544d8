// BTF tracing contexts (src/verifier/tracing-ctx.ts): tp_btf programs read
// their target's arguments as the kernel's BTF types them, as falco's 189
// tp_btf programs do. Each program of the self-written fixture
// (test/fixtures/verifier/real/tracing_args.c) makes one access; tsbpf's
// verdict must be the expected one and, as root, the running kernel's.
// Needs the kernel's BTF (/sys/kernel/btf/vmlinux); skips without it.
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadObject } from '../../src/elf/load.js';
import { kernelBtf } from '../../src/elf/target-btf.js';
import { assertKernelVerdicts, assertTsbpfVerdicts } from './expect-verdicts.js';

const FILE = fileURLToPath(new URL('../../../test/fixtures/verifier/real/tracing_args.o', import.meta.url));

/** Program -> undefined (accepted) or a text both verifiers' logs must contain. */
const EXPECT: Record<string, string | undefined> = {
  exit_args: undefined,
  exit_ret_u32: undefined,
  exit_third: "func 'sys_exit' doesn't have 3-th argument",
  exit_ptr_u32: "func 'sys_exit' size 4 must be 8",
  exit_misaligned: 'invalid bpf_context access off=4 size=4',
  exit_store: 'invalid bpf_context access off=8 size=8',
  exit_ptr_times: 'pointer arithmetic with *= operator prohibited',
  // Linux 6.12 marks this argument maybe-NULL (raw_tp_null_args); 6.18 does not.
  wait_unchecked: undefined,
  wait_checked: undefined,
  deliver_info: undefined,
};

test('tracing contexts: arguments typed by the kernel BTF, as the kernel reads them', (t) => {
  const target = kernelBtf();
  if (!target) {
    t.skip('no /sys/kernel/btf/vmlinux: tracing contexts need the kernel BTF');
    return;
  }
  const spec = loadObject(new Uint8Array(readFileSync(FILE)), { file: FILE });
  assertTsbpfVerdicts(spec, EXPECT);
  assertKernelVerdicts(t, spec, target, EXPECT);
});
