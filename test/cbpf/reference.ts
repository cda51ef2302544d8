// TEST-ONLY: a direct evaluator of classic BPF, written as plainly as
// possible, as the oracle for the eBPF translation. It is not part of the
// product (tsbpf runs classic programs only by translating them).
//
// Semantics follow Linux's classic filters (checked against the kernel by
// kernel-oracle.test.ts) and the documented limit of the translation
// (src/cbpf/translate.ts): a packet load that reaches past MAX_PACKET_OFF
// (0xffff) returns 0. Indexed loads wrap X + k at 32 bits, and negative
// offsets address the SKF_LL_OFF / SKF_NET_OFF areas; shifts by X use X mod
// 32 (the eBPF ALU32 rule; in C the result would be undefined).

import { BPF_ALU_OP, BPF_JMP_OP, COp, classicDef, opOf, type ClassicProgram } from '../../src/cbpf/insn.js';

const MAX_PACKET_OFF = 0xffff;

/** Run a checked classic socket filter on one packet; returns the u32 result. */
export function referenceRun(prog: ClassicProgram, pkt: Uint8Array, wireLen: number = pkt.length, netOffset?: number): number {
  let A = 0;
  let X = 0;
  const M = new Uint32Array(16);
  const load = (off: number, bytes: number): number | undefined => {
    if (off < 0 || off + bytes > MAX_PACKET_OFF || off + bytes > pkt.length) return undefined;
    let v = 0;
    for (let i = 0; i < bytes; i++) v = v * 256 + pkt[off + i]!;
    return v >>> 0;
  };
  /** A signed 32-bit offset to a packet offset: the special areas below 0, or -1 for nowhere. */
  const area = (s: number): number => {
    if (s >= 0) return s;
    if (s >= -0x1000) throw new Error('reference: ancillary loads are not modelled');
    if (s >= -0x100000) return netOffset === undefined ? -1 : netOffset + (s + 0x100000);
    if (s >= -0x200000) return s + 0x200000;
    return -1;
  };
  for (let pc = 0; pc < prog.length; pc++) {
    const ins = prog[pc]!;
    const d = classicDef(ins.code);
    if (!d) throw new Error(`reference: bad code at ${pc}`);
    const k = ins.k >>> 0;
    switch (d.op) {
      case COp.LD_W_ABS:
      case COp.LD_H_ABS:
      case COp.LD_B_ABS: {
        const v = load(area(k | 0), d.bytes);
        if (v === undefined) return 0;
        A = v;
        break;
      }
      case COp.LD_W_IND:
      case COp.LD_H_IND:
      case COp.LD_B_IND: {
        const s = (X + k) | 0; // wraps at 32 bits, as in the kernel
        const v = s >= -0x1000 && s < 0 ? undefined : load(area(s), d.bytes);
        if (v === undefined) return 0;
        A = v;
        break;
      }
      case COp.LDX_B_MSH: {
        const s = k | 0;
        const v = s >= -0x1000 && s < 0 ? undefined : load(area(s), 1);
        if (v === undefined) return 0;
        X = (v & 0xf) * 4;
        break;
      }
      case COp.LD_W_LEN:
        A = wireLen >>> 0;
        break;
      case COp.LDX_W_LEN:
        X = wireLen >>> 0;
        break;
      case COp.LD_IMM:
        A = k;
        break;
      case COp.LDX_IMM:
        X = k;
        break;
      case COp.LD_MEM:
        A = M[k]!;
        break;
      case COp.LDX_MEM:
        X = M[k]!;
        break;
      case COp.ST:
        M[k] = A;
        break;
      case COp.STX:
        M[k] = X;
        break;
      case COp.ALU_K:
      case COp.ALU_X: {
        const b = d.op === COp.ALU_K ? k : X;
        switch (opOf(ins.code)) {
          case BPF_ALU_OP.ADD: A = (A + b) >>> 0; break;
          case BPF_ALU_OP.SUB: A = (A - b) >>> 0; break;
          case BPF_ALU_OP.MUL: A = Math.imul(A, b) >>> 0; break;
          case BPF_ALU_OP.DIV: if (b === 0) return 0; A = Math.floor(A / b) >>> 0; break;
          case BPF_ALU_OP.MOD: if (b === 0) return 0; A = A % b; break;
          case BPF_ALU_OP.OR: A = (A | b) >>> 0; break;
          case BPF_ALU_OP.AND: A = (A & b) >>> 0; break;
          case BPF_ALU_OP.XOR: A = (A ^ b) >>> 0; break;
          case BPF_ALU_OP.LSH: A = (A << (b & 31)) >>> 0; break;
          case BPF_ALU_OP.RSH: A = A >>> (b & 31); break;
          default: throw new Error('reference: bad alu op');
        }
        break;
      }
      case COp.NEG:
        A = -A >>> 0;
        break;
      case COp.JA:
        pc += k;
        break;
      case COp.JMP_K:
      case COp.JMP_X: {
        const b = d.op === COp.JMP_K ? k : X;
        let cond: boolean;
        switch (opOf(ins.code)) {
          case BPF_JMP_OP.JEQ: cond = A === b; break;
          case BPF_JMP_OP.JGT: cond = A > b; break;
          case BPF_JMP_OP.JGE: cond = A >= b; break;
          case BPF_JMP_OP.JSET: cond = (A & b) !== 0; break;
          default: throw new Error('reference: bad jmp op');
        }
        pc += cond ? ins.jt : ins.jf;
        break;
      }
      case COp.RET_K:
        return k;
      case COp.RET_A:
        return A;
      case COp.RET_X:
        return X;
      case COp.TAX:
        X = A;
        break;
      case COp.TXA:
        A = X;
        break;
    }
  }
  throw new Error('reference: fell off the end');
}

/** A small deterministic PRNG (xorshift32), so failures reproduce from the seed. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  u32(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  int(n: number): number {
    return this.u32() % n;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}
