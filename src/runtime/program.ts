// A program loaded into a Runtime: its relocated instructions, decoded once,
// and the run loop that performs tail calls. Test runs (progtypes/test-run.ts)
// drive it through the TestRunTarget interface.

import type { HelperContextOptions } from '../helpers/context.js';
import type { ProgramSpec } from '../elf/spec.js';
import type { Program } from '../isa/decode.js';
import { testRun, type TestRunOptions, type TestRunResult, type TestRunTarget } from '../progtypes/test-run.js';
import type { ProgRunContext } from '../progtypes/run-context.js';
import type { Vm } from '../vm/vm.js';
import { ProgramError, UsageError } from '../internal/errors.js';
import { TailCallSignal } from './tail-call.js';
import type { BpfMap } from '../maps/base.js';

/** Engines that trust the verifier instead of checking memory accesses. */
const UNCHECKED_ENGINES: readonly string[] = ['jit-verified'];

/** What a program needs from its runtime. */
export interface ProgramHost {
  readonly vm: Vm;
  /** A VM with its own stack on the same memory for callbacks nested `depth` (1, 2...) deep. */
  nestedVm(depth: number): Vm;
  readonly defaultEngine: string;
  readonly defaultBudget: number | undefined;
  helperContextOptions(cpu?: number): HelperContextOptions;
  /** This thread's CPU (Runtime.cpu: a worker's share gives it one). */
  readonly cpu?: number;
  /** Forget the program and release its maps. */
  unloadProgram(prog: BpfProgram): void;
}

export class BpfProgram implements TestRunTarget {
  /** The function name. */
  readonly name: string;
  readonly section: string;
  /** Kernel program type name ('xdp', 'sched_cls', ...). */
  readonly type: string;
  readonly typeId: number;
  readonly license: string;
  /** Runtime-wide id: what a prog_array holds and user space puts in one. */
  readonly id: number;
  /** The loader's view (map references unresolved), for display. */
  readonly spec: ProgramSpec;
  /** Instruction bytes with map references resolved to addresses. */
  readonly insns: Uint8Array;
  /** The decoded relocated program the engines run. */
  readonly code: Program;
  /** The verifier's log when the program was verified. */
  readonly verifierLog: string | undefined;
  /** The maps the program refers to; it holds a reference to each until closed. */
  readonly maps: readonly BpfMap[];
  /** One past the furthest context byte the verifier saw it access (0 when not verified): test runs refuse a shorter ctx_in. */
  readonly maxCtxOffset: number;
  private readonly host: ProgramHost;
  /** Callback entry programs by target instruction (see relocate.ts callbackTrampoline). */
  readonly callbacks: ReadonlyMap<number, Program>;
  /** Callback nesting while this program runs (each level gets its own stack). */
  private depth = 0;
  private engineName = 'interp';
  private budget: number | undefined;
  private activeCtx: ProgRunContext | undefined;

  constructor(
    host: ProgramHost,
    id: number,
    spec: ProgramSpec,
    insns: Uint8Array,
    code: Program,
    verifierLog: string | undefined,
    callbacks: ReadonlyMap<number, Program> = new Map(),
    maps: readonly BpfMap[] = [],
    maxCtxOffset = 0,
  ) {
    this.host = host;
    this.maxCtxOffset = maxCtxOffset;
    this.maps = maps;
    this.callbacks = callbacks;
    this.id = id;
    this.spec = spec;
    this.name = spec.name;
    this.section = spec.section;
    this.type = spec.type;
    this.typeId = spec.typeId;
    this.license = spec.license;
    this.insns = insns;
    this.code = code;
    this.verifierLog = verifierLog;
  }

  helperContextOptions(cpu?: number): HelperContextOptions {
    return this.host.helperContextOptions(cpu);
  }

  /** The CPU test runs use unless told otherwise: its runtime's (a worker's own CPU). */
  get defaultCpu(): number {
    return this.host.cpu ?? 0;
  }

  private closed = false;

  /** Unload the program (the kernel: its last fd closed): its maps are released; it must not run again. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.unloadProgram(this);
  }

  /** A failed load drops the references the program took (the runtime calls this). */
  releaseMaps(): void {
    if (this.closed) return;
    this.closed = true;
    for (const m of this.maps) m.release();
  }

  prepare(options: { engine?: string } = {}): void {
    this.host.vm.engine(this.code, this.engineFor(options.engine ?? this.host.defaultEngine));
  }

  /** The engine name to use for this program; engines without run-time checks only run verified programs. */
  private engineFor(name: string): string {
    if (UNCHECKED_ENGINES.includes(name) && this.verifierLog === undefined) {
      throw new UsageError(`engine ${name} runs without memory checks; program ${this.name} must be loaded with verify: true to use it`);
    }
    return name;
  }

  /**
   * One top-level run with r1 = ctx.ctxAddr. A taken tail call unwinds the
   * engine (TailCallSignal) and the target starts here with the same ctx, so
   * the chain runs with a fresh stack per program as in the kernel.
   */
  execute(ctx: ProgRunContext, options: { engine?: string; budget?: number } = {}): { r0lo: number; r0hi: number; insns: number } {
    if (this.closed) throw new UsageError(`program ${this.name} was closed`);
    const vm = this.host.vm;
    const engineName = options.engine ?? this.host.defaultEngine;
    const budget = options.budget ?? this.host.defaultBudget;
    const exec = budget !== undefined ? { run: ctx, budget } : { run: ctx };
    const args = [ctx.ctxAddr];
    ctx.beginRun();
    let prog: BpfProgram = this;
    let insns = 0;
    for (;;) {
      prog.engineName = prog.engineFor(engineName);
      prog.budget = budget;
      prog.activeCtx = ctx;
      ctx.invoke = prog.invoke;
      try {
        const r = vm.engine(prog.code, prog.engineName).run(args, exec);
        return { r0lo: r.r0lo, r0hi: r.r0hi, insns: insns + r.insns };
      } catch (e) {
        if (!(e instanceof TailCallSignal)) throw e;
        const next = ctx.pendingTailCall;
        ctx.pendingTailCall = undefined;
        if (!(next instanceof BpfProgram)) throw e;
        prog = next;
      }
    }
  }

  /**
   * Run the callback at instruction `fn` (a value a `lddw rX, func` loaded)
   * with r1..r5 from `args` (lo/hi halves); returns r0's low half. Bound, so
   * it can be handed to HelperContext.invoke as it is.
   */
  readonly invoke = (fn: number, args: Int32Array): number => {
    const entry = this.callbacks.get(fn >>> 0);
    if (entry === undefined) throw new ProgramError(-1, `callback ${fn} is not a function of program ${this.name} (the program passed a value that no lddw func produced)`);
    const a: (number | bigint)[] = [];
    for (let i = 0; i < 5; i++) {
      const lo = args[2 * i]! >>> 0;
      const hi = args[2 * i + 1]! >>> 0;
      a.push(hi === 0 ? lo : (BigInt(hi) << 32n) | BigInt(lo));
    }
    this.depth++;
    try {
      const vm = this.host.nestedVm(this.depth);
      const run = this.budget !== undefined ? { run: this.activeCtx, budget: this.budget } : { run: this.activeCtx };
      return vm.engine(entry, this.engineName).run(a, run).r0lo;
    } finally {
      this.depth--;
    }
  };

  /** BPF_PROG_TEST_RUN: see progtypes/test-run.ts. */
  testRun(options: TestRunOptions = {}): TestRunResult {
    if (this.closed) throw new UsageError(`program ${this.name} was closed`);
    return testRun(this, options);
  }
}
