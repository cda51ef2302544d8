// Classic BPF (cBPF): the instruction representation and the one table of
// classic opcodes. Every other classic module (readers, checker, printer,
// translator, the tcpdump-expression compiler in filter/) derives what it
// needs from CLASSIC_INSNS; none keeps its own opcode list.
//
// A classic instruction is Linux's `struct sock_filter` (and libpcap's
// `struct bpf_insn`): u16 code, u8 jt, u8 jf, u32 k. The machine has an
// accumulator A, an index register X, 16 words of scratch memory M[], and
// the packet (or, for seccomp, `struct seccomp_data`).

/** One classic instruction. `k` is kept as an unsigned 32-bit number (0..2^32-1). */
export interface ClassicInsn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** A whole classic program. */
export type ClassicProgram = readonly ClassicInsn[];

/** Instruction classes: the low 3 bits of `code`. */
export const BPF_CLASS = { LD: 0x00, LDX: 0x01, ST: 0x02, STX: 0x03, ALU: 0x04, JMP: 0x05, RET: 0x06, MISC: 0x07 } as const;
/** Load sizes (LD/LDX). */
export const BPF_SIZE = { W: 0x00, H: 0x08, B: 0x10 } as const;
/** Load modes (LD/LDX). */
export const BPF_MODE = { IMM: 0x00, ABS: 0x20, IND: 0x40, MEM: 0x60, LEN: 0x80, MSH: 0xa0 } as const;
/** ALU operations (high nibble). */
export const BPF_ALU_OP = {
  ADD: 0x00, SUB: 0x10, MUL: 0x20, DIV: 0x30, OR: 0x40, AND: 0x50, LSH: 0x60, RSH: 0x70, NEG: 0x80, MOD: 0x90, XOR: 0xa0,
} as const;
/** Jump operations (high nibble). */
export const BPF_JMP_OP = { JA: 0x00, JEQ: 0x10, JGT: 0x20, JGE: 0x30, JSET: 0x40 } as const;
/** Operand source of ALU and JMP: the constant k or the register X. */
export const BPF_SRC = { K: 0x00, X: 0x08 } as const;
/** Return value source of RET. */
export const BPF_RVAL = { K: 0x00, X: 0x08, A: 0x10 } as const;
/** MISC operations. */
export const BPF_MISCOP = { TAX: 0x00, TXA: 0x80 } as const;

export const classOf = (code: number): number => code & 0x07;
export const sizeOf = (code: number): number => code & 0x18;
export const modeOf = (code: number): number => code & 0xe0;
export const opOf = (code: number): number => code & 0xf0;
export const srcOf = (code: number): number => code & 0x08;
export const rvalOf = (code: number): number => code & 0x18;
export const miscOpOf = (code: number): number => code & 0xf8;

/** Words of scratch memory M[0..15]. */
export const BPF_MEMWORDS = 16;
/** The kernel's limit on classic program length. */
export const BPF_MAXINSNS = 4096;

/**
 * Negative offsets of LD ABS/IND (as k, read as signed): Linux's special
 * areas. k >= SKF_AD_OFF selects ancillary data (SKF_AD_*); k in
 * [SKF_NET_OFF, SKF_AD_OFF) reads relative to the network header; k in
 * [SKF_LL_OFF, SKF_NET_OFF) relative to the link-layer header.
 */
export const SKF_AD_OFF = -0x1000;
export const SKF_NET_OFF = -0x100000;
export const SKF_LL_OFF = -0x200000;

/** Ancillary data selectors: k = SKF_AD_OFF + value. Names as bpf_asm spells them (`ld #proto`). */
export const SKF_AD = {
  PROTOCOL: 0,
  PKTTYPE: 4,
  IFINDEX: 8,
  NLATTR: 12,
  NLATTR_NEST: 16,
  MARK: 20,
  QUEUE: 24,
  HATYPE: 28,
  RXHASH: 32,
  CPU: 36,
  ALU_XOR_X: 40,
  VLAN_TAG: 44,
  VLAN_TAG_PRESENT: 48,
  PAY_OFFSET: 52,
  RANDOM: 56,
  VLAN_TPID: 60,
} as const;
export const SKF_AD_MAX = 64;

/**
 * The ancillary loads: [SKF_AD selector, the name libpcap's bpf_image prints
 * (`ldb [vlanp]`), the names bpf_asm accepts after `#` (`ld #vlan_avail`)].
 */
export const ANCILLARY: ReadonlyArray<readonly [number, string, readonly string[]]> = [
  [SKF_AD.PROTOCOL, 'proto', ['proto']],
  [SKF_AD.PKTTYPE, 'type', ['type']],
  [SKF_AD.IFINDEX, 'ifidx', ['ifidx']],
  [SKF_AD.NLATTR, 'nla', ['nla']],
  [SKF_AD.NLATTR_NEST, 'nlan', ['nlan']],
  [SKF_AD.MARK, 'mark', ['mark']],
  [SKF_AD.QUEUE, 'queue', ['queue']],
  [SKF_AD.HATYPE, 'hatype', ['hatype']],
  [SKF_AD.RXHASH, 'rxhash', ['rxhash']],
  [SKF_AD.CPU, 'cpu', ['cpu']],
  [SKF_AD.ALU_XOR_X, 'xor_x', ['xor_x']],
  [SKF_AD.VLAN_TAG, 'vlan_tci', ['vlan_tci']],
  [SKF_AD.VLAN_TAG_PRESENT, 'vlanp', ['vlan_avail', 'vlan_pr', 'vlanp']],
  [SKF_AD.PAY_OFFSET, 'poff', ['poff']],
  [SKF_AD.RANDOM, 'random', ['rand', 'random']],
  [SKF_AD.VLAN_TPID, 'vlan_tpid', ['vlan_tpid']],
];

/** Semantic tag of a classic instruction: one per row of CLASSIC_INSNS. */
export const enum COp {
  LD_W_ABS, LD_H_ABS, LD_B_ABS,
  LD_W_IND, LD_H_IND, LD_B_IND,
  LD_W_LEN, LD_IMM, LD_MEM,
  LDX_IMM, LDX_MEM, LDX_W_LEN, LDX_B_MSH,
  ST, STX,
  ALU_K, ALU_X, NEG,
  JA, JMP_K, JMP_X,
  RET_K, RET_A, RET_X,
  TAX, TXA,
}

/**
 * How the operand prints in tcpdump's `-d` format (libpcap's bpf_image) and
 * reads in bpf_asm: `[k]`, `[x + k]`, `#0x%x`, `M[k]`, `4*([k]&0xf)`...
 */
export const enum Operand {
  None,
  /** [k] */
  Abs,
  /** [x + k] */
  Ind,
  /** #pktlen */
  Len,
  /** #0x%x (loads of constants) */
  ImmHex,
  /** M[k] */
  Mem,
  /** 4*([k]&0xf) */
  Msh,
  /** #%d (signed decimal constant) */
  ImmDec,
  /** x (the X register) */
  X,
  /** pc-relative target k (ja) */
  Target,
}

export interface ClassicDef {
  readonly op: COp;
  /** The exact 16-bit code. */
  readonly code: number;
  /** Mnemonic as tcpdump -d prints it. */
  readonly name: string;
  readonly operand: Operand;
  /** Allowed by Linux's classic checker (bpf_check_classic). */
  readonly kernel: boolean;
  /** Allowed in seccomp filters (seccomp_check_filter). */
  readonly seccomp: boolean;
  /** Bytes an LD/LDX packet load reads (1, 2, 4), else 0. */
  readonly bytes: 0 | 1 | 2 | 4;
}

const { LD, LDX, ST, STX, ALU, JMP, RET, MISC } = BPF_CLASS;
const { W, H, B } = BPF_SIZE;
const { IMM, ABS, IND, MEM, LEN, MSH } = BPF_MODE;
const { K, X } = BPF_SRC;

const rows: ClassicDef[] = [];
function def(op: COp, code: number, name: string, operand: Operand, kernel: boolean, seccomp: boolean, bytes: 0 | 1 | 2 | 4 = 0): void {
  rows.push({ op, code, name, operand, kernel, seccomp, bytes });
}

// Loads. seccomp allows only the 32-bit absolute load (of seccomp_data) and
// the length load (rewritten to the constant sizeof(struct seccomp_data)).
def(COp.LD_W_ABS, LD | W | ABS, 'ld', Operand.Abs, true, true, 4);
def(COp.LD_H_ABS, LD | H | ABS, 'ldh', Operand.Abs, true, false, 2);
def(COp.LD_B_ABS, LD | B | ABS, 'ldb', Operand.Abs, true, false, 1);
def(COp.LD_W_IND, LD | W | IND, 'ld', Operand.Ind, true, false, 4);
def(COp.LD_H_IND, LD | H | IND, 'ldh', Operand.Ind, true, false, 2);
def(COp.LD_B_IND, LD | B | IND, 'ldb', Operand.Ind, true, false, 1);
def(COp.LD_W_LEN, LD | W | LEN, 'ld', Operand.Len, true, true);
def(COp.LD_IMM, LD | IMM, 'ld', Operand.ImmHex, true, true);
def(COp.LD_MEM, LD | MEM, 'ld', Operand.Mem, true, true);
def(COp.LDX_IMM, LDX | IMM, 'ldx', Operand.ImmHex, true, true);
def(COp.LDX_MEM, LDX | MEM, 'ldx', Operand.Mem, true, true);
def(COp.LDX_W_LEN, LDX | W | LEN, 'ldx', Operand.Len, true, true);
def(COp.LDX_B_MSH, LDX | B | MSH, 'ldxb', Operand.Msh, true, false, 1);
def(COp.ST, ST, 'st', Operand.Mem, true, true);
def(COp.STX, STX, 'stx', Operand.Mem, true, true);

// ALU: one row per (operation, source) so codes stay exact; NEG has no source.
const ALU_NAMES: ReadonlyArray<readonly [string, number, Operand]> = [
  ['add', BPF_ALU_OP.ADD, Operand.ImmDec],
  ['sub', BPF_ALU_OP.SUB, Operand.ImmDec],
  ['mul', BPF_ALU_OP.MUL, Operand.ImmDec],
  ['div', BPF_ALU_OP.DIV, Operand.ImmDec],
  ['or', BPF_ALU_OP.OR, Operand.ImmHex],
  ['and', BPF_ALU_OP.AND, Operand.ImmHex],
  ['lsh', BPF_ALU_OP.LSH, Operand.ImmDec],
  ['rsh', BPF_ALU_OP.RSH, Operand.ImmDec],
  ['mod', BPF_ALU_OP.MOD, Operand.ImmDec],
  ['xor', BPF_ALU_OP.XOR, Operand.ImmHex],
];
for (const [name, aop, immForm] of ALU_NAMES) {
  def(COp.ALU_K, ALU | aop | K, name, immForm, true, true);
  def(COp.ALU_X, ALU | aop | X, name, Operand.X, true, true);
}
def(COp.NEG, ALU | BPF_ALU_OP.NEG, 'neg', Operand.None, true, true);

def(COp.JA, JMP | BPF_JMP_OP.JA, 'ja', Operand.Target, true, true);
const JMP_NAMES: ReadonlyArray<readonly [string, number]> = [
  ['jeq', BPF_JMP_OP.JEQ],
  ['jgt', BPF_JMP_OP.JGT],
  ['jge', BPF_JMP_OP.JGE],
  ['jset', BPF_JMP_OP.JSET],
];
for (const [name, jop] of JMP_NAMES) {
  def(COp.JMP_K, JMP | jop | K, name, Operand.ImmHex, true, true);
  def(COp.JMP_X, JMP | jop | X, name, Operand.X, true, true);
}

// `ret x` is valid for libpcap's bpf_filter but not for Linux's checker.
def(COp.RET_K, RET | BPF_RVAL.K, 'ret', Operand.ImmDec, true, true);
def(COp.RET_A, RET | BPF_RVAL.A, 'ret', Operand.None, true, true);
def(COp.RET_X, RET | BPF_RVAL.X, 'ret', Operand.X, false, false);
def(COp.TAX, MISC | BPF_MISCOP.TAX, 'tax', Operand.None, true, true);
def(COp.TXA, MISC | BPF_MISCOP.TXA, 'txa', Operand.None, true, true);

/** Every classic instruction, one row per exact code. */
export const CLASSIC_INSNS: readonly ClassicDef[] = rows;

/** code (0..0xffff) -> row; the table is sparse, so a Map. Codes above 0xff are never valid. */
const BY_CODE: ReadonlyArray<ClassicDef | undefined> = (() => {
  const t: (ClassicDef | undefined)[] = new Array(256).fill(undefined);
  for (const r of rows) {
    if (t[r.code] !== undefined) throw new Error(`cbpf table: duplicate code 0x${r.code.toString(16)}`);
    t[r.code] = r;
  }
  return t;
})();

/** The row for an exact code, or undefined when the code is not a classic instruction. */
export function classicDef(code: number): ClassicDef | undefined {
  return code >= 0 && code < 256 ? BY_CODE[code] : undefined;
}

/** Is this a conditional jump (uses jt/jf)? */
export function isCondJump(code: number): boolean {
  return classOf(code) === BPF_CLASS.JMP && opOf(code) !== BPF_JMP_OP.JA;
}

/** Build an instruction, normalising k to unsigned 32 bits. */
export function insn(code: number, k = 0, jt = 0, jf = 0): ClassicInsn {
  return { code, jt, jf, k: k >>> 0 };
}

/** Builders for the common forms, so that generated code reads like the instruction. */
export const stmt = (code: number, k = 0): ClassicInsn => insn(code, k);
export const jump = (code: number, k: number, jt: number, jf: number): ClassicInsn => insn(code, k, jt, jf);

/** Bytes of `struct sock_filter`. */
export const SOCK_FILTER_SIZE = 8;
