// Function signatures from BTF (func_info + FUNC/FUNC_PROTO types), for the
// kernel's rule on global functions: each is verified once, on its own, with
// arguments typed by its prototype (scalars, the program's context, or
// memory of the pointee's size that may be NULL), and callers are checked
// against the prototype instead of being followed into the body.

import type { Btf } from '../btf/btf.js';
import { BtfFuncLinkage, BtfKind } from '../btf/types.js';
import type { FuncInfo } from '../btf/parse-ext.js';

export type FuncArg =
  | { readonly kind: 'scalar' }
  | { readonly kind: 'ctx' }
  /** Memory of `size` bytes; NULL allowed unless tagged __arg_nonnull. */
  | { readonly kind: 'mem'; readonly size: number; readonly nonnull?: boolean }
  /** A trusted pointer to a kernel struct (__arg_trusted), NULL allowed with __arg_nullable (kfunc-check.ts). */
  | { readonly kind: 'btf'; readonly struct: string; readonly nullable: boolean }
  /** A pointer into the program's arena (__arg_arena): the caller passes an arena pointer or a number, the callee gets a number. */
  | { readonly kind: 'arena' }
  | { readonly kind: 'unsupported'; readonly why: string };

export interface FuncSig {
  /** First instruction of the function in the linked program. */
  readonly insn: number;
  readonly name: string;
  readonly global: boolean;
  readonly args: readonly FuncArg[];
  /** Why the function cannot be verified as a global function (return type...), if it cannot. */
  readonly unsupported?: string;
  /** It returns an int or an enum (LD_ABS and tail calls in subprograms need that). */
  readonly scalarReturn?: boolean;
}

/** Signatures of the functions in a program's func_info; `ctxName` is the program type's context struct. */
export function funcSignatures(btf: Btf | undefined, funcInfo: readonly FuncInfo[], ctxName: string): FuncSig[] {
  if (!btf) return [];
  // Argument tags (__arg_ctx, __arg_nonnull): DECL_TAGs "arg:..." on a FUNC's parameter.
  const tags = new Map<string, Set<string>>();
  for (const t of btf.types) {
    if (t && t.kind === BtfKind.DECL_TAG && t.name.startsWith('arg:') && t.componentIdx >= 0) {
      const key = `${t.type}:${t.componentIdx}`;
      if (!tags.has(key)) tags.set(key, new Set());
      tags.get(key)!.add(t.name.slice(4));
    }
  }
  const out: FuncSig[] = [];
  for (const fi of funcInfo) {
    const f = btf.type(fi.typeId);
    if (f.kind !== BtfKind.FUNC) continue;
    const proto = btf.type(f.type);
    if (proto.kind !== BtfKind.FUNC_PROTO) continue;
    const args: FuncArg[] = proto.params.map((p, i) => argKind(btf, p.type, ctxName, i, tags.get(`${fi.typeId}:${i}`)));
    let unsupported: string | undefined;
    const ret = proto.returnType === 0 ? undefined : btf.skipModifiers(proto.returnType);
    const scalarReturn = ret !== undefined && (ret.kind === BtfKind.INT || ret.kind === BtfKind.ENUM || ret.kind === BtfKind.ENUM64);
    if (!scalarReturn) unsupported = `Global function ${f.name}() doesn't return scalar. Only those are supported.`;
    out.push({ insn: fi.insn, name: f.name, global: f.linkage === BtfFuncLinkage.GLOBAL, args, unsupported, scalarReturn });
  }
  return out;
}

function argKind(btf: Btf, typeId: number, ctxName: string, i: number, tags: Set<string> | undefined): FuncArg {
  const t = btf.skipModifiers(typeId);
  if (t.kind === BtfKind.INT || t.kind === BtfKind.ENUM || t.kind === BtfKind.ENUM64) return { kind: 'scalar' };
  if (t.kind !== BtfKind.PTR) return { kind: 'unsupported', why: `arg#${i} type is not a scalar or a pointer` };
  if (tags?.has('arena')) return tags.size === 1 ? { kind: 'arena' } : { kind: 'unsupported', why: `arg#${i} arena cannot be combined with any other tags` };
  if (tags?.has('ctx')) return { kind: 'ctx' };
  const target = btf.skipModifiers(t.type);
  // A CO-RE flavor (task_struct___local) names the kernel's struct without its suffix.
  if (tags?.has('trusted') && target.kind === BtfKind.STRUCT) return { kind: 'btf', struct: target.name.replace(/___.*$/, ''), nullable: tags.has('nullable') };
  if ((target.kind === BtfKind.STRUCT || target.kind === BtfKind.UNION) && target.name === ctxName) return { kind: 'ctx' };
  try {
    const size = btf.sizeOf(t.type);
    if (size > 0) return { kind: 'mem', size, nonnull: tags?.has('nonnull') === true };
  } catch {
    // no size: falls through
  }
  return { kind: 'unsupported', why: `arg#${i} reference type('${btf.describe(t.type)}') size cannot be determined` };
}
