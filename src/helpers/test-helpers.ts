// Helpers the bpf_conformance corpus expects. Only id 5 is used: uBPF's
// "unwind" test helper, which returns its first argument (call_unwind_fail.data
// calls it directly, callx.data through `callx`). uBPF also ends the program
// when it returns 0; no conformance test depends on that, so it is not modelled.

import { HelperRegistry, type HelperDef } from './registry.js';

/** uBPF's test helper 5: r0 = r1. */
export const UNWIND: HelperDef = {
  id: 5,
  name: 'unwind',
  fn: (env) => {
    env.regs[0] = env.regs[2]!;
    env.regs[1] = env.regs[3]!;
  },
};

export const CONFORMANCE_HELPERS: readonly HelperDef[] = [UNWIND];

/** A registry holding the conformance helpers (a fresh one each call, so callers may extend it). */
export function conformanceHelpers(): HelperRegistry {
  return new HelperRegistry(CONFORMANCE_HELPERS);
}
