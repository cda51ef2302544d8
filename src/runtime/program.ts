// A program loaded into a Runtime: its relocated instructions, decoded once,
// and the run loop that performs tail calls. Test runs (progtypes/test-run.ts)
// drive it through the TestRunTarget interface.

import type { HelperContextOptions } from '../helpers/context.js';
import type { ProgramSpec } from '../elf/spec.js';
import type { Program } from '../isa/decode.js';
import { testRun, type TestRunOptions, type TestRunResult, type TestRunTarget } from '../progtypes/test-run.js';
import type { ProgRunContext } from '../progtypes/run-context.js';
import type { Vm } from '../vm/vm.js';
import { TailCallSignal } from './tail-call.js';

/** What a program needs from its runtime. */
export interface ProgramHost {
  readonly vm: Vm;
  readonly defaultEngine: string;
  readonly defaultBudget: number | undefined;
  helperContextOptions(cpu?: number): HelperContextOptions;
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
  private readonly host: ProgramHost;

  constructor(host: ProgramHost, id: number, spec: ProgramSpec, insns: Uint8Array, code: Program, verifierLog: string | undefined) {
    this.host = host;
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

  prepare(options: { engine?: string } = {}): void {
    this.host.vm.engine(this.code, options.engine ?? this.host.defaultEngine);
  }

  /**
   * One top-level run with r1 = ctx.ctxAddr. A taken tail call unwinds the
   * engine (TailCallSignal) and the target starts here with the same ctx, so
   * the chain runs with a fresh stack per program as in the kernel.
   */
  execute(ctx: ProgRunContext, options: { engine?: string; budget?: number } = {}): { r0lo: number; r0hi: number; insns: number } {
    const vm = this.host.vm;
    const engineName = options.engine ?? this.host.defaultEngine;
    const budget = options.budget ?? this.host.defaultBudget;
    const exec = budget !== undefined ? { run: ctx, budget } : { run: ctx };
    const args = [ctx.ctxAddr];
    ctx.beginRun();
    let prog: BpfProgram = this;
    let insns = 0;
    for (;;) {
      try {
        const r = vm.engine(prog.code, engineName).run(args, exec);
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

  /** BPF_PROG_TEST_RUN: see progtypes/test-run.ts. */
  testRun(options: TestRunOptions = {}): TestRunResult {
    return testRun(this, options);
  }
}
