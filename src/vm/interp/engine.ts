// The interpreter engine: checks and pre-decodes a program once, then runs
// it on the loop in exec.ts with a register file, call frames and a helper
// environment it reuses, and turns the loop's exit state into a result or a
// typed error (MemoryFault, BudgetExceeded, ProgramError).

import { checkFields, checkTargets, readSlot, type Program } from '../../isa/decode.js';
import { MAX_CALL_FRAMES, STACK_SIZE } from '../../isa/fields.js';
import { INSNS, Shape, type Op } from '../../isa/table.js';
import type { HelperRegistry } from '../../helpers/registry.js';
import { BudgetExceeded, MemoryFault, ProgramError, UsageError } from '../../internal/errors.js';
import type { RuntimeMemory } from '../memory.js';
import {
  DEFAULT_BUDGET,
  REG_FILE_LENGTH,
  type Engine,
  type EngineConfig,
  type EntryArgs,
  type ExecOptions,
  type ExecResult,
  type RegFile,
} from '../types.js';
import { TWO32 } from './arith.js';
import { OP_END, OP_HALF, Status, executed, execute, exitDetail, stoppedAt, type MutableEnv } from './exec.js';
import { FRAME_WORDS } from './frames.js';
import { isPacketSource } from './packet.js';
import { InterpOp, isArenaOp } from './arena.js';
import { ArenaMark, arenaAccessOf, arenaProgram } from '../arena-access.js';

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
  /** The arena's bytes [arenaStart, arenaEnd) (src/vm/arena-access.ts); empty without one. */
  private readonly arenaStart: number;
  private readonly arenaEnd: number;

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
    // an arena program runs with its 32-bit rewrites, and its arena accesses take InterpOp.ARENA (arena.ts)
    const arena = arenaAccessOf(prog);
    const ops = arena !== undefined ? arenaProgram(prog, arena).op : prog.op;
    this.arenaStart = arena?.start ?? 0;
    this.arenaEnd = arena !== undefined ? arena.start + arena.size : 0;
    const n = prog.length;
    const code = new Int32Array(2 * (n + 1));
    for (let i = 0; i < n; i++) {
      let op = ops[i]!;
      if (arena !== undefined && (arena.marks[i]! & ArenaMark.ACCESS) !== 0 && op >= 0 && isArenaOp(op as Op)) op = InterpOp.ARENA;
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
    const st = execute(this.code, this.prog, regs, frames, this.mem, this.helpers, env, budget > 0 ? budget : Infinity, options.hook, pktStart, pktLen, this.arenaStart, this.arenaEnd);
    const pc = stoppedAt();
    switch (st) {
      case Status.EXIT:
      case Status.STOPPED:
        break;
      case Status.FAULT:
        throw this.faultAt(pc, regs);
      case Status.BUDGET:
        throw new BudgetExceeded(pc, budget);
      case Status.NO_HELPER:
        throw new ProgramError(pc, `call to unknown helper id ${exitDetail()}`);
      case Status.DEPTH:
        throw new ProgramError(pc, `call depth exceeds ${MAX_CALL_FRAMES} frames`);
      case Status.BAD_INSN:
        throw new ProgramError(pc, pc >= this.prog.length ? 'fell off the end of the program (no exit)' : 'executed the second half of an lddw');
      case Status.LDDW_PSEUDO:
        throw new ProgramError(pc, `${INSNS[this.prog.op[pc]!]!.name} (lddw with src ${this.prog.src[pc]}) must be rewritten by a loader before the program runs`);
      case Status.KFUNC:
        throw new ProgramError(pc, `kfunc calls are not supported (BTF id ${this.prog.imm[pc]})`);
      case Status.CALLX_TARGET:
        throw new ProgramError(pc, `callx target r${this.prog.dst[pc]} = ${exitDetail()} is not a registered helper id`);
      case Status.NO_PACKET:
        throw new ProgramError(pc, 'legacy packet load with no packet: pass run.packet or point r6 into a mapped region');
      default:
        throw new ProgramError(pc, `interpreter: unknown exit state ${st}`);
    }
    if (options.regsOut) options.regsOut.set(regs.subarray(0, options.regsOut.length));
    return new RunResult(regs[0]!, regs[1]!, executed());
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
