// The context an attached program reads is a C struct the program declares
// itself: `int on_finish(struct http_done *ctx)`. Its BTF says which fields
// the program wants (member names) and where they live (offsets, sizes), so
// the attach layer lays each event out exactly as the program expects. This
// file turns the BTF struct into a small description (CtxLayout); ctx-writer.ts
// fills it from a JavaScript value per event.

import type { Btf } from '../btf/btf.js';
import { BtfIntEncoding, BtfKind, type BtfType } from '../btf/types.js';
import type { ProgramSpec } from '../elf/spec.js';
import { TsbpfError } from '../internal/errors.js';
import { AttachError } from './errors.js';

export type CtxFieldKind = 'int' | 'bool' | 'float' | 'chars' | 'array' | 'struct';

export interface CtxField {
  /** The C member name. */
  readonly name: string;
  /** Byte offset from the start of the context. */
  readonly offset: number;
  /** Size in bytes (whole array for arrays). */
  readonly size: number;
  readonly kind: CtxFieldKind;
  /** int: two's-complement signed. */
  readonly signed: boolean;
  /** array: element size and count; elements are ints of `elemSize` bytes. */
  readonly elemSize: number;
  readonly count: number;
  /** struct: its members (offsets absolute, from the start of the context). */
  readonly fields: readonly CtxField[];
}

export interface CtxLayout {
  /** 'struct http_done', or 'default function probe context'. */
  readonly typeName: string;
  readonly size: number;
  readonly fields: readonly CtxField[];
}

/** Deepest struct nesting followed (a cycle through pointers is impossible; this bounds malformed BTF). */
const MAX_NESTING = 8;

function field(name: string, offset: number, size: number, kind: CtxFieldKind, extra: Partial<CtxField> = {}): CtxField {
  return { name, offset, size, kind, signed: false, elemSize: 0, count: 0, fields: [], ...extra };
}

/**
 * The layout function probes use when the program declares no struct of its
 * own (`void *ctx`, `struct pt_regs *ctx`, no BTF): examples/trace/tsbpf.h's
 * struct js_args.
 */
export const DEFAULT_FUNC_LAYOUT: CtxLayout = {
  typeName: 'struct js_args (default function probe context)',
  size: 56,
  fields: [
    ...[1, 2, 3, 4, 5].map((i) => field(`arg${i}`, (i - 1) * 8, 8, 'int', { signed: true })),
    field('ret', 40, 8, 'int', { signed: true }),
    field('nargs', 48, 4, 'int'),
    field('threw', 52, 4, 'int'),
  ],
};

/**
 * The struct the program's first parameter points to, from its BTF
 * (func_info of instruction 0, or the FUNC of the program's name), or
 * undefined when the program has no such BTF (no -g, `void *ctx`).
 */
export function ctxStructOf(btf: Btf | undefined, spec: ProgramSpec): BtfType | undefined {
  if (btf === undefined) return undefined;
  try {
    const fi = spec.funcInfo.find((f) => f.insn === 0);
    const funcId = fi?.typeId ?? btf.idsByName(spec.name).find((id) => btf.type(id).kind === BtfKind.FUNC);
    if (funcId === undefined) return undefined;
    const func = btf.type(funcId);
    if (func.kind !== BtfKind.FUNC) return undefined;
    const proto = btf.type(func.type);
    if (proto.kind !== BtfKind.FUNC_PROTO || proto.params.length === 0) return undefined;
    const ptr = btf.skipModifiers(proto.params[0]!.type);
    if (ptr.kind !== BtfKind.PTR) return undefined;
    const target = btf.skipModifiers(ptr.type);
    return target.kind === BtfKind.STRUCT ? target : undefined;
  } catch (e) {
    if (e instanceof TsbpfError) return undefined;
    throw e;
  }
}

/** The layout of the program's context struct; undefined when there is none (see ctxStructOf). */
export function ctxLayoutOf(btf: Btf | undefined, spec: ProgramSpec): CtxLayout | undefined {
  const t = ctxStructOf(btf, spec);
  if (t === undefined || btf === undefined || t.kind !== BtfKind.STRUCT) return undefined;
  const where = `context struct ${t.name || '(anon)'}`;
  return { typeName: `struct ${t.name || '(anon)'}`, size: t.size, fields: structFields(btf, t, 0, 0, spec.name, where) };
}

function structFields(btf: Btf, t: BtfType, base: number, depth: number, prog: string, where: string): CtxField[] {
  if (t.kind !== BtfKind.STRUCT && t.kind !== BtfKind.UNION) return [];
  if (depth > MAX_NESTING) throw new AttachError(prog, where, `structs nested deeper than ${MAX_NESTING}`);
  const out: CtxField[] = [];
  for (const m of t.members) {
    if (m.bitSize !== 0 || m.bitOffset % 8 !== 0) throw new AttachError(prog, where, `member '${m.name}' is a bitfield; context members must be whole bytes`);
    const offset = base + m.bitOffset / 8;
    const f = memberField(btf, m.name, m.type, offset, depth, prog, where);
    if (f !== undefined) out.push(f);
  }
  return out;
}

function memberField(btf: Btf, name: string, typeId: number, offset: number, depth: number, prog: string, where: string): CtxField | undefined {
  const t = btf.skipModifiers(typeId);
  const bad = (why: string): AttachError => new AttachError(prog, where, `member '${name || '(anon)'}' ${why}`);
  switch (t.kind) {
    case BtfKind.INT:
      if (![1, 2, 4, 8].includes(t.size)) throw bad(`is a ${t.size}-byte integer; use 1, 2, 4 or 8 bytes`);
      if ((t.encoding & BtfIntEncoding.BOOL) !== 0) return field(name, offset, t.size, 'bool');
      return field(name, offset, t.size, 'int', { signed: (t.encoding & BtfIntEncoding.SIGNED) !== 0 });
    case BtfKind.ENUM:
    case BtfKind.ENUM64:
      return field(name, offset, t.size, 'int', { signed: t.signed });
    case BtfKind.PTR:
      // a pointer member receives a number (an object's identity, say): the program cannot follow it
      return field(name, offset, 8, 'int');
    case BtfKind.FLOAT:
      if (t.size !== 4 && t.size !== 8) throw bad(`is a ${t.size}-byte float; use float or double`);
      return field(name, offset, t.size, 'float');
    case BtfKind.ARRAY: {
      const elem = btf.skipModifiers(t.type);
      const elemSize = btf.sizeOf(t.type);
      const size = elemSize * t.nelems;
      if (elem.kind === BtfKind.INT && elemSize === 1) return field(name, offset, size, 'chars', { elemSize: 1, count: t.nelems });
      if ((elem.kind === BtfKind.INT || elem.kind === BtfKind.ENUM) && [2, 4, 8].includes(elemSize))
        return field(name, offset, size, 'array', { elemSize, count: t.nelems, signed: elem.kind === BtfKind.INT ? (elem.encoding & BtfIntEncoding.SIGNED) !== 0 : elem.signed });
      throw bad(`is an array of ${btf.describe(t.type)}; arrays must hold integers`);
    }
    case BtfKind.STRUCT:
    case BtfKind.UNION: {
      const fields = structFields(btf, t, offset, depth + 1, prog, where);
      // an anonymous struct or union member's fields belong to the parent, as in C
      if (name === '') return field('', offset, t.size, 'struct', { fields });
      return field(name, offset, t.size, 'struct', { fields });
    }
    default:
      throw bad(`has type ${btf.describe(typeId)}, which an event cannot fill`);
  }
}
