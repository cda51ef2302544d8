// CO-RE matching: whether a candidate type in the target BTF corresponds to
// the local type a relocation names, and if so the target's access spec.
// The rules are libbpf's (tools/lib/bpf/relo_core.c): field access matches
// members by name through anonymous structs/unions, type relocations check
// "compatibility" (shape, names ignored below the root) or "matching" (names
// and sizes, for bpf_core_type_matches).

import { BtfError } from '../internal/errors.js';
import type { Btf } from './btf.js';
import {
  CORE_SPEC_MAX_LEN, CoreKind, essentialName, isAnyEnum, isComposite, isEnumvalKind, isFieldKind, isFlexArray, isTypeKind, skipModsId,
  type CoreAccessor, type CoreSpec,
} from './core-spec.js';
import { BtfKind, type BtfComposite, type BtfEnum, type BtfType } from './types.js';

/** libbpf's recursion budget for compatibility and matching checks. */
const MAX_LEVEL = 32;

/** Same kind, or enum against enum64 (btf_kind_core_compat). */
export function kindsCompat(a: BtfType, b: BtfType): boolean {
  return a.kind === b.kind || (isAnyEnum(a) && isAnyEnum(b));
}

/** INT "bitfield-like" encodings (a non-zero bit offset) are rejected by CO-RE. */
function plainInts(a: BtfType, b: BtfType): boolean {
  return a.kind === BtfKind.INT && b.kind === BtfKind.INT && a.bitOffset === 0 && b.bitOffset === 0;
}

/** bpf_core_types_are_compat: the root names already matched; compare shapes. */
export function typesAreCompat(local: Btf, localId: number, targ: Btf, targId: number, level = MAX_LEVEL): boolean {
  if (!kindsCompat(local.type(localId), targ.type(targId))) return false;
  for (let depth = 0; depth < 32; depth++) {
    const lt = local.skipModifiers(localId);
    const tt = targ.skipModifiers(targId);
    if (!kindsCompat(lt, tt)) return false;
    switch (lt.kind) {
      case BtfKind.UNKN:
      case BtfKind.STRUCT:
      case BtfKind.UNION:
      case BtfKind.ENUM:
      case BtfKind.FWD:
      case BtfKind.ENUM64:
        return true;
      case BtfKind.INT:
        return plainInts(lt, tt);
      case BtfKind.PTR:
        localId = lt.type;
        targId = (tt as typeof lt).type;
        continue;
      case BtfKind.ARRAY:
        localId = lt.type;
        targId = (tt as typeof lt).type;
        continue;
      case BtfKind.FUNC_PROTO: {
        const tp = tt as typeof lt;
        if (lt.params.length !== tp.params.length) return false;
        for (let i = 0; i < lt.params.length; i++) {
          if (level <= 0) throw new BtfError('type compatibility check nests too deep');
          const ok = typesAreCompat(local, skipModsId(local, lt.params[i]!.type), targ, skipModsId(targ, tp.params[i]!.type), level - 1);
          if (!ok) return false;
        }
        localId = skipModsId(local, lt.returnType);
        targId = skipModsId(targ, tp.returnType);
        continue;
      }
      default:
        return false;
    }
  }
  throw new BtfError('type compatibility check nests too deep');
}

/** bpf_core_fields_are_compat: may a local field be relocated onto this target field? */
function fieldsAreCompat(local: Btf, localId: number, targ: Btf, targId: number): boolean {
  for (let depth = 0; depth <= MAX_LEVEL; depth++) {
    const lt = local.skipModifiers(localId);
    const tt = targ.skipModifiers(targId);
    if (isComposite(lt) && isComposite(tt)) return true;
    if (!kindsCompat(lt, tt)) return false;
    switch (lt.kind) {
      case BtfKind.PTR:
      case BtfKind.FLOAT:
        return true;
      case BtfKind.FWD:
      case BtfKind.ENUM:
      case BtfKind.ENUM64: {
        const ln = essentialName(lt.name);
        const tn = essentialName(tt.name);
        return ln === '' || tn === '' || ln === tn;
      }
      case BtfKind.INT:
        return plainInts(lt, tt);
      case BtfKind.ARRAY:
        localId = lt.type;
        targId = (tt as typeof lt).type;
        continue;
      default:
        return false;
    }
  }
  throw new BtfError('field compatibility check nests too deep');
}

/**
 * Find the member a named local accessor refers to inside target type
 * `targId`, descending into anonymous members. Extends `out` (raw steps,
 * accessors, bit offset) as it goes; returns the member's type id or -1.
 */
function matchMember(local: Btf, acc: CoreAccessor, targ: Btf, targId: number, out: CoreSpec, depth: number): number {
  if (depth > MAX_LEVEL) throw new BtfError('anonymous members nest too deep');
  const tt = targ.skipModifiers(targId);
  if (!isComposite(tt)) return -1;
  const localMember = (local.type(acc.typeId) as BtfComposite).members[acc.idx]!;
  for (let i = 0; i < tt.members.length; i++) {
    const m = tt.members[i]!;
    if (out.raw.length === CORE_SPEC_MAX_LEN) throw new BtfError(`target access path is deeper than ${CORE_SPEC_MAX_LEN} steps`);
    out.bitOffset += m.bitOffset;
    out.raw.push(i);
    if (m.name === '') {
      const found = matchMember(local, acc, targ, m.type, out, depth + 1);
      if (found >= 0) return found;
    } else if (m.name === acc.name) {
      if (!fieldsAreCompat(local, localMember.type, targ, m.type)) return -1;
      out.spec.push({ typeId: tt.id, idx: i, name: m.name });
      return m.type;
    }
    out.bitOffset -= m.bitOffset;
    out.raw.pop();
  }
  return -1;
}

/** bpf_core_spec_match: the target spec if candidate `targId` matches the local spec, else undefined. */
export function matchSpec(localSpec: CoreSpec, targ: Btf, targId: number): CoreSpec | undefined {
  const out: CoreSpec = { btf: targ, rootTypeId: targId, kind: localSpec.kind, raw: [], spec: [], bitOffset: 0 };
  const local = localSpec.btf;
  if (isTypeKind(localSpec.kind)) {
    const ok = localSpec.kind === CoreKind.TYPE_MATCHES
      ? typesMatch(local, localSpec.rootTypeId, targ, targId, false, MAX_LEVEL)
      : typesAreCompat(local, localSpec.rootTypeId, targ, targId);
    return ok ? out : undefined;
  }
  const first = localSpec.spec[0]!;
  if (isEnumvalKind(localSpec.kind)) {
    const tt = targ.skipModifiers(targId);
    if (!isAnyEnum(tt)) return undefined;
    const want = essentialName(first.name ?? '');
    const i = tt.values.findIndex((v) => essentialName(v.name) === want);
    if (i < 0) return undefined;
    out.spec.push({ typeId: tt.id, idx: i, name: tt.values[i]!.name });
    out.raw.push(i);
    return out;
  }
  if (!isFieldKind(localSpec.kind)) throw new BtfError(`unknown relocation kind ${localSpec.kind}`);
  let id = targId;
  for (let i = 0; i < localSpec.spec.length; i++) {
    const acc = localSpec.spec[i]!;
    id = skipModsId(targ, id);
    const tt = targ.type(id);
    if (acc.name !== undefined) {
      const next = matchMember(local, acc, targ, id, out, 0);
      if (next < 0) return undefined;
      id = next;
      continue;
    }
    if (i > 0) {
      // For i = 0 the root itself is the "element" (&p[0]); later steps index a target array.
      if (tt.kind !== BtfKind.ARRAY) return undefined;
      if (!isFlexArray(targ, out.spec[out.spec.length - 1], tt) && acc.idx >= tt.nelems) return undefined;
      id = skipModsId(targ, tt.type);
    }
    if (out.raw.length === CORE_SPEC_MAX_LEN) throw new BtfError(`target access path is deeper than ${CORE_SPEC_MAX_LEN} steps`);
    out.spec.push({ typeId: id, idx: acc.idx });
    out.raw.push(acc.idx);
    out.bitOffset += acc.idx * targ.sizeOf(id) * 8;
  }
  return out;
}

/** Names equal modulo flavor; an anonymous target only matches an anonymous local. */
function namesMatch(localName: string, targName: string): boolean {
  if (targName === '') return localName === '';
  return essentialName(localName) === essentialName(targName);
}

function enumsMatch(lt: BtfEnum, tt: BtfEnum): boolean {
  if (lt.size !== tt.size || lt.values.length > tt.values.length) return false;
  return lt.values.every((lv) => tt.values.some((tv) => namesMatch(lv.name, tv.name)));
}

function compositesMatch(local: Btf, lt: BtfComposite, targ: Btf, tt: BtfComposite, behindPtr: boolean, level: number): boolean {
  if (lt.members.length > tt.members.length) return false;
  return lt.members.every((lm) => tt.members.some((tm) => namesMatch(lm.name, tm.name) && typesMatch(local, lm.type, targ, tm.type, behindPtr, level - 1)));
}

/** __bpf_core_types_match: the relation bpf_core_type_matches() asks for. */
export function typesMatch(local: Btf, localId: number, targ: Btf, targId: number, behindPtr: boolean, level: number): boolean {
  if (level <= 0) throw new BtfError('type match check nests too deep');
  for (let depth = 0; depth < 32; depth++) {
    const lt = local.skipModifiers(localId);
    const tt = targ.skipModifiers(targId);
    if (!namesMatch(lt.name, tt.name)) return false;
    switch (lt.kind) {
      case BtfKind.UNKN:
        return tt.kind === BtfKind.UNKN;
      case BtfKind.FWD:
        if (tt.kind === BtfKind.FWD) return lt.union === tt.union;
        return behindPtr && ((tt.kind === BtfKind.STRUCT && !lt.union) || (tt.kind === BtfKind.UNION && lt.union));
      case BtfKind.ENUM:
      case BtfKind.ENUM64:
        return isAnyEnum(tt) && enumsMatch(lt, tt);
      case BtfKind.STRUCT:
      case BtfKind.UNION:
        if (behindPtr) {
          if (lt.kind === tt.kind) return true;
          return tt.kind === BtfKind.FWD && (lt.kind === BtfKind.UNION) === tt.union;
        }
        return lt.kind === tt.kind && compositesMatch(local, lt, targ, tt as BtfComposite, behindPtr, level);
      case BtfKind.INT:
        return tt.kind === BtfKind.INT && lt.size === tt.size && (lt.encoding & 1) === (tt.encoding & 1);
      case BtfKind.PTR:
        if (tt.kind !== BtfKind.PTR) return false;
        behindPtr = true;
        localId = lt.type;
        targId = tt.type;
        continue;
      case BtfKind.ARRAY:
        if (tt.kind !== BtfKind.ARRAY || lt.nelems !== tt.nelems) return false;
        localId = lt.type;
        targId = tt.type;
        continue;
      case BtfKind.FUNC_PROTO: {
        if (tt.kind !== BtfKind.FUNC_PROTO || lt.params.length !== tt.params.length) return false;
        for (let i = 0; i < lt.params.length; i++) {
          if (!typesMatch(local, lt.params[i]!.type, targ, tt.params[i]!.type, behindPtr, level - 1)) return false;
        }
        localId = lt.returnType;
        targId = tt.returnType;
        continue;
      }
      default:
        return false;
    }
  }
  throw new BtfError('type match check nests too deep');
}
