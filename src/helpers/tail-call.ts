// bpf_tail_call(ctx, prog_array, index). On success the kernel never returns
// to the caller: the target program replaces the running one, with the same
// ctx in r1 and a fresh stack. It fails, and execution continues after the
// call, when the index is out of range, the slot is empty, or 33 tail calls
// (MAX_TAIL_CALL_CNT) have already been taken in this run; r0 is then -ENOENT
// (-E2BIG for the limit; the kernel leaves r0 unspecified).
//
// The helper records the target in HelperContext.pendingTailCall; the
// engine or run loop (src/runtime/program.ts) jumps when the call returns.

import { E2BIG, EINVAL, ENOENT } from '../maps/errno.js';
import { MAX_TAIL_CALL_CNT, ProgArrayMap } from '../maps/prog-array.js';
import { contextOf } from './context.js';
import { arg, helper, retInt } from './define.js';

export const tailCall = helper('tail_call', (env) => {
  const ctx = contextOf(env, 'tail_call');
  const m = ctx.maps.byDesc(arg(env, 2));
  if (!(m instanceof ProgArrayMap)) return retInt(env, -EINVAL);
  const index = arg(env, 3);
  if (index >= m.maxEntries) return retInt(env, -ENOENT);
  if (ctx.tailCallCount >= MAX_TAIL_CALL_CNT) return retInt(env, -E2BIG);
  const prog = m.get(index);
  if (prog === undefined) return retInt(env, -ENOENT);
  ctx.tailCallCount++;
  ctx.pendingTailCall = prog;
  retInt(env, 0);
});
