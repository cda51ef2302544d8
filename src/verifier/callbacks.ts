// Callbacks of bpf_loop and bpf_for_each_map_elem: the callback subprogram
// is verified as a call made by the helper, with the arguments the helper
// passes (loop: index, ctx; for_each: map, key, value, ctx), and must return
// 0 or 1. The helper may run it any number of times, so instead of
// iterating to a fixed point as the kernel does, the caller's stack is
// widened before the call (known scalars become unknown, zero bytes become
// data) and a callback may not store pointers into a caller's stack or
// overwrite a pointer spilled there: then one walk of the body covers every
// iteration, and zero iterations are covered too.

import { RegState, RegType, RegFlag, markNotInit, markPointer, markUnknown, regTypeName } from './reg-state.js';
import { FuncState, StackByte, type VerifierState } from './state.js';
import { reject, type Env } from './env.js';
import { markPrecise } from './precision.js';
import { BPF_FUNC } from '../internal/uapi.gen.js';
import { STACK_SIZE } from '../isa/fields.js';

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

/** Known scalars in every frame's stack become unknown, zero bytes become data: what any number of iterations may leave. */
function widenStacks(st: VerifierState): void {
  for (const f of st.frames) {
    const bytes = f.bytes;
    let zeros = false;
    for (let i = 0; i < STACK_SIZE && !zeros; i++) if (bytes[i] === StackByte.ZERO) zeros = true;
    if (zeros) {
      const w = f.wbytes();
      for (let i = 0; i < STACK_SIZE; i++) if (w[i] === StackByte.ZERO) w[i] = StackByte.MISC;
    }
    const sp = f.spilled;
    if (sp.some((s) => s !== null && s.type === RegType.SCALAR)) {
      for (const s of f.wspilled()) if (s && s.type === RegType.SCALAR) markUnknown(s);
    }
  }
}

/** The callback frame, entered as if the helper called it; returns it (already pushed). */
export function enterCallback(env: Env, id: number, site: CallbackSite, callsite: number): FuncState {
  const st = env.state;
  widenStacks(st);
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

/** The innermost callback frame below the current one's writes to frame `frameno`, if a callback runs above it. */
export function writesFromCallback(st: VerifierState, frameno: number): boolean {
  for (let k = st.frames.length - 1; k > frameno; k--) if (st.frames[k]!.callback) return true;
  return false;
}

/**
 * A store by a callback (or a function it calls) into the stack of a frame
 * below the callback: no pointers, and no overwriting a spilled pointer,
 * so the caller's stack has the same shape after any number of iterations.
 */
export function checkCallbackStackWrite(env: Env, f: FuncState, minOff: number, maxOff: number, value: RegState | undefined): void {
  if (!writesFromCallback(env.state, f.frameno)) return;
  if (value && value.isPointer()) reject('a callback cannot store pointers into its caller\'s stack');
  for (let o = minOff; o < maxOff; o++) {
    const p = STACK_SIZE + o;
    if (p < 0 || p >= STACK_SIZE) continue;
    const s = f.spilled[p >> 3];
    if (f.bytes[p] === StackByte.SPILL && s && s.type !== RegType.SCALAR) reject('a callback cannot overwrite a pointer spilled in its caller\'s stack');
  }
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
