// Random eBPF programs for differential testing of the verifier against the
// kernel: straight-line code with forward conditional jumps, built from
// fragments that touch the rules (scalar ALU at both widths, stack spills
// and fills, ctx loads, map lookups with and without null checks, map value
// and packet accesses with bounds checks of varying quality, pointer
// arithmetic, helper calls). A fraction of the fragments is subtly wrong,
// so both verdicts occur. Seeded, so a report run can be repeated.

import { encodeSlots } from '../../src/isa/decode.js';
import { AluOp, Class, JmpOp, Mode, Size, Src, type RawInsn } from '../../src/isa/fields.js';
import type { MapInfo } from '../../src/verifier/env.js';

export interface RandomProgram {
  readonly bytes: Uint8Array;
  readonly progType: number;
  readonly maps: MapInfo[];
}

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ins = (opcode: number, dst = 0, src = 0, off = 0, imm = 0): RawInsn => ({ opcode, dst, src, off, imm });
const SIZES = [Size.B, Size.H, Size.W, Size.DW] as const;
const BYTES = [1, 2, 4, 8];
const ALU_OPS = [AluOp.ADD, AluOp.SUB, AluOp.MUL, AluOp.OR, AluOp.AND, AluOp.LSH, AluOp.RSH, AluOp.XOR, AluOp.ARSH, AluOp.DIV, AluOp.MOD, AluOp.MOV];
const JMP_OPS = [JmpOp.JEQ, JmpOp.JNE, JmpOp.JGT, JmpOp.JGE, JmpOp.JLT, JmpOp.JLE, JmpOp.JSGT, JmpOp.JSGE, JmpOp.JSLT, JmpOp.JSLE, JmpOp.JSET];

export function randomPrograms(count: number, seed: number): RandomProgram[] {
  const rnd = prng(seed);
  const int = (n: number): number => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const chance = (p: number): boolean => rnd() < p;
  const out: RandomProgram[] = [];
  for (let n = 0; n < count; n++) {
    const xdp = chance(0.4);
    const progType = xdp ? 6 : 1;
    const valueSize = pick([8, 16, 24, 64]);
    const maps: MapInfo[] = [
      { type: 2, keySize: 4, valueSize, maxEntries: 4 },
      { type: 1, keySize: 4, valueSize: 8, maxEntries: 16 },
      { type: 27, keySize: 0, valueSize: 0, maxEntries: 4096 },
    ];
    // Fragments are lists of slots; jumps inside a fragment are relative and stay inside it.
    const frags: RawInsn[][] = [];
    // Scalars live in r6..r9 (callee-saved, survive helper calls); r1 is spilled ctx at fp-8.
    const init: RawInsn[] = [ins(Class.STX | Mode.MEM | Size.DW, 10, 1, -8)];
    for (let r = 6; r <= 9; r++) {
      if (chance(0.9)) init.push(ins(Class.ALU64 | AluOp.MOV | Src.K, r, 0, 0, int(64) - 8));
    }
    frags.push(init);
    const len = 3 + int(10);
    for (let k = 0; k < len; k++) {
      const f: RawInsn[] = [];
      const r = 6 + int(4);
      const s = 6 + int(4);
      switch (int(12)) {
        case 0: { // scalar ALU
          const op = pick(ALU_OPS);
          const cls = chance(0.5) ? Class.ALU64 : Class.ALU;
          const bits = cls === Class.ALU64 ? 64 : 32;
          if (chance(0.5)) {
            let imm = op === AluOp.LSH || op === AluOp.RSH || op === AluOp.ARSH ? int(bits + (chance(0.05) ? 8 : 0)) : int(512) - 128;
            if ((op === AluOp.DIV || op === AluOp.MOD) && imm === 0 && chance(0.8)) imm = 3;
            f.push(ins(cls | op | Src.K, r, 0, 0, imm));
          } else {
            f.push(ins(cls | op | Src.X, r, s));
          }
          break;
        }
        case 1: { // ctx load into a scalar register
          f.push(ins(Class.LDX | Mode.MEM | Size.DW, 1, 10, -8));
          const sz = xdp ? 2 : int(3);
          const off = xdp ? pick([12, 16, 20, 2, 0]) : pick([0, 4, 8, 16, 32, 48, 68, 76, 2, 192]);
          f.push(ins(Class.LDX | Mode.MEM | SIZES[sz]!, r, 1, off));
          break;
        }
        case 2: { // stack store and load
          const sz = int(4);
          const off = -8 * (2 + int(6)) + (chance(0.1) ? 4 : 0);
          if (chance(0.5)) f.push(ins(Class.STX | Mode.MEM | SIZES[sz]!, 10, s, off));
          else f.push(ins(Class.ST | Mode.MEM | SIZES[sz]!, 10, 0, off, int(100)));
          f.push(ins(Class.LDX | Mode.MEM | SIZES[chance(0.8) ? sz : int(4)]!, r, 10, off));
          break;
        }
        case 3: { // forward conditional jump over the next fragment-sized gap
          const op = pick(JMP_OPS);
          const cls = chance(0.7) ? Class.JMP : Class.JMP32;
          const skip = 1 + int(2);
          if (chance(0.5)) f.push(ins(cls | op | Src.K, r, 0, skip, int(64)));
          else f.push(ins(cls | op | Src.X, r, s, skip));
          for (let i = 0; i < skip; i++) f.push(ins(Class.ALU64 | AluOp.ADD | Src.K, r, 0, 0, int(16)));
          break;
        }
        case 4:
        case 5: { // map lookup, maybe a null check, an access at a maybe-bad offset
          const idx = chance(0.8) ? 0 : 1;
          const vs = maps[idx]!.valueSize;
          f.push(ins(Class.ST | Mode.MEM | Size.W, 10, 0, -4, int(4)));
          f.push(ins(Class.ALU64 | AluOp.MOV | Src.X, 2, 10));
          f.push(ins(Class.ALU64 | AluOp.ADD | Src.K, 2, 0, 0, -4));
          f.push(ins(Class.LD | Mode.IMM | Size.DW, 1, 1, 0, idx), ins(0, 0, 0, 0, 0));
          f.push(ins(Class.JMP | JmpOp.CALL, 0, 0, 0, 1));
          const access: RawInsn[] = [];
          const sz = int(4);
          if (chance(0.5)) {
            // variable offset from a masked scalar
            const mask = pick([3, 7, 15, 31, 63, 255]);
            access.push(ins(Class.ALU64 | AluOp.AND | Src.K, r, 0, 0, mask));
            if (chance(0.7)) access.push(ins(Class.ALU64 | AluOp.ADD | Src.X, 0, r));
          }
          const off = chance(0.8) ? int(Math.max(1, vs - BYTES[sz]! + 1)) : vs - int(4);
          access.push(chance(0.5) ? ins(Class.LDX | Mode.MEM | SIZES[sz]!, s, 0, off) : ins(Class.STX | Mode.MEM | SIZES[sz]!, 0, s, off));
          if (chance(0.9)) f.push(ins(Class.JMP | JmpOp.JEQ | Src.K, 0, 0, access.length, 0));
          f.push(...access);
          break;
        }
        case 6: { // helper call: prandom, or ktime
          f.push(ins(Class.JMP | JmpOp.CALL, 0, 0, 0, pick([7, 5, 8])));
          f.push(ins(Class.ALU64 | AluOp.MOV | Src.X, r, 0));
          break;
        }
        case 7: { // spill a pointer and fill it back (sometimes narrow)
          const off = -8 * (2 + int(6));
          f.push(ins(Class.ALU64 | AluOp.MOV | Src.X, 2, 10));
          f.push(ins(Class.ALU64 | AluOp.ADD | Src.K, 2, 0, 0, -8 * (2 + int(8))));
          f.push(ins(Class.STX | Mode.MEM | (chance(0.9) ? Size.DW : Size.W), 10, 2, off));
          f.push(ins(Class.LDX | Mode.MEM | (chance(0.9) ? Size.DW : Size.W), 3, 10, off));
          f.push(ins(Class.STX | Mode.MEM | SIZES[int(4)]!, 3, s, chance(0.9) ? 0 : 8));
          break;
        }
        case 8: { // packet access (xdp) with a bounds check of random quality
          if (!xdp) {
            f.push(ins(Class.ALU64 | AluOp.NEG, r));
            break;
          }
          const need = 1 + int(16);
          const sz = int(3);
          f.push(ins(Class.LDX | Mode.MEM | Size.DW, 1, 10, -8));
          f.push(ins(Class.LDX | Mode.MEM | Size.W, 2, 1, 0));
          f.push(ins(Class.LDX | Mode.MEM | Size.W, 3, 1, 4));
          f.push(ins(Class.ALU64 | AluOp.MOV | Src.X, 4, 2));
          f.push(ins(Class.ALU64 | AluOp.ADD | Src.K, 4, 0, 0, need));
          f.push(ins(Class.JMP | pick([JmpOp.JGT, JmpOp.JGE, JmpOp.JGT]) | Src.X, 4, 3, 1));
          f.push(ins(Class.LDX | Mode.MEM | SIZES[sz]!, r, 2, int(need + 2) - BYTES[sz]! + 1));
          break;
        }
        case 9: { // atomic add / fetch-add on a stack slot or a map value
          const sz = chance(0.5) ? Size.DW : Size.W;
          const imm = pick([0x00, 0x01, 0xe1]); // add, fetch add, xchg
          if (chance(0.5)) {
            const off = -8 * (2 + int(6));
            f.push(ins(Class.ST | Mode.MEM | Size.DW, 10, 0, off, int(9)));
            f.push(ins(Class.STX | Mode.ATOMIC | sz, 10, s, off + (chance(0.1) ? 4 : 0), imm));
          } else {
            f.push(ins(Class.ST | Mode.MEM | Size.W, 10, 0, -4, 0));
            f.push(ins(Class.ALU64 | AluOp.MOV | Src.X, 2, 10));
            f.push(ins(Class.ALU64 | AluOp.ADD | Src.K, 2, 0, 0, -4));
            f.push(ins(Class.LD | Mode.IMM | Size.DW, 1, 1, 0, 0), ins(0, 0, 0, 0, 0));
            f.push(ins(Class.JMP | JmpOp.CALL, 0, 0, 0, 1));
            f.push(ins(Class.JMP | JmpOp.JEQ | Src.K, 0, 0, 1, 0));
            f.push(ins(Class.STX | Mode.ATOMIC | sz, 0, s, chance(0.9) ? 0 : valueSize - 4, imm));
          }
          break;
        }
        case 10: { // ring buffer reserve, write, submit (sometimes leaked or written out of bounds)
          const size = pick([8, 16, 32]);
          f.push(ins(Class.LD | Mode.IMM | Size.DW, 1, 1, 0, 2), ins(0, 0, 0, 0, 0));
          f.push(ins(Class.ALU64 | AluOp.MOV | Src.K, 2, 0, 0, size));
          f.push(ins(Class.ALU64 | AluOp.MOV | Src.K, 3, 0, 0, 0));
          f.push(ins(Class.JMP | JmpOp.CALL, 0, 0, 0, 131));
          const body: RawInsn[] = [
            ins(Class.STX | Mode.MEM | Size.DW, 0, s, chance(0.9) ? size - 8 : size),
            ins(Class.ALU64 | AluOp.MOV | Src.X, 1, 0),
            ins(Class.ALU64 | AluOp.MOV | Src.K, 2, 0, 0, 0),
            ins(Class.JMP | JmpOp.CALL, 0, 0, 0, chance(0.5) ? 132 : 133),
          ];
          if (chance(0.05)) body.pop();
          f.push(ins(Class.JMP | JmpOp.JEQ | Src.K, 0, 0, body.length, 0), ...body);
          break;
        }
        case 11: { // narrow spill and fill of a scalar, then used to index the stack
          f.push(ins(Class.ALU64 | AluOp.AND | Src.K, r, 0, 0, pick([7, 15, 31, 63])));
          f.push(ins(Class.STX | Mode.MEM | pick([Size.W, Size.DW, Size.H]), 10, r, -24));
          f.push(ins(Class.LDX | Mode.MEM | pick([Size.W, Size.DW, Size.H]), 2, 10, -24));
          f.push(ins(Class.ALU64 | AluOp.AND | Src.K, 2, 0, 0, 7));
          f.push(ins(Class.ALU64 | AluOp.MOV | Src.X, 3, 10));
          f.push(ins(Class.ALU64 | AluOp.ADD | Src.K, 3, 0, 0, -64));
          f.push(ins(Class.ALU64 | AluOp.ADD | Src.X, 3, 2));
          f.push(ins(Class.STX | Mode.MEM | Size.B, 3, s, chance(0.9) ? 0 : 60));
          break;
        }
      }
      frags.push(f);
    }
    const tail = [ins(Class.ALU64 | AluOp.MOV | Src.K, 0, 0, 0, xdp ? 2 : 0), ins(Class.JMP | JmpOp.EXIT)];
    if (chance(0.3)) tail[0] = ins(Class.ALU64 | AluOp.MOV | Src.X, 0, 6 + int(4));
    frags.push(tail);
    out.push({ bytes: encodeSlots(frags.flat()), progType, maps });
  }
  return out;
}
