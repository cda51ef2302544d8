// The fields of an eBPF instruction and the constants that make up opcodes
// (RFC 9669 section 3). These are the raw numbers; the table in table.ts says
// which combinations are instructions.

/** Instruction classes: the low 3 bits of the opcode. */
export const Class = {
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  JMP32: 0x06,
  ALU64: 0x07,
} as const;
export type Class = (typeof Class)[keyof typeof Class];

/** Source bit of ALU and JMP opcodes: 0 = immediate operand, 8 = register. */
export const Src = { K: 0x00, X: 0x08 } as const;

/** Size field of load/store opcodes. */
export const Size = { W: 0x00, H: 0x08, B: 0x10, DW: 0x18 } as const;

/** Mode field of load/store opcodes. */
export const Mode = { IMM: 0x00, ABS: 0x20, IND: 0x40, MEM: 0x60, MEMSX: 0x80, ATOMIC: 0xc0 } as const;

/** Operation field (high nibble) of ALU/ALU64 opcodes. */
export const AluOp = {
  ADD: 0x00, SUB: 0x10, MUL: 0x20, DIV: 0x30, OR: 0x40, AND: 0x50, LSH: 0x60, RSH: 0x70,
  NEG: 0x80, MOD: 0x90, XOR: 0xa0, MOV: 0xb0, ARSH: 0xc0, END: 0xd0,
} as const;

/** Operation field (high nibble) of JMP/JMP32 opcodes. */
export const JmpOp = {
  JA: 0x00, JEQ: 0x10, JGT: 0x20, JGE: 0x30, JSET: 0x40, JNE: 0x50, JSGT: 0x60, JSGE: 0x70,
  CALL: 0x80, EXIT: 0x90, JLT: 0xa0, JLE: 0xb0, JSLT: 0xc0, JSLE: 0xd0, JCOND: 0xe0,
} as const;

/** src values of BPF_JCOND jumps: may_goto is the only one so far. */
export const JcondSrc = { MAY_GOTO: 0 } as const;

/** off of an ALU64 mov that makes it addr_space_cast (BPF_ADDR_SPACE_CAST). */
export const ADDR_SPACE_CAST_OFF = 1;

/**
 * The loop budget of may_goto per function invocation, and bpf_loop's cap on
 * iterations (BPF_MAX_LOOPS in include/linux/bpf.h, 6.12).
 */
export const BPF_MAX_LOOPS = 8 * 1024 * 1024;

/** imm values of BPF_ATOMIC instructions. FETCH is or-ed into add/or/and/xor. */
export const AtomicOp = {
  ADD: 0x00, OR: 0x40, AND: 0x50, XOR: 0xa0, FETCH: 0x01, XCHG: 0xe1, CMPXCHG: 0xf1,
} as const;

/** src values of lddw (BPF_PSEUDO_*): what the 64-bit immediate refers to. */
export const PseudoLd = {
  IMM64: 0, MAP_FD: 1, MAP_VALUE: 2, BTF_ID: 3, FUNC: 4, MAP_IDX: 5, MAP_IDX_VALUE: 6,
} as const;

/** src values of call: helper id, local function (pc-relative), kfunc (BTF id). */
export const PseudoCall = { HELPER: 0, LOCAL: 1, KFUNC: 2 } as const;

export const INSN_SIZE = 8;
/** r10 is the read-only frame pointer; registers above it do not exist. */
export const MAX_REG = 10;
/** Stack bytes per frame. */
export const STACK_SIZE = 512;
/** Maximum depth of bpf-to-bpf calls (frames, including the main one). */
export const MAX_CALL_FRAMES = 8;

export const classOf = (opcode: number): number => opcode & 0x07;

/** Bits for InsnDef.zero: fields an instruction does not use and that must be zero. */
export const Field = { DST: 1, SRC: 2, OFF: 4, IMM: 8 } as const;

/** One decoded 8-byte slot, as plain numbers. off and imm are signed. */
export interface RawInsn {
  opcode: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}
