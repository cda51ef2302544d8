// The interpreter's loop: one function, one `switch (op)` over the ISA
// table's Op tags, registers as int32 (lo, hi) halves.
//
// Semantics are RFC 9669 plus the cpu v4 additions, as pinned down by the
// bpf_conformance corpus (shared/conformance/FORMAT.md §3): 32-bit results are
// zero-extended, shift counts are masked, division by zero gives 0, modulo by
// zero leaves dst (the 32-bit form still zeroes the upper half), INT_MIN / -1
// gives INT_MIN, signed modulo truncates, 64-bit immediates are sign-extended.
// may_goto and addr_space_cast follow their rows in src/isa/table.ts; arena
// accesses (pre-decoded as InterpOp.ARENA) run in arena.ts.
//
// The loop allocates nothing and has no closures, strings, BigInt or
// try/catch. A fault or a runtime error sets `status` and leaves the loop; the
// engine (engine.ts) builds the typed error after it, from the faulting
// instruction. Bodies too long for a case and off the hot path live beside
// it (arith.ts, atomics.ts, frames.ts, packet.ts). Loads and stores stay
// inline, one case per width: with their checks in a shared function
// (inlined by V8 all the same) the memory loop of bench/vm measured slower.
//
// Every load and store is checked against the RuntimeMemory shadow map with
// the same test as `RuntimeMemory.check`, inlined: two shadow bytes, and the
// region list only for granules a region covers partly.

import type { Program } from '../../isa/decode.js';
import { BPF_MAX_LOOPS, MAX_CALL_FRAMES } from '../../isa/fields.js';
import { Op } from '../../isa/table.js';
import type { HelperEnv, HelperRegistry } from '../../helpers/registry.js';
import { Perm, SHADOW_BASE, type RuntimeMemory } from '../memory.js';
import type { ExecOptions } from '../types.js';
import { TWO32, bswap32, divOut, divmod64 } from './arith.js';
import { atomic32, atomic64 } from './atomics.js';
import { popFrame, pushFrame, savedLoops } from './frames.js';
import { Pkt, packetStep } from './packet.js';
import { InterpOp, arenaStep } from './arena.js';

// Exit states of the loop. Module-private: an exported binding is a cell
// the loop would re-read at every use (the memory loop measured slower);
// engine.ts reads them through `Status`.
const S_EXIT = 0;
const S_FAULT = 1; // memory check failed at pc
const S_BUDGET = 2;
const S_STOPPED = 3; // the hook asked to stop
const S_NO_HELPER = 4;
const S_DEPTH = 5;
const S_BAD_INSN = 6; // an encoding the interpreter cannot run (second half of lddw, end of program)
const S_LDDW_PSEUDO = 7;
const S_KFUNC = 8;
const S_CALLX_TARGET = 9;
const S_NO_PACKET = 10;

/** Op value of the sentinel slot after the last instruction and of lddw second halves (see engine.ts). */
export const OP_END = 0xfe;
export const OP_HALF = 0xff;

/** Exit states of execute(), for the engine. */
export const Status = {
  EXIT: S_EXIT,
  FAULT: S_FAULT,
  BUDGET: S_BUDGET,
  STOPPED: S_STOPPED,
  NO_HELPER: S_NO_HELPER,
  DEPTH: S_DEPTH,
  BAD_INSN: S_BAD_INSN,
  LDDW_PSEUDO: S_LDDW_PSEUDO,
  KFUNC: S_KFUNC,
  CALLX_TARGET: S_CALLX_TARGET,
  NO_PACKET: S_NO_PACKET,
} as const;

/** What the helpers see (HelperEnv); one object per engine, its pc updated before each call. */
export interface MutableEnv {
  mem: RuntimeMemory;
  regs: Int32Array;
  pc: number;
  run: unknown;
}

// Side results of execute(), read right after it returns through the
// functions below (module-level so the loop returns a plain small integer,
// private for the reason given at S_EXIT).
let lastPc = 0;
let lastCount = 0;
let lastArg = 0;

/** The instruction that stopped the last execute(). */
export const stoppedAt = (): number => lastPc;
/** Instructions the last execute() ran. */
export const executed = (): number => lastCount;
/** Detail of the last exit state (helper id, callx target). */
export const exitDetail = (): number => lastArg;

/**
 * The loop. Returns an S_* state; sets lastPc (the instruction that stopped it),
 * lastCount (instructions executed) and lastArg (detail for some states).
 */
export function execute(
  code: Int32Array,
  prog: Program,
  regs: Int32Array,
  frames: Int32Array,
  mem: RuntimeMemory,
  helpers: HelperRegistry,
  env: HelperEnv,
  limit: number,
  hook: ExecOptions['hook'],
  pktStart: number,
  pktLen: number,
  arenaStart: number,
  arenaEnd: number,
): number {
  let u8 = mem.u8;
  let dv = mem.dv;
  // Highest address whose shadow byte exists; anything above faults before the shadow is read.
  const lim = mem.maxBytes - 8;
  const imm64hi = prog.imm64hi;
  // The hot constants as locals (an imported binding is a cell re-read at
  // each use); rare paths use the imports, to keep register pressure low.
  const R = Perm.R;
  const W = Perm.W;
  const P = Perm.PARTIAL;
  const SB = SHADOW_BASE;
  let pc = 0;
  let n = 0;
  let depth = 0;
  // may_goto's budget for the running frame; a local call saves the caller's and starts afresh.
  let loops = BPF_MAX_LOOPS;
  let status = S_EXIT;

  loop: for (;;) {
    if (n >= limit) {
      status = S_BUDGET;
      break;
    }
    n++;
    if (hook !== undefined && hook(pc, prog, regs, depth) === true) {
      n--;
      status = S_STOPPED;
      break;
    }
    const w = code[pc << 1]!;
    const imm = code[(pc << 1) + 1]!;
    const d = (w >> 7) & 0x1e; // dst * 2
    const s = (w >> 11) & 0x1e; // src * 2
    const off = w >> 16;
    pc++;
    switch ((w & 0xff) as Op) {
      // ---- ALU64 ---------------------------------------------------------
      case Op.ADD64_IMM: {
        const lo = (regs[d]! >>> 0) + (imm >>> 0);
        regs[d] = lo | 0;
        regs[d + 1] = (regs[d + 1]! + (imm >> 31) + (lo > 0xffffffff ? 1 : 0)) | 0;
        break;
      }
      case Op.ADD64_REG: {
        const lo = (regs[d]! >>> 0) + (regs[s]! >>> 0);
        regs[d] = lo | 0;
        regs[d + 1] = (regs[d + 1]! + regs[s + 1]! + (lo > 0xffffffff ? 1 : 0)) | 0;
        break;
      }
      case Op.SUB64_IMM: {
        const lo = (regs[d]! >>> 0) - (imm >>> 0);
        regs[d] = lo | 0;
        regs[d + 1] = (regs[d + 1]! - (imm >> 31) - (lo < 0 ? 1 : 0)) | 0;
        break;
      }
      case Op.SUB64_REG: {
        const lo = (regs[d]! >>> 0) - (regs[s]! >>> 0);
        regs[d] = lo | 0;
        regs[d + 1] = (regs[d + 1]! - regs[s + 1]! - (lo < 0 ? 1 : 0)) | 0;
        break;
      }
      case Op.MUL64_IMM:
      case Op.MUL64_REG: {
        const reg = (w & 0xff) === Op.MUL64_REG;
        const al = regs[d]!;
        const ah = regs[d + 1]!;
        const bl = reg ? regs[s]! : imm;
        const bh = reg ? regs[s + 1]! : imm >> 31;
        // low 64 bits of the product: the full 64-bit al*bl from 16-bit
        // partial products, plus the cross terms' low halves into hi
        const a0 = al & 0xffff;
        const a1 = al >>> 16;
        const b0 = bl & 0xffff;
        const b1 = bl >>> 16;
        const p00 = a0 * b0;
        const p01 = a0 * b1;
        const p10 = a1 * b0;
        const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
        regs[d] = (p00 & 0xffff) | (mid << 16);
        regs[d + 1] = (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16) + Math.imul(al, bh) + Math.imul(ah, bl)) | 0;
        break;
      }
      case Op.DIV64_IMM:
      case Op.DIV64_REG:
      case Op.SDIV64_IMM:
      case Op.SDIV64_REG:
      case Op.MOD64_IMM:
      case Op.MOD64_REG:
      case Op.SMOD64_IMM:
      case Op.SMOD64_REG: {
        const o = (w & 0xff) as Op;
        const reg = o === Op.DIV64_REG || o === Op.SDIV64_REG || o === Op.MOD64_REG || o === Op.SMOD64_REG;
        const bl = reg ? regs[s]! : imm;
        const bh = reg ? regs[s + 1]! : imm >> 31;
        const mod = o === Op.MOD64_IMM || o === Op.MOD64_REG || o === Op.SMOD64_IMM || o === Op.SMOD64_REG;
        if (bl === 0 && bh === 0) {
          // div by zero gives 0; mod by zero leaves dst as it is
          if (!mod) regs[d] = regs[d + 1] = 0;
          break;
        }
        const signed = o === Op.SDIV64_IMM || o === Op.SDIV64_REG || o === Op.SMOD64_IMM || o === Op.SMOD64_REG;
        const al = regs[d]!;
        const ah = regs[d + 1]!;
        if (ah === 0 && bh === 0 && al >= 0 && bl >= 0) {
          // both operands are small non-negative: one int division, any signedness
          regs[d] = mod ? al % bl : (al / bl) | 0;
          break;
        }
        divmod64(al, ah, bl, bh, signed, mod);
        regs[d] = divOut[0]!;
        regs[d + 1] = divOut[1]!;
        break;
      }
      case Op.OR64_IMM:
        regs[d] |= imm;
        regs[d + 1] |= imm >> 31;
        break;
      case Op.OR64_REG:
        regs[d] |= regs[s]!;
        regs[d + 1] |= regs[s + 1]!;
        break;
      case Op.AND64_IMM:
        regs[d] &= imm;
        regs[d + 1] &= imm >> 31;
        break;
      case Op.AND64_REG:
        regs[d] &= regs[s]!;
        regs[d + 1] &= regs[s + 1]!;
        break;
      case Op.XOR64_IMM:
        regs[d] ^= imm;
        regs[d + 1] ^= imm >> 31;
        break;
      case Op.XOR64_REG:
        regs[d] ^= regs[s]!;
        regs[d + 1] ^= regs[s + 1]!;
        break;
      case Op.MOV64_IMM:
        regs[d] = imm;
        regs[d + 1] = imm >> 31;
        break;
      case Op.MOV64_REG:
        regs[d] = regs[s]!;
        regs[d + 1] = regs[s + 1]!;
        break;
      case Op.ADDR_SPACE_CAST: // both directions keep the low 32 bits (see the table row)
        regs[d] = regs[s]!;
        regs[d + 1] = 0;
        break;
      case Op.LSH64_IMM:
      case Op.LSH64_REG: {
        const c = ((w & 0xff) === Op.LSH64_REG ? regs[s]! : imm) & 63;
        if (c === 0) break;
        const lo = regs[d]!;
        if (c < 32) {
          regs[d + 1] = (regs[d + 1]! << c) | (lo >>> (32 - c));
          regs[d] = lo << c;
        } else {
          regs[d + 1] = lo << (c - 32);
          regs[d] = 0;
        }
        break;
      }
      case Op.RSH64_IMM:
      case Op.RSH64_REG: {
        const c = ((w & 0xff) === Op.RSH64_REG ? regs[s]! : imm) & 63;
        if (c === 0) break;
        const hi = regs[d + 1]!;
        if (c < 32) {
          regs[d] = (regs[d]! >>> c) | (hi << (32 - c));
          regs[d + 1] = hi >>> c;
        } else {
          regs[d] = hi >>> (c - 32);
          regs[d + 1] = 0;
        }
        break;
      }
      case Op.ARSH64_IMM:
      case Op.ARSH64_REG: {
        const c = ((w & 0xff) === Op.ARSH64_REG ? regs[s]! : imm) & 63;
        if (c === 0) break;
        const hi = regs[d + 1]!;
        if (c < 32) {
          regs[d] = (regs[d]! >>> c) | (hi << (32 - c));
          regs[d + 1] = hi >> c;
        } else {
          regs[d] = hi >> (c - 32);
          regs[d + 1] = hi >> 31;
        }
        break;
      }
      case Op.NEG64: {
        const lo = regs[d]!;
        regs[d] = -lo | 0;
        regs[d + 1] = (~regs[d + 1]! + (lo === 0 ? 1 : 0)) | 0;
        break;
      }

      // ---- ALU32: every result zero-extends ---------------------------------
      case Op.ADD32_IMM:
        regs[d] = (regs[d]! + imm) | 0;
        regs[d + 1] = 0;
        break;
      case Op.ADD32_REG:
        regs[d] = (regs[d]! + regs[s]!) | 0;
        regs[d + 1] = 0;
        break;
      case Op.SUB32_IMM:
        regs[d] = (regs[d]! - imm) | 0;
        regs[d + 1] = 0;
        break;
      case Op.SUB32_REG:
        regs[d] = (regs[d]! - regs[s]!) | 0;
        regs[d + 1] = 0;
        break;
      case Op.MUL32_IMM:
        regs[d] = Math.imul(regs[d]!, imm);
        regs[d + 1] = 0;
        break;
      case Op.MUL32_REG:
        regs[d] = Math.imul(regs[d]!, regs[s]!);
        regs[d + 1] = 0;
        break;
      case Op.DIV32_IMM:
      case Op.DIV32_REG: {
        const b = ((w & 0xff) === Op.DIV32_REG ? regs[s]! : imm) >>> 0;
        regs[d] = b === 0 ? 0 : ((regs[d]! >>> 0) / b) | 0;
        regs[d + 1] = 0;
        break;
      }
      case Op.SDIV32_IMM:
      case Op.SDIV32_REG: {
        const b = (w & 0xff) === Op.SDIV32_REG ? regs[s]! : imm;
        // INT_MIN / -1 = 2^31, whose ToInt32 is INT_MIN again
        regs[d] = b === 0 ? 0 : (regs[d]! / b) | 0;
        regs[d + 1] = 0;
        break;
      }
      case Op.MOD32_IMM:
      case Op.MOD32_REG: {
        const b = ((w & 0xff) === Op.MOD32_REG ? regs[s]! : imm) >>> 0;
        if (b !== 0) regs[d] = (regs[d]! >>> 0) % b | 0;
        regs[d + 1] = 0;
        break;
      }
      case Op.SMOD32_IMM:
      case Op.SMOD32_REG: {
        const b = (w & 0xff) === Op.SMOD32_REG ? regs[s]! : imm;
        if (b !== 0) regs[d] = regs[d]! % b | 0; // JS % truncates like C; INT_MIN % -1 is -0 -> 0
        regs[d + 1] = 0;
        break;
      }
      case Op.OR32_IMM:
        regs[d] |= imm;
        regs[d + 1] = 0;
        break;
      case Op.OR32_REG:
        regs[d] |= regs[s]!;
        regs[d + 1] = 0;
        break;
      case Op.AND32_IMM:
        regs[d] &= imm;
        regs[d + 1] = 0;
        break;
      case Op.AND32_REG:
        regs[d] &= regs[s]!;
        regs[d + 1] = 0;
        break;
      case Op.XOR32_IMM:
        regs[d] ^= imm;
        regs[d + 1] = 0;
        break;
      case Op.XOR32_REG:
        regs[d] ^= regs[s]!;
        regs[d + 1] = 0;
        break;
      case Op.LSH32_IMM: // JS shifts mask the count to 5 bits, as eBPF does
        regs[d] <<= imm;
        regs[d + 1] = 0;
        break;
      case Op.LSH32_REG:
        regs[d] <<= regs[s]!;
        regs[d + 1] = 0;
        break;
      case Op.RSH32_IMM:
        regs[d] = regs[d]! >>> imm;
        regs[d + 1] = 0;
        break;
      case Op.RSH32_REG:
        regs[d] = regs[d]! >>> regs[s]!;
        regs[d + 1] = 0;
        break;
      case Op.ARSH32_IMM:
        regs[d] >>= imm;
        regs[d + 1] = 0;
        break;
      case Op.ARSH32_REG:
        regs[d] >>= regs[s]!;
        regs[d + 1] = 0;
        break;
      case Op.MOV32_IMM:
        regs[d] = imm;
        regs[d + 1] = 0;
        break;
      case Op.MOV32_REG:
        regs[d] = regs[s]!;
        regs[d + 1] = 0;
        break;
      case Op.NEG32:
        regs[d] = -regs[d]! | 0;
        regs[d + 1] = 0;
        break;
      case Op.MOVSX64_8: {
        const v = (regs[s]! << 24) >> 24;
        regs[d] = v;
        regs[d + 1] = v >> 31;
        break;
      }
      case Op.MOVSX64_16: {
        const v = (regs[s]! << 16) >> 16;
        regs[d] = v;
        regs[d + 1] = v >> 31;
        break;
      }
      case Op.MOVSX64_32: {
        const v = regs[s]!;
        regs[d] = v;
        regs[d + 1] = v >> 31;
        break;
      }
      case Op.MOVSX32_8:
        regs[d] = (regs[s]! << 24) >> 24;
        regs[d + 1] = 0;
        break;
      case Op.MOVSX32_16:
        regs[d] = (regs[s]! << 16) >> 16;
        regs[d + 1] = 0;
        break;

      // ---- byte order (the host order is little-endian) ---------------------
      case Op.LE16:
        regs[d] &= 0xffff;
        regs[d + 1] = 0;
        break;
      case Op.LE32:
        regs[d + 1] = 0;
        break;
      case Op.LE64:
        break;
      case Op.BE16:
      case Op.BSWAP16: {
        const v = regs[d]!;
        regs[d] = ((v & 0xff) << 8) | ((v >>> 8) & 0xff);
        regs[d + 1] = 0;
        break;
      }
      case Op.BE32:
      case Op.BSWAP32:
        regs[d] = bswap32(regs[d]!);
        regs[d + 1] = 0;
        break;
      case Op.BE64:
      case Op.BSWAP64: {
        const lo = regs[d]!;
        regs[d] = bswap32(regs[d + 1]!);
        regs[d + 1] = bswap32(lo);
        break;
      }

      // ---- loads: address src + off, checked against the shadow map -----------
      case Op.LDXB:
      case Op.LDXSB: {
        const a = (regs[s]! >>> 0) + off;
        if (regs[s + 1] !== 0 || a < 0 || a > lim || (u8[SB + (a >>> 3)]! & R) === 0) {
          status = S_FAULT;
          break loop;
        }
        if ((u8[SB + (a >>> 3)]! & P) !== 0 && !mem.check(a, 1, false)) {
          status = S_FAULT;
          break loop;
        }
        if ((w & 0xff) === Op.LDXB) {
          regs[d] = u8[a]!;
          regs[d + 1] = 0;
        } else {
          const v = (u8[a]! << 24) >> 24;
          regs[d] = v;
          regs[d + 1] = v >> 31;
        }
        break;
      }
      case Op.LDXH:
      case Op.LDXSH: {
        const a = (regs[s]! >>> 0) + off;
        if (regs[s + 1] !== 0 || a < 0 || a > lim) {
          status = S_FAULT;
          break loop;
        }
        const ga = u8[SB + (a >>> 3)]!;
        const gb = u8[SB + ((a + 1) >>> 3)]!;
        if ((ga & gb & R) === 0 || (((ga | gb) & P) !== 0 && !mem.check(a, 2, false))) {
          status = S_FAULT;
          break loop;
        }
        if ((w & 0xff) === Op.LDXH) {
          regs[d] = dv.getUint16(a, true);
          regs[d + 1] = 0;
        } else {
          const v = dv.getInt16(a, true);
          regs[d] = v;
          regs[d + 1] = v >> 31;
        }
        break;
      }
      case Op.LDXW:
      case Op.LDXSW: {
        const a = (regs[s]! >>> 0) + off;
        if (regs[s + 1] !== 0 || a < 0 || a > lim) {
          status = S_FAULT;
          break loop;
        }
        const ga = u8[SB + (a >>> 3)]!;
        const gb = u8[SB + ((a + 3) >>> 3)]!;
        if ((ga & gb & R) === 0 || (((ga | gb) & P) !== 0 && !mem.check(a, 4, false))) {
          status = S_FAULT;
          break loop;
        }
        const v = dv.getInt32(a, true);
        regs[d] = v;
        regs[d + 1] = (w & 0xff) === Op.LDXW ? 0 : v >> 31;
        break;
      }
      case Op.LDXDW: {
        const a = (regs[s]! >>> 0) + off;
        if (regs[s + 1] !== 0 || a < 0 || a > lim) {
          status = S_FAULT;
          break loop;
        }
        const ga = u8[SB + (a >>> 3)]!;
        const gb = u8[SB + ((a + 7) >>> 3)]!;
        if ((ga & gb & R) === 0 || (((ga | gb) & P) !== 0 && !mem.check(a, 8, false))) {
          status = S_FAULT;
          break loop;
        }
        regs[d] = dv.getInt32(a, true);
        regs[d + 1] = dv.getInt32(a + 4, true);
        break;
      }

      // ---- stores: address dst + off ------------------------------------------
      case Op.STB:
      case Op.STXB: {
        const a = (regs[d]! >>> 0) + off;
        if (regs[d + 1] !== 0 || a < 0 || a > lim || (u8[SB + (a >>> 3)]! & W) === 0) {
          status = S_FAULT;
          break loop;
        }
        if ((u8[SB + (a >>> 3)]! & P) !== 0 && !mem.check(a, 1, true)) {
          status = S_FAULT;
          break loop;
        }
        u8[a] = (w & 0xff) === Op.STB ? imm : regs[s]!;
        break;
      }
      case Op.STH:
      case Op.STXH: {
        const a = (regs[d]! >>> 0) + off;
        if (regs[d + 1] !== 0 || a < 0 || a > lim) {
          status = S_FAULT;
          break loop;
        }
        const ga = u8[SB + (a >>> 3)]!;
        const gb = u8[SB + ((a + 1) >>> 3)]!;
        if ((ga & gb & W) === 0 || (((ga | gb) & P) !== 0 && !mem.check(a, 2, true))) {
          status = S_FAULT;
          break loop;
        }
        dv.setInt16(a, (w & 0xff) === Op.STH ? imm : regs[s]!, true);
        break;
      }
      case Op.STW:
      case Op.STXW: {
        const a = (regs[d]! >>> 0) + off;
        if (regs[d + 1] !== 0 || a < 0 || a > lim) {
          status = S_FAULT;
          break loop;
        }
        const ga = u8[SB + (a >>> 3)]!;
        const gb = u8[SB + ((a + 3) >>> 3)]!;
        if ((ga & gb & W) === 0 || (((ga | gb) & P) !== 0 && !mem.check(a, 4, true))) {
          status = S_FAULT;
          break loop;
        }
        dv.setInt32(a, (w & 0xff) === Op.STW ? imm : regs[s]!, true);
        break;
      }
      case Op.STDW:
      case Op.STXDW: {
        const a = (regs[d]! >>> 0) + off;
        if (regs[d + 1] !== 0 || a < 0 || a > lim) {
          status = S_FAULT;
          break loop;
        }
        const ga = u8[SB + (a >>> 3)]!;
        const gb = u8[SB + ((a + 7) >>> 3)]!;
        if ((ga & gb & W) === 0 || (((ga | gb) & P) !== 0 && !mem.check(a, 8, true))) {
          status = S_FAULT;
          break loop;
        }
        if ((w & 0xff) === Op.STDW) {
          dv.setInt32(a, imm, true);
          dv.setInt32(a + 4, imm >> 31, true);
        } else {
          dv.setInt32(a, regs[s]!, true);
          dv.setInt32(a + 4, regs[s + 1]!, true);
        }
        break;
      }

      // ---- atomics: naturally aligned (the kernel's verifier insists and Wasm atomics trap: fault as the JIT does) ----
      case Op.ATOMIC32_ADD:
      case Op.ATOMIC32_FETCH_ADD:
      case Op.ATOMIC32_OR:
      case Op.ATOMIC32_FETCH_OR:
      case Op.ATOMIC32_AND:
      case Op.ATOMIC32_FETCH_AND:
      case Op.ATOMIC32_XOR:
      case Op.ATOMIC32_FETCH_XOR:
      case Op.ATOMIC32_XCHG:
      case Op.ATOMIC32_CMPXCHG: {
        const a = (regs[d]! >>> 0) + off;
        if (regs[d + 1] !== 0 || a < 0 || a > lim || (a & 3) !== 0) {
          status = S_FAULT;
          break loop;
        }
        const ga = u8[SB + (a >>> 3)]!;
        const gb = u8[SB + ((a + 3) >>> 3)]!;
        if ((ga & gb & Perm.RW) !== Perm.RW || (((ga | gb) & P) !== 0 && !mem.check(a, 4, true))) {
          status = S_FAULT;
          break loop;
        }
        atomic32(dv, a, (w & 0xff) as Op, imm, regs, s);
        break;
      }
      case Op.ATOMIC64_ADD:
      case Op.ATOMIC64_FETCH_ADD:
      case Op.ATOMIC64_OR:
      case Op.ATOMIC64_FETCH_OR:
      case Op.ATOMIC64_AND:
      case Op.ATOMIC64_FETCH_AND:
      case Op.ATOMIC64_XOR:
      case Op.ATOMIC64_FETCH_XOR:
      case Op.ATOMIC64_XCHG:
      case Op.ATOMIC64_CMPXCHG: {
        const a = (regs[d]! >>> 0) + off;
        if (regs[d + 1] !== 0 || a < 0 || a > lim || (a & 7) !== 0) {
          status = S_FAULT;
          break loop;
        }
        const ga = u8[SB + (a >>> 3)]!;
        const gb = u8[SB + ((a + 7) >>> 3)]!;
        if ((ga & gb & Perm.RW) !== Perm.RW || (((ga | gb) & P) !== 0 && !mem.check(a, 8, true))) {
          status = S_FAULT;
          break loop;
        }
        atomic64(dv, a, (w & 0xff) as Op, imm, regs, s);
        break;
      }

      // ---- 64-bit immediates ------------------------------------------------------
      case Op.LDDW:
        regs[d] = imm;
        regs[d + 1] = imm64hi[pc - 1]!;
        pc++;
        break;
      case Op.LDDW_MAP_FD:
      case Op.LDDW_MAP_VALUE:
      case Op.LDDW_BTF_VAR:
      case Op.LDDW_FUNC:
      case Op.LDDW_MAP_IDX:
      case Op.LDDW_MAP_IDX_VALUE:
        status = S_LDDW_PSEUDO;
        break loop;

      // ---- legacy packet loads: r0 = big-endian bytes at packet offset ---------
      case Op.LD_ABS_B:
      case Op.LD_ABS_H:
      case Op.LD_ABS_W:
      case Op.LD_IND_B:
      case Op.LD_IND_H:
      case Op.LD_IND_W: {
        const k = packetStep(mem, env.run, pktStart, pktLen, regs, (w & 0xff) as Op, s, imm);
        if (k === Pkt.Ok) break;
        if (k === Pkt.None) status = S_NO_PACKET;
        break loop;
      }

      // ---- jumps -------------------------------------------------------------------
      case Op.JA:
        pc += off;
        break;
      case Op.JA32:
        pc += imm;
        break;
      case Op.MAY_GOTO:
        // the kernel's rewrite: if (budget == 0) goto target; budget--
        if (loops === 0) pc += off;
        else loops--;
        break;
      case Op.JEQ64_IMM:
        if (regs[d] === imm && regs[d + 1] === imm >> 31) pc += off;
        break;
      case Op.JEQ64_REG:
        if (regs[d] === regs[s] && regs[d + 1] === regs[s + 1]) pc += off;
        break;
      case Op.JNE64_IMM:
        if (regs[d] !== imm || regs[d + 1] !== imm >> 31) pc += off;
        break;
      case Op.JNE64_REG:
        if (regs[d] !== regs[s] || regs[d + 1] !== regs[s + 1]) pc += off;
        break;
      case Op.JSET64_IMM:
        if ((regs[d]! & imm) !== 0 || (regs[d + 1]! & (imm >> 31)) !== 0) pc += off;
        break;
      case Op.JSET64_REG:
        if ((regs[d]! & regs[s]!) !== 0 || (regs[d + 1]! & regs[s + 1]!) !== 0) pc += off;
        break;
      case Op.JGT64_IMM:
      case Op.JGT64_REG:
      case Op.JGE64_IMM:
      case Op.JGE64_REG:
      case Op.JLT64_IMM:
      case Op.JLT64_REG:
      case Op.JLE64_IMM:
      case Op.JLE64_REG: {
        const o = (w & 0xff) as Op;
        const reg = o === Op.JGT64_REG || o === Op.JGE64_REG || o === Op.JLT64_REG || o === Op.JLE64_REG;
        const ah = regs[d + 1]! >>> 0;
        const bh = (reg ? regs[s + 1]! : imm >> 31) >>> 0;
        const al = regs[d]! >>> 0;
        const bl = (reg ? regs[s]! : imm) >>> 0;
        // cmp: -1, 0, 1 for a <, =, > b (unsigned)
        const cmp = ah !== bh ? (ah > bh ? 1 : -1) : al !== bl ? (al > bl ? 1 : -1) : 0;
        const take =
          o === Op.JGT64_IMM || o === Op.JGT64_REG ? cmp > 0 : o === Op.JGE64_IMM || o === Op.JGE64_REG ? cmp >= 0 : o === Op.JLT64_IMM || o === Op.JLT64_REG ? cmp < 0 : cmp <= 0;
        if (take) pc += off;
        break;
      }
      case Op.JSGT64_IMM:
      case Op.JSGT64_REG:
      case Op.JSGE64_IMM:
      case Op.JSGE64_REG:
      case Op.JSLT64_IMM:
      case Op.JSLT64_REG:
      case Op.JSLE64_IMM:
      case Op.JSLE64_REG: {
        const o = (w & 0xff) as Op;
        const reg = o === Op.JSGT64_REG || o === Op.JSGE64_REG || o === Op.JSLT64_REG || o === Op.JSLE64_REG;
        const ah = regs[d + 1]!;
        const bh = reg ? regs[s + 1]! : imm >> 31;
        const al = regs[d]! >>> 0;
        const bl = (reg ? regs[s]! : imm) >>> 0;
        const cmp = ah !== bh ? (ah > bh ? 1 : -1) : al !== bl ? (al > bl ? 1 : -1) : 0;
        const take =
          o === Op.JSGT64_IMM || o === Op.JSGT64_REG ? cmp > 0 : o === Op.JSGE64_IMM || o === Op.JSGE64_REG ? cmp >= 0 : o === Op.JSLT64_IMM || o === Op.JSLT64_REG ? cmp < 0 : cmp <= 0;
        if (take) pc += off;
        break;
      }
      case Op.JEQ32_IMM:
        if (regs[d] === imm) pc += off;
        break;
      case Op.JEQ32_REG:
        if (regs[d] === regs[s]) pc += off;
        break;
      case Op.JNE32_IMM:
        if (regs[d] !== imm) pc += off;
        break;
      case Op.JNE32_REG:
        if (regs[d] !== regs[s]) pc += off;
        break;
      case Op.JSET32_IMM:
        if ((regs[d]! & imm) !== 0) pc += off;
        break;
      case Op.JSET32_REG:
        if ((regs[d]! & regs[s]!) !== 0) pc += off;
        break;
      case Op.JGT32_IMM:
        if (regs[d]! >>> 0 > imm >>> 0) pc += off;
        break;
      case Op.JGT32_REG:
        if (regs[d]! >>> 0 > regs[s]! >>> 0) pc += off;
        break;
      case Op.JGE32_IMM:
        if (regs[d]! >>> 0 >= imm >>> 0) pc += off;
        break;
      case Op.JGE32_REG:
        if (regs[d]! >>> 0 >= regs[s]! >>> 0) pc += off;
        break;
      case Op.JLT32_IMM:
        if (regs[d]! >>> 0 < imm >>> 0) pc += off;
        break;
      case Op.JLT32_REG:
        if (regs[d]! >>> 0 < regs[s]! >>> 0) pc += off;
        break;
      case Op.JLE32_IMM:
        if (regs[d]! >>> 0 <= imm >>> 0) pc += off;
        break;
      case Op.JLE32_REG:
        if (regs[d]! >>> 0 <= regs[s]! >>> 0) pc += off;
        break;
      case Op.JSGT32_IMM:
        if (regs[d]! > imm) pc += off;
        break;
      case Op.JSGT32_REG:
        if (regs[d]! > regs[s]!) pc += off;
        break;
      case Op.JSGE32_IMM:
        if (regs[d]! >= imm) pc += off;
        break;
      case Op.JSGE32_REG:
        if (regs[d]! >= regs[s]!) pc += off;
        break;
      case Op.JSLT32_IMM:
        if (regs[d]! < imm) pc += off;
        break;
      case Op.JSLT32_REG:
        if (regs[d]! < regs[s]!) pc += off;
        break;
      case Op.JSLE32_IMM:
        if (regs[d]! <= imm) pc += off;
        break;
      case Op.JSLE32_REG:
        if (regs[d]! <= regs[s]!) pc += off;
        break;

      // ---- calls and exit ---------------------------------------------------------------
      case Op.CALL:
      case Op.CALLX: {
        // callx takes the helper id from its dst register (uBPF's reading; the
        // bpf_conformance test callx.data pins it: `mov r2, 5; callx r2` calls helper 5)
        let id = imm;
        if ((w & 0xff) === Op.CALLX) {
          id = regs[d]!;
          if (regs[d + 1] !== 0 || id < 0 || !helpers.has(id)) {
            lastArg = regs[d + 1] === 0 ? id >>> 0 : regs[d + 1]! * TWO32 + (id >>> 0);
            status = S_CALLX_TARGET;
            break loop;
          }
        }
        const h = helpers.get(id);
        if (h === undefined) {
          lastArg = id;
          status = S_NO_HELPER;
          break loop;
        }
        (env as MutableEnv).pc = pc - 1;
        h.fn(env);
        // the helper may have grown the memory
        mem.refresh();
        u8 = mem.u8;
        dv = mem.dv;
        break;
      }
      case Op.CALL_LOCAL:
        if (depth + 1 >= MAX_CALL_FRAMES) {
          status = S_DEPTH;
          break loop;
        }
        pushFrame(frames, depth, regs, pc, loops);
        depth++;
        loops = BPF_MAX_LOOPS;
        pc += imm;
        break;
      case Op.CALL_KFUNC:
        status = S_KFUNC;
        break loop;
      case Op.EXIT:
        if (depth === 0) break loop;
        depth--;
        pc = popFrame(frames, depth, regs);
        loops = savedLoops(frames, depth);
        break;
      case InterpOp.ARENA as unknown as Op:
        // a load, store or atomic through an arena pointer (arena.ts): confined there, never faults
        arenaStep(prog.op[pc - 1]! as Op, u8, dv, regs, d, s, off, imm, arenaStart, arenaEnd);
        break;
      default:
        // OP_HALF (second slot of lddw) or OP_END (ran past the last instruction)
        status = S_BAD_INSN;
        break loop;
    }
  }
  lastPc = status === S_BUDGET || status === S_STOPPED ? pc : pc - 1;
  lastCount = n;
  return status;
}
