// Types shared by the execution engines (interpreter and JIT), so that a
// caller can switch engines without changing anything else.

import type { Program } from '../isa/decode.js';
import type { HelperRegistry } from '../helpers/registry.js';
import type { RuntimeMemory, Region } from './memory.js';

/**
 * Registers as int32 halves: regs[2*i] = low 32 bits of ri, regs[2*i+1] = high
 * 32 bits, for r0..r10 (22 entries). No BigInt on the hot path.
 */
export type RegFile = Int32Array;
export const REG_FILE_LENGTH = 22;

/** Called before each instruction executes (stepping, tracing, the debugger). Return true to stop the run. */
export type StepHook = (pc: number, prog: Program, regs: RegFile, depth: number) => boolean | void;

export interface ExecOptions {
  /** Maximum instructions executed per run; 0 = unlimited (not recommended). Default 10,000,000. */
  budget?: number;
  /** Per-instruction hook (interpreter only; the JIT ignores it). */
  hook?: StepHook;
  /**
   * Per-run state handed to helpers as env.run (program-type context, maps, trace pipe...).
   * The interpreter also reads `run.packet` ({ start, len }: the bytes the legacy
   * LD_ABS/LD_IND loads see); without it they read from the region r6 points into.
   */
  run?: unknown;
  /** If given, receives the whole register file (r0..r10 halves) when the run ends normally. */
  regsOut?: RegFile;
}

/** Entry arguments r1..r5. Numbers are taken as unsigned 32-bit addresses/values; bigint for full 64-bit. */
export type EntryArgs = ReadonlyArray<number | bigint>;

export interface ExecResult {
  /** r0 at the outermost exit, as an unsigned 64-bit BigInt (formatting edge only). */
  readonly r0: bigint;
  /** r0 halves, for callers that avoid BigInt. */
  readonly r0lo: number;
  readonly r0hi: number;
  /** Instructions executed (interpreter exact; JIT may report 0 when it does not count). */
  readonly insns: number;
}

export const DEFAULT_BUDGET = 10_000_000;

/** What both engines are built from. */
export interface EngineConfig {
  readonly mem: RuntimeMemory;
  readonly helpers: HelperRegistry;
  /** The stack region: MAX_CALL_FRAMES frames of STACK_SIZE bytes; r10 of frame 0 = its end. */
  readonly stack: Region;
}

export interface Engine {
  /** Run the program with r1..r5 from args; r10 = top of the stack. Throws MemoryFault, BudgetExceeded, ProgramError. */
  run(args: EntryArgs, options?: ExecOptions): ExecResult;
}
