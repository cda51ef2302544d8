// Critical sections, as the kernel's verifier (6.18) tracks them in the
// state: the one bpf_spin_lock a path holds (active_lock: which map's value
// and through which pointer id), a bpf_rcu_read_lock() section
// (active_rcu_lock), bpf_preempt_disable() nesting (active_preempt_locks)
// and the IRQ states bpf_local_irq_save() keeps in stack slots
// (active_irq_id). While a spin lock is held no function may be called but
// bpf_spin_unlock and the number iterator; nothing that sleeps runs in the
// other sections (global functions that may sleep included); no section
// may be left open at the program's exit, over a tail call or an
// LD_ABS/LD_IND (which may end the program); the lock
// word itself is never read or written but by the helpers. The lock's
// offset in the value comes from the map's BTF (MapInfo.spinLockOff). The
// RCU pointers walked inside a section are typed in kfuncs-btf.ts
// (inRcuSection here).

import { reject, type Env, type MapInfo } from './env.js';
import { RegFlag, RegState, RegType, markNotInit, markPointer, markUnknown, regTypeName } from './reg-state.js';
import { regBoundsSync } from './bounds-sync.js';
import { tnumIsConst } from './tnum.js';
import { BPF_FUNC, BPF_PROG_TYPE } from '../internal/uapi.gen.js';
import { KF, kfuncAllowed, kfuncByName, type KfuncDef } from './kfuncs.js';
import { subprogEnd, type Cfg } from './cfg.js';
import { INSNS, Shape } from '../isa/table.js';
import { helperAllowed, helperProtoFor } from '../helpers/protos.js';
import { StackByte, type FuncState, type VerifierState } from './state.js';
import { STACK_SIZE } from '../isa/fields.js';

/** sizeof(struct bpf_spin_lock), and of struct bpf_res_spin_lock. */
const SPIN_LOCK_SIZE = 4;

/** Does the map's value hold a lock, bpf_spin_lock or bpf_res_spin_lock (btf_record_has_field(BPF_SPIN_LOCK | BPF_RES_SPIN_LOCK))? */
export function mapHasSpinLock(m: MapInfo | undefined): boolean {
  return m?.spinLockOff !== undefined || m?.resSpinLockOff !== undefined;
}

/** Does the path hold any lock, bpf_spin_lock or bpf_res_spin_lock (the kernel's active_locks)? */
export function holdsLock(st: VerifierState): boolean {
  return st.lockMap >= 0 || st.resLocks.length > 0;
}

/** The kernel's is_tracing_prog_type: programs that may run in any context (NMI included). */
const TRACING_TYPES = new Set(
  ['kprobe', 'tracepoint', 'perf_event', 'raw_tracepoint', 'raw_tracepoint_writable']
    .map((n) => BPF_PROG_TYPE[n]).filter((x): x is number => x !== undefined),
);

/**
 * A map the program loads (the kernel's check_map_prog_compatibility, run
 * for every map reference before the walk): socket filters and tracing
 * programs cannot use maps whose values hold a bpf_spin_lock, tracing
 * programs none whose values hold a bpf_timer.
 */
export function checkMapProgCompat(env: Env, m: MapInfo): void {
  const t = env.opts.progType;
  if (mapHasSpinLock(m)) {
    if (t === BPF_PROG_TYPE['socket_filter']) reject('socket filter progs cannot use bpf_spin_lock yet');
    if (TRACING_TYPES.has(t)) reject('tracing progs cannot use bpf_spin_lock yet');
  }
  if (m.timerOff !== undefined && TRACING_TYPES.has(t)) reject('tracing progs cannot use bpf_timer yet');
}

/** Map value ids: a lookup in a map with a lock keeps its id after the null check, to tell lock from lock (reg_may_point_to_spin_lock). */
export function keepsLockId(env: Env, r: RegState): boolean {
  return r.type === RegType.PTR_TO_MAP_VALUE && mapHasSpinLock(env.maps[r.mapIndex]);
}

/**
 * The bpf_spin_lock / bpf_spin_unlock argument (ARG_PTR_TO_SPIN_LOCK and
 * the kernel's process_spin_lock): a map value pointer at the exact,
 * constant offset of its value's lock; lock takes it (one at a time),
 * unlock releases the same lock, taken through the same pointer id.
 */
export function processSpinLock(env: Env, regno: number, isLock: boolean): void {
  const r = env.state.cur.regs[regno]!;
  if (r.type !== RegType.PTR_TO_MAP_VALUE || r.flags & RegFlag.MAYBE_NULL) {
    reject(`R${regno} type=${regTypeName(r.type, r.flags)} expected=map_value, ptr_`);
  }
  checkLockAt(env, regno, 'bpf_spin_lock', env.maps[r.mapIndex]!.spinLockOff);
  const st = env.state;
  if (isLock) {
    if (st.lockMap >= 0) reject('Locking two bpf_spin_locks are not allowed');
    st.lockMap = r.mapIndex;
    st.lockId = r.id;
    return;
  }
  if (!holdsLock(st)) reject('bpf_spin_unlock without taking a lock');
  if (st.lockMap !== r.mapIndex || st.lockId !== r.id) reject('bpf_spin_unlock of different lock');
  // res locks are only taken after it (no helper may take it while one is held): they come first
  if (st.resLocks.length > 0) reject('bpf_spin_unlock cannot be out of order');
  st.lockMap = -1;
  st.lockId = 0;
}

/**
 * A load, store or helper access of [off + var part, + size) in a map
 * value (the kernel's check_map_access): no byte of the value's lock may be
 * touched. `off` is the fixed offset (instruction and register).
 */
export function checkLockOverlap(env: Env, r: RegState, off: number, size: number): void {
  const m = env.maps[r.mapIndex];
  if (m === undefined) return;
  if (touches(r, off, size, m.spinLockOff)) reject('bpf_spin_lock cannot be accessed directly by load/store');
  if (touches(r, off, size, m.resSpinLockOff)) reject('bpf_res_spin_lock cannot be accessed directly by load/store');
}

/** May [smin + off, umax + off + size) overlap the 4-byte lock at p? */
function touches(r: RegState, off: number, size: number, p: number | undefined): boolean {
  return p !== undefined && r.smin + BigInt(off) < BigInt(p + SPIN_LOCK_SIZE) && BigInt(p) < r.umax + BigInt(off) + BigInt(size);
}

/** Kfuncs callable while holding a spin lock (the kernel's kfunc_spin_allowed: the bpf_iter_num API and the res_spin_lock pair; tsbpf has no graph kfuncs). */
const SPIN_ALLOWED_KFUNCS: ReadonlySet<string> = new Set(['bpf_iter_num_new', 'bpf_iter_num_next', 'bpf_iter_num_destroy', 'bpf_res_spin_lock', 'bpf_res_spin_unlock']);

/**
 * Any call instruction while a lock is held (the kernel checks it in
 * do_check before the call itself): only bpf_spin_unlock among helpers,
 * the number iterator and the res_spin_lock pair among kfuncs; static
 * functions may be called (they share the lock state).
 */
export function checkCallUnderLock(env: Env, kind: 'helper' | 'kfunc', id: number): void {
  if (!holdsLock(env.state)) return;
  if (kind === 'helper' && id === BPF_FUNC['spin_unlock']) return;
  if (kind === 'kfunc' && SPIN_ALLOWED_KFUNCS.has(env.opts.kfuncs?.get(env.insnIdx)?.name ?? '')) return;
  reject('function calls are not allowed while holding a lock');
}

/**
 * A call of a global function, which is verified on its own, outside the
 * caller's sections (the kernel's check_func_call): not while holding a
 * lock; and one that may sleep (subprogMightSleep) neither inside an RCU,
 * preempt- or IRQ-disabled section nor from a program that cannot sleep.
 */
export function checkGlobalCallSections(env: Env, mightSleep: boolean): void {
  const st = env.state;
  if (holdsLock(st)) {
    env.log.line('global function calls are not allowed while holding a lock,');
    reject('use static function instead');
  }
  if (mightSleep && (st.rcuLock || st.preemptLocks > 0 || st.irqs.length > 0 || env.opts.sleepable !== true)) {
    env.log.line('global functions that may sleep are not allowed in non-sleepable context,');
    env.log.line('i.e., in a RCU/IRQ/preempt-disabled section, or in');
    reject('a non-sleepable BPF program context');
  }
}

/** Memo of subprogMightSleep per verification (one Cfg per verify call). */
const mightSleepMemo = new WeakMap<Cfg, Map<number, boolean>>();

/**
 * May the subprogram at `start` sleep (6.18's subprog_info.might_sleep, set
 * by the CFG pass)? It calls a helper whose prototype for this program may
 * sleep, a sleepable kfunc this program may call, or a subprogram that may
 * sleep. Helpers or kfuncs the program may not call do not count: the
 * kernel finds no prototype for them and refuses them where they are called.
 */
export function subprogMightSleep(env: Env, cfg: Cfg, start: number): boolean {
  let memo = mightSleepMemo.get(cfg);
  if (memo === undefined) mightSleepMemo.set(cfg, (memo = new Map()));
  const known = memo.get(start);
  if (known !== undefined) return known;
  // a recursive call (which the kernel refuses elsewhere) adds nothing
  memo.set(start, false);
  const prog = env.prog;
  const end = subprogEnd(cfg, start, prog.length);
  let sleeps = false;
  for (let i = start; i < end && !sleeps; i++) {
    const op = prog.op[i]!;
    if (op < 0) continue;
    const shape = INSNS[op]!.shape;
    if (shape === Shape.Call) sleeps = helperMightSleep(env, prog.imm[i]!);
    else if (shape === Shape.CallKfunc) sleeps = kfuncMightSleep(env, i);
    else if (shape === Shape.CallLocal) sleeps = subprogMightSleep(env, cfg, i + 1 + prog.imm[i]!);
  }
  memo.set(start, sleeps);
  return sleeps;
}

/** The helper's prototype for this program may sleep (an embedder's helper: its own prototype). */
function helperMightSleep(env: Env, id: number): boolean {
  const extra = env.opts.extraHelpers?.get(id);
  if (extra !== undefined) return extra.mightSleep === true;
  if (helperAllowed(env.opts.progType, id, env.opts.expectedAttachType) === false) return false;
  return helperProtoFor(id, env.opts.progType)?.mightSleep === true;
}

/** The kfunc called at insn is sleepable and allowed for this program type. */
function kfuncMightSleep(env: Env, insn: number): boolean {
  const ext = env.opts.kfuncs?.get(insn);
  const def = ext === undefined ? undefined : kfuncByName(ext.name);
  return def !== undefined && (def.flags & KF.SLEEPABLE) !== 0 && kfuncAllowed(def, env.opts.progType);
}

/**
 * Leaving the program, or maybe leaving it (the kernel's
 * check_resource_leak): `what` ("BPF_EXIT instruction in main prog",
 * "tail_call", "BPF_LD_[ABS|IND]") may not happen inside a section, nor
 * with references held, checked in the kernel's order.
 */
export function checkResourceLeak(env: Env, what: string): void {
  const st = env.state;
  if (holdsLock(st)) reject(`${what} cannot be used inside bpf_spin_lock-ed region`);
  if (st.refs.length > 0) {
    for (const r of st.refs) env.log.line(`Unreleased reference id=${r.id} alloc_insn=${r.insn}`);
    reject(`${what} would lead to reference leak`);
  }
  if (st.irqs.length > 0) reject(`${what} cannot be used inside bpf_local_irq_save-ed region`);
  if (st.rcuLock) reject(`${what} cannot be used inside bpf_rcu_read_lock-ed region`);
  if (st.preemptLocks > 0) reject(`${what} cannot be used inside bpf_preempt_disable-ed region`);
}

/**
 * Inside an RCU read-side section (the kernel's in_rcu_cs): explicitly, or
 * holding a spin lock, or any time in a program that cannot sleep.
 */
export function inRcuSection(env: Env): boolean {
  return env.state.rcuLock || holdsLock(env.state) || !env.opts.sleepable;
}

/** A helper that may sleep (only sleepable programs may call one) cannot inside an RCU or preempt-disabled section. */
export function checkSleepInSections(env: Env, mightSleep: boolean, helper: string): void {
  if (!mightSleep) return;
  if (env.state.rcuLock) reject(`sleepable helper ${helper} in rcu_read_lock region`);
  if (env.state.preemptLocks > 0) reject(`sleepable helper ${helper} in non-preemptible region`);
  if (env.state.irqs.length > 0) reject(`sleepable helper ${helper} in IRQ-disabled region`);
}

/** Kfuncs that open and close sections, by name. */
const RCU_LOCK = 'bpf_rcu_read_lock';
const RCU_UNLOCK = 'bpf_rcu_read_unlock';
const PREEMPT_DISABLE = 'bpf_preempt_disable';
const PREEMPT_ENABLE = 'bpf_preempt_enable';

/**
 * After a kfunc's arguments are checked (the kernel's check_kfunc_call):
 * bpf_rcu_read_lock/unlock and bpf_preempt_disable/enable open and close
 * their sections; sleepable kfuncs may not run inside either. Leaving an
 * RCU section makes the RCU pointers read inside it untrusted.
 */
export function kfuncSections(env: Env, def: KfuncDef): void {
  const st = env.state;
  const sleepable = (def.flags & KF.SLEEPABLE) !== 0;
  if (st.rcuLock) {
    if (def.name === RCU_LOCK) reject(`nested rcu read lock (kernel function ${def.name})`);
    if (def.name === RCU_UNLOCK) {
      st.updateRegs((r) => (r.flags & RegFlag.RCU) !== 0, (r) => {
        r.flags = (r.flags & ~(RegFlag.RCU | RegFlag.MAYBE_NULL)) | RegFlag.UNTRUSTED;
      });
      st.rcuLock = false;
    } else if (sleepable) {
      reject(`kernel func ${def.name} is sleepable within rcu_read_lock region`);
    }
  } else if (def.name === RCU_LOCK) {
    st.rcuLock = true;
  } else if (def.name === RCU_UNLOCK) {
    reject(`unmatched rcu read unlock (kernel function ${def.name})`);
  }
  if (st.preemptLocks > 0) {
    if (def.name === PREEMPT_DISABLE) st.preemptLocks++;
    else if (def.name === PREEMPT_ENABLE) st.preemptLocks--;
    else if (sleepable) reject(`kernel func ${def.name} is sleepable within non-preemptible region`);
  } else if (def.name === PREEMPT_DISABLE) {
    st.preemptLocks++;
  } else if (def.name === PREEMPT_ENABLE) {
    reject(`unmatched attempt to enable preemption (kernel function ${def.name})`);
  }
  if (st.irqs.length > 0 && sleepable) reject(`kernel func ${def.name} is sleepable within IRQ-disabled region`);
  if (def.name === IRQ_SAVE) irqSave(env, 1);
  else if (def.name === IRQ_RESTORE) irqRestore(env, 1);
  else if (def.name === RES_LOCK) processResSpinLock(env, 1, true);
  else if (def.name === RES_UNLOCK) processResSpinLock(env, 1, false);
}

export const RES_LOCK = 'bpf_res_spin_lock';
const RES_UNLOCK = 'bpf_res_spin_unlock';

/**
 * The register (a map value pointer) points exactly at the map's `what`
 * field (lockOff from its BTF), with a constant offset: the kernel's checks
 * and messages, shared by both lock kinds.
 */
function checkLockAt(env: Env, regno: number, what: 'bpf_spin_lock' | 'bpf_res_spin_lock', lockOff: number | undefined): void {
  const r = env.state.cur.regs[regno]!;
  if (!tnumIsConst(r.varOff)) reject(`R${regno} doesn't have constant offset. ${what} has to be at the constant offset`);
  const m = env.maps[r.mapIndex]!;
  // the kernel's map->name: at most BPF_OBJ_NAME_LEN - 1 characters
  const name = (m.name ?? '').slice(0, 15);
  if (!m.valueBtf && lockOff === undefined) reject(`map '${name}' has to have BTF in order to use ${what}`);
  if (lockOff === undefined) reject(`map '${name}' has no valid ${what}`);
  const off = BigInt.asIntN(64, r.varOff.value) + BigInt(r.off);
  if (off !== BigInt(lockOff)) reject(`off ${off} doesn't point to 'struct ${what}' that is at ${lockOff}`);
}

/**
 * bpf_res_spin_lock / unlock (KF_ARG_PTR_TO_RES_SPIN_LOCK): a map value
 * pointer at its value's struct bpf_res_spin_lock; several may be held (not
 * the same one twice), released innermost first.
 */
function processResSpinLock(env: Env, regno: number, isLock: boolean): void {
  const r = env.state.cur.regs[regno]!;
  if (r.type !== RegType.PTR_TO_MAP_VALUE || r.flags & RegFlag.MAYBE_NULL) reject(`arg#${regno - 1} doesn't point to map value or allocated object`);
  checkLockAt(env, regno, 'bpf_res_spin_lock', env.maps[r.mapIndex]!.resSpinLockOff);
  const st = env.state;
  const held = st.resLocks.findIndex((l) => l.map === r.mapIndex && l.id === r.id);
  if (isLock) {
    if (held >= 0) reject('Acquiring the same lock again, AA deadlock detected');
    st.resLocks = [...st.resLocks, { map: r.mapIndex, id: r.id, insn: env.insnIdx }];
    return;
  }
  if (!holdsLock(st)) reject('bpf_res_spin_unlock without taking a lock');
  if (held < 0) reject('bpf_res_spin_unlock of different lock');
  if (held !== st.resLocks.length - 1) reject('bpf_res_spin_unlock cannot be out of order');
  st.resLocks = st.resLocks.slice(0, -1);
}

/**
 * The path where bpf_res_spin_lock failed (the kernel forks at the call):
 * the state before it, the lock not taken, r1-r5 clobbered and r0 a
 * negative errno in [-MAX_ERRNO, -1].
 */
export function resLockFailure(env: Env): VerifierState {
  const fail = env.state.clone();
  const regs = fail.cur.regs;
  for (let i = 1; i <= 5; i++) markNotInit(regs[i]!);
  const r0 = regs[0]!;
  markUnknown(r0);
  r0.s32min = -4095;
  r0.s32max = -1;
  regBoundsSync(r0);
  return fail;
}

const IRQ_SAVE = 'bpf_local_irq_save';
const IRQ_RESTORE = 'bpf_local_irq_restore';
/**
 * RegState.btfType of the spilled entry describing a saved IRQ flag's stack
 * slot. The slot's bytes are StackByte.ITER, as an iterator's: reads refuse
 * them, a store overwrites them, pruning compares the entry (iterator kinds
 * use small tags, so they never take this one for theirs).
 */
const IRQ_FLAG_TAG = 0x1f1a;

/** The 8-byte stack slot an irq flag argument points to (process_irq_flag's is_irq_flag_reg checks). */
function irqSlot(env: Env, regno: number): { frame: FuncState; slot: number; off: number } {
  const r = env.state.cur.regs[regno]!;
  if (r.type !== RegType.PTR_TO_STACK || !tnumIsConst(r.varOff)) reject(`arg#${regno - 1} doesn't point to an irq flag on stack`);
  const off = r.off + Number(BigInt.asIntN(64, r.varOff.value));
  if (off % 8 !== 0 || off < -STACK_SIZE || off + 8 > 0) reject(`arg#${regno - 1} doesn't point to an irq flag on stack`);
  return { frame: env.state.frames[r.frameno]!, slot: (STACK_SIZE + off) >> 3, off };
}

/** The saved state's id in a slot holding an initialized irq flag, else 0. */
function irqFlagId(f: FuncState, slot: number): number {
  if (f.bytes[slot * 8] !== StackByte.ITER) return 0;
  const e = f.spilled[slot];
  return e && e.btfType === IRQ_FLAG_TAG ? e.refObjId : 0;
}

/** bpf_local_irq_save(&flag): an uninitialized 8-byte slot becomes a saved IRQ state, the innermost. */
function irqSave(env: Env, regno: number): void {
  const { frame, slot, off } = irqSlot(env, regno);
  for (let b = 0; b < 8; b++) if (frame.bytes[slot * 8 + b] === StackByte.ITER) reject(`expected uninitialized irq flag as arg#${regno - 1}`);
  const id = ++env.nextId;
  const e = new RegState();
  markPointer(e, RegType.PTR_TO_STACK);
  e.btfType = IRQ_FLAG_TAG;
  e.refObjId = id;
  frame.wspilled()[slot] = e;
  frame.wbytes().fill(StackByte.ITER, slot * 8, slot * 8 + 8);
  if (-off > frame.depth) frame.depth = -off;
  env.state.irqs = [...env.state.irqs, { id, insn: env.insnIdx }];
}

/** bpf_local_irq_restore(&flag): the innermost saved state only; the slot becomes plain data. */
function irqRestore(env: Env, regno: number): void {
  const { frame, slot } = irqSlot(env, regno);
  const id = irqFlagId(frame, slot);
  if (id === 0) reject(`expected an initialized irq flag as arg#${regno - 1}`);
  const irqs = env.state.irqs;
  const top = irqs[irqs.length - 1];
  if (top === undefined || top.id !== id) {
    reject(`cannot restore irq state out of order, expected id=${top?.id ?? 0} acquired at insn_idx=${top?.insn ?? 0}`);
  }
  env.state.irqs = irqs.slice(0, -1);
  frame.wspilled()[slot] = null;
  frame.wbytes().fill(StackByte.MISC, slot * 8, slot * 8 + 8);
}

/** Do two states hold the same sections (states_equal's refsafe part for locks; the lock's pointer id through the states' id map)? */
export function sectionsEqual(old: VerifierState, cur: VerifierState, ids: { check(o: number, c: number): boolean }): boolean {
  if (old.lockMap !== cur.lockMap || (old.lockId === 0) !== (cur.lockId === 0)) return false;
  if (old.lockId !== 0 && !ids.check(old.lockId, cur.lockId)) return false;
  if (old.rcuLock !== cur.rcuLock || old.preemptLocks !== cur.preemptLocks || old.irqs.length !== cur.irqs.length) return false;
  for (let i = 0; i < old.irqs.length; i++) if (!ids.check(old.irqs[i]!.id, cur.irqs[i]!.id)) return false;
  if (old.resLocks.length !== cur.resLocks.length) return false;
  for (let i = 0; i < old.resLocks.length; i++) {
    const o = old.resLocks[i]!;
    const c = cur.resLocks[i]!;
    if (o.map !== c.map || (o.id === 0) !== (c.id === 0) || (o.id !== 0 && !ids.check(o.id, c.id))) return false;
  }
  return true;
}
