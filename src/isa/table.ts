// The one table of the eBPF instruction set (RFC 9669 plus the cpu v4
// extensions and the legacy packet loads). Decoder, encoder, assembler,
// disassembler, interpreter, JIT and verifier all derive what they need from
// these rows; no other module keeps an opcode list.
//
// A row is keyed by its opcode plus, where one opcode means several
// instructions, a discriminator field: src for lddw and call, off for
// sdiv/smod and movsx, imm for atomics and byte swaps.

import { ADDR_SPACE_CAST_OFF, AluOp, AtomicOp, Class, Field, JcondSrc, JmpOp, Mode, PseudoCall, PseudoLd, Size, Src } from './fields.js';

/**
 * Semantic tag of an instruction, one per row. A const enum so that the
 * interpreter's `switch (op)` compiles to dense integer cases.
 */
export const enum Op {
  ADD64_IMM = 0,
  ADD64_REG = 1,
  SUB64_IMM = 2,
  SUB64_REG = 3,
  MUL64_IMM = 4,
  MUL64_REG = 5,
  DIV64_IMM = 6,
  DIV64_REG = 7,
  SDIV64_IMM = 8,
  SDIV64_REG = 9,
  OR64_IMM = 10,
  OR64_REG = 11,
  AND64_IMM = 12,
  AND64_REG = 13,
  LSH64_IMM = 14,
  LSH64_REG = 15,
  RSH64_IMM = 16,
  RSH64_REG = 17,
  MOD64_IMM = 18,
  MOD64_REG = 19,
  SMOD64_IMM = 20,
  SMOD64_REG = 21,
  XOR64_IMM = 22,
  XOR64_REG = 23,
  MOV64_IMM = 24,
  MOV64_REG = 25,
  ARSH64_IMM = 26,
  ARSH64_REG = 27,
  ADD32_IMM = 28,
  ADD32_REG = 29,
  SUB32_IMM = 30,
  SUB32_REG = 31,
  MUL32_IMM = 32,
  MUL32_REG = 33,
  DIV32_IMM = 34,
  DIV32_REG = 35,
  SDIV32_IMM = 36,
  SDIV32_REG = 37,
  OR32_IMM = 38,
  OR32_REG = 39,
  AND32_IMM = 40,
  AND32_REG = 41,
  LSH32_IMM = 42,
  LSH32_REG = 43,
  RSH32_IMM = 44,
  RSH32_REG = 45,
  MOD32_IMM = 46,
  MOD32_REG = 47,
  SMOD32_IMM = 48,
  SMOD32_REG = 49,
  XOR32_IMM = 50,
  XOR32_REG = 51,
  MOV32_IMM = 52,
  MOV32_REG = 53,
  ARSH32_IMM = 54,
  ARSH32_REG = 55,
  NEG64 = 56,
  NEG32 = 57,
  MOVSX64_8 = 58,
  MOVSX64_16 = 59,
  MOVSX64_32 = 60,
  MOVSX32_8 = 61,
  MOVSX32_16 = 62,
  LE16 = 63,
  LE32 = 64,
  LE64 = 65,
  BE16 = 66,
  BE32 = 67,
  BE64 = 68,
  BSWAP16 = 69,
  BSWAP32 = 70,
  BSWAP64 = 71,
  LDXB = 72,
  LDXH = 73,
  LDXW = 74,
  LDXDW = 75,
  LDXSB = 76,
  LDXSH = 77,
  LDXSW = 78,
  STB = 79,
  STH = 80,
  STW = 81,
  STDW = 82,
  STXB = 83,
  STXH = 84,
  STXW = 85,
  STXDW = 86,
  ATOMIC32_ADD = 87,
  ATOMIC32_FETCH_ADD = 88,
  ATOMIC32_OR = 89,
  ATOMIC32_FETCH_OR = 90,
  ATOMIC32_AND = 91,
  ATOMIC32_FETCH_AND = 92,
  ATOMIC32_XOR = 93,
  ATOMIC32_FETCH_XOR = 94,
  ATOMIC32_XCHG = 95,
  ATOMIC32_CMPXCHG = 96,
  ATOMIC64_ADD = 97,
  ATOMIC64_FETCH_ADD = 98,
  ATOMIC64_OR = 99,
  ATOMIC64_FETCH_OR = 100,
  ATOMIC64_AND = 101,
  ATOMIC64_FETCH_AND = 102,
  ATOMIC64_XOR = 103,
  ATOMIC64_FETCH_XOR = 104,
  ATOMIC64_XCHG = 105,
  ATOMIC64_CMPXCHG = 106,
  LDDW = 107,
  LDDW_MAP_FD = 108,
  LDDW_MAP_VALUE = 109,
  LDDW_BTF_VAR = 110,
  LDDW_FUNC = 111,
  LDDW_MAP_IDX = 112,
  LDDW_MAP_IDX_VALUE = 113,
  LD_ABS_B = 114,
  LD_ABS_H = 115,
  LD_ABS_W = 116,
  LD_IND_B = 117,
  LD_IND_H = 118,
  LD_IND_W = 119,
  JA = 120,
  JA32 = 121,
  JEQ64_IMM = 122,
  JEQ64_REG = 123,
  JGT64_IMM = 124,
  JGT64_REG = 125,
  JGE64_IMM = 126,
  JGE64_REG = 127,
  JSET64_IMM = 128,
  JSET64_REG = 129,
  JNE64_IMM = 130,
  JNE64_REG = 131,
  JSGT64_IMM = 132,
  JSGT64_REG = 133,
  JSGE64_IMM = 134,
  JSGE64_REG = 135,
  JLT64_IMM = 136,
  JLT64_REG = 137,
  JLE64_IMM = 138,
  JLE64_REG = 139,
  JSLT64_IMM = 140,
  JSLT64_REG = 141,
  JSLE64_IMM = 142,
  JSLE64_REG = 143,
  JEQ32_IMM = 144,
  JEQ32_REG = 145,
  JGT32_IMM = 146,
  JGT32_REG = 147,
  JGE32_IMM = 148,
  JGE32_REG = 149,
  JSET32_IMM = 150,
  JSET32_REG = 151,
  JNE32_IMM = 152,
  JNE32_REG = 153,
  JSGT32_IMM = 154,
  JSGT32_REG = 155,
  JSGE32_IMM = 156,
  JSGE32_REG = 157,
  JLT32_IMM = 158,
  JLT32_REG = 159,
  JLE32_IMM = 160,
  JLE32_REG = 161,
  JSLT32_IMM = 162,
  JSLT32_REG = 163,
  JSLE32_IMM = 164,
  JSLE32_REG = 165,
  CALL = 166,
  CALL_LOCAL = 167,
  CALL_KFUNC = 168,
  CALLX = 169,
  EXIT = 170,
  MAY_GOTO = 171,
  ADDR_SPACE_CAST = 172,
}

/** The last Op value (the table's self-check counts rows against it). */
const LAST_OP = Op.ADDR_SPACE_CAST;

/** Operand shapes: how the fields are used, and so how the instruction prints and assembles. */
export const enum Shape {
  /** dst op= src */
  AluReg,
  /** dst op= imm */
  AluImm,
  /** dst = -dst */
  Neg,
  /** dst = be16 dst, le, bswap: imm holds the width */
  Endian,
  /** dst = (s8)src: off holds the width */
  MovSx,
  /** dst = *(u8 *)(src + off) */
  Load,
  /** dst = *(s8 *)(src + off) */
  LoadSx,
  /** *(u8 *)(dst + off) = imm */
  Store,
  /** *(u8 *)(dst + off) = src */
  StoreReg,
  /** lock *(u64 *)(dst + off) op= src and friends: imm holds the operation */
  Atomic,
  /** dst = imm64 (two slots); src says what the immediate refers to */
  Lddw,
  /** r0 = *(u8 *)skb[imm] (legacy packet load) */
  LdAbs,
  /** r0 = *(u8 *)skb[src + imm] (legacy packet load) */
  LdInd,
  /** goto +off */
  Ja,
  /** gotol +imm */
  Ja32,
  /** if dst op imm goto +off */
  JmpImm,
  /** if dst op src goto +off */
  JmpReg,
  /** call imm (helper id) */
  Call,
  /** call pc+1+imm (bpf-to-bpf) */
  CallLocal,
  /** call imm (kernel function by BTF id) */
  CallKfunc,
  /** callx dst */
  Callx,
  /** exit */
  Exit,
  /** may_goto +off: taken once the frame's loop budget is spent, else the budget shrinks by one */
  MayGoto,
  /** dst = addr_space_cast(src, dst_as, src_as): imm = dst_as << 16 | src_as */
  AddrSpaceCast,
}

/** What an ALU row computes (ALU/ALU64 binary rows), independent of how it prints. */
export type AluKind = 'add' | 'sub' | 'mul' | 'div' | 'sdiv' | 'or' | 'and' | 'lsh' | 'rsh' | 'mod' | 'smod' | 'xor' | 'mov' | 'arsh';
/** What a conditional jump tests (JMP/JMP32 rows): unsigned gt/ge/lt/le, signed s*, set = (dst & x) != 0. */
export type CmpKind = 'eq' | 'ne' | 'set' | 'gt' | 'ge' | 'lt' | 'le' | 'sgt' | 'sge' | 'slt' | 'sle';
/** Byte-order rows: to little-endian (truncate here), to big-endian, or unconditional swap. */
export type EndianKind = 'le' | 'be' | 'bswap';

export type Discriminator = { readonly field: 'src' | 'off' | 'imm'; readonly value: number };

export interface InsnDef {
  readonly op: Op;
  /** Mnemonic in the bpf_conformance dialect ('add32', 'ldxw', 'lock fetch add', 'jeq32'...). */
  readonly name: string;
  readonly opcode: number;
  readonly shape: Shape;
  readonly discr?: Discriminator;
  /** Operation width in bits for ALU/JMP (32 or 64), access size for memory ops, width for byte swaps. */
  readonly width: 8 | 16 | 32 | 64;
  /** 8-byte slots the instruction occupies (lddw takes two). */
  readonly slots: 1 | 2;
  /** Operator as LLVM prints it: '+=', 's>>=', '==', 'be16', 'atomic_fetch_add'... */
  readonly llvm: string;
  /** Field.* bits of fields that are unused and must be zero. */
  readonly zero: number;
  /** The minimum -mcpu version that has the instruction (1..4), for reporting. */
  readonly cpu: 1 | 2 | 3 | 4;
  /** ALU binary rows: the operation (engines switch on this, never on `llvm`). */
  readonly alu?: AluKind;
  /** Conditional jump rows: the comparison. */
  readonly cmp?: CmpKind;
  /** Byte-order rows: which conversion. */
  readonly endian?: EndianKind;
  /** The only immediates the instruction defines, when it restricts them (checked by the decoder). */
  readonly imms?: readonly number[];
}

const { DST, SRC, OFF, IMM } = Field;
const rows: InsnDef[] = [];
function def(d: InsnDef): void {
  rows.push(d);
}

// ---- ALU and ALU64 ---------------------------------------------------------
// [name, AluOp, llvm operator, discriminating off (sdiv/smod), cpu]
const ALU_BINARY: ReadonlyArray<readonly [AluKind, number, string, number, 1 | 4]> = [
  ['add', AluOp.ADD, '+=', 0, 1],
  ['sub', AluOp.SUB, '-=', 0, 1],
  ['mul', AluOp.MUL, '*=', 0, 1],
  ['div', AluOp.DIV, '/=', 0, 1],
  ['sdiv', AluOp.DIV, 's/=', 1, 4],
  ['or', AluOp.OR, '|=', 0, 1],
  ['and', AluOp.AND, '&=', 0, 1],
  ['lsh', AluOp.LSH, '<<=', 0, 1],
  ['rsh', AluOp.RSH, '>>=', 0, 1],
  ['mod', AluOp.MOD, '%=', 0, 1],
  ['smod', AluOp.MOD, 's%=', 1, 4],
  ['xor', AluOp.XOR, '^=', 0, 1],
  ['mov', AluOp.MOV, '=', 0, 1],
  ['arsh', AluOp.ARSH, 's>>=', 0, 1],
];

let op = 0 as Op;
const next = (): Op => op++ as Op;

for (const [width, cls, suffix] of [
  [64, Class.ALU64, ''],
  [32, Class.ALU, '32'],
] as const) {
  for (const [name, aluOp, llvm, off, cpu] of ALU_BINARY) {
    const discr: Discriminator = { field: 'off', value: off };
    def({ op: next(), name: name + suffix, opcode: aluOp | Src.K | cls, shape: Shape.AluImm, discr, width, slots: 1, llvm, zero: SRC | OFF, cpu, alu: name });
    def({ op: next(), name: name + suffix, opcode: aluOp | Src.X | cls, shape: Shape.AluReg, discr, width, slots: 1, llvm, zero: IMM | OFF, cpu, alu: name });
  }
}
def({ op: next(), name: 'neg', opcode: AluOp.NEG | Class.ALU64, shape: Shape.Neg, width: 64, slots: 1, llvm: '-', zero: SRC | OFF | IMM, cpu: 1 });
def({ op: next(), name: 'neg32', opcode: AluOp.NEG | Class.ALU, shape: Shape.Neg, width: 32, slots: 1, llvm: '-', zero: SRC | OFF | IMM, cpu: 1 });
for (const [name, w] of [['movsx864', 8], ['movsx1664', 16], ['movsx3264', 32]] as const) {
  def({ op: next(), name, opcode: AluOp.MOV | Src.X | Class.ALU64, shape: Shape.MovSx, discr: { field: 'off', value: w }, width: w, slots: 1, llvm: `(s${w})`, zero: IMM, cpu: 4 });
}
for (const [name, w] of [['movsx832', 8], ['movsx1632', 16]] as const) {
  def({ op: next(), name, opcode: AluOp.MOV | Src.X | Class.ALU, shape: Shape.MovSx, discr: { field: 'off', value: w }, width: w, slots: 1, llvm: `(s${w})`, zero: IMM, cpu: 4 });
}
// Byte order: le/be are ALU (32-bit class) with the source bit choosing the
// target order; bswap is the same operation in the ALU64 class (cpu v4).
for (const [prefix, opcode, cpu] of [
  ['le', AluOp.END | Src.K | Class.ALU, 1],
  ['be', AluOp.END | Src.X | Class.ALU, 1],
  ['bswap', AluOp.END | Class.ALU64, 4],
] as const) {
  for (const w of [16, 32, 64] as const) {
    def({ op: next(), name: `${prefix}${w}`, opcode, shape: Shape.Endian, discr: { field: 'imm', value: w }, width: w, slots: 1, llvm: `${prefix}${w}`, zero: SRC | OFF, cpu, endian: prefix });
  }
}

// ---- Loads and stores --------------------------------------------------------
const SIZES = [
  ['b', Size.B, 8],
  ['h', Size.H, 16],
  ['w', Size.W, 32],
  ['dw', Size.DW, 64],
] as const;
for (const [s, size, w] of SIZES) {
  def({ op: next(), name: `ldx${s}`, opcode: Class.LDX | Mode.MEM | size, shape: Shape.Load, width: w, slots: 1, llvm: `u${w}`, zero: IMM, cpu: 1 });
}
for (const [s, size, w] of SIZES.slice(0, 3)) {
  def({ op: next(), name: `ldxs${s}`, opcode: Class.LDX | Mode.MEMSX | size, shape: Shape.LoadSx, width: w, slots: 1, llvm: `s${w}`, zero: IMM, cpu: 4 });
}
for (const [s, size, w] of SIZES) {
  def({ op: next(), name: `st${s}`, opcode: Class.ST | Mode.MEM | size, shape: Shape.Store, width: w, slots: 1, llvm: `u${w}`, zero: SRC, cpu: 1 });
}
for (const [s, size, w] of SIZES) {
  def({ op: next(), name: `stx${s}`, opcode: Class.STX | Mode.MEM | size, shape: Shape.StoreReg, width: w, slots: 1, llvm: `u${w}`, zero: IMM, cpu: 1 });
}
// Atomics: [conformance name, imm, llvm operator]
const ATOMICS: ReadonlyArray<readonly [string, number, string]> = [
  ['add', AtomicOp.ADD, '+='],
  ['fetch add', AtomicOp.ADD | AtomicOp.FETCH, 'atomic_fetch_add'],
  ['or', AtomicOp.OR, '|='],
  ['fetch or', AtomicOp.OR | AtomicOp.FETCH, 'atomic_fetch_or'],
  ['and', AtomicOp.AND, '&='],
  ['fetch and', AtomicOp.AND | AtomicOp.FETCH, 'atomic_fetch_and'],
  ['xor', AtomicOp.XOR, '^='],
  ['fetch xor', AtomicOp.XOR | AtomicOp.FETCH, 'atomic_fetch_xor'],
  ['xchg', AtomicOp.XCHG, 'xchg'],
  ['cmpxchg', AtomicOp.CMPXCHG, 'cmpxchg'],
];
for (const [w, size, suffix] of [
  [32, Size.W, '32'],
  [64, Size.DW, ''],
] as const) {
  for (const [name, imm, llvm] of ATOMICS) {
    def({ op: next(), name: `lock ${name}${suffix}`, opcode: Class.STX | Mode.ATOMIC | size, shape: Shape.Atomic, discr: { field: 'imm', value: imm }, width: w, slots: 1, llvm, zero: 0, cpu: 3 });
  }
}
// lddw and its pseudo forms (src 0..6). Only the plain form has an LLVM asm
// spelling; the others print like it and are made by the ELF loader.
for (const [name, src] of [
  ['lddw', PseudoLd.IMM64],
  ['lddw map_fd', PseudoLd.MAP_FD],
  ['lddw map_value', PseudoLd.MAP_VALUE],
  ['lddw btf_id', PseudoLd.BTF_ID],
  ['lddw func', PseudoLd.FUNC],
  ['lddw map_idx', PseudoLd.MAP_IDX],
  ['lddw map_idx_value', PseudoLd.MAP_IDX_VALUE],
] as const) {
  def({ op: next(), name, opcode: Class.LD | Mode.IMM | Size.DW, shape: Shape.Lddw, discr: { field: 'src', value: src }, width: 64, slots: 2, llvm: 'll', zero: OFF, cpu: 1 });
}
for (const [s, size, w] of SIZES.slice(0, 3)) {
  def({ op: next(), name: `ldabs${s}`, opcode: Class.LD | Mode.ABS | size, shape: Shape.LdAbs, width: w, slots: 1, llvm: `u${w}`, zero: DST | SRC | OFF, cpu: 1 });
}
for (const [s, size, w] of SIZES.slice(0, 3)) {
  def({ op: next(), name: `ldind${s}`, opcode: Class.LD | Mode.IND | size, shape: Shape.LdInd, width: w, slots: 1, llvm: `u${w}`, zero: DST | OFF, cpu: 1 });
}

// ---- Jumps, calls, exit --------------------------------------------------------
def({ op: next(), name: 'ja', opcode: JmpOp.JA | Class.JMP, shape: Shape.Ja, width: 64, slots: 1, llvm: 'goto', zero: DST | SRC | IMM, cpu: 1 });
def({ op: next(), name: 'ja32', opcode: JmpOp.JA | Class.JMP32, shape: Shape.Ja32, width: 32, slots: 1, llvm: 'gotol', zero: DST | SRC | OFF, cpu: 4 });
const CONDS: ReadonlyArray<readonly [CmpKind, number, string, 1 | 2]> = [
  ['eq', JmpOp.JEQ, '==', 1],
  ['gt', JmpOp.JGT, '>', 1],
  ['ge', JmpOp.JGE, '>=', 1],
  ['set', JmpOp.JSET, '&', 1],
  ['ne', JmpOp.JNE, '!=', 1],
  ['sgt', JmpOp.JSGT, 's>', 1],
  ['sge', JmpOp.JSGE, 's>=', 1],
  ['lt', JmpOp.JLT, '<', 2],
  ['le', JmpOp.JLE, '<=', 2],
  ['slt', JmpOp.JSLT, 's<', 2],
  ['sle', JmpOp.JSLE, 's<=', 2],
];
for (const [width, cls, suffix] of [
  [64, Class.JMP, ''],
  [32, Class.JMP32, '32'],
] as const) {
  for (const [cmp, jop, llvm, cpu] of CONDS) {
    const c = cls === Class.JMP32 ? 3 : cpu;
    const name = `j${cmp}${suffix}`;
    def({ op: next(), name, opcode: jop | Src.K | cls, shape: Shape.JmpImm, width, slots: 1, llvm, zero: SRC, cpu: c, cmp });
    def({ op: next(), name, opcode: jop | Src.X | cls, shape: Shape.JmpReg, width, slots: 1, llvm, zero: IMM, cpu: c, cmp });
  }
}
def({ op: next(), name: 'call', opcode: JmpOp.CALL | Class.JMP, shape: Shape.Call, discr: { field: 'src', value: PseudoCall.HELPER }, width: 64, slots: 1, llvm: 'call', zero: DST | OFF, cpu: 1 });
def({ op: next(), name: 'call local', opcode: JmpOp.CALL | Class.JMP, shape: Shape.CallLocal, discr: { field: 'src', value: PseudoCall.LOCAL }, width: 64, slots: 1, llvm: 'call', zero: DST | OFF, cpu: 1 });
// kfunc calls may carry a BTF fd index in off (module BTF), so off is not reserved.
def({ op: next(), name: 'call runtime', opcode: JmpOp.CALL | Class.JMP, shape: Shape.CallKfunc, discr: { field: 'src', value: PseudoCall.KFUNC }, width: 64, slots: 1, llvm: 'call', zero: DST, cpu: 1 });
def({ op: next(), name: 'callx', opcode: JmpOp.CALL | Src.X | Class.JMP, shape: Shape.Callx, width: 64, slots: 1, llvm: 'callx', zero: SRC | OFF | IMM, cpu: 1 });
def({ op: next(), name: 'exit', opcode: JmpOp.EXIT | Class.JMP, shape: Shape.Exit, width: 64, slots: 1, llvm: 'exit', zero: DST | SRC | OFF | IMM, cpu: 1 });

// ---- Later additions (Linux 6.9; LLVM 19 reads and prints them at any -mcpu) ----------------
// may_goto (BPF_JCOND with src BPF_MAY_GOTO): a conditional jump whose
// condition is the loop budget of the current frame. The kernel keeps one
// counter per function invocation (a hidden stack slot set to BPF_MAX_LOOPS
// when the function is entered, kernel/bpf/verifier.c do_misc_fixups): while
// it is non-zero, may_goto decrements it and falls through; once it is zero
// the jump is taken, every time. Every may_goto of a function shares the
// counter; a bpf-to-bpf call or a callback starts its own. (Linux 6.15+ JITs
// on x86-64 and arm64 turn the count into a time budget of about 250 ms,
// arch_bpf_timed_may_goto: a 6.18 kernel ran 458M iterations of a bare
// may_goto loop. tsbpf keeps 6.12's count, which is deterministic.)
def({ op: next(), name: 'may_goto', opcode: JmpOp.JCOND | Src.K | Class.JMP, shape: Shape.MayGoto, discr: { field: 'src', value: JcondSrc.MAY_GOTO }, width: 64, slots: 1, llvm: 'may_goto', zero: DST | SRC | IMM, cpu: 1 });
// addr_space_cast (mov64 with off 1): arena pointer casts. tsbpf has one
// linear memory with 32-bit addresses and maps an arena's user and kernel
// views onto the same bytes, so both directions keep the low 32 bits and
// clear the upper half, and NULL stays NULL: as(1)->as(0) (imm 1) is what the
// kernel rewrites it to (a 32-bit mov), as(0)->as(1) (imm 1 << 16) is the
// JIT's `(u32)src | user_vm_start_hi` with a user_vm_start below 4 GiB.
def({ op: next(), name: 'addr_space_cast', opcode: AluOp.MOV | Src.X | Class.ALU64, shape: Shape.AddrSpaceCast, discr: { field: 'off', value: ADDR_SPACE_CAST_OFF }, width: 64, slots: 1, llvm: 'addr_space_cast', zero: 0, cpu: 1, imms: [1, 1 << 16] });

/** Every instruction, indexed by Op. */
export const INSNS: readonly InsnDef[] = rows;
/** Number of Op values. */
export const OP_COUNT = rows.length;

// ---- Derived lookups ---------------------------------------------------------------

/** opcode -> the rows with that opcode (one, or several told apart by a discriminator). */
export const BY_OPCODE: ReadonlyArray<readonly InsnDef[] | undefined> = (() => {
  const t: InsnDef[][] = new Array(256);
  for (const r of rows) (t[r.opcode] ??= []).push(r);
  return t;
})();

/** Conformance mnemonic -> rows (e.g. 'add' -> [add imm, add reg]). */
export const BY_NAME: ReadonlyMap<string, readonly InsnDef[]> = (() => {
  const m = new Map<string, InsnDef[]>();
  for (const r of rows) {
    const list = m.get(r.name) ?? [];
    list.push(r);
    m.set(r.name, list);
  }
  return m;
})();

/**
 * Find the row for an instruction's fields, or undefined if the encoding is
 * not an instruction. A discriminated row matches when its field has its
 * value; for sdiv/smod the off=0 row is div/mod.
 */
export function lookup(opcode: number, src: number, off: number, imm: number): InsnDef | undefined {
  const cands = BY_OPCODE[opcode & 0xff];
  if (cands === undefined) return undefined;
  if (cands.length === 1 && cands[0]!.discr === undefined) return cands[0];
  for (const r of cands) {
    const d = r.discr;
    if (d === undefined) return r;
    const v = d.field === 'src' ? src : d.field === 'off' ? off : imm;
    if (v === d.value) return r;
  }
  return undefined;
}

/** Is this a conditional or unconditional jump with a pc-relative target? */
export function isJump(shape: Shape): boolean {
  return shape === Shape.Ja || shape === Shape.Ja32 || shape === Shape.JmpImm || shape === Shape.JmpReg || shape === Shape.MayGoto;
}

/** Shapes that write their dst register (used by the register-init check and the verifier). */
export function writesDst(shape: Shape): boolean {
  switch (shape) {
    case Shape.AluReg:
    case Shape.AluImm:
    case Shape.Neg:
    case Shape.Endian:
    case Shape.MovSx:
    case Shape.Load:
    case Shape.LoadSx:
    case Shape.Lddw:
    case Shape.AddrSpaceCast:
      return true;
    default:
      return false;
  }
}

// Self-check when the module loads: no two rows may claim the same encoding.
(function checkUnique() {
  const seen = new Set<string>();
  for (const r of rows) {
    const key = `${r.opcode}:${r.discr ? r.discr.field + '=' + r.discr.value : '*'}`;
    if (seen.has(key)) throw new Error(`isa table: duplicate encoding ${key} (${r.name})`);
    seen.add(key);
  }
  if (rows.length !== LAST_OP + 1) throw new Error(`isa table: ${rows.length} rows but Op has ${LAST_OP + 1} values`);
  rows.forEach((r, i) => {
    if (r.op !== i) throw new Error(`isa table: row ${i} (${r.name}) has op ${r.op}`);
  });
})();
