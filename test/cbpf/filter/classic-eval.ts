// TEST-ONLY reference evaluator for classic BPF, written from libpcap's
// documented semantics (bpf_filter): a packet load past the captured bytes
// or a division by zero ends the program with 0. It exists so the filter
// compiler's differential test does not depend on the eBPF translation; the
// product runs classic programs through src/cbpf/classic-filter.ts.

import { BPF_ALU_OP, BPF_CLASS, BPF_JMP_OP, BPF_MODE, BPF_RVAL, BPF_SIZE, BPF_SRC, classOf, modeOf, opOf, sizeOf, srcOf, type ClassicProgram } from '../../../src/cbpf/insn.js';

/** A guard for the test oracle only: libpcap itself would loop forever. */
const MAX_BACK_JUMPS = 1_000_000;

export function evalClassic(prog: ClassicProgram, pkt: Uint8Array, wireLen: number = pkt.length): number {
  let A = 0;
  let X = 0;
  let backJumps = 0;
  const M = new Uint32Array(16);
  const load = (off: number, size: number): number | undefined => {
    if (off < 0 || off + size > pkt.length) return undefined;
    if (size === 1) return pkt[off]!;
    if (size === 2) return (pkt[off]! << 8) | pkt[off + 1]!;
    return ((pkt[off]! << 24) | (pkt[off + 1]! << 16) | (pkt[off + 2]! << 8) | pkt[off + 3]!) >>> 0;
  };
  const bytes = (code: number): number => (sizeOf(code) === BPF_SIZE.B ? 1 : sizeOf(code) === BPF_SIZE.H ? 2 : 4);
  for (let pc = 0; pc < prog.length; pc++) {
    const { code, k, jt, jf } = prog[pc]!;
    switch (classOf(code)) {
      case BPF_CLASS.RET:
        return (code & 0x18) === BPF_RVAL.A ? A : code & 0x18 ? X : k;
      case BPF_CLASS.LD:
      case BPF_CLASS.LDX: {
        const toX = classOf(code) === BPF_CLASS.LDX;
        let v: number | undefined;
        switch (modeOf(code)) {
          case BPF_MODE.IMM: v = k; break;
          case BPF_MODE.LEN: v = wireLen; break;
          case BPF_MODE.MEM: v = M[k]!; break;
          case BPF_MODE.ABS: v = load(k, bytes(code)); break;
          case BPF_MODE.IND: v = load((X + k) >>> 0, bytes(code)); break;
          case BPF_MODE.MSH: {
            const b = load(k, 1);
            v = b === undefined ? undefined : (b & 0xf) * 4;
            break;
          }
        }
        if (v === undefined) return 0;
        if (toX) X = v >>> 0;
        else A = v >>> 0;
        break;
      }
      case BPF_CLASS.ST: M[k] = A; break;
      case BPF_CLASS.STX: M[k] = X; break;
      case BPF_CLASS.ALU: {
        const b = srcOf(code) === BPF_SRC.X ? X : k;
        switch (opOf(code)) {
          case BPF_ALU_OP.ADD: A = (A + b) >>> 0; break;
          case BPF_ALU_OP.SUB: A = (A - b) >>> 0; break;
          case BPF_ALU_OP.MUL: A = Math.imul(A, b) >>> 0; break;
          case BPF_ALU_OP.DIV: if (b === 0) return 0; A = Math.floor(A / b) >>> 0; break;
          case BPF_ALU_OP.MOD: if (b === 0) return 0; A = (A % b) >>> 0; break;
          case BPF_ALU_OP.AND: A = (A & b) >>> 0; break;
          case BPF_ALU_OP.OR: A = (A | b) >>> 0; break;
          case BPF_ALU_OP.XOR: A = (A ^ b) >>> 0; break;
          case BPF_ALU_OP.LSH: A = b >= 32 ? 0 : (A << b) >>> 0; break;
          case BPF_ALU_OP.RSH: A = b >= 32 ? 0 : A >>> b; break;
          case BPF_ALU_OP.NEG: A = -A >>> 0; break;
          default: throw new Error(`bad alu code 0x${code.toString(16)}`);
        }
        break;
      }
      case BPF_CLASS.JMP: {
        const b = srcOf(code) === BPF_SRC.X ? X : k;
        let taken: boolean;
        switch (opOf(code)) {
          case BPF_JMP_OP.JA:
            // libpcap's bpf_filter sign-extends k: protochain loops backward.
            pc += k | 0;
            if ((k | 0) < 0 && ++backJumps > MAX_BACK_JUMPS) throw new Error('classic program loops without end');
            continue;
          case BPF_JMP_OP.JEQ: taken = A === b; break;
          case BPF_JMP_OP.JGT: taken = A > b; break;
          case BPF_JMP_OP.JGE: taken = A >= b; break;
          case BPF_JMP_OP.JSET: taken = (A & b) !== 0; break;
          default: throw new Error(`bad jump code 0x${code.toString(16)}`);
        }
        pc += taken ? jt : jf;
        break;
      }
      case BPF_CLASS.MISC:
        if (code & 0x80) A = X;
        else X = A;
        break;
    }
  }
  throw new Error('classic program fell off the end');
}
