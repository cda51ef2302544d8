// The contract between the code the JIT generates and the JavaScript around
// it: how registers map to Wasm locals, the globals, the control block in
// memory, the imports, the error codes, and the intrinsic hook.

import type { Writer } from './wasm/writer.js';
import { T } from './wasm/opcodes.js';

// ---- Locals of an eBPF function --------------------------------------------------
// Params 0..10 are r0..r10: a bpf-to-bpf callee starts with the caller's
// registers (as in the interpreter, which keeps one register file) and r10
// one frame lower. Then 2 i64 scratch locals and 4 i32 locals (dispatcher
// label, address, budget counter, may_goto budget).
export const L_R0 = 0;
export const L_R10 = 10;
export const L_T0 = 11;
export const L_T1 = 12;
export const L_LABEL = 13;
export const L_A0 = 14;
/** The budget counter, kept in a local and synchronised with the global around calls and returns. */
export const L_BUDGET = 15;
/** may_goto's loop budget for this invocation: set to BPF_MAX_LOOPS on entry by functions that have a may_goto. */
export const L_LOOPS = 16;
/** eBPF register -> Wasm local index. */
export const REG_LOCAL: readonly number[] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
export const FUNC_LOCALS: ReadonlyArray<readonly [number, T]> = [
  [2, T.i64],
  [4, T.i32],
];

/** Globals: the budget left, the call depth (unverified mode), the abort flag (a packet load out of bounds or a helper ended the run). */
export const enum Glob {
  budget = 0,
  depth = 1,
  abort = 2,
  /** Store the register file at the exit (ExecOptions.regsOut was given). */
  dump = 3,
}

// ---- The control block: a small region shared by Wasm and JavaScript ----------------
/** r0..r5 as 6 x i64 (the helper calling convention of src/helpers/registry.ts). */
export const CTL_REGS = 0;
/** Budget for the next run (i32), and what is left of it after the run. */
export const CTL_BUDGET = 48;
/** Index of the packet being run by the batch entry (i32), for error messages. */
export const CTL_INDEX = 52;
/** Dump the registers at exit (i32 flag), and where: r0..r10 as 11 x i64. */
export const CTL_DUMP_FLAG = 56;
export const CTL_DUMP = 64;
/**
 * The region that last passed the slow path (a partial granule), as
 * [start, end) (two i32): later accesses inside it skip the JS call. The JS
 * side clears it (end = 0) when a run starts and after every helper call,
 * the only points where regions can be mapped or unmapped.
 */
export const CTL_PSTART = 152;
export const CTL_PEND = 156;
export const CTL_SIZE = 160;

/** Run-time error codes passed to the `err` import. */
export const enum ErrCode {
  FallOff = 1,
  CallDepth = 2,
  LddwPseudo = 3,
  Kfunc = 4,
}

/** Function indices of the imports, in import order. */
export const enum Imp {
  helper = 0,
  slow = 1,
  fault = 2,
  budget = 3,
  err = 4,
  callx = 5,
  pkt = 6,
  count = 7,
}

/** info word of memory checks: size | write << 8 | atomic << 9. */
export const INFO_WRITE = 0x100;
export const INFO_ATOMIC = 0x200;
/** Set by the check functions for a misaligned atomic access. */
export const INFO_MISALIGNED = 0x400;

/**
 * What an intrinsic sees: it emits Wasm in place of a helper call. It reads
 * arguments from the r1..r5 locals and must leave r0's local set and the
 * operand stack as it found it.
 */
export interface IntrinsicContext {
  readonly w: Writer;
  /** Local index of eBPF register r (0..10). */
  reg(r: number): number;
  /** Scratch locals the intrinsic may clobber. */
  readonly tmpI64: readonly [number, number];
  readonly tmpI32: number;
  /** Slot of the call instruction. */
  readonly pc: number;
  /** Helper id being called. */
  readonly helperId: number;
  readonly verified: boolean;
  /** Emit a return of r0 from the current function (the tail-call path uses this after running the callee). */
  emitReturnR0(): void;
  /**
   * Value of register r at the call when it is known at compile time as a
   * u32 (set by lddw or mov earlier in the same basic block, as clang does
   * with map pointers), else -1.
   */
  constantU32(r: number): number;
  /**
   * When register r is known to be r10 + off with [off, off + size) inside
   * the current stack frame, and that frame needs no check (verified mode,
   * or no instruction writes r10): true.
   */
  inFrame(r: number, size: number): boolean;
  /**
   * Emit the ordinary helper call (arguments to the register block, the
   * `helper` import, r0 back): the slow path. spillArgs false skips storing
   * r1..r5, for helpers that read none.
   */
  emitHelperCall(spillArgs?: boolean): void;
  /**
   * Push register r's low 32 bits as an i32 address: a constant when r is
   * known to be r10 + off in the outermost frame and r10 is never written.
   */
  pushAddress(r: number): void;
  /** Wasm function index of an extra function (BuildOptions.functions) by name. */
  func(name: string): number;
}
export type Intrinsic = (ctx: IntrinsicContext) => void;

/**
 * A Wasm function added to the module for intrinsics (a hash-map lookup,
 * a memory-readable test), called by name through IntrinsicContext.func.
 */
export interface ExtraFunction {
  readonly name: string;
  readonly params: readonly T[];
  readonly results: readonly T[];
  /**
   * Write the body: local declarations, code and the final `end` (what a
   * code-section entry holds after its size).
   */
  emit(w: Writer, layout: { readonly maxBytes: number; readonly ctlBase: number }): void;
}
