// The intermediate form between the syntax tree and classic code: a boolean
// formula whose leaves are tests ("run these statements, then jump on this
// condition"). Constructors fold constants, so `arp` on a raw-IP link simply
// becomes `false`.

import { BPF_ALU_OP, BPF_CLASS, BPF_JMP_OP, BPF_MODE, BPF_SIZE, BPF_SRC, stmt, type ClassicInsn } from '../insn.js';

export type Cond =
  | { readonly t: 'const'; readonly v: boolean }
  | { readonly t: 'and' | 'or'; readonly a: Cond; readonly b: Cond }
  | { readonly t: 'not'; readonly a: Cond }
  /** Run `stmts` (pure: they only read the packet), then branch on `code` (a JMP class code) with `k`. */
  | { readonly t: 'test'; readonly stmts: readonly ClassicInsn[]; readonly code: number; readonly k: number };

export const TRUE: Cond = { t: 'const', v: true };
export const FALSE: Cond = { t: 'const', v: false };

export function and(...cs: Cond[]): Cond {
  let out: Cond = TRUE;
  for (const c of cs) {
    if (c.t === 'const') {
      if (!c.v) return FALSE;
      continue;
    }
    out = out.t === 'const' ? c : { t: 'and', a: out, b: c };
  }
  return out;
}

export function or(...cs: Cond[]): Cond {
  let out: Cond = FALSE;
  for (const c of cs) {
    if (c.t === 'const') {
      if (c.v) return TRUE;
      continue;
    }
    out = out.t === 'const' ? c : { t: 'or', a: out, b: c };
  }
  return out;
}

export function not(c: Cond): Cond {
  if (c.t === 'const') return c.v ? FALSE : TRUE;
  if (c.t === 'not') return c.a;
  return { t: 'not', a: c };
}

/** Load sizes by byte count. */
export const SIZE_CODE: Readonly<Record<1 | 2 | 4, number>> = { 1: BPF_SIZE.B, 2: BPF_SIZE.H, 4: BPF_SIZE.W };

/** `ld{b,h,} [off]` */
export const loadAbs = (size: 1 | 2 | 4, off: number): ClassicInsn => stmt(BPF_CLASS.LD | SIZE_CODE[size] | BPF_MODE.ABS, off);
/** `ld{b,h,} [x + off]` */
export const loadInd = (size: 1 | 2 | 4, off: number): ClassicInsn => stmt(BPF_CLASS.LD | SIZE_CODE[size] | BPF_MODE.IND, off);
/** `ldxb 4*([off]&0xf)`: the IPv4 header length. */
export const loadIpHeaderLen = (off: number): ClassicInsn => stmt(BPF_CLASS.LDX | BPF_SIZE.B | BPF_MODE.MSH, off);
/** `and #mask` */
export const andK = (mask: number): ClassicInsn => stmt(BPF_CLASS.ALU | BPF_ALU_OP.AND | BPF_SRC.K, mask);

export const JEQ = BPF_CLASS.JMP | BPF_JMP_OP.JEQ | BPF_SRC.K;
export const JGT = BPF_CLASS.JMP | BPF_JMP_OP.JGT | BPF_SRC.K;
export const JGE = BPF_CLASS.JMP | BPF_JMP_OP.JGE | BPF_SRC.K;
export const JSET = BPF_CLASS.JMP | BPF_JMP_OP.JSET | BPF_SRC.K;

export function test(stmts: readonly ClassicInsn[], code: number, k: number): Cond {
  return { t: 'test', stmts, code, k: k >>> 0 };
}

/** Compare a packet field: `(field & mask) <op> value` (mask omitted when all ones for the size). */
export function cmpField(size: 1 | 2 | 4, off: number, value: number, code = JEQ, mask?: number): Cond {
  const full = size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
  const stmts = [loadAbs(size, off)];
  if (mask !== undefined && (mask >>> 0) !== full) stmts.push(andK(mask));
  return test(stmts, code, value);
}
