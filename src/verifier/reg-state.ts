// The abstract value of one register, one flat record like the kernel's
// bpf_reg_state: a type (with flags such as "maybe null"), a fixed offset for
// pointers, a tnum plus signed/unsigned 64- and 32-bit bounds for the
// variable part, and the ids that tie copies together (null checks, packet
// range propagation, references).

import {
  TNUM_UNKNOWN, type Tnum, tnumEquals, tnumIsConst, tnumIn, tnumIsUnknown, tnumString, U64, U32, HALF_LO,
} from './tnum.js';
import { btfTypeRef } from './kfuncs-types.js';

export const enum RegType {
  NOT_INIT = 0,
  SCALAR = 1,
  PTR_TO_CTX = 2,
  CONST_PTR_TO_MAP = 3,
  PTR_TO_MAP_VALUE = 4,
  PTR_TO_MAP_KEY = 5,
  PTR_TO_STACK = 6,
  PTR_TO_PACKET_META = 7,
  PTR_TO_PACKET = 8,
  PTR_TO_PACKET_END = 9,
  PTR_TO_MEM = 10,
  PTR_TO_FUNC = 11,
  PTR_TO_SOCK_COMMON = 12,
  PTR_TO_SOCKET = 13,
  PTR_TO_TCP_SOCK = 14,
  PTR_TO_FLOW_KEYS = 15,
  PTR_TO_BTF_ID = 16,
  /** A pointer into the program's arena (arena.ts): 32 bits, any arithmetic, loads and stores never fault. */
  PTR_TO_ARENA = 17,
}

/** Flags or-ed into RegState.flags (the kernel's type modifiers). */
export const RegFlag = {
  MAYBE_NULL: 1,
  RDONLY: 2,
  RINGBUF: 4,
  /** PTR_TO_BTF_ID flags (kfuncs.ts): a trusted kernel object (referenced, or given by the kernel). */
  TRUSTED: 8,
  /** An RCU-protected kernel object (valid inside the program's RCU section). */
  RCU: 16,
  /** A kernel object read from memory (bpf_rdonly_cast, a pointer field): loads only, never passed on as trusted. */
  UNTRUSTED: 32,
} as const;

const BASE_NAMES: readonly string[] = [
  '?', 'scalar', 'ctx', 'map_ptr', 'map_value', 'map_key', 'fp', 'pkt_meta', 'pkt', 'pkt_end', 'mem', 'func',
  'sock_common', 'sock', 'tcp_sock', 'flow_keys', 'ptr_', 'arena',
];

/** The kernel's reg_type_str: "map_value_or_null", "ringbuf_mem_or_null", "rdonly_mem"... */
export function regTypeName(type: RegType, flags: number): string {
  let s = BASE_NAMES[type] ?? '?';
  if (flags & RegFlag.RINGBUF) s = 'ringbuf_' + s;
  if (flags & RegFlag.RDONLY) s = 'rdonly_' + s;
  if (flags & RegFlag.TRUSTED) s = 'trusted_' + s;
  if (flags & RegFlag.RCU) s = 'rcu_' + s;
  if (flags & RegFlag.UNTRUSTED) s = 'untrusted_' + s;
  // (the kernel spells a BTF pointer that may be NULL 'ptr_or_null_')
  if (flags & RegFlag.MAYBE_NULL) s = type === RegType.PTR_TO_BTF_ID ? s.slice(0, -1) + '_or_null_' : s + '_or_null';
  return s;
}

export const S64_MIN = -(1n << 63n);
export const S64_MAX = (1n << 63n) - 1n;
export const S32_MIN = -0x80000000;
export const S32_MAX = 0x7fffffff;
export const U32_MAX = 0xffffffff;

export class RegState {
  type: RegType = RegType.NOT_INIT;
  flags = 0;
  /** Fixed offset of a pointer (bytes). */
  off = 0;
  varOff: Tnum = TNUM_UNKNOWN;
  smin: bigint = S64_MIN;
  smax: bigint = S64_MAX;
  umin: bigint = 0n;
  umax: bigint = U64;
  s32min = S32_MIN;
  s32max = S32_MAX;
  u32min = 0;
  u32max = U32_MAX;
  /** Ties copies together: null checks and packet range checks update every register with the same id. */
  id = 0;
  refObjId = 0;
  /** Packet pointers: bytes proven accessible from the packet start plus the variable part. */
  range = 0;
  /** Map pointers and map values: index into the program's maps. */
  mapIndex = -1;
  /** PTR_TO_MEM: size of the memory. */
  memSize = 0;
  /** PTR_TO_STACK: the frame the pointer points into. PTR_TO_FUNC: the subprogram's first insn. */
  frameno = 0;
  /** Scalars: the exact range matters (see precision.ts); imprecise scalars match any scalar when pruning. */
  precise = false;
  /** PTR_TO_BTF_ID: the kernel type pointed to (kfuncs-btf.ts type id, 0 = none). Iterator stack slots: the iterator kind. */
  btfType = 0;
  /** Iterator stack slots (iter.ts): 1 active, 2 drained; 0 for anything else. */
  iterState = 0;
  /** Iterator stack slots: iterations walked so far (not compared when pruning, as in the kernel). */
  iterDepth = 0;

  clone(): RegState {
    const r = new RegState();
    r.copyFrom(this);
    return r;
  }

  copyFrom(o: RegState): void {
    this.type = o.type;
    this.flags = o.flags;
    this.off = o.off;
    this.varOff = o.varOff;
    this.smin = o.smin;
    this.smax = o.smax;
    this.umin = o.umin;
    this.umax = o.umax;
    this.s32min = o.s32min;
    this.s32max = o.s32max;
    this.u32min = o.u32min;
    this.u32max = o.u32max;
    this.id = o.id;
    this.refObjId = o.refObjId;
    this.range = o.range;
    this.mapIndex = o.mapIndex;
    this.memSize = o.memSize;
    this.frameno = o.frameno;
    this.precise = o.precise;
    this.btfType = o.btfType;
    this.iterState = o.iterState;
    this.iterDepth = o.iterDepth;
  }

  isPointer(): boolean {
    return this.type !== RegType.SCALAR && this.type !== RegType.NOT_INIT;
  }

  isConst(): boolean {
    return tnumIsConst(this.varOff);
  }
}

/** Reset everything but the type: no ids, unknown bounds. */
function resetCommon(r: RegState): void {
  r.flags = 0;
  r.off = 0;
  r.id = 0;
  r.refObjId = 0;
  r.range = 0;
  r.mapIndex = -1;
  r.memSize = 0;
  r.frameno = 0;
  r.precise = false;
  r.btfType = 0;
  r.iterState = 0;
  r.iterDepth = 0;
}

export function markUnbounded(r: RegState): void {
  r.smin = S64_MIN;
  r.smax = S64_MAX;
  r.umin = 0n;
  r.umax = U64;
  r.s32min = S32_MIN;
  r.s32max = S32_MAX;
  r.u32min = 0;
  r.u32max = U32_MAX;
}

export function mark64Unbounded(r: RegState): void {
  r.smin = S64_MIN;
  r.smax = S64_MAX;
  r.umin = 0n;
  r.umax = U64;
}

export function mark32Unbounded(r: RegState): void {
  r.s32min = S32_MIN;
  r.s32max = S32_MAX;
  r.u32min = 0;
  r.u32max = U32_MAX;
}

export function markNotInit(r: RegState): void {
  resetCommon(r);
  r.type = RegType.NOT_INIT;
  r.varOff = TNUM_UNKNOWN;
  markUnbounded(r);
}

export function markUnknown(r: RegState): void {
  resetCommon(r);
  r.type = RegType.SCALAR;
  r.varOff = TNUM_UNKNOWN;
  markUnbounded(r);
}

const knownWide = new BigUint64Array(1);
const knownSigned = new BigInt64Array(knownWide.buffer);
const knownHalf = new Uint32Array(knownWide.buffer);

/** Set all bounds to the constant v (taken modulo 2^64). */
export function markKnown(r: RegState, v: bigint): void {
  // (Through a typed-array scratch: the common constants need no new BigInt at all.)
  knownWide[0] = v;
  const u = v >= 0n && v <= U64 ? v : knownWide[0]!;
  r.varOff = { value: u, mask: 0n };
  r.umin = r.umax = u;
  r.smin = r.smax = u <= S64_MAX ? u : knownSigned[0]!;
  const lo = knownHalf[HALF_LO]!;
  r.u32min = r.u32max = lo;
  r.s32min = r.s32max = lo | 0;
}

export function markConstScalar(r: RegState, v: bigint): void {
  resetCommon(r);
  r.type = RegType.SCALAR;
  markKnown(r, v);
}

/** A pointer of the given type with no variable part. */
export function markPointer(r: RegState, type: RegType, flags = 0): void {
  resetCommon(r);
  r.type = type;
  r.flags = flags;
  markKnown(r, 0n);
}

export function isNullConst(r: RegState): boolean {
  return r.type === RegType.SCALAR && tnumIsConst(r.varOff) && r.varOff.value === 0n;
}

export function isPacketPointer(t: RegType): boolean {
  return t === RegType.PTR_TO_PACKET || t === RegType.PTR_TO_PACKET_META;
}

// ---- printing (the kernel's print_reg_state) ----------------------------------

/** Kernel's verbose_snum: decimal for small values, hex otherwise. */
export function snum(v: bigint): string {
  if (v >= -512n && v <= 512n) return v.toString();
  return v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
}

export function unum(v: bigint): string {
  return v <= 512n ? v.toString() : `0x${v.toString(16)}`;
}

function scalarRanges(r: RegState, parts: string[]): void {
  const m: { name: string; val: bigint; omit: boolean }[] = [
    { name: 'smin', val: r.smin, omit: r.smin === S64_MIN },
    { name: 'smax', val: r.smax, omit: r.smax === S64_MAX },
    { name: 'umin', val: r.umin, omit: r.umin === 0n },
    { name: 'umax', val: r.umax, omit: r.umax === U64 },
    { name: 'smin32', val: BigInt(r.s32min), omit: r.s32min === S32_MIN },
    { name: 'smax32', val: BigInt(r.s32max), omit: r.s32max === S32_MAX },
    { name: 'umin32', val: BigInt(r.u32min), omit: r.u32min === 0 },
    { name: 'umax32', val: BigInt(r.u32max), omit: r.u32max === U32_MAX },
  ];
  // Print equal bounds of the same signedness together, like the kernel: smin=umin=0.
  const asU = (x: { name: string; val: bigint }): bigint => BigInt.asUintN(64, x.val);
  for (let i = 0; i < m.length; i++) {
    const a = m[i]!;
    if (a.omit) continue;
    const neg1 = a.name[0] === 's' && a.val < 0n;
    let s = `${a.name}=`;
    for (let j = i + 2; j < m.length; j += 2) {
      const b = m[j]!;
      if (b.omit) continue;
      const neg2 = b.name[0] === 's' && b.val < 0n;
      if (neg1 !== neg2 || asU(a) !== asU(b)) continue;
      s += `${b.name}=`;
      b.omit = true;
    }
    parts.push(s + (neg1 ? snum(a.val) : unum(asU(a))));
  }
}

/** "ctx()", "fp-8", "42", "scalar(smin=0,...)", "map_value(ks=4,vs=8)", "pkt(off=14,r=14)". */
export function formatReg(r: RegState, curFrame: number, mapSizes?: (idx: number) => { keySize: number; valueSize: number } | undefined): string {
  if (r.type === RegType.SCALAR && tnumIsConst(r.varOff)) return snum(BigInt.asIntN(64, r.varOff.value));
  let s = regTypeName(r.type, r.flags);
  // A kernel object pointer names its struct: trusted_ptr_task_struct(...)
  if (r.type === RegType.PTR_TO_BTF_ID) s += btfTypeRef(r.btfType)?.name ?? '';
  if (r.type === RegType.PTR_TO_STACK) {
    if (r.frameno !== curFrame) s += `[${r.frameno}]`;
    if (tnumIsConst(r.varOff)) return s + snum(BigInt.asIntN(64, r.varOff.value) + BigInt(r.off));
  }
  const parts: string[] = [];
  if (r.id) parts.push(`id=${r.id}`);
  if (r.refObjId) parts.push(`ref_obj_id=${r.refObjId}`);
  if (r.type !== RegType.SCALAR && r.off) parts.push(`off=${r.off}`);
  if (isPacketPointer(r.type)) parts.push(`r=${r.range}`);
  if (r.type === RegType.PTR_TO_MEM && r.memSize) parts.push(`sz=${r.memSize}`);
  if ((r.type === RegType.CONST_PTR_TO_MAP || r.type === RegType.PTR_TO_MAP_VALUE || r.type === RegType.PTR_TO_MAP_KEY) && mapSizes) {
    const m = mapSizes(r.mapIndex);
    if (m) parts.push(`ks=${m.keySize},vs=${m.valueSize}`);
  }
  if (tnumIsConst(r.varOff)) {
    if (r.varOff.value) parts.push(`imm=${r.varOff.value.toString(16)}`);
  } else {
    scalarRanges(r, parts);
    if (!tnumIsUnknown(r.varOff)) parts.push(`var_off=${tnumString(r.varOff)}`);
  }
  return `${s}(${parts.join(',')})`;
}

// ---- comparison for state pruning (the kernel's range_within / regsafe) ----------

/** Is every value allowed by cur also allowed by old? */
export function rangeWithin(old: RegState, cur: RegState): boolean {
  return (
    old.umin <= cur.umin && old.umax >= cur.umax && old.smin <= cur.smin && old.smax >= cur.smax &&
    old.u32min <= cur.u32min && old.u32max >= cur.u32max && old.s32min <= cur.s32min && old.s32max >= cur.s32max
  );
}

export function scalarWithin(old: RegState, cur: RegState): boolean {
  return rangeWithin(old, cur) && tnumIn(old.varOff, cur.varOff);
}

export function sameBounds(a: RegState, b: RegState): boolean {
  return (
    tnumEquals(a.varOff, b.varOff) && a.smin === b.smin && a.smax === b.smax && a.umin === b.umin && a.umax === b.umax &&
    a.s32min === b.s32min && a.s32max === b.s32max && a.u32min === b.u32min && a.u32max === b.u32max
  );
}

export { U32 };
