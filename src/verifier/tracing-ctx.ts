// The context of BTF tracing programs (tp_btf, fentry, fexit, fmod_ret,
// iterators): an array of u64 arguments typed by the attach target's
// prototype in the kernel's BTF, as the kernel's tracing_prog_is_valid_access
// and btf_ctx_access read it. An iterator's target is the function
// bpf_iter_<target> (its arguments are the members of struct
// bpf_iter__<target>); the members the kernel types specially (objects that
// are NULL on the last call, map buffers) come from
// src/progtypes/iter-targets.ts. Scalars (ints, enums, structs by value, void and
// int pointers) load as unknown scalars; pointers to structs load as
// PTR_TO_BTF_ID of that struct, trusted for raw tracepoints. The prototype
// is resolved once per program (tracingCtxOf); each load is checked by
// checkTracingCtxLoad.

import type { Btf } from '../btf/btf.js';
import { BtfKind, type BtfType } from '../btf/types.js';
import { TsbpfError } from '../internal/errors.js';
import { RegFlag, RegType, markPointer, markUnknown, type RegState } from './reg-state.js';
import { reject, type Env } from './env.js';
import { kernelStruct, kernelStructType } from './kfuncs-btf.js';
import { iterTargetMembers, type IterMemberKind } from '../progtypes/iter-targets.js';

/** MAX_BPF_FUNC_ARGS: the context holds at most 12 u64 arguments. */
const MAX_ARGS = 12;

/** What a load of one argument gives (or why it is refused). */
export type TracingArg =
  | { readonly kind: 'scalar' }
  /** A void or int pointer: a scalar too, but read whole. */
  | { readonly kind: 'ptrScalar' }
  /** A kernel object pointer; `nullable` and `trusted` override the context's rule (an iterator's ctx_arg_info). */
  | { readonly kind: 'ptr'; readonly struct: string; readonly nullable?: boolean; readonly trusted?: boolean }
  /** Refused with the kernel's reason (a pointer to a non-struct, a float...); `ptrOnly`: only when read as 8 bytes. */
  | { readonly kind: 'refuse'; readonly reason: string; readonly ptrOnly: boolean };

export interface TracingCtx {
  /** The target's name, as the kernel's messages print it. */
  readonly func: string;
  /** End offset of each argument slot of the full prototype (btf_trace_X's first 'void *__data' included), then of the return value. */
  readonly ends: readonly number[];
  /** Prototype arguments the program does not see (1 for raw tracepoints: __data). */
  readonly skip: number;
  /** The arguments the program sees, then the return value for fexit/fmod_ret. */
  readonly args: readonly TracingArg[];
  /** The return value is readable after the last argument (fexit, fmod_ret). */
  readonly retval: boolean;
  /** Pointer arguments are trusted (the kernel's prog_args_trusted: raw tracepoints). */
  readonly trusted: boolean;
}

/** The attach types this module describes (names as the ELF loader spells ProgramSpec.expectedAttachType). */
const FUNC_TARGETS = new Set(['trace_fentry', 'trace_fexit', 'modify_return']);

/**
 * The context of a tracing program attached by `attachType` to `target`,
 * from the kernel's BTF; a string saying why when the kernel's BTF has no
 * such target (the kernel refuses such a program at load).
 */
export function tracingCtxOf(kbtf: Btf, attachType: string, target: string): TracingCtx | string {
  try {
    if (attachType === 'trace_raw_tp') {
      const proto = rawTpProto(kbtf, target);
      if (proto === undefined) return `the kernel's BTF has no raw tracepoint ${target} (btf_trace_${target})`;
      return describe(kbtf, target, proto, 1, false);
    }
    if (FUNC_TARGETS.has(attachType)) {
      const fn = kbtf.idsByName(target).map((id) => kbtf.type(id)).find((t) => t.kind === BtfKind.FUNC);
      const proto = fn?.kind === BtfKind.FUNC ? kbtf.type(fn.type) : undefined;
      if (proto?.kind !== BtfKind.FUNC_PROTO) return `the kernel's BTF has no function ${target}`;
      return describe(kbtf, target, proto, 0, attachType !== 'trace_fentry');
    }
    if (attachType === 'trace_iter') return iterCtx(kbtf, target);
    return `tracing programs attached as ${attachType} are not described yet`;
  } catch (e) {
    if (e instanceof TsbpfError) return `bad kernel BTF for ${target}: ${e.message}`;
    throw e;
  }
}

/**
 * An iterator program's context: the arguments of bpf_iter_<target>
 * (meta first), trusted as the kernel's prog_args_trusted has them, with
 * the target's specially typed members (iter-targets.ts) found by name in
 * struct bpf_iter__<target> (inside its anonymous unions) and retyped.
 */
function iterCtx(kbtf: Btf, target: string): TracingCtx | string {
  const members = iterTargetMembers(target);
  if (members === undefined) return `iterator target ${target} is not described by tsbpf (src/progtypes/iter-targets.ts)`;
  const func = `bpf_iter_${target}`;
  const fn = kbtf.idsByName(func).map((id) => kbtf.type(id)).find((t) => t.kind === BtfKind.FUNC);
  const proto = fn?.kind === BtfKind.FUNC ? kbtf.type(fn.type) : undefined;
  const struct = kernelStruct(kbtf, `bpf_iter__${target}`);
  if (proto?.kind !== BtfKind.FUNC_PROTO || struct === undefined) return `the kernel's BTF has no iterator target ${target} (${func}, struct bpf_iter__${target})`;
  const base = describe(kbtf, func, proto, 0, false);
  const args = [...base.args];
  for (const [name, kind] of Object.entries(members)) {
    const off = memberOffset(kbtf, struct, name);
    const index = off === undefined ? -1 : base.ends.findIndex((e) => off < e);
    if (index < 0 || index >= args.length) return `struct bpf_iter__${target} in the kernel's BTF has no member ${name} tsbpf can place`;
    args[index] = iterArg(func, index, args[index]!, kind);
  }
  return { ...base, args, trusted: true };
}

function iterArg(func: string, index: number, a: TracingArg, kind: IterMemberKind): TracingArg {
  if (kind === 'rdonly_buf_or_null' || kind === 'buf_or_null') {
    return { kind: 'refuse', ptrOnly: true, reason: `func '${func}' arg${index} is an iterator buffer (PTR_TO_BUF), which tsbpf's verifier does not model` };
  }
  if (a.kind !== 'ptr') return a;
  return { kind: 'ptr', struct: a.struct, nullable: true, trusted: kind === 'trusted_btf_or_null' };
}

/** Byte offset of a named member of a struct, looking inside anonymous unions and structs (bpf_iter__X wraps each pointer in one). */
function memberOffset(kbtf: Btf, t: BtfType, name: string, depth = 0): number | undefined {
  if ((t.kind !== BtfKind.STRUCT && t.kind !== BtfKind.UNION) || depth > 4) return undefined;
  for (const m of t.members) {
    if (m.name === name) return m.bitOffset >> 3;
    if (m.name !== '') continue;
    const inner = memberOffset(kbtf, kbtf.skipModifiers(m.type), name, depth + 1);
    if (inner !== undefined) return (m.bitOffset >> 3) + inner;
  }
  return undefined;
}

/** typedef btf_trace_X -> pointer -> prototype (void *__data, args...). */
function rawTpProto(kbtf: Btf, target: string): Extract<BtfType, { kind: 13 }> | undefined {
  for (const id of kbtf.idsByName(`btf_trace_${target}`)) {
    const t = kbtf.type(id);
    if (t.kind !== BtfKind.TYPEDEF) continue;
    const p = kbtf.type(t.type);
    if (p.kind !== BtfKind.PTR) continue;
    const f = kbtf.type(p.type);
    if (f.kind === BtfKind.FUNC_PROTO) return f;
  }
  return undefined;
}

function describe(kbtf: Btf, func: string, proto: Extract<BtfType, { kind: 13 }>, skip: number, retval: boolean): TracingCtx {
  // get_ctx_arg_idx: pointers take 8 bytes, anything else its size rounded up to 8.
  const slot = (id: number): number => {
    const t = kbtf.skipModifiers(id);
    return t.kind === BtfKind.PTR ? 8 : t.kind === BtfKind.UNKN ? 0 : (kbtf.sizeOf(t.id) + 7) & ~7;
  };
  const ends: number[] = [];
  let end = 0;
  for (const p of proto.params) ends.push((end += slot(p.type)));
  ends.push(end + slot(proto.returnType));
  const args = proto.params.slice(skip).map((p, i) => argOf(kbtf, func, i, p.type));
  if (retval) args.push(argOf(kbtf, func, args.length, proto.returnType));
  return { func, ends, skip, args, retval, trusted: skip === 1 };
}

/**
 * btf_ctx_access's classification of one argument. Linux 6.12 also marks
 * some raw tracepoint arguments maybe-NULL or maybe-ERR_PTR
 * (raw_tp_null_args); 6.18 does not (sched_process_wait's pid and
 * signal_deliver's info load as trusted pointers on the running kernel,
 * test/verifier/real-tracing.test.ts), and tsbpf follows 6.18.
 */
function argOf(kbtf: Btf, func: string, index: number, typeId: number): TracingArg {
  const t = kbtf.skipModifiers(typeId);
  const k = t.kind;
  // btf_type_is_small_int, any enum, a struct (not a union) by value.
  if ((k === BtfKind.INT && t.size <= 8) || k === BtfKind.ENUM || k === BtfKind.ENUM64 || k === BtfKind.STRUCT) return { kind: 'scalar' };
  if (k !== BtfKind.PTR) {
    return { kind: 'refuse', ptrOnly: false, reason: `func '${func}' arg${index} '${t.name}' has type ${kindName(t)}. Only pointer access is allowed` };
  }
  // A plain void pointer or an int pointer (modifiers skipped) is a scalar; no further walking.
  if (t.type === 0) return { kind: 'ptrScalar' };
  const direct = kbtf.type(t.type);
  const target = kbtf.skipModifiers(t.type);
  if (target.kind === BtfKind.INT) return { kind: 'ptrScalar' };
  if (direct.kind === BtfKind.TYPE_TAG && (direct.name === 'user' || direct.name === 'percpu')) {
    // __user and __percpu pointers (MEM_USER, MEM_PERCPU) have rules of their own, not modelled here.
    return { kind: 'refuse', ptrOnly: true, reason: `func '${func}' arg${index} is a __${direct.name} pointer, which tsbpf's verifier does not model` };
  }
  if (target.kind !== BtfKind.STRUCT && target.kind !== BtfKind.UNION) {
    return { kind: 'refuse', ptrOnly: true, reason: `func '${func}' arg${index} type ${kindName(target)} is not a struct` };
  }
  if (target.name === '') return { kind: 'refuse', ptrOnly: true, reason: `func '${func}' arg${index} points to an anonymous ${kindName(target)}, which tsbpf's verifier does not name` };
  return { kind: 'ptr', struct: target.name };
}

/** The kernel's btf_kind_str, indexed by BTF kind. */
const KIND_STR = ['UNKNOWN', 'INT', 'PTR', 'ARRAY', 'STRUCT', 'UNION', 'ENUM', 'FWD', 'TYPEDEF', 'VOLATILE', 'CONST', 'RESTRICT', 'FUNC', 'FUNC_PROTO', 'VAR', 'DATASEC', 'FLOAT', 'DECL_TAG', 'TYPE_TAG', 'ENUM64'];

function kindName(t: BtfType): string {
  return KIND_STR[t.kind] ?? `kind ${t.kind}`;
}

/**
 * A load of `size` bytes at ctx offset `off` (tracing_prog_is_valid_access,
 * then btf_ctx_access): read-only, inside the 12 argument slots, aligned to
 * its size and to 8, an argument the target has; pointers are read whole.
 * Sets `dst` to what the argument holds.
 */
export function checkTracingCtxLoad(env: Env, tc: TracingCtx, off: number, size: number, write: boolean, dst: RegState | undefined): void {
  const refuse = (why?: string): never => {
    // The kernel logs btf_ctx_access's reason, then check_ctx_access's line.
    if (why !== undefined) env.log.line(why);
    return reject(`invalid bpf_context access off=${off} size=${size}`);
  };
  if (off < 0 || off >= 8 * MAX_ARGS || write || off % size !== 0) refuse();
  if (off % 8 !== 0) refuse(`func '${tc.func}' offset ${off} is not multiple of 8`);
  // get_ctx_arg_idx counts slots over the full prototype (__data included)
  // and the index then names an argument the program sees: for 8-byte
  // slots, argument off/8.
  let arg = tc.ends.findIndex((e) => off < e);
  if (arg < 0) arg = tc.ends.length;
  const nrArgs = tc.ends.length - 1 - tc.skip;
  const a = tc.args[arg];
  if (arg > nrArgs || (arg === nrArgs && !tc.retval) || a === undefined) refuse(`func '${tc.func}' doesn't have ${arg + 1}-th argument`);
  if (a!.kind === 'scalar') {
    if (dst) markUnknown(dst);
    return;
  }
  if (a!.kind === 'refuse' && !a!.ptrOnly) refuse(a!.reason);
  if (size !== 8) refuse(`func '${tc.func}' size ${size} must be 8`);
  if (a!.kind === 'refuse') refuse(a!.reason);
  if (dst && a!.kind === 'ptrScalar') markUnknown(dst);
  if (!dst || a!.kind !== 'ptr') return;
  const p = a as Extract<TracingArg, { kind: 'ptr' }>;
  markPointer(dst, RegType.PTR_TO_BTF_ID, ((p.trusted ?? tc.trusted) ? RegFlag.TRUSTED : 0) | (p.nullable ? RegFlag.MAYBE_NULL : 0));
  dst.btfType = kernelStructType(p.struct);
  // Each load is a pointer of its own for the null check.
  if (p.nullable) dst.id = ++env.nextId;
}
