// Classic BPF -> eBPF, the way Linux runs classic filters (bpf_convert_filter
// in net/core/filter.c), but with direct packet access instead of the
// legacy LD_ABS/LD_IND instructions: every packet load is an explicit bounds
// check against data_end followed by an ordinary load and a byte swap, as a
// modern eBPF program (tc, XDP) is written. That form needs no helper and no
// special interpreter support, and it is what the JIT compiles best.
//
// Registers:
//   r0 = A (always kept zero-extended, so `ret a` is just `exit`)
//   r7 = X
//   r6 = ctx (r1 on entry)
//   r8 = packet data, r9 = packet data_end (socket filters)
//   r2, r3 = scratch
//   M[i] = *(u32 *)(r10 - 64 + 4*i)
// All classic arithmetic is 32-bit (ALU32) and compares use JMP32, so a
// constant k with the top bit set compares as the unsigned 32-bit value.
//
// Context of socket filters: `struct __sk_buff` (the tc layout), of which
// the translation reads
//    0 len          wire length (`ld #pktlen`)
//    4 pkt_type     SKF_AD_PKTTYPE
//    8 mark         SKF_AD_MARK
//   12 queue_mapping SKF_AD_QUEUE
//   16 protocol     SKF_AD_PROTOCOL (network byte order, as in the kernel)
//   20 vlan_present SKF_AD_VLAN_TAG_PRESENT
//   24 vlan_tci     SKF_AD_VLAN_TAG
//   28 vlan_proto   SKF_AD_VLAN_TPID (network byte order)
//   40 ifindex      SKF_AD_IFINDEX
//   68 hash         SKF_AD_RXHASH
//   76 data         32-bit address of the first captured byte
//   80 data_end     32-bit address just past the last captured byte
// SKF_AD_HATYPE is a constant of the translation (`hatype`, the capture's
// ARPHRD type) and SKF_AD_CPU is 0. Ancillary loads that need kernel
// helpers (NLATTR, NLATTR_NEST, PAY_OFFSET, RANDOM) are refused.
//
// Out-of-packet loads end the filter with 0, as in the kernel and libpcap.
// Packet offsets are limited to MAX_PACKET_OFF (64 KiB - 1, the eBPF
// verifier's limit for packet pointers): a load reaching past it returns 0
// even in a bigger packet. Indexed loads wrap X + k at 32 bits and a sum
// that is negative as a signed number addresses the SKF_LL_OFF/SKF_NET_OFF
// areas, as in the kernel (libpcap's bpf_filter would instead fail such
// loads); test/cbpf/kernel-oracle.test.ts checks this against Linux.
//
// Backward jumps (libpcap's dialect, see check.ts: `protochain` walks the
// extension headers in a loop) become real eBPF loops with a structural
// bound: before the first instruction a budget of LOOP_BUDGET rounds is
// stored in a stack word below M[], and every backward `ja` first takes one
// round from it, ending the filter with 0 when none is left. The bound is
// enforced by the code itself, so it holds where nothing verifies the
// translation (ClassicFilter and the scan driver run it as trusted). Such a
// translation does not pass the verifier (nor would it pass the kernel's):
// X takes a new range every round and the budget is a new constant, so no
// state prunes and the walk hits the 8192 pending-branch limit; that is why
// the bound must not depend on verification.
//
// Seccomp filters get `struct seccomp_data` as ctx; `ld [k]` is a plain
// 32-bit ctx load (the checker has made sure it is aligned and inside).

import { ClassicError } from './errors.js';
import { checkClassic, SECCOMP_DATA_SIZE, type ClassicMode } from './check.js';
import {
  BPF_ALU_OP,
  BPF_JMP_OP,
  COp,
  SKF_AD,
  SKF_AD_OFF,
  SKF_LL_OFF,
  SKF_NET_OFF,
  classicDef,
  opOf,
  type ClassicInsn,
  type ClassicProgram,
} from './insn.js';
import { UnsupportedError } from '../internal/errors.js';
import { Shape, encodeSlots } from '../isa/index.js';
import { SKB, SKB_SIZE } from '../progtypes/skb-layout.js';
import { Emitter, FAIL, O, RESULT, R_A, R_CTX, R_DATA, R_END, R_FP, R_T1, R_T2, R_X, opc, withFarRetry } from './ebpf-emitter.js';

/** struct __sk_buff: one layout, owned by src/progtypes. */
export { SKB, SKB_SIZE };
/** Packet bytes beyond this offset are never read (the verifier's MAX_PACKET_OFF). */
export const MAX_PACKET_OFF = 0xffff;
/** Where M[0] lives, relative to the frame pointer. */
export const SCRATCH_OFF = -64;
/** Where the loop budget lives (a u32 just below M[]), for programs with backward jumps. */
export const LOOP_BUDGET_OFF = SCRATCH_OFF - 8;
/**
 * Backward jumps one packet may take. libpcap's loops (protochain) advance
 * X through the packet by at least 8 bytes a round (the smallest IPv6
 * extension header) and load at X each round; packet offsets stop at
 * MAX_PACKET_OFF, where the load fails and ends the filter anyway, so such a
 * loop never needs more than (MAX_PACKET_OFF + 1) / 8 = 8192 rounds and the
 * bound never changes its result. A loop that does not advance ends here
 * with 0 instead of never: libpcap's AH step sets X from the AH length alone
 * and can revisit the same header forever (libpcap itself then hangs).
 */
export const LOOP_BUDGET = (MAX_PACKET_OFF + 1) / 8;

export interface TranslateOptions {
  /** Socket filter (default) or seccomp filter. */
  mode?: ClassicMode;
  /** ARPHRD_* value returned by SKF_AD_HATYPE (default 1, ARPHRD_ETHER). */
  hatype?: number;
  /** Offset of the network header, for loads relative to SKF_NET_OFF. Without it such loads are refused. */
  netOffset?: number;
  /** Run the classic checker first (default true). */
  check?: boolean;
  /** Allow backward `ja` (libpcap's dialect). Default: whether the program is marked as libpcap's (check.ts). */
  backwardJumps?: boolean;
}

export interface Translation {
  /** The eBPF program, little-endian, 8 bytes per slot. */
  readonly ebpf: Uint8Array;
  /** Number of eBPF slots. */
  readonly slots: number;
  /** Classic pc -> index of its first eBPF slot; -1 for unreachable classic instructions (not translated). */
  readonly pcMap: Int32Array;
  /** Index of the shared `return 0` tail (out-of-packet loads, division by X = 0); -1 when nothing needs it. */
  readonly failSlot: number;
  readonly mode: ClassicMode;
}

/** ALU32 opcode for a classic ALU operation; the K and X forms share the name. */
const ALU_NAME: Readonly<Record<number, string>> = {
  [BPF_ALU_OP.ADD]: 'add32', [BPF_ALU_OP.SUB]: 'sub32', [BPF_ALU_OP.MUL]: 'mul32', [BPF_ALU_OP.DIV]: 'div32',
  [BPF_ALU_OP.OR]: 'or32', [BPF_ALU_OP.AND]: 'and32', [BPF_ALU_OP.LSH]: 'lsh32', [BPF_ALU_OP.RSH]: 'rsh32',
  [BPF_ALU_OP.MOD]: 'mod32', [BPF_ALU_OP.XOR]: 'xor32',
};
/** Classic jump -> eBPF JMP32 name when taken, and the negation used when the true branch falls through. */
const JMP_NAME: Readonly<Record<number, readonly [string, string | undefined]>> = {
  [BPF_JMP_OP.JEQ]: ['jeq32', 'jne32'],
  [BPF_JMP_OP.JGT]: ['jgt32', 'jle32'],
  [BPF_JMP_OP.JGE]: ['jge32', 'jlt32'],
  [BPF_JMP_OP.JSET]: ['jset32', undefined],
};

/**
 * The classic instructions, translated in order. known[pc]: packet bytes
 * [0, known) proven readable on every path into pc. Forward jumps are seen
 * before their target, so one pass in order sees every forward predecessor
 * first; the target of a backward jump (a loop head) assumes nothing is
 * known. A load inside the known range needs no bounds check of its own
 * (the verifier proves it the same way, per path). Unreachable instructions
 * are left out (pcMap -1): the eBPF verifier, like the kernel's, rejects
 * unreachable code, and classic programs often have some (after a ret, or
 * after a load that can never be in the packet).
 */
export function emitBody(e: Emitter, prog: ClassicProgram, mode: ClassicMode, options: TranslateOptions, pcMap: Int32Array): void {
  const live = reachableFrom0(prog, mode, options);
  const loopHeads = backwardTargets(prog);
  if (loopHeads.size > 0) {
    // Before pc 0, so that a loop back to pc 0 does not refill the budget.
    e.emit(O.mov32i, R_T1, 0, 0, LOOP_BUDGET);
    e.emit(O.stxw, R_FP, R_T1, LOOP_BUDGET_OFF, 0);
  }
  const known = new Float64Array(prog.length + 1).fill(-1);
  known[0] = 0;
  for (let pc = 0; pc < prog.length; pc++) {
    if (!live[pc]) {
      pcMap[pc] = -1;
      continue;
    }
    if (loopHeads.has(pc)) known[pc] = 0;
    pcMap[pc] = e.length;
    const out = translateOne(e, prog[pc]!, pc, mode, options, known[pc]!);
    for (const s of successors(prog, pc, mode, options)) known[s] = known[s]! < 0 ? out : Math.min(known[s]!, out);
  }
}

/** Targets of backward jumps (only `ja` can jump backward: jt/jf are unsigned). */
function backwardTargets(prog: ClassicProgram): Set<number> {
  const heads = new Set<number>();
  prog.forEach((ins, pc) => {
    if (classicDef(ins.code)?.op === COp.JA && (ins.k | 0) < 0) heads.add(pc + 1 + (ins.k | 0));
  });
  return heads;
}

/** Instructions some path from pc 0 reaches (a worklist: backward jumps can reach earlier code). */
function reachableFrom0(prog: ClassicProgram, mode: ClassicMode, options: TranslateOptions): Uint8Array {
  const live = new Uint8Array(prog.length);
  const work = [0];
  live[0] = 1;
  while (work.length > 0) {
    for (const s of successors(prog, work.pop()!, mode, options)) {
      if (s < 0 || s >= prog.length) throw new ClassicError(s, 'jump outside the program');
      if (!live[s]) {
        live[s] = 1;
        work.push(s);
      }
    }
  }
  return live;
}

/** Translate a classic program to eBPF. Throws ClassicError (checker, unsupported forms) or UnsupportedError. */
export function translateClassic(prog: ClassicProgram, options: TranslateOptions = {}): Translation {
  const mode = options.mode ?? 'socket';
  if (options.check ?? true) checkClassic(prog, { mode, ...(options.backwardJumps !== undefined && { backwardJumps: options.backwardJumps }) });
  return withFarRetry((far) => {
    const e = new Emitter(false, far);
    const pcMap = new Int32Array(prog.length);

    // Prologue: save ctx, fetch the packet bounds, A = X = 0.
    e.emit(O.mov64r, R_CTX, 1, 0, 0);
    if (mode === 'socket') {
      e.emit(O.ldxw, R_DATA, R_CTX, SKB.data, 0);
      e.emit(O.ldxw, R_END, R_CTX, SKB.data_end, 0);
    }
    e.emit(O.mov32i, R_A, 0, 0, 0);
    e.emit(O.mov32i, R_X, 0, 0, 0);

    emitBody(e, prog, mode, options, pcMap);
    let failSlot = -1;
    if (e.uses(FAIL)) {
      failSlot = e.length;
      e.place(FAIL);
      e.emit(O.mov32i, R_A, 0, 0, 0);
      e.emit(O.exit, 0, 0, 0, 0);
    }
    e.resolve(pcMap);
    return { ebpf: encodeSlots(e.slots), slots: e.length, pcMap, failSlot, mode };
  });
}

/**
 * The packet offset an absolute load reads in a socket filter, undefined for
 * ancillary loads, or -1 when it can never be inside the packet.
 */
function absOffset(k: number, bytes: number, pc: number, options: TranslateOptions): number | undefined {
  const sk = k | 0;
  let off: number;
  if (sk >= 0) off = k;
  else if (sk >= SKF_AD_OFF) return undefined;
  else if (sk >= SKF_NET_OFF) {
    if (options.netOffset === undefined) throw new UnsupportedError(`classic instruction ${pc}: load relative to the network header (SKF_NET_OFF) needs the netOffset option`);
    off = options.netOffset + (sk - SKF_NET_OFF);
  } else if (sk >= SKF_LL_OFF) off = sk - SKF_LL_OFF; // the link-layer header is where the captured packet starts
  else return -1;
  return off + bytes > MAX_PACKET_OFF ? -1 : off;
}

/** Where control can go after the instruction at pc: nowhere after a ret or a load that can never be in the packet. */
function successors(prog: ClassicProgram, pc: number, mode: ClassicMode, options: TranslateOptions): readonly number[] {
  const ins = prog[pc]!;
  const d = classicDef(ins.code);
  if (d === undefined) throw new ClassicError(pc, `unknown opcode 0x${ins.code.toString(16)}`);
  switch (d.op) {
    case COp.RET_K:
    case COp.RET_A:
    case COp.RET_X:
      return [];
    case COp.JA:
      return [pc + 1 + (ins.k | 0)];
    case COp.JMP_K:
    case COp.JMP_X:
      return [pc + 1 + ins.jt, pc + 1 + ins.jf];
    case COp.LD_W_ABS:
    case COp.LD_H_ABS:
    case COp.LD_B_ABS:
      return mode === 'socket' && absOffset(ins.k >>> 0, d.bytes, pc, options) === -1 ? [] : [pc + 1];
    case COp.LDX_B_MSH:
      return mode === 'socket' && mshOffset(ins.k >>> 0, pc, options) < 0 ? [] : [pc + 1];
    default:
      return [pc + 1];
  }
}

/** The packet offset an MSH load reads, or -1 when it can never be inside the packet (no ancillary form). */
function mshOffset(k: number, pc: number, options: TranslateOptions): number {
  const off = absOffset(k, 1, pc, options);
  return off === undefined ? -1 : off;
}

/**
 * A = big-endian load of `bytes` at packet offset X + k, or fail. As in the
 * kernel, the sum wraps at 32 bits, and a sum that is negative as a signed
 * 32-bit number addresses the SKF_LL_OFF / SKF_NET_OFF areas.
 */
function emitIndLoad(e: Emitter, k: number, bytes: number, options: TranslateOptions): void {
  const last = MAX_PACKET_OFF - bytes; // largest offset a load of this size may start at
  const inPacket = e.label();
  const check = e.label();
  const net = e.label();
  // w2 = X + k (32-bit, wrapping); zero-extended, so r2 is a bounded scalar for the verifier
  e.emit(O.mov32r, R_T1, R_X, 0, 0);
  if (k !== 0) e.emit(O.add32i, R_T1, 0, 0, k);
  e.jump(O.jle64i, R_T1, 0, last, inPacket);
  // Not a plain offset: positive but too far, or one of the negative areas.
  e.cjump(O.jsge32i, O.jslt32i, R_T1, 0, 0, FAIL);
  e.cjump(O.jslt32i, O.jsge32i, R_T1, 0, SKF_LL_OFF, FAIL);
  e.jump(O.jsge32i, R_T1, 0, SKF_NET_OFF, net);
  e.emit(O.add32i, R_T1, 0, 0, -SKF_LL_OFF); // link layer: the start of the packet
  e.jump(O.ja, 0, 0, 0, check);
  e.place(net);
  if (options.netOffset === undefined) e.jump(O.ja, 0, 0, 0, FAIL); // no network header offset known: nothing there
  else e.emit(O.add32i, R_T1, 0, 0, options.netOffset - SKF_NET_OFF);
  e.place(check);
  e.cjump(O.jgt64i, O.jle64i, R_T1, 0, last, FAIL);
  e.place(inPacket);
  e.emit(O.add64r, R_T1, R_DATA, 0, 0);
  e.emit(O.mov64r, R_T2, R_T1, 0, 0);
  e.emit(O.add64i, R_T2, 0, 0, bytes);
  e.cjump(O.jgt64r, O.jle64r, R_T2, R_END, 0, FAIL);
  e.emit(LOAD_OPC[bytes]!, R_A, R_T1, 0, 0);
  if (bytes > 1) e.emit(O.be, R_A, 0, 0, bytes * 8);
}

/** Bytes of a packet load of the given classic size. */
const LOAD_OPC: Readonly<Record<number, number>> = { 1: O.ldxb, 2: O.ldxh, 4: O.ldxw };

/**
 * dst = big-endian load of `bytes` at packet offset `off` (a constant), or
 * fail. `known` packet bytes are already proven readable; returns the new
 * known length.
 */
function emitAbsLoad(e: Emitter, dst: number, off: number, bytes: number, known: number): number {
  if (off + bytes > MAX_PACKET_OFF) {
    e.jump(O.ja, 0, 0, 0, FAIL);
    return known;
  }
  const checked = off + bytes > known;
  if (checked) {
    // r2 = data + off + bytes; if r2 > data_end: fail. The verifier learns that
    // [data, data + off + bytes) is readable, so the load below is checked.
    e.emit(O.mov64r, R_T1, R_DATA, 0, 0);
    e.emit(O.add64i, R_T1, 0, 0, off + bytes);
    e.cjump(O.jgt64r, O.jle64r, R_T1, R_END, 0, FAIL);
  }
  // eBPF's offset field is 16-bit signed: far offsets load through r2 instead.
  if (off <= 0x7fff) e.emit(LOAD_OPC[bytes]!, dst, R_DATA, off, 0);
  else {
    if (!checked) {
      e.emit(O.mov64r, R_T1, R_DATA, 0, 0);
      e.emit(O.add64i, R_T1, 0, 0, off + bytes);
    }
    e.emit(LOAD_OPC[bytes]!, dst, R_T1, -bytes, 0);
  }
  if (bytes > 1) e.emit(O.be, dst, 0, 0, bytes * 8);
  return checked ? off + bytes : known;
}

/** Emit one classic instruction; returns the packet bytes known readable after it (see emitBody). */
function translateOne(e: Emitter, ins: ClassicInsn, pc: number, mode: ClassicMode, options: TranslateOptions, known: number): number {
  const d = classicDef(ins.code);
  if (d === undefined) throw new ClassicError(pc, `unknown opcode 0x${ins.code.toString(16)}`);
  const k = ins.k >>> 0;
  switch (d.op) {
    case COp.LD_W_ABS:
    case COp.LD_H_ABS:
    case COp.LD_B_ABS:
      if (mode === 'seccomp') {
        e.emit(O.ldxw, R_A, R_CTX, k, 0);
        return known;
      }
      return emitAbs(e, k, d.bytes, pc, options, known);
    case COp.LD_W_IND:
    case COp.LD_H_IND:
    case COp.LD_B_IND:
      emitIndLoad(e, k, d.bytes, options);
      return known;
    case COp.LD_W_LEN:
    case COp.LDX_W_LEN: {
      const dst = d.op === COp.LD_W_LEN ? R_A : R_X;
      if (mode === 'seccomp') e.emit(O.mov32i, dst, 0, 0, SECCOMP_DATA_SIZE);
      else e.emit(O.ldxw, dst, R_CTX, SKB.len, 0);
      return known;
    }
    case COp.LD_IMM:
      e.emit(O.mov32i, R_A, 0, 0, k);
      return known;
    case COp.LDX_IMM:
      e.emit(O.mov32i, R_X, 0, 0, k);
      return known;
    case COp.LD_MEM:
      e.emit(O.ldxw, R_A, R_FP, SCRATCH_OFF + 4 * k, 0);
      return known;
    case COp.LDX_MEM:
      e.emit(O.ldxw, R_X, R_FP, SCRATCH_OFF + 4 * k, 0);
      return known;
    case COp.ST:
      e.emit(O.stxw, R_FP, R_A, SCRATCH_OFF + 4 * k, 0);
      return known;
    case COp.STX:
      e.emit(O.stxw, R_FP, R_X, SCRATCH_OFF + 4 * k, 0);
      return known;
    case COp.LDX_B_MSH: {
      // X = 4 * (P[k] & 0xf), k as for a byte LD ABS (the kernel converts it to one)
      const off = mshOffset(k, pc, options);
      if (off < 0) {
        e.jump(O.ja, 0, 0, 0, FAIL);
        return known;
      }
      const after = emitAbsLoad(e, R_X, off, 1, known);
      e.emit(O.and32i, R_X, 0, 0, 0xf);
      e.emit(O.lsh32i, R_X, 0, 0, 2);
      return after;
    }
    case COp.ALU_K: {
      const aop = opOf(ins.code);
      if ((aop === BPF_ALU_OP.DIV || aop === BPF_ALU_OP.MOD) && k === 0) throw new ClassicError(pc, `${d.name} by constant zero`);
      e.emit(opc(ALU_NAME[aop]!, Shape.AluImm), R_A, 0, 0, k);
      return known;
    }
    case COp.ALU_X: {
      const aop = opOf(ins.code);
      // Classic division by X = 0 ends the filter with 0; eBPF's would go on with 0.
      if (aop === BPF_ALU_OP.DIV || aop === BPF_ALU_OP.MOD) e.cjump(O.jeq32i, O.jne32i, R_X, 0, 0, FAIL);
      e.emit(opc(ALU_NAME[aop]!, Shape.AluReg), R_A, R_X, 0, 0);
      return known;
    }
    case COp.NEG:
      e.emit(O.neg32, R_A, 0, 0, 0);
      return known;
    case COp.JA:
      if ((k | 0) < 0) emitBackJump(e, pc + 1 + (k | 0));
      else if (k !== 0) e.jump(O.ja, 0, 0, 0, pc + 1 + k);
      return known;
    case COp.JMP_K:
    case COp.JMP_X:
      emitCond(e, ins, pc, d.op === COp.JMP_X);
      return known;
    case COp.RET_K:
      e.emit(O.mov32i, R_A, 0, 0, k);
      emitReturn(e);
      return known;
    case COp.RET_A:
      emitReturn(e);
      return known;
    case COp.RET_X:
      e.emit(O.mov32r, R_A, R_X, 0, 0);
      emitReturn(e);
      return known;
    case COp.TAX:
      e.emit(O.mov32r, R_X, R_A, 0, 0);
      return known;
    case COp.TXA:
      e.emit(O.mov32r, R_A, R_X, 0, 0);
      return known;
  }
}

/** A backward `ja`: take one round from the loop budget (none left: the filter returns 0), then jump. */
function emitBackJump(e: Emitter, target: number): void {
  e.emit(O.ldxw, R_T1, R_FP, LOOP_BUDGET_OFF, 0);
  e.cjump(O.jeq32i, O.jne32i, R_T1, 0, 0, FAIL);
  e.emit(O.add32i, R_T1, 0, 0, -1);
  e.emit(O.stxw, R_FP, R_T1, LOOP_BUDGET_OFF, 0);
  e.jump(O.ja, 0, 0, 0, target);
}

/** End of the filter with the result in r0. */
function emitReturn(e: Emitter): void {
  if (e.embedded) e.jump(O.ja, 0, 0, 0, RESULT);
  else e.emit(O.exit, 0, 0, 0, 0);
}

/** LD ABS in a socket filter: packet offsets, the negative special areas, ancillary data. */
function emitAbs(e: Emitter, k: number, bytes: number, pc: number, options: TranslateOptions, known: number): number {
  const off = absOffset(k, bytes, pc, options);
  if (off === undefined) emitAncillary(e, (k | 0) - SKF_AD_OFF, pc, options);
  else if (off < 0) e.jump(O.ja, 0, 0, 0, FAIL);
  else return emitAbsLoad(e, R_A, off, bytes, known);
  return known;
}

function emitAncillary(e: Emitter, ad: number, pc: number, options: TranslateOptions): void {
  const ctxLoad = (off: number): void => e.emit(O.ldxw, R_A, R_CTX, off, 0);
  switch (ad) {
    case SKF_AD.PROTOCOL:
      ctxLoad(SKB.protocol);
      e.emit(O.be, R_A, 0, 0, 16);
      return;
    case SKF_AD.PKTTYPE:
      return ctxLoad(SKB.pkt_type);
    case SKF_AD.IFINDEX:
      return ctxLoad(SKB.ifindex);
    case SKF_AD.MARK:
      return ctxLoad(SKB.mark);
    case SKF_AD.QUEUE:
      return ctxLoad(SKB.queue_mapping);
    case SKF_AD.RXHASH:
      return ctxLoad(SKB.hash);
    case SKF_AD.VLAN_TAG:
      return ctxLoad(SKB.vlan_tci);
    case SKF_AD.VLAN_TAG_PRESENT:
      return ctxLoad(SKB.vlan_present);
    case SKF_AD.VLAN_TPID:
      ctxLoad(SKB.vlan_proto);
      e.emit(O.be, R_A, 0, 0, 16);
      return;
    case SKF_AD.HATYPE:
      e.emit(O.mov32i, R_A, 0, 0, options.hatype ?? 1);
      return;
    case SKF_AD.CPU:
      e.emit(O.mov32i, R_A, 0, 0, 0);
      return;
    case SKF_AD.ALU_XOR_X:
      e.emit(O.xor32r, R_A, R_X, 0, 0);
      return;
    case SKF_AD.NLATTR:
    case SKF_AD.NLATTR_NEST:
    case SKF_AD.PAY_OFFSET:
    case SKF_AD.RANDOM:
      throw new UnsupportedError(`classic instruction ${pc}: ancillary load SKF_AD_OFF+${ad} needs a kernel helper and is not supported`);
    default:
      throw new ClassicError(pc, `unknown ancillary load at SKF_AD_OFF+${ad}`);
  }
}

/** if (A op k|X) goto pc+1+jt else goto pc+1+jf, with the fall-through side left out. */
function emitCond(e: Emitter, ins: ClassicInsn, pc: number, useX: boolean): void {
  const tTarget = pc + 1 + ins.jt;
  const fTarget = pc + 1 + ins.jf;
  if (ins.jt === ins.jf) {
    if (ins.jt !== 0) e.jump(O.ja, 0, 0, 0, tTarget);
    return;
  }
  const [taken, negated] = JMP_NAME[opOf(ins.code)]!;
  const shape = useX ? Shape.JmpReg : Shape.JmpImm;
  const src = useX ? R_X : 0;
  const imm = useX ? 0 : ins.k;
  if (ins.jt === 0 && negated !== undefined) {
    e.jump(opc(negated, shape), R_A, src, imm, fTarget);
    return;
  }
  e.jump(opc(taken!, shape), R_A, src, imm, tTarget);
  if (ins.jf !== 0) e.jump(O.ja, 0, 0, 0, fTarget);
}
