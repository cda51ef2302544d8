// Loads and stores through pointers (the kernel's check_mem_access): the
// rules per pointer type (ctx fields, stack bounds and alignment, map value
// bounds with variable offsets, packet ranges proven by comparisons, ring
// buffer memory) and the register a load produces.

import {
  RegState, RegType, RegFlag, markUnknown, markPointer, markConstScalar, regTypeName, isPacketPointer,
} from './reg-state.js';
import { coerceToSize, coerceToSizeSx } from './bounds.js';
import { tnumIsConst, tnumString, tnumIsAligned, tnumAdd, tnumConst, type Tnum } from './tnum.js';
import { reject, type Env, type MapInfo } from './env.js';
import { BPF_MAP_TYPE } from '../internal/uapi.gen.js';
import { BPF_F_RDONLY_PROG } from '../maps/spec.js';
import { stackReadFixed, stackReadVar, stackWriteFixed, stackWriteMisc, stackWriteVar } from './stack.js';
import { checkCtxAccess } from '../progtypes/ctx.js';
import { sockAccessOk } from '../progtypes/sock.js';
import { mapReadonly, mapWriteonly } from './helpers-check.js';
import { TAG_UNKNOWN } from './precision.js';
import { STACK_SIZE } from '../isa/fields.js';
import { checkBtfAccess } from './kfuncs-btf.js';
import { checkMapPtrAccess } from './map-ptr.js';
import { checkTracingCtxLoad } from './tracing-ctx.js';
import { checkArenaAccess } from './arena.js';
import { checkLockOverlap } from './critical.js';

/** BPF_MAX_VAR_OFF: variable offsets must stay below 2^29. */
export const MAX_VAR_OFF = 1 << 29;

export interface Access {
  /** Register number of the pointer. */
  regno: number;
  /** Instruction offset. */
  off: number;
  size: number;
  write: boolean;
  /** Load: destination register; store: the stored register (undefined for ST imm). */
  value?: RegState;
  /** Load: the destination register number (for messages). */
  valueRegno?: number;
  imm?: number;
  signExtend?: boolean;
  /** Atomic read-modify-write on the stack (both read and write rules apply). */
  atomic?: boolean;
  /** Natural alignment required whatever the program's flags (atomics: the kernel's strict_alignment_once). */
  aligned?: boolean;
}

function mapValueSize(env: Env, r: RegState): number {
  return env.maps[r.mapIndex]?.valueSize ?? 0;
}

/**
 * Check that [r.off + off + var part, + size) lies in [0, memSize): the
 * kernel's check_mem_region_access with its three messages.
 */
export function checkMemRegion(env: Env, regno: number, r: RegState, off: number, size: number, memSize: number, zeroOk: boolean, what: (o: number) => string): void {
  const inRange = (o: bigint): boolean => o >= 0n && (size > 0 || (size === 0 && zeroOk)) && o + BigInt(size) <= BigInt(memSize);
  const o0 = BigInt(off);
  if (r.smin < 0n && (r.smin <= -(1n << 31n) || r.smin + o0 < 0n)) {
    reject(`R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`);
  }
  if (!inRange(r.smin + o0)) {
    env.log.line(what(Number(r.smin + o0)));
    reject(`R${regno} min value is outside of the allowed memory range`);
  }
  if (r.umax >= BigInt(MAX_VAR_OFF)) reject(`R${regno} unbounded memory access, make sure to bounds check any such access`);
  if (!inRange(r.umax + o0)) {
    env.log.line(what(Number(r.umax + o0)));
    reject(`R${regno} max value is outside of the allowed memory range`);
  }
}

function checkMapAccess(env: Env, a: Access, r: RegState): void {
  const vs = mapValueSize(env, r);
  const off = a.off + r.off;
  checkMemRegion(env, a.regno, r, off, a.size, vs, false, (o) => `invalid access to map value, value_size=${vs} off=${o} size=${a.size}`);
  checkLockOverlap(env, r, off, a.size);
}

/**
 * The kernel's bpf_map_is_rdonly: BPF_F_RDONLY_PROG and frozen, so the
 * contents can never change after the check; only arrays expose them
 * (map_direct_value_addr).
 */
function isDirectReadable(m: MapInfo): boolean {
  return m.readonly === true && ((m.flags ?? 0) & BPF_F_RDONLY_PROG) !== 0 && m.type === BPF_MAP_TYPE['array'];
}

/**
 * A load from a read-only array at a constant offset is that constant (the
 * kernel's bpf_map_direct_read), which is what lets programs branch on
 * .rodata settings. The kernel reads only single-entry arrays and refuses
 * the load otherwise (-EOPNOTSUPP, no log line).
 */
function markDirectRead(a: Access, m: MapInfo, off: number): void {
  if (m.maxEntries !== 1) reject(`direct read of read-only map '${m.name ?? '?'}' with ${m.maxEntries} entries: the kernel reads only single-entry arrays (EOPNOTSUPP)`);
  const v = a.value!;
  if (m.values === undefined || off + a.size > m.values.length) {
    markUnknown(v);
    return;
  }
  let u = 0n;
  for (let i = a.size - 1; i >= 0; i--) u = (u << 8n) | BigInt(m.values[off + i]!);
  markConstScalar(v, a.signExtend ? BigInt.asIntN(a.size * 8, u) : u);
}

function checkStackAccess(env: Env, a: Access, r: RegState): void {
  const frame = env.state.frames[r.frameno]!;
  const off = a.off + r.off;
  const what = a.write ? ' write to' : ' read from';
  void what;
  // Stack accesses must be aligned to their size (the spill tracking relies on it).
  const total = tnumAdd(r.varOff, tnumConst(BigInt(off)));
  if (!tnumIsAligned(total, a.size)) {
    reject(`misaligned stack access off ${varOffString(r.varOff)}+${r.off}+${a.off} size ${a.size}`);
  }
  if (tnumIsConst(r.varOff)) {
    const o = off + Number(BigInt.asIntN(64, r.varOff.value));
    if (o < -STACK_SIZE || o + a.size > 0) reject(`invalid ${a.write ? 'write to' : 'read from'} stack R${a.regno} off=${o} size=${a.size}`);
    env.stackTag = r.frameno === env.state.frames.length - 1 ? ((STACK_SIZE + o) >> 3) + 1 : TAG_UNKNOWN;
    if (a.atomic) {
      // Read (a fetch sees the old value, spills included), then the bytes become data.
      stackReadFixed(env, frame, o, a.size, a.value);
      stackWriteMisc(frame, o, a.size);
      return;
    }
    if (a.write) stackWriteFixed(env, frame, o, a.size, a.value, a.imm ?? 0);
    else stackReadFixed(env, frame, o, a.size, a.value);
    return;
  }
  if (r.smax >= BigInt(MAX_VAR_OFF) || r.smin <= -BigInt(MAX_VAR_OFF)) {
    reject(`invalid unbounded variable-offset ${a.write ? 'write to' : 'read from'} stack R${a.regno}`);
  }
  env.stackTag = TAG_UNKNOWN;
  const minOff = Number(r.smin) + off;
  const maxOff = Number(r.smax) + off + a.size;
  if (minOff < -STACK_SIZE || maxOff > 0) {
    reject(`invalid variable-offset ${a.write ? 'write to' : 'read from'} stack R${a.regno} var_off=${tnumString(r.varOff)} off=${off} size=${a.size}`);
  }
  if (a.write) {
    if (a.value && a.value.isPointer() && !env.privileged) reject(`R${a.regno} variable stack access prohibited for !root`);
    stackWriteVar(env, frame, minOff, maxOff, a.value, a.imm ?? 0);
  } else {
    stackReadVar(env, frame, minOff, maxOff, a.value);
  }
}

function checkCtx(env: Env, a: Access, r: RegState): void {
  if (r.off < 0) reject(`negative offset ctx ptr R${a.regno} off=${r.off} disallowed`);
  if (r.off) reject(`dereference of modified ctx ptr R${a.regno} off=${r.off} disallowed`);
  if (!tnumIsConst(r.varOff) || r.varOff.value !== 0n) reject(`variable ctx access var_off=${tnumString(r.varOff)} disallowed`);
  if (a.atomic) reject(`BPF_ATOMIC stores into R${a.regno} ctx is not allowed`);
  checkAlignment(env, a, r, 'context ');
  if (a.signExtend && env.ctx.signExtendLoads !== true) reject(`invalid bpf_context access off=${a.off} size=${a.size}`);
  const tc = env.opts.tracingCtx;
  if (tc !== undefined && env.opts.ctxSize === undefined) {
    checkTracingCtxLoad(env, tc, a.off, a.size, a.write, a.write ? undefined : a.value);
    noteCtxAccess(env, a.off, a.size);
    return;
  }
  const res = checkCtxAccess(env.ctx, a.off, a.size, a.write);
  if (!res.ok) reject(`invalid bpf_context access off=${a.off} size=${a.size}`);
  noteCtxAccess(env, a.off, a.size);
  if (a.write && a.value && a.value.isPointer() && !env.privileged) reject(`R${a.valueRegno} leaks addr into ctx`);
  if (!a.write && a.value) {
    const p = res.field.ptr;
    if (p === 'pkt' || p === 'pkt_end' || p === 'pkt_meta') {
      markPointer(a.value, p === 'pkt' ? RegType.PTR_TO_PACKET : p === 'pkt_end' ? RegType.PTR_TO_PACKET_END : RegType.PTR_TO_PACKET_META);
      a.value.id = 0;
      a.value.range = 0;
      return;
    }
    if (p === 'sock_common_or_null') {
      markPointer(a.value, RegType.PTR_TO_SOCK_COMMON, RegFlag.MAYBE_NULL);
      a.value.id = ++env.nextId;
      return;
    }
    markUnknown(a.value);
  }
}

/** The kernel's check_ctx_access remembers the furthest byte of every access it allows (aux->max_ctx_offset). */
function noteCtxAccess(env: Env, off: number, size: number): void {
  if (off + size > env.maxCtxOffset) env.maxCtxOffset = off + size;
}

function checkPacket(env: Env, a: Access, r: RegState): void {
  const mode = env.ctx.packet;
  if (mode === 'none' || (a.write && mode === 'read')) {
    reject(a.write ? 'cannot write into packet' : `invalid access to packet`);
  }
  if (a.write && a.value && a.value.isPointer() && !env.privileged) reject(`R${a.valueRegno} leaks addr into packet`);
  if (env.opts.strictAlignment || a.aligned === true) {
    const t = tnumAdd(r.varOff, tnumConst(BigInt(2 + r.off + a.off)));
    if (!tnumIsAligned(t, a.size)) reject(`misaligned packet access off 2+${varOffString(r.varOff)}+${r.off}+${a.off} size ${a.size}`);
  }
  const off = a.off + r.off;
  if (r.smin < 0n) reject(`R${a.regno} min value is negative, either use unsigned index or do a if (index >=0) check.`);
  if (off < 0 || a.size <= 0 || off + a.size > r.range) {
    env.log.line(`invalid access to packet, off=${off} size=${a.size}, R${a.regno}(id=${r.id},off=${off},r=${r.range})`);
    reject(`R${a.regno} offset is outside of the packet`);
  }
  if (!a.write && a.value) markUnknown(a.value);
}

function checkMem(env: Env, a: Access, r: RegState): void {
  if (a.write && r.flags & RegFlag.RDONLY) reject(`R${a.regno} cannot write into ${regTypeName(r.type, r.flags)}`);
  checkAlignment(env, a, r, '');
  const off = a.off + r.off;
  const what = (o: number): string => `invalid access to memory, mem_size=${r.memSize} off=${o} size=${a.size}`;
  checkMemRegion(env, a.regno, r, off, a.size, r.memSize, false, what);
  if (!a.write && a.value) markUnknown(a.value);
}

/** Socket loads (check_sock_access): the field rules of struct bpf_sock / bpf_tcp_sock (src/progtypes/sock.ts). */
function checkSock(a: Access, r: RegState): void {
  if (a.write) reject(`R${a.regno} cannot write into ${regTypeName(r.type, r.flags)}`);
  if (r.smin < 0n) reject(`R${a.regno} min value is negative, either use unsigned index or do a if (index >=0) check.`);
  const kind = r.type === RegType.PTR_TO_SOCK_COMMON ? 'sock_common' : r.type === RegType.PTR_TO_SOCKET ? 'sock' : 'tcp_sock';
  const off = a.off + r.off;
  if (!sockAccessOk(kind, off, a.size)) reject(`R${a.regno} invalid ${regTypeName(r.type, r.flags)} access off=${off} size=${a.size}`);
  if (a.value) markUnknown(a.value);
}

/** The variable part of an offset in alignment messages: a constant prints as its value (6.18: `off 0+0+4`). */
function varOffString(t: Tnum): string {
  return tnumIsConst(t) ? BigInt.asIntN(64, t.value).toString() : tnumString(t);
}

/** With BPF_F_STRICT_ALIGNMENT, accesses through ctx, map values and memory must be aligned to their size. */
function checkAlignment(env: Env, a: Access, r: RegState, desc: string): void {
  if (!env.opts.strictAlignment && a.aligned !== true) return;
  const t = tnumAdd(r.varOff, tnumConst(BigInt(r.off + a.off)));
  if (!tnumIsAligned(t, a.size)) reject(`misaligned ${desc}access off ${varOffString(r.varOff)}+${r.off}+${a.off} size ${a.size}`);
}

/** Check one load, store or atomic through register a.regno, and set the loaded register. */
export function checkMemAccess(env: Env, a: Access): void {
  const r = env.state.cur.regs[a.regno]!;
  if (r.type === RegType.NOT_INIT) reject(`R${a.regno} !read_ok`);
  if (r.flags & RegFlag.MAYBE_NULL) reject(`R${a.regno} invalid mem access '${regTypeName(r.type, r.flags)}'`);
  // The stored value is copied before the destination may be overwritten (e.g. r1 = *(u64 *)(r1 + 0)).
  const ptr = r.clone();
  switch (r.type) {
    case RegType.PTR_TO_MAP_VALUE: {
      const m = env.maps[r.mapIndex];
      if (a.write && mapReadonly(m)) reject(`write into map forbidden, value_size=${m!.valueSize} off=${a.off + r.off} size=${a.size}`);
      if (!a.write && mapWriteonly(m)) reject(`read from map forbidden, value_size=${m!.valueSize} off=${a.off + r.off} size=${a.size}`);
      checkAlignment(env, a, ptr, 'value ');
      if (a.write && a.value && a.value.isPointer() && !env.privileged) reject(`R${a.valueRegno} leaks addr into map`);
      checkMapAccess(env, a, ptr);
      if (!a.write && a.value) {
        if (m && isDirectReadable(m) && tnumIsConst(ptr.varOff)) markDirectRead(a, m, a.off + ptr.off + Number(ptr.varOff.value));
        else markUnknown(a.value);
      }
      break;
    }
    case RegType.PTR_TO_STACK:
      checkStackAccess(env, a, ptr);
      break;
    case RegType.PTR_TO_CTX:
      checkCtx(env, a, ptr);
      break;
    case RegType.PTR_TO_PACKET:
    case RegType.PTR_TO_PACKET_META:
      checkPacket(env, a, ptr);
      break;
    case RegType.PTR_TO_MEM:
      checkMem(env, a, ptr);
      break;
    case RegType.PTR_TO_SOCK_COMMON:
    case RegType.PTR_TO_SOCKET:
    case RegType.PTR_TO_TCP_SOCK:
      checkSock(a, ptr);
      break;
    case RegType.PTR_TO_FLOW_KEYS:
    case RegType.PTR_TO_BTF_ID:
      // Kernel objects from kfuncs and bpf_get_current_task_btf: fields by BTF (kfuncs-btf.ts).
      if (r.type === RegType.PTR_TO_BTF_ID && r.btfType !== 0) {
        checkBtfAccess(env, a.regno, ptr, a.off, a.size, a.write, a.write ? undefined : a.value);
        break;
      }
      if (a.write) reject(`R${a.regno} cannot write into ${regTypeName(r.type, r.flags)}`);
      if (!a.write && a.value) markUnknown(a.value);
      break;
    case RegType.CONST_PTR_TO_MAP:
      // The kernel's struct for the map, by the kernel's BTF (map-ptr.ts).
      checkMapPtrAccess(env, a.regno, ptr, a.off, a.size, a.write, a.write ? undefined : a.value);
      break;
    case RegType.PTR_TO_ARENA:
      // Any offset: the engines confine it to the arena (arena.ts).
      checkArenaAccess(env, a.write, a.value);
      break;
    default:
      reject(`R${a.regno} invalid mem access '${regTypeName(r.type, r.flags)}'`);
  }
  // Narrow loads zero- or sign-extend.
  if (!a.write && a.value && a.value.type === RegType.SCALAR && a.size < 8) {
    if (a.signExtend) coerceToSizeSx(a.value, a.size);
    else coerceToSize(a.value, a.size);
  }
}

export { isPacketPointer };
