// Resolving one CO-RE relocation against a target BTF, as libbpf does
// (bpf_core_calc_relo_insn): parse the local spec, collect candidate target
// types by essential name (the part before any `___flavor` suffix), match
// each, and compute the value the instruction had (orig, from the local BTF)
// and must get (new, from the target). Candidates that matched one
// relocation are the only ones tried for the next relocation of the same
// local type, exactly like libbpf's candidate cache. Values are 64-bit
// (enum64 values, ldimm64), so they travel as BigInt; this runs once per
// relocation at load time, never per executed instruction.

import { BtfError } from '../internal/errors.js';
import type { Btf } from './btf.js';
import { kindsCompat, matchSpec } from './core-match.js';
import { CoreKind, essentialName, isAnyEnum, isEnumvalKind, isFieldKind, isTypeKind, parseCoreSpec, type CoreSpec } from './core-spec.js';
import { BtfIntEncoding, BtfKind } from './types.js';

/** The outcome for one relocation (libbpf's bpf_core_relo_res). */
export interface CoreReloResult {
  /** The value the compiler put in the instruction (from the local BTF). */
  readonly orig: bigint;
  /** The value for the target. */
  readonly value: bigint;
  /** No target matched and the value cannot be faked: the instruction becomes an invalid call. */
  readonly poison: boolean;
  /** Whether the instruction's current value must equal `orig` (libbpf skips this for bitfields and target type ids). */
  readonly validate: boolean;
  /** Memory access sizes for field offsets of loads/stores (0 when not applicable). */
  readonly origSize: number;
  readonly newSize: number;
  /** The access size changes in a way that would read a wrong value (signed ints, structs): poison a load/store. */
  readonly failSizeAdjust: boolean;
  /** The target spec that matched ('[id] struct x + 0:1:2'), or why none did. */
  readonly target: string;
}

/** Per local type id, the candidate ids still in play (libbpf's cand_cache, including its pruning). */
export type CandidateCache = Map<number, number[]>;

/** Per target BTF, type ids by essential name (built once: a kernel BTF has ~130k types). */
const byEssentialName = new WeakMap<Btf, Map<string, number[]>>();

function essentialIndex(targ: Btf): Map<string, number[]> {
  let index = byEssentialName.get(targ);
  if (index) return index;
  index = new Map();
  for (let id = 1; id < targ.types.length; id++) {
    const name = targ.types[id]!.name;
    if (name === '') continue;
    const key = essentialName(name);
    const list = index.get(key);
    if (list) list.push(id);
    else index.set(key, [id]);
  }
  byEssentialName.set(targ, index);
  return index;
}

/** Candidates for a local type: target types of a compatible kind with the same essential name, in id order. */
export function findCandidates(local: Btf, localId: number, targ: Btf): number[] {
  const lt = local.type(localId);
  const ids = essentialIndex(targ).get(essentialName(lt.name)) ?? [];
  return ids.filter((id) => kindsCompat(targ.types[id]!, lt));
}

interface FieldValue {
  value: bigint;
  size: number;
  typeId: number;
  validate: boolean;
}

/** bpf_core_calc_field_relo for one side; undefined spec means "not found" (poison, or 0 for exists). */
function fieldValue(kind: number, spec: CoreSpec | undefined): FieldValue | 'poison' {
  if (kind === CoreKind.FIELD_EXISTS) return { value: spec ? 1n : 0n, size: 0, typeId: 0, validate: true };
  if (!spec) return 'poison';
  const btf = spec.btf;
  const acc = spec.spec[spec.spec.length - 1]!;
  if (acc.name === undefined) {
    // The path ends in an array element (or is the root itself).
    const size = btf.sizeOf(acc.typeId);
    if (kind === CoreKind.FIELD_BYTE_OFFSET) return { value: BigInt(Math.floor(spec.bitOffset / 8)), size, typeId: acc.typeId, validate: true };
    if (kind === CoreKind.FIELD_BYTE_SIZE) return { value: BigInt(size), size: 0, typeId: 0, validate: true };
    throw new BtfError(`relocation kind ${kind} cannot be applied to an array element access`);
  }
  const parent = btf.type(acc.typeId);
  if (parent.kind !== BtfKind.STRUCT && parent.kind !== BtfKind.UNION) throw new BtfError(`accessor type ${acc.typeId} is not a struct or union`);
  const m = parent.members[acc.idx]!;
  const mt = btf.skipModifiers(m.type);
  const bitOff = spec.bitOffset;
  let bitSize = m.bitSize;
  const bitfield = bitSize > 0;
  let byteSize: number;
  let byteOff: number;
  if (bitfield) {
    if (mt.kind !== BtfKind.INT && !isAnyEnum(mt)) throw new BtfError(`bitfield ${m.name} has a type without a size`);
    byteSize = mt.size;
    byteOff = Math.floor(bitOff / 8 / byteSize) * byteSize;
    // Widen the load until the whole bitfield fits in it.
    while (bitOff + bitSize - byteOff * 8 > byteSize * 8) {
      if (byteSize >= 8) throw new BtfError(`bitfield ${m.name} cannot be read with one 64-bit load`);
      byteSize *= 2;
      byteOff = Math.floor(bitOff / 8 / byteSize) * byteSize;
    }
  } else {
    byteSize = btf.sizeOf(mt.id);
    byteOff = Math.floor(bitOff / 8);
    bitSize = byteSize * 8;
  }
  switch (kind) {
    case CoreKind.FIELD_BYTE_OFFSET:
      return { value: BigInt(byteOff), size: bitfield ? 0 : byteSize, typeId: bitfield ? 0 : mt.id, validate: !bitfield };
    case CoreKind.FIELD_BYTE_SIZE:
      return { value: BigInt(byteSize), size: 0, typeId: 0, validate: !bitfield };
    case CoreKind.FIELD_SIGNED: {
      const signed = (isAnyEnum(mt) && mt.signed) || (mt.kind === BtfKind.INT && (mt.encoding & BtfIntEncoding.SIGNED) !== 0);
      return { value: signed ? 1n : 0n, size: 0, typeId: 0, validate: true };
    }
    case CoreKind.FIELD_LSHIFT_U64:
      // Little-endian layout (the only byte order this runtime executes).
      return { value: BigInt(64 - (bitOff + bitSize - byteOff * 8)), size: 0, typeId: 0, validate: !bitfield };
    case CoreKind.FIELD_RSHIFT_U64:
      return { value: BigInt(64 - bitSize), size: 0, typeId: 0, validate: true };
    default:
      throw new BtfError(`unknown field relocation kind ${kind}`);
  }
}

/** bpf_core_calc_type_relo: undefined spec (no target) gives 0. */
function typeValue(kind: number, spec: CoreSpec | undefined): bigint {
  if (!spec) return 0n;
  switch (kind) {
    case CoreKind.TYPE_ID_TARGET:
      return BigInt(spec.rootTypeId);
    case CoreKind.TYPE_EXISTS:
    case CoreKind.TYPE_MATCHES:
      return 1n;
    case CoreKind.TYPE_SIZE:
      return BigInt(spec.btf.sizeOf(spec.rootTypeId));
    default:
      throw new BtfError(`unknown type relocation kind ${kind}`);
  }
}

/** bpf_core_calc_enumval_relo. 32-bit enum values are sign-extended to 64 bits, as libbpf reads them (__s32 val). */
function enumValue(kind: number, spec: CoreSpec | undefined): bigint | 'poison' {
  if (kind === CoreKind.ENUMVAL_EXISTS) return spec ? 1n : 0n;
  if (kind !== CoreKind.ENUMVAL_VALUE) throw new BtfError(`unknown enum relocation kind ${kind}`);
  if (!spec) return 'poison';
  const t = spec.btf.type(spec.spec[0]!.typeId);
  if (!isAnyEnum(t)) throw new BtfError(`type ${t.id} is not an enum`);
  const v = t.values[spec.spec[0]!.idx]!;
  return t.kind === BtfKind.ENUM ? BigInt.asUintN(64, BigInt(Number(v.big) | 0)) : BigInt.asUintN(64, v.big);
}

/** bpf_core_calc_relo: orig from the local spec, new from the target spec (undefined: nothing matched). */
function calc(kind: number, local: CoreSpec, targ: CoreSpec | undefined, target: string): CoreReloResult {
  const base = { poison: false, validate: true, origSize: 0, newSize: 0, failSizeAdjust: false, target };
  if (isFieldKind(kind)) {
    const o = fieldValue(kind, local);
    const n = fieldValue(kind, targ);
    if (o === 'poison') throw new BtfError('the local field does not resolve');
    if (n === 'poison') return { ...base, orig: o.value, value: 0n, poison: true, validate: o.validate };
    let failSizeAdjust = false;
    if (o.size !== n.size) {
      const ot = local.btf.type(o.typeId);
      const nt = targ!.btf.type(n.typeId);
      const bothPtr = ot.kind === BtfKind.PTR && nt.kind === BtfKind.PTR;
      // libbpf compares the whole encoding with SIGNED, so a signed char/bool int also counts as unsigned here.
      const bothUnsigned = ot.kind === BtfKind.INT && nt.kind === BtfKind.INT && ot.encoding !== BtfIntEncoding.SIGNED && nt.encoding !== BtfIntEncoding.SIGNED;
      failSizeAdjust = !bothPtr && !bothUnsigned;
    }
    return { ...base, orig: o.value, value: n.value, validate: o.validate, origSize: o.size, newSize: n.size, failSizeAdjust };
  }
  if (isTypeKind(kind)) {
    return { ...base, orig: typeValue(kind, local), value: typeValue(kind, targ), validate: kind !== CoreKind.TYPE_ID_TARGET };
  }
  if (isEnumvalKind(kind)) {
    const o = enumValue(kind, local);
    const n = enumValue(kind, targ);
    if (o === 'poison') throw new BtfError('the local enum value does not resolve');
    if (n === 'poison') return { ...base, orig: o, value: 0n, poison: true };
    return { ...base, orig: o, value: n };
  }
  throw new BtfError(`unknown relocation kind ${kind}`);
}

/** '[12] struct task_struct + 0:1:2' (libbpf's spec format, without the C view). */
export function formatSpec(spec: CoreSpec): string {
  const what = spec.btf.describe(spec.rootTypeId);
  return `[${spec.rootTypeId}] ${what}${spec.raw.length ? ` + ${spec.raw.join(':')}` : ''}`;
}

/**
 * Resolve one relocation of the local BTF against `targ`. Throws BtfError
 * when libbpf would fail the load (bad spec, ambiguous candidates,
 * anonymous type); returns a poisoned result when nothing matched.
 */
export function resolveCoreRelo(local: Btf, typeId: number, access: string, kind: number, targ: Btf, cache: CandidateCache): CoreReloResult {
  const localSpec = parseCoreSpec(local, typeId, access, kind);
  if (kind === CoreKind.TYPE_ID_LOCAL) {
    const id = BigInt(typeId);
    return { orig: id, value: id, poison: false, validate: false, origSize: 0, newSize: 0, failSizeAdjust: false, target: 'local type id' };
  }
  if (local.type(typeId).name === '') throw new BtfError(`${local.describe(typeId)}: CO-RE relocations of anonymous types are not supported`);
  let cands = cache.get(typeId);
  if (!cands) cache.set(typeId, (cands = findCandidates(local, typeId, targ)));
  let chosen: CoreReloResult | undefined;
  let chosenBits = 0;
  const kept: number[] = [];
  for (const id of cands) {
    const spec = matchSpec(localSpec, targ, id);
    if (!spec) continue;
    const res = calc(kind, localSpec, spec, formatSpec(spec));
    if (!chosen) {
      chosen = res;
      chosenBits = spec.bitOffset;
    } else if (spec.bitOffset !== chosenBits) {
      throw new BtfError(`field offset ambiguity: candidates ${chosen.target} and ${res.target} put the field at bit ${chosenBits} and ${spec.bitOffset}`);
    } else if (res.poison !== chosen.poison || res.value !== chosen.value) {
      throw new BtfError(`relocation decision ambiguity: candidates ${chosen.target} and ${res.target} give ${chosen.value} and ${res.value}`);
    }
    kept.push(id);
  }
  if (kept.length > 0) {
    cache.set(typeId, kept);
    return chosen!;
  }
  const why = cands.length === 0 ? `no type named ${essentialName(local.type(typeId).name)} in the target BTF` : `none of ${cands.length} candidate${cands.length === 1 ? '' : 's'} matched ${formatSpec(localSpec)}`;
  return calc(kind, localSpec, undefined, why);
}
