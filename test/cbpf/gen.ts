// TEST-ONLY: random classic programs that pass the checker, and random
// packets, for differential tests of the translation against reference.ts.

import { checkClassic } from '../../src/cbpf/check.js';
import {
  BPF_ALU_OP,
  BPF_CLASS,
  BPF_JMP_OP,
  BPF_MISCOP,
  BPF_MODE,
  BPF_RVAL,
  BPF_SIZE,
  BPF_SRC,
  type ClassicInsn,
} from '../../src/cbpf/insn.js';
import type { Rng } from './reference.js';

const { LD, LDX, ST, STX, ALU, JMP, RET, MISC } = BPF_CLASS;
const SIZES = [BPF_SIZE.W, BPF_SIZE.H, BPF_SIZE.B];
const ALU_OPS = Object.values(BPF_ALU_OP).filter((o) => o !== BPF_ALU_OP.NEG);
const JMP_OPS = [BPF_JMP_OP.JEQ, BPF_JMP_OP.JGT, BPF_JMP_OP.JGE, BPF_JMP_OP.JSET];

/** Offsets a load may use: mostly inside small packets, sometimes at the edges. */
function offset(r: Rng): number {
  const edge = [0, 1, 2, 3, 62, 63, 64, 0x7ffe, 0x7fff, 0x8000, 0xfffb, 0xfffc, 0xfffe, 0xffff, 0x10000, 0x7ffffff0, 0x7fffffff, 0x80000000, 0xfffffff0 - 0x300000];
  return r.int(8) === 0 ? r.pick(edge) : r.int(72);
}

/** A constant: small, a power of two, or any 32-bit value. */
function constant(r: Rng): number {
  switch (r.int(4)) {
    case 0:
      return r.int(16);
    case 1:
      return 1 << r.int(32);
    case 2:
      return r.u32();
    default:
      return r.int(256);
  }
}

function one(r: Rng, pc: number, n: number): ClassicInsn {
  const rest = n - pc - 1; // instructions after this one
  const ins = (code: number, k = 0, jt = 0, jf = 0): ClassicInsn => ({ code, jt, jf, k: k >>> 0 });
  switch (r.int(20)) {
    case 0:
    case 1:
      return ins(LD | r.pick(SIZES) | BPF_MODE.ABS, offset(r));
    case 2:
      // sometimes sums that wrap at 32 bits or land in the SKF_LL_OFF / SKF_NET_OFF areas
      return ins(LD | r.pick(SIZES) | BPF_MODE.IND, r.int(4) === 0 ? r.pick([offset(r), 0xffffffff, 0xfffffff8, (-0x200000 + 3) >>> 0, (-0x100000 + 3) >>> 0, 0x80000000]) : r.int(40));
    case 3:
      return ins(LDX | BPF_SIZE.B | BPF_MODE.MSH, offset(r));
    case 4:
      return ins(r.int(2) ? LD | BPF_SIZE.W | BPF_MODE.LEN : LDX | BPF_SIZE.W | BPF_MODE.LEN);
    case 5:
      return ins(r.int(2) ? LD | BPF_MODE.IMM : LDX | BPF_MODE.IMM, constant(r));
    case 6:
      return ins(r.int(2) ? LD | BPF_MODE.MEM : LDX | BPF_MODE.MEM, r.int(4));
    case 7:
      return ins(r.int(2) ? ST : STX, r.int(4));
    case 8:
    case 9: {
      const op = r.pick(ALU_OPS);
      let k = constant(r);
      if ((op === BPF_ALU_OP.DIV || op === BPF_ALU_OP.MOD) && k === 0) k = 1;
      if (op === BPF_ALU_OP.LSH || op === BPF_ALU_OP.RSH) k &= 31;
      return ins(ALU | op | BPF_SRC.K, k);
    }
    case 10:
      return ins(ALU | r.pick(ALU_OPS) | BPF_SRC.X);
    case 11:
      return ins(ALU | BPF_ALU_OP.NEG);
    case 12:
      return ins(MISC | (r.int(2) ? BPF_MISCOP.TAX : BPF_MISCOP.TXA));
    case 13:
      return rest > 1 ? ins(JMP | BPF_JMP_OP.JA, r.int(rest - 1)) : ins(ALU | BPF_ALU_OP.NEG);
    case 14:
    case 15:
    case 16:
      if (rest > 1) return ins(JMP | r.pick(JMP_OPS) | BPF_SRC.K, constant(r), r.int(Math.min(rest - 1, 255)), r.int(Math.min(rest - 1, 255)));
      return ins(LD | BPF_MODE.IMM, constant(r));
    case 17:
      if (rest > 1) return ins(JMP | r.pick(JMP_OPS) | BPF_SRC.X, 0, r.int(Math.min(rest - 1, 255)), r.int(Math.min(rest - 1, 255)));
      return ins(MISC | BPF_MISCOP.TAX);
    case 18:
      return r.int(2) ? ins(RET | BPF_RVAL.A) : ins(RET | BPF_RVAL.K, constant(r));
    default:
      return ins(ALU | BPF_ALU_OP.ADD | BPF_SRC.K, constant(r));
  }
}

/** A random program of 2..maxLen instructions that passes checkClassic. */
export function randomProgram(r: Rng, maxLen = 40): ClassicInsn[] {
  for (;;) {
    const n = 2 + r.int(maxLen - 1);
    const prog: ClassicInsn[] = [];
    // Write M[0..3] first most of the time, so scratch reads pass the checker.
    let pc = 0;
    if (r.int(4) !== 0) {
      for (let i = 0; i < 4 && pc < n - 1; i++, pc++) prog.push({ code: r.int(2) ? ST : STX, jt: 0, jf: 0, k: i });
    }
    for (; pc < n - 1; pc++) prog.push(one(r, pc, n));
    prog.push(r.int(2) ? { code: RET | BPF_RVAL.A, jt: 0, jf: 0, k: 0 } : { code: RET | BPF_RVAL.K, jt: 0, jf: 0, k: constant(r) });
    try {
      checkClassic(prog);
      return prog;
    } catch {
      // scratch read before write on some path: try again
    }
  }
}

/** A random packet of 0..maxLen bytes. */
export function randomPacket(r: Rng, maxLen = 96): Uint8Array {
  const p = new Uint8Array(r.int(maxLen + 1));
  for (let i = 0; i < p.length; i++) p[i] = r.int(4) === 0 ? r.int(16) : r.int(256);
  return p;
}
