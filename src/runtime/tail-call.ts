// bpf_tail_call for the runtime's programs. The standard helper (helpers/
// tail-call.ts) checks the slot and the 33-call limit and records the target
// in HelperContext.pendingTailCall; a successful tail call never returns to
// the caller, so this wrapper then unwinds the running engine by throwing
// one preallocated signal, and the runtime's run loop (program.ts) starts
// the target with the same ctx and a fresh stack. Unwinding by exception
// works the same through the interpreter and through JIT (Wasm) frames.

import { HelperContext } from '../helpers/context.js';
import type { HelperDef } from '../helpers/registry.js';
import { tailCall } from '../helpers/tail-call.js';
import { TsbpfError } from '../internal/errors.js';

/** Thrown by the runtime's tail_call helper when the jump is taken; caught by the run loop, never seen by users. */
export class TailCallSignal extends TsbpfError {
  constructor() {
    super('ETAILCALL', 'tail call taken (internal signal; a runtime run loop should have caught it)');
  }
}

export const TAIL_CALL_SIGNAL = new TailCallSignal();

export const runtimeTailCall: HelperDef = {
  ...tailCall,
  fn: (env) => {
    tailCall.fn(env);
    const run = env.run;
    if (run instanceof HelperContext && run.pendingTailCall !== undefined) throw TAIL_CALL_SIGNAL;
  },
};
