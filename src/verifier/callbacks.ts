// Callbacks of bpf_loop and bpf_for_each_map_elem, as the kernel verifies
// them: at the helper call the walk goes on after the call (no iteration
// more) and pushes a path into the callback body, entered with the
// arguments the helper passes (loop: index, ctx; for_each: map, key, value,
// ctx). A callback returns 0 or 1 and goes back to the helper call itself,
// which is checked again and may enter the body once more, until the state
// at the call is covered by the one an iteration before (walk.ts prunes it;
// scalars no one made precise are widened so that counters converge).
// bpf_loop enters at most r1 bodies in a row, so a small constant count is
// walked exactly. See step-call.ts for the call and the return.

import { RegType, RegFlag, markNotInit, markPointer, markUnknown, regTypeName, type RegState } from './reg-state.js';
import { FuncState, type VerifierState } from './state.js';
import { reject, type Env } from './env.js';
import { markPrecise } from './precision.js';
import { BPF_FUNC } from '../internal/uapi.gen.js';

export const LOOP = BPF_FUNC['loop']!;
export const FOR_EACH_MAP_ELEM = BPF_FUNC['for_each_map_elem']!;

/** What the call site passes to the callback, read before the helper call clobbers r1..r5. */
export interface CallbackSite {
  readonly target: number;
  readonly ctx: RegState;
  readonly mapIndex: number;
}

export function isCallbackHelper(id: number): boolean {
  return id === LOOP || id === FOR_EACH_MAP_ELEM;
}

/** Read the callback target, its context and map from the argument registers (types are checked by the helper prototype). */
export function callbackSite(env: Env, id: number): CallbackSite | undefined {
  const regs = env.state.cur.regs;
  const fn = regs[2]!;
  if (fn.type !== RegType.PTR_TO_FUNC) return undefined;
  return { target: fn.frameno, ctx: regs[3]!.clone(), mapIndex: id === FOR_EACH_MAP_ELEM ? regs[1]!.mapIndex : -1 };
}

/**
 * The callback frame, entered on `st` (a copy of the state before the
 * helper call, so the caller's argument registers are intact when the
 * callback returns to the call) as if the helper called it; returns it
 * (already pushed).
 */
export function enterCallback(env: Env, st: VerifierState, id: number, site: CallbackSite, callsite: number): FuncState {
  const callee = new FuncState();
  callee.frameno = st.frames.length;
  callee.callsite = callsite;
  callee.subprog = site.target;
  callee.callback = true;
  callee.callbackRefs = st.refs.length;
  const r = callee.regs;
  if (id === LOOP) {
    // r1: the iteration index (a u32 in practice; the kernel leaves it unknown), r2: ctx.
    markUnknown(r[1]!);
    r[2]!.copyFrom(site.ctx);
  } else {
    const m = env.maps[site.mapIndex];
    markPointer(r[1]!, RegType.CONST_PTR_TO_MAP);
    r[1]!.mapIndex = site.mapIndex;
    // The key is read-only memory of key_size bytes; the value a map value (never NULL).
    markPointer(r[2]!, RegType.PTR_TO_MEM, RegFlag.RDONLY);
    r[2]!.memSize = m?.keySize ?? 0;
    markPointer(r[3]!, RegType.PTR_TO_MAP_VALUE);
    r[3]!.mapIndex = site.mapIndex;
    r[4]!.copyFrom(site.ctx);
  }
  for (let i = id === LOOP ? 3 : 5; i <= 5; i++) markNotInit(r[i]!);
  callee.initFramePointer();
  st.frames.push(callee);
  return callee;
}

/** Leaving a callback frame: r0 in [0, 1], no reference leaked. */
export function checkCallbackExit(env: Env, callee: FuncState): void {
  const r0 = callee.regs[0]!;
  if (r0.type === RegType.SCALAR) markPrecise(env, 0); // the range decides the verdict: states that differ in r0 must not prune
  if (r0.type !== RegType.SCALAR) reject(`At callback return the register R0 is not a known value (${regTypeName(r0.type, r0.flags)})`);
  if (r0.smin < 0n || r0.smax > 1n) {
    // verbose_invalid_scalar: only the bounds that say something.
    let v = '';
    if (r0.smin > -(1n << 63n)) v += ` smin=${r0.smin}`;
    if (r0.smax < (1n << 63n) - 1n) v += ` smax=${r0.smax}`;
    reject(`At callback return the register R0 has${v || ' unknown scalar value'} should have been in [0, 1]`);
  }
  if (env.state.refs.length !== callee.callbackRefs) {
    const r = env.state.refs[env.state.refs.length - 1]!;
    env.log.line(`Unreleased reference id=${r.id} alloc_insn=${r.insn}`);
    reject('BPF_EXIT instruction in callback would lead to reference leak');
  }
}
