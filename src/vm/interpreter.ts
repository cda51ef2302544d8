// The reference interpreter: one function, one `switch (op)` over the ISA
// table's Op tags, registers as int32 (lo, hi) halves.
//
// Semantics are RFC 9669 plus the cpu v4 additions, as pinned down by the
// bpf_conformance corpus (shared/conformance/FORMAT.md §3): 32-bit results are
// zero-extended, shift counts are masked, division by zero gives 0, modulo by
// zero leaves dst (the 32-bit form still zeroes the upper half), INT_MIN / -1
// gives INT_MIN, signed modulo truncates, 64-bit immediates are sign-extended.
//
// The hot loop allocates nothing and has no closures, strings, BigInt or
// try/catch. A fault or a runtime error sets `status` and leaves the loop; the
// typed error is built and thrown after it, from the faulting instruction.
//
// Every load and store is checked against the RuntimeMemory shadow map with
// the same test as `RuntimeMemory.check`, inlined: two shadow bytes, and the
// region list only for granules a region covers partly.

import { checkFields, checkTargets, readSlot, type Program } from '../isa/decode.js';
import { BPF_MAX_LOOPS, MAX_CALL_FRAMES, STACK_SIZE } from '../isa/fields.js';
import { INSNS, Op, Shape } from '../isa/table.js';
import type { HelperEnv, HelperRegistry } from '../helpers/registry.js';
import { BudgetExceeded, MemoryFault, ProgramError, UsageError } from '../internal/errors.js';
import { Perm, SHADOW_BASE, type RuntimeMemory } from './memory.js';
import {
  DEFAULT_BUDGET,
  REG_FILE_LENGTH,
  type Engine,
  type EngineConfig,
  type EntryArgs,
  type ExecOptions,
  type ExecResult,
  type RegFile,
} from './types.js';

/** The bytes the legacy packet loads (LD_ABS / LD_IND) read: `ExecOptions.run.packet`. */
export interface PacketSource {
  readonly packet?: { readonly start: number; readonly len: number };
}

// Exit states of the loop.
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

/** Op value of the sentinel slot after the last instruction and of lddw second halves. */
const OP_END = 0xfe;
const OP_HALF = 0xff;

const TWO32 = 4294967296;

/** Words per saved call frame: r6..r9 halves, return pc, caller's r10, caller's may_goto budget. */
const FRAME_WORDS = 11;

// Scratch for 64-bit division results (lo, hi); module-level so division allocates nothing.
const divOut = new Int32Array(2);

/**
 * 64-bit division or remainder of (al, ah) by (bl, bh), into divOut.
 * Divisor zero is handled by the caller. A divisor below 2^32 takes exact
 * 16-bit-limb long division in doubles; operands below 2^52 in magnitude are
 * divided as doubles (exact: quotient*divisor stays below 2^53, and the
 * remainder correction fixes the rounding of a/b). Only a divisor of 2^52 or
 * more with a dividend of 2^52 or more takes the BigInt path (about 0.3-0.5 µs
 * per operation); for unsigned operands that means genuinely huge values on
 * both sides, which packet programs rarely divide.
 */
function divmod64(al: number, ah: number, bl: number, bh: number, signed: boolean, mod: boolean): void {
  let negA = false;
  let negB = false;
  if (signed) {
    if (ah < 0) {
      negA = true;
      // two's-complement negate (lo, hi)
      al = -al | 0;
      ah = (~ah + (al === 0 ? 1 : 0)) | 0;
    }
    if (bh < 0) {
      negB = true;
      bl = -bl | 0;
      bh = (~bh + (bl === 0 ? 1 : 0)) | 0;
    }
  }
  const ahu = ah >>> 0;
  const bhu = bh >>> 0;
  if (bhu === 0) {
    // Divisor below 2^32 (the usual case, even for 64-bit dividends): long
    // division by 16-bit limbs. Every partial dividend is below 2^48, so each
    // double division and floor is exact, and each quotient limb is below 2^16.
    const b = bl >>> 0;
    let t = ahu >>> 16;
    const q3 = Math.floor(t / b);
    t = (t - q3 * b) * 65536 + (ahu & 0xffff);
    const q2 = Math.floor(t / b);
    t = (t - q2 * b) * 65536 + (al >>> 16);
    const q1 = Math.floor(t / b);
    t = (t - q1 * b) * 65536 + (al & 0xffff);
    const q0 = Math.floor(t / b);
    const r = t - q0 * b;
    let lo: number;
    let hi: number;
    if (mod) {
      lo = r | 0;
      hi = 0;
    } else {
      lo = (q1 << 16) | q0;
      hi = (q3 << 16) | q2;
    }
    if (signed && (mod ? negA : negA !== negB)) {
      lo = -lo | 0;
      hi = (~hi + (lo === 0 ? 1 : 0)) | 0;
    }
    divOut[0] = lo;
    divOut[1] = hi;
    return;
  }
  if (ahu < 0x100000 && bhu < 0x100000) {
    const a = ahu * TWO32 + (al >>> 0);
    const b = bhu * TWO32 + (bl >>> 0);
    let q = Math.floor(a / b);
    let r = a - q * b;
    if (r < 0) {
      q -= 1;
      r += b;
    } else if (r >= b) {
      q += 1;
      r -= b;
    }
    let v = mod ? r : q;
    if (signed && (mod ? negA : negA !== negB)) v = -v;
    divOut[0] = v | 0; // ToInt32 is the low 32 bits of the two's-complement value
    divOut[1] = Math.floor(v / TWO32) | 0;
    return;
  }
  divmod64Big(al, ah, bl, bh, signed, mod, negA, negB);
}

/** The BigInt slow path of divmod64 (operands already made non-negative when signed). */
function divmod64Big(al: number, ah: number, bl: number, bh: number, signed: boolean, mod: boolean, negA: boolean, negB: boolean): void {
  const a = (BigInt(ah >>> 0) << 32n) | BigInt(al >>> 0);
  const b = (BigInt(bh >>> 0) << 32n) | BigInt(bl >>> 0);
  let v = mod ? a % b : a / b;
  if (signed && (mod ? negA : negA !== negB)) v = -v;
  v = BigInt.asUintN(64, v); // INT_MIN / -1 wraps back to INT_MIN here
  divOut[0] = Number(v & 0xffffffffn) | 0;
  divOut[1] = Number(v >> 32n) | 0;
}

/** Byte-reverse a 32-bit value. */
function bswap32(v: number): number {
  return ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}

/** What the helpers see (HelperEnv); one object per engine, its pc updated before each call. */
interface MutableEnv {
  mem: RuntimeMemory;
  regs: Int32Array;
  pc: number;
  run: unknown;
}

function isPacketSource(run: unknown): run is PacketSource {
  return typeof run === 'object' && run !== null && 'packet' in run;
}

/** ExecResult with r0 as a BigInt made only when asked for (runs per packet need no BigInt). */
class RunResult implements ExecResult {
  constructor(
    readonly r0lo: number,
    readonly r0hi: number,
    readonly insns: number,
  ) {}
  get r0(): bigint {
    return (BigInt(this.r0hi >>> 0) << 32n) | BigInt(this.r0lo >>> 0);
  }
}

export class Interpreter implements Engine {
  readonly prog: Program;
  private readonly mem: RuntimeMemory;
  private readonly helpers: HelperRegistry;
  private readonly stackTop: number;
  /**
   * Pre-decoded code, two int32 words per slot: [op | dst<<8 | src<<12 | off<<16, imm],
   * plus a sentinel slot (OP_END) after the last instruction.
   */
  private readonly code: Int32Array;
  // Register file, call frames (r6..r9 halves, return pc, r10, may_goto budget per frame) and
  // helper env, reused across runs: a run allocates nothing unless a helper
  // re-enters this engine.
  private readonly regs: RegFile = new Int32Array(REG_FILE_LENGTH);
  private readonly frames = new Int32Array(MAX_CALL_FRAMES * FRAME_WORDS);
  private readonly env: MutableEnv;
  private busy = false;

  constructor(prog: Program, config: EngineConfig) {
    if (config.stack.size < MAX_CALL_FRAMES * STACK_SIZE) {
      throw new UsageError(`stack region '${config.stack.name}' has ${config.stack.size} bytes; the interpreter needs ${MAX_CALL_FRAMES} frames of ${STACK_SIZE}`);
    }
    // A Program decoded with validate:false may hold anything; the loop trusts
    // register numbers and jump targets, so check them once here.
    for (let i = 0; i < prog.length; i++) {
      const op = prog.op[i]!;
      if (op < 0) continue;
      checkFields(i, INSNS[op]!, readSlot(prog.bytes, i));
      if (INSNS[op]!.slots === 2) i++;
    }
    checkTargets(prog);
    this.prog = prog;
    this.mem = config.mem;
    this.helpers = config.helpers;
    this.stackTop = config.stack.start + config.stack.size;
    const n = prog.length;
    const code = new Int32Array(2 * (n + 1));
    for (let i = 0; i < n; i++) {
      const op = prog.op[i]!;
      code[2 * i] = (op < 0 ? OP_HALF : op) | (prog.dst[i]! << 8) | (prog.src[i]! << 12) | (prog.off[i]! << 16);
      code[2 * i + 1] = prog.imm[i]!;
    }
    code[2 * n] = OP_END;
    this.code = code;
    this.env = { mem: this.mem, regs: this.regs, pc: 0, run: undefined };
  }

  run(args: EntryArgs, options: ExecOptions = {}): ExecResult {
    if (this.busy) return this.runWith(new Int32Array(REG_FILE_LENGTH), new Int32Array(MAX_CALL_FRAMES * FRAME_WORDS), { mem: this.mem, regs: new Int32Array(0), pc: 0, run: undefined }, args, options);
    this.busy = true;
    try {
      return this.runWith(this.regs, this.frames, this.env, args, options);
    } finally {
      this.busy = false;
    }
  }

  private runWith(regs: RegFile, frames: Int32Array, env: MutableEnv, args: EntryArgs, options: ExecOptions): ExecResult {
    regs.fill(0);
    for (let i = 0; i < args.length && i < 5; i++) {
      const v = args[i]!;
      if (typeof v === 'bigint') {
        const u = BigInt.asUintN(64, v);
        regs[2 + 2 * i] = Number(u & 0xffffffffn) | 0;
        regs[3 + 2 * i] = Number(u >> 32n) | 0;
      } else {
        if (!Number.isInteger(v)) throw new UsageError(`argument r${i + 1} is not an integer: ${v}`);
        regs[2 + 2 * i] = v | 0;
      }
    }
    regs[20] = this.stackTop;
    const budget = options.budget ?? DEFAULT_BUDGET;
    if (!(budget >= 0)) throw new UsageError(`budget must be a non-negative number of instructions (0 = unlimited), got ${budget}`);
    const run = options.run;
    let pktStart = -1;
    let pktLen = 0;
    if (isPacketSource(run) && run.packet !== undefined) {
      pktStart = run.packet.start;
      pktLen = run.packet.len;
    }
    env.regs = regs;
    env.run = run;
    const st = execute(this.code, this.prog, regs, frames, this.mem, this.helpers, env, budget > 0 ? budget : Infinity, options.hook, pktStart, pktLen);
    const pc = lastPc;
    switch (st) {
      case S_EXIT:
      case S_STOPPED:
        break;
      case S_FAULT:
        throw this.faultAt(pc, regs);
      case S_BUDGET:
        throw new BudgetExceeded(pc, budget);
      case S_NO_HELPER:
        throw new ProgramError(pc, `call to unknown helper id ${lastArg}`);
      case S_DEPTH:
        throw new ProgramError(pc, `call depth exceeds ${MAX_CALL_FRAMES} frames`);
      case S_BAD_INSN:
        throw new ProgramError(pc, pc >= this.prog.length ? 'fell off the end of the program (no exit)' : 'executed the second half of an lddw');
      case S_LDDW_PSEUDO:
        throw new ProgramError(pc, `${INSNS[this.prog.op[pc]!]!.name} (lddw with src ${this.prog.src[pc]}) must be rewritten by a loader before the program runs`);
      case S_KFUNC:
        throw new ProgramError(pc, `kfunc calls are not supported (BTF id ${this.prog.imm[pc]})`);
      case S_CALLX_TARGET:
        throw new ProgramError(pc, `callx target r${this.prog.dst[pc]} = ${lastArg} is not a registered helper id`);
      case S_NO_PACKET:
        throw new ProgramError(pc, 'legacy packet load with no packet: pass run.packet or point r6 into a mapped region');
      default:
        throw new ProgramError(pc, `interpreter: unknown exit state ${st}`);
    }
    if (options.regsOut) options.regsOut.set(regs.subarray(0, options.regsOut.length));
    return new RunResult(regs[0]!, regs[1]!, lastCount);
  }

  /** Rebuild the failed access of the instruction at pc (registers are as they were before it). */
  private faultAt(pc: number, regs: RegFile): Error {
    const def = INSNS[this.prog.op[pc]!]!;
    const write = def.shape === Shape.Store || def.shape === Shape.StoreReg || def.shape === Shape.Atomic;
    const base = write ? this.prog.dst[pc]! : this.prog.src[pc]!;
    const addr = regs[2 * base + 1]! * TWO32 + (regs[2 * base]! >>> 0) + this.prog.off[pc]!;
    const size = def.width / 8;
    if (def.shape === Shape.Atomic && addr % size !== 0 && this.mem.checkRange(addr, size, true)) {
      return new MemoryFault(pc, addr, size, true, `atomic access must be aligned to ${size} bytes`);
    }
    return this.mem.fault(pc, addr, size, write);
  }
}

// Side results of execute(), read right after it returns (module-level so the
// loop returns a plain small integer).
let lastPc = 0;
let lastCount = 0;
let lastArg = 0;

/**
 * The loop. Returns an S_* state; sets lastPc (the instruction that stopped it),
 * lastCount (instructions executed) and lastArg (detail for some states).
 */
function execute(
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
): number {
  let u8 = mem.u8;
  let dv = mem.dv;
  // Highest address whose shadow byte exists; anything above faults before the shadow is read.
  const lim = mem.maxBytes - 8;
  const imm64hi = prog.imm64hi;
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

      // ---- atomics: one thread runs a program at a time, so read-modify-write is plain ----
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
        // Atomics must be naturally aligned (the kernel's verifier insists and
        // Wasm atomics trap): fault as the JIT does.
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
        const old = dv.getInt32(a, true);
        const v = regs[s]!;
        const o = (w & 0xff) as Op;
        switch (o) {
          case Op.ATOMIC32_ADD:
          case Op.ATOMIC32_FETCH_ADD:
            dv.setInt32(a, (old + v) | 0, true);
            break;
          case Op.ATOMIC32_OR:
          case Op.ATOMIC32_FETCH_OR:
            dv.setInt32(a, old | v, true);
            break;
          case Op.ATOMIC32_AND:
          case Op.ATOMIC32_FETCH_AND:
            dv.setInt32(a, old & v, true);
            break;
          case Op.ATOMIC32_XOR:
          case Op.ATOMIC32_FETCH_XOR:
            dv.setInt32(a, old ^ v, true);
            break;
          case Op.ATOMIC32_XCHG:
            dv.setInt32(a, v, true);
            break;
          default: // CMPXCHG: compare with r0's low half; r0 gets the old value zero-extended
            if (old === regs[0]) dv.setInt32(a, v, true);
            regs[0] = old;
            regs[1] = 0;
            break;
        }
        if (o !== Op.ATOMIC32_CMPXCHG && (o === Op.ATOMIC32_XCHG || (imm & 1) !== 0)) {
          regs[s] = old;
          regs[s + 1] = 0;
        }
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
        // Atomics must be naturally aligned (the kernel's verifier insists and
        // Wasm atomics trap): fault as the JIT does.
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
        const ol = dv.getInt32(a, true);
        const oh = dv.getInt32(a + 4, true);
        const vl = regs[s]!;
        const vh = regs[s + 1]!;
        const o = (w & 0xff) as Op;
        let nl = vl;
        let nh = vh;
        switch (o) {
          case Op.ATOMIC64_ADD:
          case Op.ATOMIC64_FETCH_ADD: {
            const lo = (ol >>> 0) + (vl >>> 0);
            nl = lo | 0;
            nh = (oh + vh + (lo > 0xffffffff ? 1 : 0)) | 0;
            break;
          }
          case Op.ATOMIC64_OR:
          case Op.ATOMIC64_FETCH_OR:
            nl = ol | vl;
            nh = oh | vh;
            break;
          case Op.ATOMIC64_AND:
          case Op.ATOMIC64_FETCH_AND:
            nl = ol & vl;
            nh = oh & vh;
            break;
          case Op.ATOMIC64_XOR:
          case Op.ATOMIC64_FETCH_XOR:
            nl = ol ^ vl;
            nh = oh ^ vh;
            break;
          case Op.ATOMIC64_XCHG:
            break;
          default: // CMPXCHG
            if (ol !== regs[0] || oh !== regs[1]) {
              nl = ol;
              nh = oh;
            }
            regs[0] = ol;
            regs[1] = oh;
            break;
        }
        dv.setInt32(a, nl, true);
        dv.setInt32(a + 4, nh, true);
        if (o !== Op.ATOMIC64_CMPXCHG && (o === Op.ATOMIC64_XCHG || (imm & 1) !== 0)) {
          regs[s] = ol;
          regs[s + 1] = oh;
        }
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
        const o = (w & 0xff) as Op;
        // Read the packet from the run state each time: a helper (change_head,
        // adjust_room, vlan_pop...) may have moved it since the run started.
        const cur = env.run;
        let start = pktStart;
        let len = pktLen;
        if (isPacketSource(cur) && cur.packet !== undefined) {
          start = cur.packet.start;
          len = cur.packet.len;
        }
        if (start < 0) {
          // No packet given: read from r6 to the end of the region it points into.
          const region = regs[13] === 0 ? mem.regionOf(regs[12]! >>> 0) : undefined;
          if (region === undefined) {
            status = S_NO_PACKET;
            break loop;
          }
          start = regs[12]! >>> 0;
          len = region.start + region.size - start;
        }
        const size = o === Op.LD_ABS_B || o === Op.LD_IND_B ? 1 : o === Op.LD_ABS_H || o === Op.LD_IND_H ? 2 : 4;
        const at = o === Op.LD_IND_B || o === Op.LD_IND_H || o === Op.LD_IND_W ? (regs[s]! + imm) | 0 : imm;
        const v = mem.packetLoad(start, len, at, size);
        if (v < 0) {
          // out of the packet: the program ends with r0 = 0, as in the kernel
          regs[0] = regs[1] = 0;
          break loop;
        }
        regs[0] = v | 0;
        regs[1] = 0;
        break;
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
      case Op.CALL_LOCAL: {
        if (depth + 1 >= MAX_CALL_FRAMES) {
          status = S_DEPTH;
          break loop;
        }
        const f = depth * FRAME_WORDS;
        // save r6..r9 (both halves), the return pc, the caller's r10 and may_goto budget
        frames[f] = regs[12]!;
        frames[f + 1] = regs[13]!;
        frames[f + 2] = regs[14]!;
        frames[f + 3] = regs[15]!;
        frames[f + 4] = regs[16]!;
        frames[f + 5] = regs[17]!;
        frames[f + 6] = regs[18]!;
        frames[f + 7] = regs[19]!;
        frames[f + 8] = pc;
        frames[f + 9] = regs[20]!;
        frames[f + 10] = loops;
        loops = BPF_MAX_LOOPS;
        depth++;
        regs[20] = (regs[20]! - STACK_SIZE) | 0;
        pc += imm;
        break;
      }
      case Op.CALL_KFUNC:
        status = S_KFUNC;
        break loop;
      case Op.EXIT: {
        if (depth === 0) break loop;
        depth--;
        const f = depth * FRAME_WORDS;
        regs[12] = frames[f]!;
        regs[13] = frames[f + 1]!;
        regs[14] = frames[f + 2]!;
        regs[15] = frames[f + 3]!;
        regs[16] = frames[f + 4]!;
        regs[17] = frames[f + 5]!;
        regs[18] = frames[f + 6]!;
        regs[19] = frames[f + 7]!;
        pc = frames[f + 8]!;
        regs[20] = frames[f + 9]!;
        regs[21] = 0;
        loops = frames[f + 10]!;
        break;
      }
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
