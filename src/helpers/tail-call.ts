// bpf_tail_call(ctx, prog_array, index). On success the kernel never returns
// to the caller: the target program replaces the running one, with the same
// ctx in r1 and a fresh stack. It fails, and execution continues after the
// call, when the index is out of range, the slot is empty, or 33 tail calls
// (MAX_TAIL_CALL_CNT) have already been taken in this run; r0 is then -ENOENT
// (-E2BIG for the limit; the kernel leaves r0 unspecified).
//
// How the jump happens depends on HelperContext.tailCallMode:
// - 'pending' (default): the helper sets ctx.pendingTailCall and returns; the
//   engine or run loop jumps when the call returns (src/runtime does this).
// - 'throw': the helper throws a TailCall, which unwinds the engine;
//   runWithTailCalls() sets this mode, catches it and starts the target.

import { TsbpfError } from '../internal/errors.js';
import { E2BIG, EINVAL, ENOENT } from '../maps/errno.js';
import { MAX_TAIL_CALL_CNT, ProgArrayMap } from '../maps/prog-array.js';
import type { EntryArgs, ExecResult } from '../vm/types.js';
import { contextOf, type HelperContext } from './context.js';
import { arg, helper, retInt } from './define.js';

/** A taken tail call unwinding the engine (caught by runWithTailCalls). */
export class TailCall extends TsbpfError {
  constructor(
    readonly pc: number,
    readonly target: object,
    /** r1 at the call: the ctx the target starts with. */
    readonly r1: bigint,
  ) {
    super('ETAILCALL', `pc ${pc}: tail call taken outside runWithTailCalls (or an engine that implements tail calls)`);
  }
}

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
  if (ctx.tailCallMode === 'throw') {
    const r1 = (BigInt(env.regs[3]! >>> 0) << 32n) | BigInt(env.regs[2]! >>> 0);
    throw new TailCall(env.pc, prog, r1);
  }
  ctx.pendingTailCall = prog;
  retInt(env, 0);
});

/**
 * Run `first` with `args`, following tail calls: each taken tail call starts
 * its target through `run` with the caller's r1. `run` maps a prog_array
 * entry (whatever the runtime stored there) to an execution. The chain shares
 * one count, so at most 33 tail calls happen per call of this function.
 */
export function runWithTailCalls<P extends object>(ctx: HelperContext, first: P, args: EntryArgs, run: (prog: P, args: EntryArgs) => ExecResult): ExecResult {
  ctx.beginRun();
  const mode = ctx.tailCallMode;
  ctx.tailCallMode = 'throw';
  let prog = first;
  let a = args;
  try {
    for (;;) {
      try {
        return run(prog, a);
      } catch (e) {
        if (!(e instanceof TailCall)) throw e;
        prog = e.target as P;
        a = [e.r1];
      }
    }
  } finally {
    ctx.tailCallMode = mode;
  }
}
