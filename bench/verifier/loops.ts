// Programs whose walk never converges: the verifier processes its whole
// budget of 1,000,000 instructions and rejects them ("BPF program is too
// large"), as the kernel does (test/verifier/budget-loops.test.ts checks both
// verdicts). They measure the per-instruction cost of the walk: states
// copied at every branch, checkpoints compared at every loop head.

export interface BudgetLoop {
  readonly name: string;
  /** LLVM-dialect assembly of a socket filter. */
  readonly source: string;
}

export const BUDGET_LOOPS: readonly BudgetLoop[] = [
  {
    // A jset the bounds cannot decide on a value that grows every iteration (like the
    // kernel selftest short_loop1): a branch per iteration, no two states alike.
    name: 'jset-loop',
    source: 'r6 = *(u32 *)(r1 + 0)\nr6 += 0x12345\nif r6 & 0x40404 goto -2\nr0 = 0\nexit',
  },
  {
    // A may_goto loop over a counter a comparison made precise: it cannot widen, so
    // every iteration is a new state compared with the 64 kept at the loop head.
    name: 'may_goto-loop',
    source: 'r6 = 0\nr6 += 1\nif r6 == 0x7fffffff goto +2\nmay_goto +1\ngoto -4\nr0 = 0\nexit',
  },
];
