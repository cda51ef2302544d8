// The engine semantics table, written once as data: each case is a program
// (raw slots built from the ISA table), optional input memory or packet, and
// the expected r0 or error. test/vm/semantics.test.ts runs it on the
// interpreter; the JIT runs the same table (runCase(vm, c, 'jit')).
//
// Expected values are worked out by hand from RFC 9669 / FORMAT.md §3, except
// the jump table, whose expectations come from a BigInt model of the
// comparison (jumpTaken below), independent of the engines.

import type { RawInsn } from '../../src/isa/fields.js';
import { encodeSlots } from '../../src/isa/decode.js';
import { INSNS, Op, Shape } from '../../src/isa/table.js';
import type { Vm } from '../../src/vm/vm.js';
import type { ExecResult } from '../../src/vm/types.js';
import { trustProgram } from '../../src/vm/engines.js';

export type ExpectedError = 'MemoryFault' | 'BudgetExceeded' | 'ProgramError';

export interface EngineCase {
  readonly name: string;
  readonly prog: readonly RawInsn[];
  /** Input memory: r1 = its address, r2 = its length. */
  readonly mem?: readonly number[];
  /** Bytes for the legacy packet loads, passed as run.packet. */
  readonly packet?: readonly number[];
  readonly budget?: number;
  /** Expected r0 (unsigned 64-bit) ... */
  readonly r0?: bigint;
  /** ... or the error class and the pc it names. */
  readonly error?: { readonly kind: ExpectedError; readonly pc?: number };
}

// ---- a tiny builder over the ISA table -------------------------------------------
// Discriminators (src for call/lddw, off for sdiv/movsx, imm for atomics and
// byte swaps) are filled in from the row, so a case names only its operands.

function ins(op: Op, f: Partial<RawInsn> = {}): RawInsn[] {
  const def = INSNS[op]!;
  const s: RawInsn = { opcode: def.opcode, dst: f.dst ?? 0, src: f.src ?? 0, off: f.off ?? 0, imm: f.imm ?? 0 };
  if (def.discr) s[def.discr.field] = def.discr.value;
  if (def.slots === 2) return [s, { opcode: 0, dst: 0, src: 0, off: 0, imm: 0 }];
  return [s];
}
/** dst op= imm */
export const K = (op: Op, dst: number, imm: number): RawInsn[] => ins(op, { dst, imm });
/** dst op= src */
export const X = (op: Op, dst: number, src: number): RawInsn[] => ins(op, { dst, src });
/** one-operand ALU (neg, byte swaps) */
export const U = (op: Op, dst: number): RawInsn[] => ins(op, { dst });
/** dst = *(src + off) */
export const LD = (op: Op, dst: number, src: number, off: number): RawInsn[] => ins(op, { dst, src, off });
/** *(dst + off) = imm */
export const ST = (op: Op, dst: number, off: number, imm: number): RawInsn[] => ins(op, { dst, off, imm });
/** *(dst + off) = src, and the atomics */
export const STX = (op: Op, dst: number, src: number, off: number): RawInsn[] => ins(op, { dst, src, off });
/** if dst op imm goto +off */
export const JK = (op: Op, dst: number, imm: number, off: number): RawInsn[] => ins(op, { dst, imm, off });
/** if dst op src goto +off */
export const JX = (op: Op, dst: number, src: number, off: number): RawInsn[] => ins(op, { dst, src, off });
export const LDDW = (dst: number, v: bigint): RawInsn[] => {
  const u = BigInt.asUintN(64, v);
  const [a, b] = ins(Op.LDDW, { dst, imm: Number(BigInt.asIntN(32, u)) });
  b!.imm = Number(BigInt.asIntN(32, u >> 32n));
  return [a!, b!];
};
export const EXIT = (): RawInsn[] => ins(Op.EXIT);
export const MOV = (dst: number, imm: number): RawInsn[] => K(Op.MOV64_IMM, dst, imm);

const p = (...parts: RawInsn[][]): RawInsn[] => parts.flat();
const M64 = (1n << 64n) - 1n;

// ---- the cases ----------------------------------------------------------------------
const cases: EngineCase[] = [];
const c = (name: string, prog: RawInsn[], r0: bigint, extra: Partial<EngineCase> = {}): void => {
  cases.push({ name, prog, r0, ...extra });
};
const fails = (name: string, prog: RawInsn[], kind: ExpectedError, pc: number | undefined, extra: Partial<EngineCase> = {}): void => {
  cases.push({ name, prog, error: pc === undefined ? { kind } : { kind, pc }, ...extra });
};

// ALU64 arithmetic
c('add64 imm carries into the high half', p(LDDW(0, 0xffffffffn), K(Op.ADD64_IMM, 0, 1), EXIT()), 0x100000000n);
c('add64 imm is sign-extended', p(MOV(0, 5), K(Op.ADD64_IMM, 0, -6), EXIT()), M64);
c('add64 reg overflows into the sign bit', p(LDDW(0, 0x7fffffffffffffffn), MOV(1, 1), X(Op.ADD64_REG, 0, 1), EXIT()), 0x8000000000000000n);
c('add64 reg wraps at 2^64', p(MOV(0, -1), MOV(1, 2), X(Op.ADD64_REG, 0, 1), EXIT()), 1n);
c('sub64 imm borrows', p(LDDW(0, 0x100000000n), K(Op.SUB64_IMM, 0, 1), EXIT()), 0xffffffffn);
c('sub64 imm below zero', p(MOV(0, 0), K(Op.SUB64_IMM, 0, 1), EXIT()), M64);
c('sub64 reg borrows', p(LDDW(0, 0x100000000n), MOV(1, 1), X(Op.SUB64_REG, 0, 1), EXIT()), 0xffffffffn);
c('mul64 imm', p(LDDW(0, 0x123456789n), K(Op.MUL64_IMM, 0, 0x1000), EXIT()), 0x123456789000n);
c('mul64 imm negative', p(MOV(0, 3), K(Op.MUL64_IMM, 0, -2), EXIT()), 0xfffffffffffffffan);
c('mul64 reg full width', p(LDDW(0, 0xdeadbeefcafebaben), LDDW(1, 0x123456789abcdef1n), X(Op.MUL64_REG, 0, 1), EXIT()), 0xca165e3e6f4690den);
c('mul64 reg cross terms', p(LDDW(0, 0x0123456789abcdefn), LDDW(1, 0xfedcba9876543210n), X(Op.MUL64_REG, 0, 1), EXIT()), 0x2236d88fe5618cf0n);
c('div64 imm', p(LDDW(0, 0x10000000000n), K(Op.DIV64_IMM, 0, 3), EXIT()), 0x5555555555n);
c('div64 imm of 2^64-1 (BigInt path)', p(MOV(0, -1), K(Op.DIV64_IMM, 0, 3), EXIT()), 0x5555555555555555n);
c('div64 imm -1 divides by 2^64-1', p(MOV(0, 10), K(Op.DIV64_IMM, 0, -1), EXIT()), 0n);
c('div64 imm -10 of -10 is 1', p(MOV(0, -10), K(Op.DIV64_IMM, 0, -10), EXIT()), 1n);
c('div64 reg', p(LDDW(0, 0x123456789abcdef0n), MOV(1, 0x12345), X(Op.DIV64_REG, 0, 1), EXIT()), 0x100005b00205n);
c('div64 reg mid-size operands', p(LDDW(0, 0x00ff00ff00ff00ffn), MOV(1, 0xfffff), X(Op.DIV64_REG, 0, 1), EXIT()), 0xff010ef10n);
c('div64 by zero imm is 0', p(MOV(0, 7), K(Op.DIV64_IMM, 0, 0), EXIT()), 0n);
c('div64 by zero reg is 0', p(LDDW(0, 0x123456789n), MOV(1, 0), X(Op.DIV64_REG, 0, 1), EXIT()), 0n);
c('sdiv64 truncates toward zero', p(MOV(0, -7), K(Op.SDIV64_IMM, 0, 2), EXIT()), 0xfffffffffffffffdn);
c('sdiv64 INT_MIN / -1 is INT_MIN', p(LDDW(0, 0x8000000000000000n), K(Op.SDIV64_IMM, 0, -1), EXIT()), 0x8000000000000000n);
c('sdiv64 large negative (BigInt path)', p(LDDW(0, 0x8000000000000001n), MOV(1, 3), X(Op.SDIV64_REG, 0, 1), EXIT()), 0xd555555555555556n);
c('sdiv64 by zero is 0', p(MOV(0, -7), MOV(1, 0), X(Op.SDIV64_REG, 0, 1), EXIT()), 0n);
c('sdiv64 negative by negative', p(MOV(0, -100), MOV(1, -7), X(Op.SDIV64_REG, 0, 1), EXIT()), 14n);
c('mod64 imm of 2^64-1', p(MOV(0, -1), K(Op.MOD64_IMM, 0, 10), EXIT()), 5n);
c('mod64 reg', p(LDDW(0, 0x123456789abcdef0n), MOV(1, 0x12345), X(Op.MOD64_REG, 0, 1), EXIT()), 0xa497n);
c('mod64 mid-size', p(LDDW(0, 0x00ff00ff00ff00ffn), MOV(1, 0xfffff), X(Op.MOD64_REG, 0, 1), EXIT()), 0xff00fn);
c('mod64 by zero leaves dst', p(LDDW(0, 0x123456789n), K(Op.MOD64_IMM, 0, 0), EXIT()), 0x123456789n);
c('mod64 by zero reg leaves dst', p(LDDW(0, 0xfedcba9876543210n), MOV(1, 0), X(Op.MOD64_REG, 0, 1), EXIT()), 0xfedcba9876543210n);
c('smod64 sign follows the dividend', p(MOV(0, -7), K(Op.SMOD64_IMM, 0, 2), EXIT()), M64);
c('smod64 positive by negative', p(MOV(0, 7), K(Op.SMOD64_IMM, 0, -2), EXIT()), 1n);
c('smod64 INT_MIN % -1 is 0', p(LDDW(0, 0x8000000000000000n), MOV(1, -1), X(Op.SMOD64_REG, 0, 1), EXIT()), 0n);
c('smod64 by zero leaves dst', p(MOV(0, -9), MOV(1, 0), X(Op.SMOD64_REG, 0, 1), EXIT()), 0xfffffffffffffff7n);
c('or64 imm sign-extends', p(MOV(0, 0), K(Op.OR64_IMM, 0, -2), EXIT()), 0xfffffffffffffffen);
c('or64 reg', p(LDDW(0, 0xf000000000000000n), MOV(1, 0x0f), X(Op.OR64_REG, 0, 1), EXIT()), 0xf00000000000000fn);
c('and64 imm positive clears the high half', p(LDDW(0, 0xffffffff0f0f0f0fn), K(Op.AND64_IMM, 0, 0x00ff00ff), EXIT()), 0x000f000fn);
c('and64 reg', p(LDDW(0, 0xff00ff00ff00ff00n), LDDW(1, 0x0ff00ff00ff00ff0n), X(Op.AND64_REG, 0, 1), EXIT()), 0x0f000f000f000f00n);
c('xor64 imm -1 inverts', p(LDDW(0, 0x0123456789abcdefn), K(Op.XOR64_IMM, 0, -1), EXIT()), 0xfedcba9876543210n);
c('xor64 reg', p(LDDW(0, 0xffff0000ffff0000n), LDDW(1, 0xff00ff00ff00ff00n), X(Op.XOR64_REG, 0, 1), EXIT()), 0x00ffff0000ffff00n);
c('mov64 imm sign-extends', p(MOV(0, -2), EXIT()), 0xfffffffffffffffen);
c('mov64 reg copies 64 bits', p(LDDW(1, 0x1122334455667788n), X(Op.MOV64_REG, 0, 1), EXIT()), 0x1122334455667788n);
c('lsh64 by 63', p(MOV(0, 1), K(Op.LSH64_IMM, 0, 63), EXIT()), 0x8000000000000000n);
c('lsh64 by 32', p(MOV(0, 0x12345678), K(Op.LSH64_IMM, 0, 32), EXIT()), 0x1234567800000000n);
c('lsh64 across the halves', p(LDDW(0, 0xf0000001n), K(Op.LSH64_IMM, 0, 4), EXIT()), 0xf00000010n);
c('lsh64 imm -1 masks to 63', p(MOV(0, 1), K(Op.LSH64_IMM, 0, -1), EXIT()), 0x8000000000000000n);
c('lsh64 reg masks to 6 bits', p(MOV(0, 1), MOV(1, 65), X(Op.LSH64_REG, 0, 1), EXIT()), 2n);
c('lsh64 by 0', p(LDDW(0, 0x8000000000000001n), K(Op.LSH64_IMM, 0, 0), EXIT()), 0x8000000000000001n);
c('rsh64 by 63', p(LDDW(0, 0x8000000000000000n), K(Op.RSH64_IMM, 0, 63), EXIT()), 1n);
c('rsh64 across the halves', p(LDDW(0, 0x123456789abcdef0n), K(Op.RSH64_IMM, 0, 4), EXIT()), 0x0123456789abcdefn);
c('rsh64 by 32', p(LDDW(0, 0x123456789abcdef0n), K(Op.RSH64_IMM, 0, 32), EXIT()), 0x12345678n);
c('rsh64 reg masks', p(LDDW(0, 0x8000000000000000n), MOV(1, 127), X(Op.RSH64_REG, 0, 1), EXIT()), 1n);
c('arsh64 by 63 of a negative', p(LDDW(0, 0x8000000000000000n), K(Op.ARSH64_IMM, 0, 63), EXIT()), M64);
c('arsh64 by 4', p(LDDW(0, 0xf23456789abcdef0n), K(Op.ARSH64_IMM, 0, 4), EXIT()), 0xff23456789abcdefn);
c('arsh64 by 36', p(LDDW(0, 0xf23456789abcdef0n), MOV(1, 36), X(Op.ARSH64_REG, 0, 1), EXIT()), 0xffffffffff234567n);
c('arsh64 of a positive', p(LDDW(0, 0x7000000000000000n), K(Op.ARSH64_IMM, 0, 60), EXIT()), 7n);
c('neg64 of 1', p(MOV(0, 1), U(Op.NEG64, 0), EXIT()), M64);
c('neg64 of 0', p(MOV(0, 0), U(Op.NEG64, 0), EXIT()), 0n);
c('neg64 of 2^32', p(LDDW(0, 0x100000000n), U(Op.NEG64, 0), EXIT()), 0xffffffff00000000n);

// ALU32: results zero-extend
c('add32 wraps and zero-extends', p(MOV(0, -1), K(Op.ADD32_IMM, 0, 1), EXIT()), 0n);
c('add32 of 0 clears the high half', p(MOV(0, -1), K(Op.ADD32_IMM, 0, 0), EXIT()), 0xffffffffn);
c('add32 reg', p(MOV(0, 0x7fffffff), MOV(1, 1), X(Op.ADD32_REG, 0, 1), EXIT()), 0x80000000n);
c('sub32 imm', p(K(Op.MOV32_IMM, 0, 0), K(Op.SUB32_IMM, 0, 1), EXIT()), 0xffffffffn);
c('sub32 reg', p(MOV(0, 5), MOV(1, 7), X(Op.SUB32_REG, 0, 1), EXIT()), 0xfffffffen);
c('mul32 imm overflow', p(K(Op.MOV32_IMM, 0, 0x10000), K(Op.MUL32_IMM, 0, 0x10000), EXIT()), 0n);
c('mul32 reg', p(MOV(0, -1), MOV(1, -1), X(Op.MUL32_REG, 0, 1), EXIT()), 1n);
c('div32 is unsigned', p(K(Op.MOV32_IMM, 0, -1), K(Op.DIV32_IMM, 0, 2), EXIT()), 0x7fffffffn);
c('div32 imm -1 is 0xffffffff', p(K(Op.MOV32_IMM, 0, 10), K(Op.DIV32_IMM, 0, -1), EXIT()), 0n);
c('div32 by zero is 0', p(LDDW(0, 0x100000005n), K(Op.DIV32_IMM, 0, 0), EXIT()), 0n);
c('div32 reg ignores the high halves', p(LDDW(0, 0x100000064n), LDDW(1, 0x700000005n), X(Op.DIV32_REG, 0, 1), EXIT()), 20n);
c('sdiv32 truncates', p(K(Op.MOV32_IMM, 0, -7), K(Op.SDIV32_IMM, 0, 2), EXIT()), 0xfffffffdn);
c('sdiv32 INT_MIN / -1', p(K(Op.MOV32_IMM, 0, -0x80000000), K(Op.SDIV32_IMM, 0, -1), EXIT()), 0x80000000n);
c('sdiv32 reg by zero', p(MOV(0, -5), MOV(1, 0), X(Op.SDIV32_REG, 0, 1), EXIT()), 0n);
c('mod32 is unsigned', p(K(Op.MOV32_IMM, 0, -1), K(Op.MOD32_IMM, 0, 10), EXIT()), 5n);
c('mod32 by zero keeps the low half only', p(LDDW(0, 0x100000007n), K(Op.MOD32_IMM, 0, 0), EXIT()), 7n);
c('mod32 reg', p(MOV(0, 100), MOV(1, 7), X(Op.MOD32_REG, 0, 1), EXIT()), 2n);
c('smod32 negative', p(K(Op.MOV32_IMM, 0, -7), K(Op.SMOD32_IMM, 0, 2), EXIT()), 0xffffffffn);
c('smod32 by zero zero-extends dst', p(MOV(0, -10), K(Op.SMOD32_IMM, 0, 0), EXIT()), 0xfffffff6n);
c('smod32 INT_MIN % -1 is 0', p(K(Op.MOV32_IMM, 0, -0x80000000), MOV(1, -1), X(Op.SMOD32_REG, 0, 1), EXIT()), 0n);
c('or32 clears the high half', p(LDDW(0, 0xffffffff00000000n), K(Op.OR32_IMM, 0, 1), EXIT()), 1n);
c('or32 reg', p(MOV(0, 0x10), MOV(1, 0x01), X(Op.OR32_REG, 0, 1), EXIT()), 0x11n);
c('and32 imm', p(MOV(0, -1), K(Op.AND32_IMM, 0, 0xff), EXIT()), 0xffn);
c('and32 reg', p(MOV(0, -1), MOV(1, -16), X(Op.AND32_REG, 0, 1), EXIT()), 0xfffffff0n);
c('xor32 imm', p(MOV(0, 0), K(Op.XOR32_IMM, 0, -1), EXIT()), 0xffffffffn);
c('xor32 reg', p(MOV(0, 0xff), MOV(1, 0x0f), X(Op.XOR32_REG, 0, 1), EXIT()), 0xf0n);
c('lsh32 imm 60 shifts by 28', p(K(Op.MOV32_IMM, 0, 1), K(Op.LSH32_IMM, 0, 60), EXIT()), 0x10000000n);
c('lsh32 reg masks', p(MOV(0, 1), MOV(1, 33), X(Op.LSH32_REG, 0, 1), EXIT()), 2n);
c('rsh32 imm -24 shifts by 8', p(K(Op.MOV32_IMM, 0, 0x1000), K(Op.RSH32_IMM, 0, -24), EXIT()), 0x10n);
c('rsh32 is logical', p(K(Op.MOV32_IMM, 0, -0x80000000), MOV(1, 31), X(Op.RSH32_REG, 0, 1), EXIT()), 1n);
c('arsh32 sign-fills then zero-extends', p(K(Op.MOV32_IMM, 0, -0x80000000), K(Op.ARSH32_IMM, 0, 4), EXIT()), 0xf8000000n);
c('arsh32 reg', p(MOV(0, -16), MOV(1, 2), X(Op.ARSH32_REG, 0, 1), EXIT()), 0xfffffffcn);
c('mov32 imm -1 zero-extends', p(K(Op.MOV32_IMM, 0, -1), EXIT()), 0xffffffffn);
c('mov32 reg takes the low half', p(LDDW(1, 0x123456789n), X(Op.MOV32_REG, 0, 1), EXIT()), 0x23456789n);
c('neg32', p(K(Op.MOV32_IMM, 0, 1), U(Op.NEG32, 0), EXIT()), 0xffffffffn);
c('neg32 clears the high half', p(LDDW(0, 0x500000000n), U(Op.NEG32, 0), EXIT()), 0n);
c('movsx864', p(MOV(1, 0x180), X(Op.MOVSX64_8, 0, 1), EXIT()), 0xffffffffffffff80n);
c('movsx1664', p(MOV(1, 0x18000), X(Op.MOVSX64_16, 0, 1), EXIT()), 0xffffffffffff8000n);
c('movsx3264', p(LDDW(1, 0x180000000n), X(Op.MOVSX64_32, 0, 1), EXIT()), 0xffffffff80000000n);
c('movsx3264 positive', p(LDDW(1, 0xf7fffffffn), X(Op.MOVSX64_32, 0, 1), EXIT()), 0x7fffffffn);
c('movsx832', p(MOV(1, 0x80), X(Op.MOVSX32_8, 0, 1), EXIT()), 0xffffff80n);
c('movsx1632', p(MOV(1, 0x18000), X(Op.MOVSX32_16, 0, 1), EXIT()), 0xffff8000n);
c('movsx1632 positive', p(MOV(1, 0x7fff), X(Op.MOVSX32_16, 0, 1), EXIT()), 0x7fffn);

// byte order
const V = 0x1122334455667788n;
c('le16 truncates', p(LDDW(0, V), U(Op.LE16, 0), EXIT()), 0x7788n);
c('le32 truncates', p(LDDW(0, V), U(Op.LE32, 0), EXIT()), 0x55667788n);
c('le64 keeps', p(LDDW(0, V), U(Op.LE64, 0), EXIT()), V);
c('be16', p(LDDW(0, V), U(Op.BE16, 0), EXIT()), 0x8877n);
c('be32', p(LDDW(0, V), U(Op.BE32, 0), EXIT()), 0x88776655n);
c('be64', p(LDDW(0, V), U(Op.BE64, 0), EXIT()), 0x8877665544332211n);
c('bswap16', p(LDDW(0, V), U(Op.BSWAP16, 0), EXIT()), 0x8877n);
c('bswap32', p(LDDW(0, V), U(Op.BSWAP32, 0), EXIT()), 0x88776655n);
c('bswap64', p(LDDW(0, V), U(Op.BSWAP64, 0), EXIT()), 0x8877665544332211n);

// lddw
c('lddw', p(LDDW(0, V), EXIT()), V);
c('lddw negative', p(LDDW(0, -2n), EXIT()), 0xfffffffffffffffen);
for (const op of [Op.LDDW_MAP_FD, Op.LDDW_MAP_VALUE, Op.LDDW_BTF_VAR, Op.LDDW_FUNC, Op.LDDW_MAP_IDX, Op.LDDW_MAP_IDX_VALUE]) {
  fails(`${INSNS[op]!.name} must be rewritten first`, p(MOV(0, 0), ins(op, { dst: 1, imm: 1 }), EXIT()), 'ProgramError', 1);
}

// loads and stores
const MEM = [0x80, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x11, 0x92];
c('ldxb', p(LD(Op.LDXB, 0, 1, 1), EXIT()), 0xbbn, { mem: MEM });
c('ldxh', p(LD(Op.LDXH, 0, 1, 2), EXIT()), 0xddccn, { mem: MEM });
c('ldxw', p(LD(Op.LDXW, 0, 1, 4), EXIT()), 0x9211ffeen, { mem: MEM });
c('ldxdw', p(LD(Op.LDXDW, 0, 1, 0), EXIT()), 0x9211ffeeddccbb80n, { mem: MEM });
c('ldxsb', p(LD(Op.LDXSB, 0, 1, 0), EXIT()), 0xffffffffffffff80n, { mem: MEM });
c('ldxsb positive', p(LD(Op.LDXSB, 0, 1, 6), EXIT()), 0x11n, { mem: MEM });
c('ldxsh', p(LD(Op.LDXSH, 0, 1, 4), EXIT()), 0xffffffffffffffeen, { mem: MEM });
c('ldxsw', p(LD(Op.LDXSW, 0, 1, 4), EXIT()), 0xffffffff9211ffeen, { mem: MEM });
c('ldx with a negative offset', p(K(Op.ADD64_IMM, 1, 8), LD(Op.LDXB, 0, 1, -1), EXIT()), 0x92n, { mem: MEM });
c('r2 is the input length', p(X(Op.MOV64_REG, 0, 2), EXIT()), 8n, { mem: MEM });
c('stb then ldxb', p(ST(Op.STB, 10, -1, 0x1ab), LD(Op.LDXB, 0, 10, -1), EXIT()), 0xabn);
c('sth then ldxh', p(ST(Op.STH, 10, -2, -2), LD(Op.LDXH, 0, 10, -2), EXIT()), 0xfffen);
c('stw then ldxw', p(ST(Op.STW, 10, -4, -2), LD(Op.LDXW, 0, 10, -4), EXIT()), 0xfffffffen);
c('stdw sign-extends imm', p(ST(Op.STDW, 10, -8, -2), LD(Op.LDXDW, 0, 10, -8), EXIT()), 0xfffffffffffffffen);
c('stw writes 4 bytes only', p(ST(Op.STDW, 10, -8, 0), ST(Op.STW, 10, -8, -1), LD(Op.LDXDW, 0, 10, -8), EXIT()), 0xffffffffn);
c('stxb', p(MOV(1, 0x1234), STX(Op.STXB, 10, 1, -8), LD(Op.LDXB, 0, 10, -8), EXIT()), 0x34n);
c('stxh', p(MOV(1, 0x123456), STX(Op.STXH, 10, 1, -8), LD(Op.LDXH, 0, 10, -8), EXIT()), 0x3456n);
c('stxw', p(LDDW(1, V), STX(Op.STXW, 10, 1, -8), LD(Op.LDXW, 0, 10, -8), EXIT()), 0x55667788n);
c('stxdw', p(LDDW(1, V), STX(Op.STXDW, 10, 1, -8), LD(Op.LDXDW, 0, 10, -8), EXIT()), V);
c('unaligned stxdw and ldxdw', p(LDDW(1, V), STX(Op.STXDW, 10, 1, -13), LD(Op.LDXDW, 0, 10, -13), EXIT()), V);
c('stores into the input memory', p(ST(Op.STB, 1, 3, 0x42), LD(Op.LDXW, 0, 1, 0), EXIT()), 0x42ccbb80n, { mem: MEM });

// memory faults: pc of the faulting instruction
fails('ldxb past the end of the input', p(MOV(0, 0), LD(Op.LDXB, 0, 1, 8), EXIT()), 'MemoryFault', 1, { mem: MEM });
fails('ldxw straddling the end of a 5-byte input', p(LD(Op.LDXW, 0, 1, 2), EXIT()), 'MemoryFault', 0, { mem: [1, 2, 3, 4, 5] });
c('ldxw inside a 5-byte input', p(LD(Op.LDXW, 0, 1, 1), EXIT()), 0x05040302n, { mem: [1, 2, 3, 4, 5] });
fails('ldxb before the input', p(LD(Op.LDXB, 0, 1, -1), EXIT()), 'MemoryFault', 0, { mem: MEM });
fails('ldxdw through NULL', p(MOV(1, 0), LD(Op.LDXDW, 0, 1, 0), EXIT()), 'MemoryFault', 1);
fails('ldxb through a pointer with high bits', p(LDDW(1, 0x100000000n), LD(Op.LDXB, 0, 1, 0), EXIT()), 'MemoryFault', 2);
fails('stdw at r10 (above the stack)', p(ST(Op.STDW, 10, 0, 1), EXIT()), 'MemoryFault', 0);
fails('ldxb below the last stack frame', p(LD(Op.LDXB, 0, 10, -4097), EXIT()), 'MemoryFault', 0);
fails('stxw to a wild address', p(MOV(1, 0x7ffffff0), STX(Op.STXW, 1, 1, 0), EXIT()), 'MemoryFault', 1);
fails('ldxh at a negative address', p(MOV(1, 4), LD(Op.LDXH, 0, 1, -8), EXIT()), 'MemoryFault', 1);
fails('atomic add on NULL', p(MOV(1, 0), MOV(2, 1), STX(Op.ATOMIC64_ADD, 1, 2, 0), EXIT()), 'MemoryFault', 2);
fails('misaligned 64-bit atomic on the stack', p(MOV(2, 1), STX(Op.ATOMIC64_ADD, 10, 2, -12), EXIT()), 'MemoryFault', 1);
fails('misaligned 32-bit atomic on the stack', p(MOV(2, 1), STX(Op.ATOMIC32_XCHG, 10, 2, -6), EXIT()), 'MemoryFault', 1);

// atomics (on the stack)
const at = (name: string, op: Op, init: bigint, src: bigint, r0: bigint, read: 'mem' | 'src' | 'r0' | 'mem64', want: bigint): void => {
  const rd =
    read === 'mem' ? LD(Op.LDXW, 0, 10, -8) : read === 'mem64' ? LD(Op.LDXDW, 0, 10, -8) : read === 'src' ? X(Op.MOV64_REG, 0, 1) : [];
  c(name, p(LDDW(9, init), STX(Op.STXDW, 10, 9, -8), LDDW(1, src), LDDW(0, r0), STX(op, 10, 1, -8), rd, EXIT()), want);
};
at('lock add', Op.ATOMIC64_ADD, 10n, 5n, 0n, 'mem64', 15n);
at('lock add carries', Op.ATOMIC64_ADD, 0xffffffffn, 1n, 0n, 'mem64', 0x100000000n);
at('lock add leaves src', Op.ATOMIC64_ADD, 10n, 5n, 0n, 'src', 5n);
at('lock fetch add returns old', Op.ATOMIC64_FETCH_ADD, 10n, 5n, 0n, 'src', 10n);
at('lock fetch add stores', Op.ATOMIC64_FETCH_ADD, 10n, 5n, 0n, 'mem64', 15n);
at('lock or', Op.ATOMIC64_OR, 0xf0f0000000000000n, 0x0fn, 0n, 'mem64', 0xf0f000000000000fn);
at('lock fetch or', Op.ATOMIC64_FETCH_OR, 0xf0f0000000000000n, 0x0fn, 0n, 'src', 0xf0f0000000000000n);
at('lock and', Op.ATOMIC64_AND, 0xff00ff00ff00ff00n, 0x0ff00ff00ff00ff0n, 0n, 'mem64', 0x0f000f000f000f00n);
at('lock fetch and', Op.ATOMIC64_FETCH_AND, 0xff00ff00ff00ff00n, 0x0ff00ff00ff00ff0n, 0n, 'src', 0xff00ff00ff00ff00n);
at('lock xor', Op.ATOMIC64_XOR, 0xffffn, 0xff0000000000ff00n, 0n, 'mem64', 0xff000000000000ffn);
at('lock fetch xor', Op.ATOMIC64_FETCH_XOR, 0xffffn, 0xff00n, 0n, 'src', 0xffffn);
at('lock xchg stores src', Op.ATOMIC64_XCHG, 0x1111111122222222n, 0x3333333344444444n, 0n, 'mem64', 0x3333333344444444n);
at('lock xchg returns old', Op.ATOMIC64_XCHG, 0x1111111122222222n, 0x3333333344444444n, 0n, 'src', 0x1111111122222222n);
at('lock cmpxchg match stores', Op.ATOMIC64_CMPXCHG, 0x100000007n, 9n, 0x100000007n, 'mem64', 9n);
at('lock cmpxchg match returns old in r0', Op.ATOMIC64_CMPXCHG, 0x100000007n, 9n, 0x100000007n, 'r0', 0x100000007n);
at('lock cmpxchg mismatch in the high half keeps', Op.ATOMIC64_CMPXCHG, 0x100000007n, 9n, 7n, 'mem64', 0x100000007n);
at('lock cmpxchg mismatch returns old', Op.ATOMIC64_CMPXCHG, 0x100000007n, 9n, 7n, 'r0', 0x100000007n);
at('lock add32', Op.ATOMIC32_ADD, 0x5_ffffffffn, 2n, 0n, 'mem64', 0x500000001n);
at('lock fetch add32 zero-extends old', Op.ATOMIC32_FETCH_ADD, 0x5_fffffffen, 0xffffffff_00000001n, 0n, 'src', 0xfffffffen);
at('lock or32', Op.ATOMIC32_OR, 0xf0n, 0x0fn, 0n, 'mem', 0xffn);
at('lock fetch or32', Op.ATOMIC32_FETCH_OR, 0xf0n, 0x0fn, 0n, 'src', 0xf0n);
at('lock and32', Op.ATOMIC32_AND, 0xf0n, 0x3cn, 0n, 'mem', 0x30n);
at('lock fetch and32', Op.ATOMIC32_FETCH_AND, 0xf0n, 0x3cn, 0n, 'src', 0xf0n);
at('lock xor32', Op.ATOMIC32_XOR, 0xf0n, 0x3cn, 0n, 'mem', 0xccn);
at('lock fetch xor32', Op.ATOMIC32_FETCH_XOR, 0xf0n, 0x3cn, 0n, 'src', 0xf0n);
at('lock xchg32', Op.ATOMIC32_XCHG, 0xaaaaaaaa_bbbbbbbbn, 0x12345678n, 0n, 'mem64', 0xaaaaaaaa12345678n);
at('lock xchg32 returns old zero-extended', Op.ATOMIC32_XCHG, 0xaaaaaaaa_bbbbbbbbn, 0x12345678n, 0n, 'src', 0xbbbbbbbbn);
at('lock cmpxchg32 compares the low half of r0', Op.ATOMIC32_CMPXCHG, 0xffffffffn, 3n, 0x7_ffffffffn, 'mem', 3n);
at('lock cmpxchg32 returns old zero-extended', Op.ATOMIC32_CMPXCHG, 0xffffffffn, 3n, 0n, 'r0', 0xffffffffn);
at('lock cmpxchg32 mismatch keeps', Op.ATOMIC32_CMPXCHG, 0xffffffffn, 3n, 0n, 'mem', 0xffffffffn);

// jumps: every conditional, taken and not, from a BigInt model
type JumpOpName = 'jeq' | 'jgt' | 'jge' | 'jset' | 'jne' | 'jsgt' | 'jsge' | 'jlt' | 'jle' | 'jslt' | 'jsle';
/** Would `if a <op> b` jump? a and b as unsigned values of the given width. */
export function jumpTaken(name: JumpOpName, a: bigint, b: bigint, width: 32 | 64): boolean {
  const ua = BigInt.asUintN(width, a);
  const ub = BigInt.asUintN(width, b);
  const sa = BigInt.asIntN(width, a);
  const sb = BigInt.asIntN(width, b);
  switch (name) {
    case 'jeq': return ua === ub;
    case 'jne': return ua !== ub;
    case 'jset': return (ua & ub) !== 0n;
    case 'jgt': return ua > ub;
    case 'jge': return ua >= ub;
    case 'jlt': return ua < ub;
    case 'jle': return ua <= ub;
    case 'jsgt': return sa > sb;
    case 'jsge': return sa >= sb;
    case 'jslt': return sa < sb;
    case 'jsle': return sa <= sb;
  }
}
// value pairs chosen to separate signed from unsigned and high from low halves
const JUMP_PAIRS: ReadonlyArray<readonly [bigint, bigint]> = [
  [5n, 5n],
  [5n, 6n],
  [6n, 5n],
  [-1n, 1n],
  [1n, -1n],
  [0x100000002n, 0x100000001n],
  [0x100000001n, 0x200000001n],
  [0x80000000n, 0x7fffffffn],
  [0xffffffff00000000n, 0n],
  [-0x80000000n, -0x80000000n],
];
for (const def of INSNS) {
  if (def.shape !== Shape.JmpImm && def.shape !== Shape.JmpReg) continue;
  const base = def.name.replace(/32$/, '') as JumpOpName;
  const width = def.width === 32 ? 32 : 64;
  for (const [a, b] of JUMP_PAIRS) {
    // the imm form can only hold a sign-extended 32-bit b
    if (def.shape === Shape.JmpImm && BigInt.asIntN(64, b) !== BigInt(Number(BigInt.asIntN(32, b)))) continue;
    const want = jumpTaken(base, a, def.shape === Shape.JmpImm ? BigInt.asIntN(32, b) : b, width) ? 1n : 0n;
    const cmp = def.shape === Shape.JmpImm ? JK(def.op, 1, Number(BigInt.asIntN(32, b)), 1) : JX(def.op, 1, 2, 1);
    c(`${def.name} ${def.shape === Shape.JmpImm ? 'imm' : 'reg'} 0x${BigInt.asUintN(64, a).toString(16)} vs 0x${BigInt.asUintN(64, b).toString(16)}`,
      p(MOV(0, 1), LDDW(1, a), LDDW(2, b), cmp, MOV(0, 0), EXIT()), want);
  }
}
// 64-bit division and remainder: operand pairs that reach each path of the
// engines (small, divisor below 2^32, below 2^52, huge, signs), expectations
// from a BigInt model of RFC 9669's rules.
/** dst op src for the 64-bit div/mod family, as RFC 9669 defines it (div by 0 = 0, mod by 0 = dst). */
export function divModModel(op: 'div' | 'mod' | 'sdiv' | 'smod', a: bigint, b: bigint): bigint {
  const ua = BigInt.asUintN(64, a);
  const ub = BigInt.asUintN(64, b);
  if (ub === 0n) return op === 'div' || op === 'sdiv' ? 0n : ua;
  if (op === 'div') return ua / ub;
  if (op === 'mod') return ua % ub;
  const sa = BigInt.asIntN(64, a);
  const sb = BigInt.asIntN(64, b);
  return BigInt.asUintN(64, op === 'sdiv' ? sa / sb : sa % sb); // BigInt / and % truncate like C
}
const DIV_PAIRS: ReadonlyArray<readonly [bigint, bigint]> = [
  [100n, 7n],
  [-100n, 7n],
  [100n, -7n],
  [-100n, -7n],
  [0xfedcba9876543210n, 0x12345n],
  [0xfedcba9876543210n, 0xffffffffn],
  [-1n, 0xffffffffn],
  [-1n, 1n],
  [-0x123456789abcdefn, 7n],
  [0x000fffffffffffffn, 0x0000000100000001n],
  [0xfffffffffffffff0n, 0x0100000000000001n],
  [0x8000000000000000n, 0x7fffffffffffffffn],
  [0x8000000000000000n, -1n],
  [0x7fffffffffffffffn, -0x100000000n],
  [12345n, 0x100000000n],
  [0n, -3n],
];
for (const [a, b] of DIV_PAIRS) {
  for (const [name, op] of [['div', Op.DIV64_REG], ['mod', Op.MOD64_REG], ['sdiv', Op.SDIV64_REG], ['smod', Op.SMOD64_REG]] as const) {
    c(`${name} 0x${BigInt.asUintN(64, a).toString(16)} by 0x${BigInt.asUintN(64, b).toString(16)}`, p(LDDW(0, a), LDDW(1, b), X(op, 0, 1), EXIT()), divModModel(name, a, b));
  }
}

// Seeded random 64-bit operands for the ALU64 ops whose half-register
// arithmetic is easiest to get wrong (carries, cross products, shifts across
// the halves), against a BigInt model.
function* xorshift(seed: bigint): Generator<bigint> {
  let x = seed;
  for (;;) {
    x ^= (x << 13n) & M64;
    x ^= x >> 7n;
    x ^= (x << 17n) & M64;
    yield x;
  }
}
const ALU64_MODEL: ReadonlyArray<readonly [string, Op, (a: bigint, b: bigint) => bigint]> = [
  ['add', Op.ADD64_REG, (a, b) => a + b],
  ['sub', Op.SUB64_REG, (a, b) => a - b],
  ['mul', Op.MUL64_REG, (a, b) => a * b],
  ['lsh', Op.LSH64_REG, (a, b) => a << (b & 63n)],
  ['rsh', Op.RSH64_REG, (a, b) => a >> (b & 63n)],
  ['arsh', Op.ARSH64_REG, (a, b) => BigInt.asIntN(64, a) >> (b & 63n)],
];
{
  const rng = xorshift(0x9e3779b97f4a7c15n);
  for (let k = 0; k < 24; k++) {
    // mix magnitudes: full 64-bit, 32-bit, small, negative small
    const shape = (v: bigint, i: number): bigint => [v, v & 0xffffffffn, v & 0xffffn, BigInt.asUintN(64, -(v & 0xffn))][i % 4]!;
    const a = shape(rng.next().value as bigint, k);
    const b = shape(rng.next().value as bigint, k >> 2);
    for (const [name, op, model] of ALU64_MODEL) {
      c(`random ${name} 0x${a.toString(16)}, 0x${b.toString(16)}`, p(LDDW(0, a), LDDW(1, b), X(op, 0, 1), EXIT()), BigInt.asUintN(64, model(a, b)));
    }
  }
}

c('ja skips', p(MOV(0, 1), ins(Op.JA, { off: 1 }), MOV(0, 2), EXIT()), 1n);
c('ja backwards loop', p(MOV(0, 0), MOV(1, 10), K(Op.ADD64_IMM, 0, 3), K(Op.SUB64_IMM, 1, 1), JK(Op.JNE64_IMM, 1, 0, -3), EXIT()), 30n);
c('ja32 uses imm', p(MOV(0, 1), ins(Op.JA32, { imm: 1 }), MOV(0, 2), EXIT()), 1n);
c('jump over an lddw', p(MOV(0, 1), ins(Op.JA, { off: 2 }), LDDW(0, 9n), EXIT()), 1n);

// calls
c('helper 5 returns r1', p(MOV(1, 42), ins(Op.CALL, { imm: 5 }), EXIT()), 42n);
c('helper 5 with a 64-bit argument', p(LDDW(1, V), ins(Op.CALL, { imm: 5 }), EXIT()), V);
fails('unknown helper id', p(MOV(0, 0), ins(Op.CALL, { imm: 99 }), EXIT()), 'ProgramError', 1);
c('callx calls the helper named by dst', p(MOV(1, 7), MOV(2, 5), ins(Op.CALLX, { dst: 2 }), EXIT()), 7n);
fails('callx to an unregistered id', p(MOV(2, 77), ins(Op.CALLX, { dst: 2 }), EXIT()), 'ProgramError', 1);
fails('kfunc call', p(ins(Op.CALL_KFUNC, { imm: 1234 }), EXIT()), 'ProgramError', 0);
c('call local: r6-r9 preserved, fresh frame, result in r0',
  p(MOV(6, 1), ST(Op.STDW, 10, -8, 0x10), MOV(1, 100), ins(Op.CALL_LOCAL, { imm: 4 }), LD(Op.LDXDW, 2, 10, -8), X(Op.ADD64_REG, 0, 2), X(Op.ADD64_REG, 0, 6), EXIT(),
    ST(Op.STDW, 10, -8, 0x20), MOV(6, 1000), X(Op.MOV64_REG, 0, 1), EXIT()),
  117n);
c('call local moves r10 down by 512', p(X(Op.MOV64_REG, 1, 10), ins(Op.CALL_LOCAL, { imm: 1 }), EXIT(), X(Op.MOV64_REG, 0, 1), X(Op.SUB64_REG, 0, 10), EXIT()), 512n);
c('nested local calls return in order',
  p(MOV(1, 1), ins(Op.CALL_LOCAL, { imm: 1 }), EXIT(),
    K(Op.MUL64_IMM, 1, 10), ins(Op.CALL_LOCAL, { imm: 2 }), K(Op.ADD64_IMM, 0, 5), EXIT(),
    X(Op.MOV64_REG, 0, 1), K(Op.ADD64_IMM, 0, 3), EXIT()),
  18n);
// f(r1 = calls left, r2 = acc): r0 = acc + 1; recurse while calls are left
const recurse = (calls: number): RawInsn[] =>
  p(MOV(1, calls), MOV(2, 0), ins(Op.CALL_LOCAL, { imm: 1 }), EXIT(),
    X(Op.MOV64_REG, 0, 2), K(Op.ADD64_IMM, 0, 1), K(Op.SUB64_IMM, 1, 1), JK(Op.JEQ64_IMM, 1, 0, 2), X(Op.MOV64_REG, 2, 0), ins(Op.CALL_LOCAL, { imm: -6 }), EXIT());
c('seven nested calls (eight frames) are allowed', recurse(7), 7n);
fails('an eighth nested call exceeds the depth limit', recurse(8), 'ProgramError', 9);
fails('unbounded recursion hits the depth limit', p(ins(Op.CALL_LOCAL, { imm: -1 }), EXIT()), 'ProgramError', 0);
fails('budget stops a runaway loop', p(ins(Op.JA, { off: -1 }), EXIT()), 'BudgetExceeded', undefined, { budget: 1000 });
fails('falling off the end', p(MOV(0, 1)), 'ProgramError', 1);

// legacy packet loads
const PKT = [0x12, 0x34, 0x56, 0x78, 0x9a];
c('ldabsb', p(ins(Op.LD_ABS_B, { imm: 1 }), EXIT()), 0x34n, { packet: PKT });
c('ldabsh is big-endian', p(ins(Op.LD_ABS_H, { imm: 0 }), EXIT()), 0x1234n, { packet: PKT });
c('ldabsw', p(ins(Op.LD_ABS_W, { imm: 1 }), EXIT()), 0x3456789an, { packet: PKT });
c('ldindb adds src', p(MOV(3, 2), ins(Op.LD_IND_B, { src: 3, imm: 2 }), EXIT()), 0x9an, { packet: PKT });
c('ldindh', p(MOV(3, 1), ins(Op.LD_IND_H, { src: 3, imm: 0 }), EXIT()), 0x3456n, { packet: PKT });
c('ldindw', p(MOV(3, -1), ins(Op.LD_IND_W, { src: 3, imm: 2 }), EXIT()), 0x3456789an, { packet: PKT });
c('ldabsw out of the packet ends with r0 = 0', p(MOV(0, 7), ins(Op.LD_ABS_W, { imm: 2 }), MOV(0, 9), EXIT()), 0n, { packet: PKT });
c('ldindb negative offset ends with r0 = 0', p(MOV(3, -1), ins(Op.LD_IND_B, { src: 3, imm: 0 }), MOV(0, 9), EXIT()), 0n, { packet: PKT });
fails('legacy packet load with no packet and r6 = 0', p(MOV(6, 0), ins(Op.LD_ABS_B, { imm: 0 }), EXIT()), 'ProgramError', 1);
c('ldabsh from the region r6 points into', p(X(Op.MOV64_REG, 6, 1), ins(Op.LD_ABS_H, { imm: 6 }), EXIT()), 0x1192n, { mem: MEM });

// may_goto: a per-frame budget of BPF_MAX_LOOPS (2^23) fall-throughs, then taken every time
const LOOPS = 8n * 1024n * 1024n;
const mayGoto = (off: number): RawInsn[] => ins(Op.MAY_GOTO, { off });
c('may_goto falls through BPF_MAX_LOOPS times, then is always taken',
  p(MOV(0, 0), mayGoto(2), K(Op.ADD64_IMM, 0, 1), ins(Op.JA, { off: -3 }), mayGoto(1), MOV(0, 99), EXIT()),
  LOOPS, { budget: 0 });
c('may_goto: each call starts its own budget and the caller keeps its own',
  p(MOV(6, 0), mayGoto(3), K(Op.ADD64_IMM, 6, 1), ins(Op.CALL_LOCAL, { imm: 3 }), ins(Op.JA, { off: -4 }), X(Op.MOV64_REG, 0, 6), EXIT(),
    mayGoto(1), MOV(0, 0), EXIT()),
  LOOPS, { budget: 0 });
c('may_goto +0 is a no-op', p(MOV(0, 3), mayGoto(0), EXIT()), 3n);
fails('the instruction budget stops a may_goto loop first', p(mayGoto(1), ins(Op.JA, { off: -2 }), EXIT()), 'BudgetExceeded', undefined, { budget: 1000 });

// addr_space_cast: both directions keep the low 32 bits
const cast = (dst: number, src: number, imm: number): RawInsn[] => ins(Op.ADDR_SPACE_CAST, { dst, src, imm });
c('addr_space_cast as(1) -> as(0) zero-extends the low 32 bits', p(LDDW(1, 0xdeadbeef12345678n), cast(0, 1, 1), EXIT()), 0x12345678n);
c('addr_space_cast as(0) -> as(1) keeps the low 32 bits', p(LDDW(1, 0xdeadbeef87654321n), cast(0, 1, 1 << 16), EXIT()), 0x87654321n);
c('addr_space_cast keeps NULL', p(MOV(0, 7), MOV(1, 0), cast(0, 1, 1), EXIT()), 0n);
c('addr_space_cast pointer dereferences', p(cast(2, 1, 1 << 16), cast(3, 2, 1), LD(Op.LDXB, 0, 3, 1), EXIT()), BigInt(MEM[1]!), { mem: MEM });

export const CASES: readonly EngineCase[] = cases;

/** Program bytes of a case. */
export const caseBytes = (k: EngineCase): Uint8Array => encodeSlots(k.prog);

/**
 * Run one case on a VM with the given engine; returns the result or throws
 * what the engine threw. The VM's helpers must include the conformance ones (id 5).
 */
export function runCase(vm: Vm, k: EngineCase, engine = 'interp'): ExecResult {
  // the table runs on every engine, the unchecked one included: trusted on purpose
  const prog = trustProgram(vm.load(caseBytes(k)));
  let pkt: ReturnType<Vm['mem']['alloc']> | undefined;
  try {
    const run = k.packet ? { packet: undefined as undefined | { start: number; len: number } } : undefined;
    if (k.packet && run) {
      pkt = vm.mem.alloc(k.packet.length, { name: 'packet', kind: 'packet', writable: false, init: Uint8Array.from(k.packet) });
      run.packet = { start: pkt.start, len: k.packet.length };
    }
    return vm.run(prog, {
      engine,
      ...(k.mem ? { mem: Uint8Array.from(k.mem) } : {}),
      ...(k.budget !== undefined ? { budget: k.budget } : {}),
      ...(run ? { run } : {}),
    });
  } finally {
    if (pkt) vm.mem.free(pkt);
  }
}
