// Per-instruction rules for calls and exits: helper calls (and the
// callbacks some helpers call), bpf-to-bpf calls of static functions (a new
// frame) and of global functions (checked against their prototype and
// verified on their own), and exits from a function, a callback or the
// program (return codes, leaked references).

import { INSNS, Shape } from '../isa/table.js';
import type { Program } from '../isa/decode.js';
import { MAX_CALL_FRAMES } from '../isa/fields.js';
import { BPF_FUNC, BPF_PROG_TYPE } from '../internal/uapi.gen.js';
import { CHANGES_PACKET_DATA } from '../helpers/protos.js';
import { Reject, type Env } from './env.js';
import { subprogEnd, type Cfg } from './cfg.js';
import { FuncState, type VerifierState } from './state.js';
import { widenImpreciseScalars } from './prune.js';
import { RegType, isNullConst, markNotInit, markUnknown, type RegState } from './reg-state.js';
import { LOOP, callbackSite, checkCallbackExit, enterCallback, isCallbackHelper } from './callbacks.js';
import { checkHelperCall, checkHelperMem, clearPacketPointers } from './helpers-check.js';
import type { FuncSig } from './btf-funcs.js';
import { markPrecise } from './precision.js';
import { emitComment, formatState, regName } from './log-state.js';
import { Flow, type Walk } from './walk.js';
import { checkTrustedArg } from './kfunc-check.js';
import { checkCallUnderLock, checkGlobalCallSections, checkResourceLeak, subprogMightSleep } from './critical.js';

/**
 * A helper call. bpf_loop and bpf_for_each_map_elem also push a path into
 * their callback (callbacks.ts), from the state before the call; this path
 * goes on after the call with no more iterations. bpf_loop enters at most
 * r1 bodies in a row, so its count must be precise.
 */
export function stepCall(w: Walk): void {
  const env = w.env;
  const imm = env.prog.imm[w.insn]!;
  checkCallUnderLock(env, 'helper', imm);
  const site = isCallbackHelper(imm) ? callbackSite(env, imm) : undefined;
  let before: VerifierState | undefined;
  let more = site !== undefined;
  if (site !== undefined) {
    if (imm === LOOP) {
      markPrecise(env, 1);
      more = BigInt(env.state.cur.callbackDepth) < env.state.cur.regs[1]!.umax;
    }
    if (more) before = env.state.clone();
  }
  checkHelperCall(env, imm);
  if (w.level >= 1) emitComment(env, w.insnText, 0);
  if (site === undefined) return;
  env.state.cur.callbackDepth = 0;
  if (!before) return;
  if (before.frames.length >= MAX_CALL_FRAMES) throw new Reject(`the call stack of ${before.frames.length + 1} frames is too deep !`);
  w.addCallEdge(site.target);
  enterCallback(env, before, imm, site, w.insn);
  before.callbackUnrollDepth++;
  before.frames[before.frames.length - 2]!.callbackDepth++;
  w.pushBranch(before, site.target, w.log.mark());
}

/** A bpf-to-bpf call: a static function gets a new frame; a global one is checked against its prototype. */
export function stepCallLocal(w: Walk): void {
  const env = w.env;
  const insn = w.insn;
  const target = insn + 1 + env.prog.imm[insn]!;
  const g = w.globals.get(target);
  if (g) {
    // A global function: check the arguments against its prototype, then go on as after a helper.
    checkGlobalCallSections(env, subprogMightSleep(env, w.cfg, target));
    checkGlobalCall(env, g, w.cfg.subprogs.indexOf(target));
    // A function that may move packet data (itself or through its callees) leaves stale packet pointers.
    if (subprogChangesPacket(env.prog, w.cfg, target, new Set())) clearPacketPointers(env);
    if (!w.queue.includes(target)) w.queue.push(target);
    if (w.level >= 1) emitComment(env, w.insnText, 0);
    return;
  }
  if (w.level >= 1) emitComment(env, w.insnText);
  if (env.state.frames.length >= MAX_CALL_FRAMES) throw new Reject(`the call stack of ${env.state.frames.length + 1} frames is too deep !`);
  const caller = env.state.cur;
  const callee = new FuncState();
  callee.frameno = env.state.frames.length;
  callee.callsite = insn;
  callee.subprog = target;
  for (let i = 1; i <= 5; i++) callee.regs[i]!.copyFrom(caller.regs[i]!);
  callee.initFramePointer();
  w.addCallEdge(target);
  env.state.frames.push(callee);
  w.nextInsn = target;
  if (w.level >= 1) w.log.line(`caller:\n ${formatState(env, caller)}\ncallee:\n ${formatState(env, callee)}`);
}

/** exit: back to the caller (or the helper that called a callback), or the end of a path. */
export function stepExit(w: Walk): Flow {
  const env = w.env;
  if (w.level >= 1) emitComment(env, w.insnText);
  const st = env.state;
  const r0 = st.cur.regs[0]!;
  // Leaving the program: sections closed, references released (before r0 is looked at, as the kernel does).
  if (st.frames.length === 1) checkResourceLeak(env, w.globalFn ? 'BPF_EXIT instruction in global subprogram' : 'BPF_EXIT instruction in main prog');
  // A static function may return without setting r0 (the kernel's
  // prepare_func_exit copies it as it is; the caller cannot read it then).
  const staticReturn = st.frames.length > 1 && !st.cur.callback;
  if (r0.type === RegType.NOT_INIT && !staticReturn) throw new Reject('R0 !read_ok');
  w.noteDepth();
  if (st.frames.length === 1 && w.globalFn) {
    if (r0.type !== RegType.SCALAR) throw new Reject(`At subprogram exit the register R0 is not a scalar value (${regName(r0)})`);
    return w.endPath();
  }
  if (st.frames.length > 1) {
    // A static function may return any value but a pointer into its own frame.
    if (r0.type === RegType.PTR_TO_STACK && r0.frameno === st.cur.frameno) throw new Reject('cannot return stack pointer to the caller');
    if (st.cur.callback) return callbackReturn(w);
    returnToCaller(w);
    return Flow.NEXT;
  }
  checkReturnCode(env, r0);
  return w.endPath();
}

/** Return from a static function: r0 to the caller, r1..r5 clobbered, on after the call. */
export function returnToCaller(w: Walk): void {
  const env = w.env;
  const st = env.state;
  w.noteDepth();
  const callee = st.frames.pop()!;
  const caller = st.cur;
  // Pointers into the callee's stack die with it.
  caller.regs[0]!.copyFrom(callee.regs[0]!);
  for (let i = 1; i <= 5; i++) markNotInit(caller.regs[i]!);
  w.nextInsn = callee.callsite + 1;
  if (w.level >= 1) w.log.line(`returning from callee:\n ${formatState(env, callee)}\nto caller at ${w.nextInsn}:\n ${formatState(env, caller)}`);
}

/**
 * A callback's exit: back to the helper call that entered it (its caller's
 * registers are as they were before the call), which is checked again; the
 * scalars that changed since the previous visit there and that nothing made
 * precise are widened, so that the iterations converge.
 */
function callbackReturn(w: Walk): Flow {
  const env = w.env;
  const st = env.state;
  checkCallbackExit(env, st.cur);
  const callee = st.frames.pop()!;
  w.nextInsn = callee.callsite;
  if (w.level >= 1) w.log.line(`returning from callee:\n ${formatState(env, callee)}\nto caller at ${w.nextInsn}:\n ${formatState(env, st.cur)}`);
  const prev = w.prevLoopEntry(callee.callsite, null);
  if (prev) widenImpreciseScalars(prev.state, st);
  return Flow.NEXT;
}

/** Does the subprogram at `start` (or one it calls) call a helper that moves packet data, or tail-call? */
function subprogChangesPacket(prog: Program, cfg: Cfg, start: number, seen: Set<number>): boolean {
  if (seen.has(start)) return false;
  seen.add(start);
  const end = subprogEnd(cfg, start, prog.length);
  for (let i = start; i < end; i++) {
    const op = prog.op[i]!;
    if (op < 0) continue;
    const shape = INSNS[op]!.shape;
    if (shape === Shape.Call && (CHANGES_PACKET_DATA.has(prog.imm[i]!) || prog.imm[i] === BPF_FUNC['tail_call'])) return true;
    if (shape === Shape.CallLocal && subprogChangesPacket(prog, cfg, i + 1 + prog.imm[i]!, seen)) return true;
  }
  return false;
}

/** A call of a global function: arguments must fit its prototype (the kernel's btf_check_func_arg_match). */
function checkGlobalCall(env: Env, fn: FuncSig, funcNo: number): void {
  if (fn.unsupported) throw new Reject(fn.unsupported);
  const regs = env.state.cur.regs;
  const bad = (why: string): never => {
    env.log.line(why);
    throw new Reject(`Caller passes invalid args into func#${funcNo} ('${fn.name}')`);
  };
  fn.args.forEach((a, i) => {
    const regno = i + 1;
    const r = regs[regno]!;
    if (r.type === RegType.NOT_INIT) throw new Reject(`R${regno} !read_ok`);
    if (a.kind === 'scalar') {
      if (r.type !== RegType.SCALAR) bad(`R${regno} is not a scalar`);
    } else if (a.kind === 'ctx') {
      if (r.type !== RegType.PTR_TO_CTX) bad(`arg#${i} expects pointer to ctx`);
    } else if (a.kind === 'mem') {
      if (isNullConst(r)) {
        if (a.nonnull) bad(`arg#${i} expected non-NULL pointer`);
        return;
      }
      try {
        checkHelperMem(env, regno, BigInt(a.size), false, true);
        checkHelperMem(env, regno, BigInt(a.size), true, true);
      } catch (e) {
        if (e instanceof Reject) bad(e.message);
        throw e;
      }
    } else if (a.kind === 'btf') {
      checkTrustedArg(env, regno, a, bad);
    } else if (a.kind === 'arena') {
      if (r.type !== RegType.PTR_TO_ARENA && r.type !== RegType.SCALAR) bad(`R${regno} is not a pointer to arena or scalar.`);
    } else {
      throw new Reject(a.why);
    }
  });
  for (let i = 1; i <= 5; i++) markNotInit(regs[i]!);
  markUnknown(regs[0]!);
}

// Attach types that decide return ranges (enum bpf_attach_type; some are newer than the generated table).
const ATTACH_RET_1_1 = new Set([19, 20, 29, 30, 31, 32, 51, 52, 53]); // recvmsg, getpeername, getsockname (inet4/6, unix)
const ATTACH_BIND = new Set([8, 9]);
const ATTACH_INET_EGRESS = 1;

/** Program return values (the kernel's check_return_code) for the types that constrain them. */
function checkReturnCode(env: Env, r0: RegState): void {
  const T = BPF_PROG_TYPE;
  const t = env.opts.progType;
  const at = env.opts.expectedAttachType ?? -1;
  let range: [bigint, bigint] | undefined = [0n, 1n];
  if (t === T['cgroup_sock_addr']) {
    if (ATTACH_RET_1_1.has(at)) range = [1n, 1n];
    if (ATTACH_BIND.has(at)) range = [0n, 3n];
  } else if (t === T['cgroup_skb']) {
    if (at === ATTACH_INET_EGRESS) range = [0n, 3n];
  } else if (t === T['cgroup_sock'] || t === T['sock_ops'] || t === T['cgroup_device'] || t === T['cgroup_sysctl'] || t === T['cgroup_sockopt']) {
    // (0, 1)
  } else if (t === T['sk_lookup']) {
    range = [0n, 1n];
  } else if (t === (T['netfilter'] ?? 32)) {
    range = [0n, 1n];
  } else {
    range = undefined;
  }
  if (!range) {
    if (r0.type !== RegType.SCALAR && !env.privileged) throw new Reject(`R0 leaks addr as return value`);
    return;
  }
  if (r0.type !== RegType.SCALAR) throw new Reject(`At program exit the register R0 is not a known value (${regName(r0)})`);
  markPrecise(env, 0);
  if (r0.smin < range[0] || r0.smax > range[1]) {
    let v = '';
    if (r0.smin > -(1n << 63n)) v += ` smin=${r0.smin}`;
    if (r0.smax < (1n << 63n) - 1n) v += ` smax=${r0.smax}`;
    if (!v) v = ' unknown scalar value';
    throw new Reject(`At program exit the register R0 has${v} should have been in [${range[0]}, ${range[1]}]`);
  }
}
