// A test run the kernel's BPF_PROG_TEST_RUN would refuse (bad data_in size,
// a ctx_in it cannot accept, a program type without test-run support): the
// errno is the one bpf(2) would return.

import { TsbpfError } from '../internal/errors.js';
import { errnoName } from '../maps/errno.js';

export class TestRunError extends TsbpfError {
  constructor(
    /** Positive errno, as bpf(BPF_PROG_TEST_RUN) would set it. */
    readonly errno: number,
    reason: string,
  ) {
    super(errnoName(errno), `test run: ${reason} (${errnoName(errno)})`);
  }
}
