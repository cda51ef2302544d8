// Kfunc calls (call with src_reg 2) checked as the kernel's
// check_kfunc_call does, for the kfuncs in kfuncs.ts: the call is resolved
// by the name of the extern it calls (VerifyOptions.kfuncs), allowed by the
// program type's kfunc sets, its prototype in the object's BTF compared
// with ours, each argument checked (scalars, constants, iterators on the
// stack, kernel object pointers with their trust and reference rules),
// references acquired and released, and r0 set. bpf_get_current_task_btf
// (a helper returning a trusted task pointer) is here too, since its
// result is a kernel object pointer like the kfuncs'.

import type { Btf } from '../btf/btf.js';
import { BtfKind } from '../btf/types.js';
import { INSNS, Shape } from '../isa/table.js';
import { TsbpfError } from '../internal/errors.js';
import { RegFlag, RegType, isNullConst, markConstScalar, markNotInit, markPointer, markUnknown, regTypeName, type RegState } from './reg-state.js';
import { tnumIsConst } from './tnum.js';
import { reject, type Env, type KfuncExtern } from './env.js';
import { releaseReference } from './helpers-check.js';
import { markPrecise } from './precision.js';
import { KF, iterKind, kfuncAllowed, kfuncByName, type KfuncArg, type KfuncDef, type KfuncRet } from './kfuncs.js';
import { btfTypeMatches, btfTypeName, kernelStructType, localType } from './kfuncs-btf.js';
import { iterCheck, iterDestroy, iterNew, iterNext } from './iter.js';
import { widenImpreciseScalars } from './prune.js';
import type { VerifierState } from './state.js';
import type { Cfg } from './cfg.js';
import { emitComment } from './log-state.js';
import { Flow, type Walk } from './walk.js';
import { RES_LOCK, checkCallUnderLock, kfuncSections, resLockFailure } from './critical.js';


/**
 * The walk's step for a kfunc call: check it; an iterator's next() queues
 * the path where it returned an element, as a conditional jump queues its
 * other side, with the imprecise scalars that changed since the loop's
 * previous visit widened (the kernel's widen_imprecise_scalars).
 */
export function stepKfunc(w: Walk): Flow {
  const env = w.env;
  const insn = w.insn;
  const mark = w.log.mark() + 1;
  checkCallUnderLock(env, 'kfunc', env.prog.imm[insn]!);
  const queued = checkKfuncCall(env, env.prog.imm[insn]!);
  if (queued) {
    // (env.cp is the checkpoint just stored here: next() calls force one.)
    const prev = w.prevLoopEntry(insn, env.cp);
    if (prev) widenImpreciseScalars(prev.state, queued);
    w.pushBranch(queued, insn + 1, mark);
  }
  if (w.level >= 1) emitComment(env, w.insnText, 0);
  return Flow.NEXT;
}

/**
 * Before the walk, as the kernel's add_subprog_and_kfunc does for every
 * kfunc call in the program, reached or not: a non-GPL program may call
 * none, and each must name a function. Every iterator next() call becomes a
 * prune point with a forced checkpoint (the kernel's mark_force_checkpoint):
 * the walk compares loop iterations there. The CFG does not know kfunc
 * names, so they are marked here.
 */
export function prepareKfuncCalls(env: Env, cfg: Cfg): void {
  const prog = env.prog;
  for (let i = 0; i < prog.length; i++) {
    if (prog.op[i]! < 0 || INSNS[prog.op[i]!]!.shape !== Shape.CallKfunc) continue;
    env.insnIdx = i;
    if (!env.gpl) reject('cannot call kernel function from non-GPL compatible program');
    const ext = env.opts.kfuncs?.get(i);
    if (ext === undefined) reject(`kernel btf_id ${prog.imm[i]!} is not a function`);
    const def = kfuncByName(ext.name);
    if (def !== undefined && def.flags & KF.ITER_NEXT) cfg.prunePoint[i] = cfg.forceCheckpoint[i] = 1;
  }
}

/**
 * Check the kfunc call at env.insnIdx (imm = its BTF id, 0 when the ELF
 * loader left it). Returns the queued element path of an iterator's next().
 */
export function checkKfuncCall(env: Env, imm: number): VerifierState | undefined {
  const ext = env.opts.kfuncs?.get(env.insnIdx);
  if (ext === undefined) reject(`kernel btf_id ${imm} is not a function`);
  const def = kfuncByName(ext.name);
  if (def === undefined || !kfuncAllowed(def, env.opts.progType)) reject(`calling kernel function ${ext.name} is not allowed`);
  checkPrototype(def, ext);
  if (def.flags & KF.SLEEPABLE && !env.opts.sleepable) reject(`program must be sleepable to call sleepable kfunc ${def.name}`);
  const regs = env.state.cur.regs;
  let release = 0;
  for (let i = 0; i < def.args.length; i++) {
    const regno = i + 1;
    const a = def.args[i]!;
    const r = regs[regno]!;
    if (r.type === RegType.NOT_INIT) reject(`R${regno} !read_ok`);
    if (a.kind === 'iter') continue; // after the other arguments, below
    const ref = checkArg(env, def, a, i);
    if (ref) release = ref;
  }
  if (def.flags & KF.RELEASE && release === 0) reject(`release kernel function ${def.name} expects refcounted PTR_TO_BTF_ID`);
  const it = def.args[0]?.kind === 'iter' ? iterKind(def.args[0].iter) : undefined;
  if (it !== undefined) {
    if (def.flags & KF.ITER_NEW) iterNew(env, 1, it);
    else if (def.flags & KF.ITER_NEXT) {
      const elem = def.ret.kind === 'iter_elem' ? def.ret.size : 0;
      return iterNext(env, 1, it, elem);
    } else if (def.flags & KF.ITER_DESTROY) iterDestroy(env, 1, it);
    else iterCheck(env, 1, it);
  }
  if (release) releaseReference(env, release);
  // bpf_res_spin_lock forks: the failed path (queued like an iterator's element path) holds no lock.
  const failed = def.name === RES_LOCK ? resLockFailure(env) : undefined;
  kfuncSections(env, def);
  const castTo = def.ret.kind === 'rdonly_cast' ? rdonlyCastTarget(env, ext) : 0;
  for (let i = 1; i <= 5; i++) markNotInit(regs[i]!);
  setReturn(env, def, def.ret, castTo);
  if (failed) markConstScalar(regs[0]!, 0n);
  return failed;
}

/** One non-iterator argument; returns the reference it releases (0 if none). */
function checkArg(env: Env, def: KfuncDef, a: KfuncArg, i: number): number {
  const regno = i + 1;
  const r = env.state.cur.regs[regno]!;
  switch (a.kind) {
    case 'scalar':
      if (r.type !== RegType.SCALAR) reject(`R${regno} is not a scalar`);
      return 0;
    case 'const':
      if (r.type !== RegType.SCALAR) reject(`R${regno} is not a scalar`);
      if (!tnumIsConst(r.varOff)) reject(`R${regno} must be a known constant`);
      markPrecise(env, regno);
      return 0;
    case 'ignored':
    case 'iter':
      return 0;
    case 'map':
      checkMapArg(env, def, r, i);
      return 0;
    case 'btf': {
      const trustedArgs = (def.flags & (KF.TRUSTED_ARGS | KF.RCU | KF.RELEASE)) !== 0;
      if (isNullConst(r) || (r.isPointer() && r.flags & RegFlag.MAYBE_NULL)) {
        reject(trustedArgs ? `Possibly NULL pointer passed to trusted arg${i}` : `arg#${i} pointer type STRUCT ${a.struct} must point to scalar, or struct with scalar`);
      }
      if (r.type !== RegType.PTR_TO_BTF_ID) reject(`R${regno} type=${regTypeName(r.type, r.flags)} expected=ptr_, trusted_ptr_, rcu_ptr_`);
      const want = kernelStructType(a.struct);
      if (!btfTypeMatches(env, r.btfType, want)) {
        reject(`kernel function ${def.name} args#${i} expected pointer to STRUCT ${a.struct} but R${regno} has a pointer to STRUCT ${btfTypeName(r.btfType)}`);
      }
      const trusted = (r.refObjId !== 0 || (r.flags & RegFlag.TRUSTED) !== 0) && (r.flags & RegFlag.UNTRUSTED) === 0;
      if (trustedArgs && !trusted) {
        if (!(def.flags & KF.RCU)) reject(`R${regno} must be referenced or trusted`);
        if (!(r.flags & RegFlag.RCU)) reject(`R${regno} must be a rcu pointer`);
      }
      if (trustedArgs && (r.off !== 0 || !tnumIsConst(r.varOff) || r.varOff.value !== 0n)) {
        reject(`R${regno} must have zero offset when passed to release func or trusted arg to kfunc`);
      }
      return def.flags & KF.RELEASE ? r.refObjId : 0;
    }
  }
}

/**
 * A __map argument (KF_ARG_PTR_TO_MAP): a map pointer from an lddw, or a
 * trusted kernel pointer to struct bpf_map (an iterator's map), at offset 0.
 */
function checkMapArg(env: Env, def: KfuncDef, r: RegState, i: number): void {
  const regno = i + 1;
  if (r.type === RegType.PTR_TO_BTF_ID) {
    const trusted = (r.refObjId !== 0 || (r.flags & RegFlag.TRUSTED) !== 0) && (r.flags & RegFlag.UNTRUSTED) === 0;
    if (def.flags & KF.TRUSTED_ARGS && !trusted) reject(`R${regno} must be referenced or trusted`);
    if (!btfTypeMatches(env, r.btfType, kernelStructType('bpf_map'))) {
      reject(`kernel function ${def.name} args#${i} expected pointer to STRUCT bpf_map but R${regno} has a pointer to STRUCT ${btfTypeName(r.btfType)}`);
    }
  } else if (r.type !== RegType.CONST_PTR_TO_MAP) {
    reject(`kernel function ${def.name} args#${i} expected pointer to STRUCT bpf_map but R${regno} has a pointer to ${regTypeName(r.type, r.flags)}`);
  }
  if (r.off !== 0 || !tnumIsConst(r.varOff) || r.varOff.value !== 0n) reject(`R${regno} must have zero offset when passed to release func or trusted arg to kfunc`);
}

/** r0 after the call. */
function setReturn(env: Env, def: KfuncDef, ret: KfuncRet, castTo: number): void {
  const r0 = env.state.cur.regs[0]!;
  switch (ret.kind) {
    case 'scalar':
    case 'arena':
      markUnknown(r0);
      return;
    case 'void':
      markNotInit(r0);
      return;
    case 'iter_elem':
      // Only next() returns elements, and iterNext handles it.
      markUnknown(r0);
      return;
    case 'rdonly_cast':
      markPointer(r0, RegType.PTR_TO_BTF_ID, RegFlag.UNTRUSTED);
      r0.btfType = castTo;
      return;
    case 'btf': {
      const mayBeNull = (def.flags & KF.RET_NULL) !== 0;
      markPointer(r0, RegType.PTR_TO_BTF_ID, RegFlag.TRUSTED | (mayBeNull ? RegFlag.MAYBE_NULL : 0));
      r0.btfType = kernelStructType(ret.struct);
      if (def.flags & KF.ACQUIRE) {
        // As acquire_reference does: one id for the null check, then the reference's own for both.
        ++env.nextId;
        const ref = ++env.nextId;
        r0.id = ref;
        r0.refObjId = ref;
        env.state.refs.push({ id: ref, insn: env.insnIdx });
      } else if (mayBeNull) {
        r0.id = ++env.nextId;
      }
      return;
    }
  }
}

/**
 * bpf_rdonly_cast(obj, btf_id): the constant names a struct or union. The
 * kernel reads it in its own BTF, where CO-RE relocation (bpf_core_type_id_kernel)
 * points it; in a program that was not relocated it is still an id of the
 * program's BTF, the type bpf_core_type_id_kernel named there.
 */
function rdonlyCastTarget(env: Env, ext: KfuncExtern): number {
  const k = env.state.cur.regs[2]!;
  const id = Number(k.varOff.value);
  const btf = env.opts.coreTarget ?? ext.btf;
  if (!btf) reject('bpf_rdonly_cast needs the program\'s BTF to know its target type');
  const notStruct = 'kfunc bpf_rdonly_cast type ID argument must be of a struct';
  if (id <= 0 || id >= btf.types.length) reject(notStruct);
  const t = btf.type(id);
  if (t.kind !== BtfKind.STRUCT && t.kind !== BtfKind.UNION) reject(notStruct);
  return localType(btf, id, t.name);
}

/** bpf_get_current_task_btf (helper 158): a trusted pointer to the current task_struct. */
export function checkCurrentTaskBtf(env: Env): void {
  if (!env.gpl) reject('cannot call GPL-restricted function from non-GPL compatible program');
  const regs = env.state.cur.regs;
  for (let i = 1; i <= 5; i++) markNotInit(regs[i]!);
  markPointer(regs[0]!, RegType.PTR_TO_BTF_ID, RegFlag.TRUSTED);
  regs[0]!.btfType = kernelStructType('task_struct');
}

// ---- the object's prototype against ours --------------------------------------

/** Refuse a kfunc whose extern declaration in the object does not match the kernel's prototype. */
function checkPrototype(def: KfuncDef, ext: KfuncExtern): void {
  try {
    comparePrototype(def, ext);
  } catch (e) {
    // a malformed BTF (bad ids, cycles) is a refusal with its reason, not a crash
    if (e instanceof TsbpfError) reject(`kernel function ${def.name}: bad BTF prototype: ${e.message}`);
    throw e;
  }
}

function comparePrototype(def: KfuncDef, ext: KfuncExtern): void {
  if (!ext.btf || ext.funcId === undefined) return;
  const btf = ext.btf;
  const f = btf.type(ext.funcId);
  if (f.kind !== BtfKind.FUNC) return;
  const proto = btf.type(f.type);
  if (proto.kind !== BtfKind.FUNC_PROTO) return;
  const bad = (why: string): never =>
    reject(`kernel function ${def.name}: the object declares it as ${btf.describe(f.type)} with ${proto.params.length} argument(s), which does not match the kernel's prototype (${why})`);
  if (proto.params.length !== def.args.length) bad(`${def.args.length} argument(s)`);
  proto.params.forEach((p, i) => {
    const why = argMismatch(btf, p.type, def.args[i]!);
    if (why) bad(`arg#${i}: ${why}`);
  });
  const why = retMismatch(btf, proto.returnType, def.ret);
  if (why) bad(`return: ${why}`);
}

function isScalarType(btf: Btf, id: number): boolean {
  if (id === 0) return false;
  const t = btf.skipModifiers(id);
  return t.kind === BtfKind.INT || t.kind === BtfKind.ENUM || t.kind === BtfKind.ENUM64;
}

/** Name of the struct a pointer type points to, '' for other pointers, undefined for non-pointers. */
function pointee(btf: Btf, id: number): string | undefined {
  if (id === 0) return undefined;
  const t = btf.skipModifiers(id);
  if (t.kind !== BtfKind.PTR) return undefined;
  if (t.type === 0) return '';
  const target = btf.skipModifiers(t.type);
  return target.kind === BtfKind.STRUCT || target.kind === BtfKind.UNION || target.kind === BtfKind.FWD ? target.name : '';
}

function argMismatch(btf: Btf, id: number, a: KfuncArg): string | undefined {
  switch (a.kind) {
    case 'scalar':
    case 'const':
      return isScalarType(btf, id) ? undefined : 'expected an integer';
    case 'ignored':
      return undefined;
    case 'map':
      return pointee(btf, id) !== undefined ? undefined : 'expected a pointer';
    case 'iter':
      return pointee(btf, id) === `bpf_iter_${a.iter}` ? undefined : `expected struct bpf_iter_${a.iter} *`;
    case 'btf': {
      const p = pointee(btf, id);
      // const struct cpumask * is declared through its typedef cpumask_t's struct; both spell 'cpumask'.
      return p === a.struct ? undefined : `expected struct ${a.struct} *`;
    }
  }
}

function retMismatch(btf: Btf, id: number, r: KfuncRet): string | undefined {
  switch (r.kind) {
    case 'scalar':
      return isScalarType(btf, id) ? undefined : 'expected an integer';
    case 'void':
      return id === 0 ? undefined : 'expected void';
    case 'btf':
      return pointee(btf, id) === r.struct ? undefined : `expected struct ${r.struct} *`;
    case 'iter_elem':
    case 'rdonly_cast':
    case 'arena':
      return pointee(btf, id) !== undefined ? undefined : 'expected a pointer';
  }
}

// ---- global functions with trusted kernel-object arguments (__arg_trusted) ----

/** A global function's __arg_trusted argument on entry: a trusted pointer to the struct, maybe NULL if __arg_nullable. */
export function trustedArgEntry(env: Env, r: RegState, a: { struct: string; nullable: boolean }): void {
  markPointer(r, RegType.PTR_TO_BTF_ID, RegFlag.TRUSTED | (a.nullable ? RegFlag.MAYBE_NULL : 0));
  r.btfType = kernelStructType(a.struct);
  if (a.nullable) r.id = ++env.nextId;
}

/** The caller's side: a trusted (or referenced) pointer to that struct, NULL only if __arg_nullable (btf_check_func_arg_match). */
export function checkTrustedArg(env: Env, regno: number, a: { struct: string; nullable: boolean }, bad: (why: string) => never): void {
  const r = env.state.cur.regs[regno]!;
  if (a.nullable && isNullConst(r)) return;
  const expected = 'expected=ptr_, trusted_ptr_, rcu_ptr_';
  if (r.type !== RegType.PTR_TO_BTF_ID) bad(`R${regno} type=${regTypeName(r.type, r.flags)} ${expected}`);
  if (r.flags & RegFlag.MAYBE_NULL && !a.nullable) bad(`R${regno} type=${regTypeName(r.type, r.flags)} ${expected}`);
  const trusted = (r.refObjId !== 0 || (r.flags & RegFlag.TRUSTED) !== 0) && (r.flags & RegFlag.UNTRUSTED) === 0;
  if (!trusted) bad(`R${regno} must be referenced or trusted`);
  if (!btfTypeMatches(env, r.btfType, kernelStructType(a.struct))) {
    bad(`arg#${regno - 1} expected pointer to STRUCT ${a.struct} but R${regno} has a pointer to STRUCT ${btfTypeName(r.btfType)}`);
  }
}
