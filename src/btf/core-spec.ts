// CO-RE access specs: the parsed form of a .BTF.ext core_relo record's
// access string ("0:1:2") against the object's own BTF, as libbpf's
// bpf_core_parse_spec builds it. The raw spec keeps every step, including
// anonymous struct/union members; the high-level accessors keep only the
// steps a target type must match (named fields and array indexes).

import { BtfError } from '../internal/errors.js';
import type { Btf } from './btf.js';
import { BtfKind, type BtfArray, type BtfComposite, type BtfEnum, type BtfType } from './types.js';

/** bpf_core_relo_kind numbers (the order of CORE_RELO_KINDS in parse-ext.ts). */
export const CoreKind = {
  FIELD_BYTE_OFFSET: 0,
  FIELD_BYTE_SIZE: 1,
  FIELD_EXISTS: 2,
  FIELD_SIGNED: 3,
  FIELD_LSHIFT_U64: 4,
  FIELD_RSHIFT_U64: 5,
  TYPE_ID_LOCAL: 6,
  TYPE_ID_TARGET: 7,
  TYPE_EXISTS: 8,
  TYPE_SIZE: 9,
  ENUMVAL_EXISTS: 10,
  ENUMVAL_VALUE: 11,
  TYPE_MATCHES: 12,
} as const;

/** libbpf's BPF_CORE_SPEC_MAX_LEN: deepest access path accepted. */
export const CORE_SPEC_MAX_LEN = 64;

export function isFieldKind(kind: number): boolean {
  return kind >= CoreKind.FIELD_BYTE_OFFSET && kind <= CoreKind.FIELD_RSHIFT_U64;
}
export function isTypeKind(kind: number): boolean {
  return (kind >= CoreKind.TYPE_ID_LOCAL && kind <= CoreKind.TYPE_SIZE) || kind === CoreKind.TYPE_MATCHES;
}
export function isEnumvalKind(kind: number): boolean {
  return kind === CoreKind.ENUMVAL_EXISTS || kind === CoreKind.ENUMVAL_VALUE;
}

/** One high-level step: a named member (name set) or an array index (no name). */
export interface CoreAccessor {
  /** The struct/union (member step), the element type (array step) or the enum (enum value step). */
  readonly typeId: number;
  readonly idx: number;
  readonly name?: string;
}

export interface CoreSpec {
  readonly btf: Btf;
  readonly rootTypeId: number;
  readonly kind: number;
  /** Every step of the access string (low-level spec). */
  readonly raw: number[];
  /** Named members and array indexes (high-level spec). */
  readonly spec: CoreAccessor[];
  bitOffset: number;
}

/**
 * The "essential" name: everything before the last `___flavor` suffix
 * (X___Y with X and Y not underscores), which CO-RE ignores when matching.
 */
export function essentialName(name: string): string {
  if (name.indexOf('___') < 0) return name; // most names: no flavor to strip
  for (let i = name.length - 5; i >= 0; i--) {
    if (name[i] !== '_' && name[i + 1] === '_' && name[i + 2] === '_' && name[i + 3] === '_' && name[i + 4] !== '_') return name.slice(0, i + 1);
  }
  return name;
}

/** Follow typedefs and modifiers, returning the id reached (libbpf's skip_mods_and_typedefs). */
export function skipModsId(btf: Btf, id: number): number {
  return btf.skipModifiers(id).id;
}

export function isComposite(t: BtfType): t is BtfComposite {
  return t.kind === BtfKind.STRUCT || t.kind === BtfKind.UNION;
}
export function isAnyEnum(t: BtfType): t is BtfEnum {
  return t.kind === BtfKind.ENUM || t.kind === BtfKind.ENUM64;
}

/** A zero-length array that is the last member of the struct the previous accessor named. */
export function isFlexArray(btf: Btf, prev: CoreAccessor | undefined, arr: BtfArray): boolean {
  if (!prev || prev.name === undefined || arr.nelems > 0) return false;
  const t = btf.type(prev.typeId);
  return isComposite(t) && prev.idx === t.members.length - 1;
}

/** Parse an access string ("0:1:2") into numbers; throws on anything else. */
function parseAccess(access: string): number[] {
  if (access === '' || access[0] === ':') throw new BtfError(`bad access string '${access}'`);
  const raw: number[] = [];
  for (const part of access.split(':')) {
    // libbpf reads each step with %d: a non-negative int.
    if (!/^\d+$/.test(part) || Number(part) > 0x7fffffff) throw new BtfError(`bad access string '${access}'`);
    if (raw.length === CORE_SPEC_MAX_LEN) throw new BtfError(`access string '${access}' is deeper than ${CORE_SPEC_MAX_LEN} steps`);
    raw.push(Number(part));
  }
  return raw;
}

/** Build the local spec of a relocation against the object's BTF (bpf_core_parse_spec). */
export function parseCoreSpec(btf: Btf, typeId: number, access: string, kind: number): CoreSpec {
  const spec: CoreSpec = { btf, rootTypeId: typeId, kind, raw: [], spec: [], bitOffset: 0 };
  if (isTypeKind(kind)) {
    if (access !== '0') throw new BtfError(`type-based relocation with access string '${access}' (expected '0')`);
    return spec;
  }
  const raw = parseAccess(access);
  spec.raw.push(...raw);
  let id = skipModsId(btf, typeId);
  let t = btf.type(id);
  const first = raw[0]!;
  if (isEnumvalKind(kind)) {
    if (!isAnyEnum(t) || raw.length > 1 || first >= t.values.length) throw new BtfError(`enum value relocation '${access}' does not name a value of ${btf.describe(typeId)}`);
    spec.spec.push({ typeId: id, idx: first, name: t.values[first]!.name });
    return spec;
  }
  if (!isFieldKind(kind)) throw new BtfError(`unknown relocation kind ${kind}`);
  spec.spec.push({ typeId: id, idx: first });
  spec.bitOffset = first * btf.sizeOf(id) * 8;
  for (let i = 1; i < raw.length; i++) {
    id = skipModsId(btf, id);
    t = btf.type(id);
    const idx = raw[i]!;
    if (isComposite(t)) {
      if (idx >= t.members.length) throw new BtfError(`access string '${access}': member ${idx} of ${btf.describe(id)} does not exist`);
      const m = t.members[idx]!;
      spec.bitOffset += m.bitOffset;
      if (m.name !== '') spec.spec.push({ typeId: id, idx, name: m.name });
      id = m.type;
    } else if (t.kind === BtfKind.ARRAY) {
      id = skipModsId(btf, t.type);
      const flex = isFlexArray(btf, spec.spec[spec.spec.length - 1], t);
      if (!flex && idx >= t.nelems) throw new BtfError(`access string '${access}': index ${idx} is outside ${btf.describe(t.id)}`);
      spec.spec.push({ typeId: id, idx });
      spec.bitOffset += idx * btf.sizeOf(id) * 8;
    } else {
      throw new BtfError(`access string '${access}' step ${i} goes into ${btf.describe(id)}, which is not a struct, union or array`);
    }
  }
  return spec;
}
