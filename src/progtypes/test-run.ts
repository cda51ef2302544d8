// The equivalent of the kernel's BPF_PROG_TEST_RUN: build the program type's
// context from data_in / ctx_in (reusing the program's context regions from
// the last test run), run the program `repeat` times on the same
// context (as the kernel does: changes to the packet, its head and tail, and
// to maps persist from one repetition to the next), and report the last
// return value, data_out, ctx_out and the mean duration per run.

import type { HelperContextOptions } from '../helpers/context.js';
import { UsageError } from '../internal/errors.js';
import { createRunContext, ctxKind } from './kinds.js';
import { checkCtxInCoversAccesses } from './tracing.js';
import { EINVAL } from './errno.js';
import { TestRunError } from './errors.js';
import type { ProgRunContext } from './run-context.js';

export interface TestRunOptions {
  /** The packet (xdp, tc, socket_filter, cgroup_skb). */
  dataIn?: Uint8Array;
  /** The context struct (xdp_md, __sk_buff, pt_regs, raw tracepoint arguments, syscall buffer). */
  ctxIn?: Uint8Array;
  /** Runs on the same context; 0 and 1 both mean once (the kernel's rule). */
  repeat?: number;
  /** 'interp' or 'jit'; default: the runtime's. */
  engine?: string;
  /** Instruction budget per run (default: the runtime's). */
  budget?: number;
  /** Execution context index for per-CPU maps and get_smp_processor_id. */
  cpu?: number;
}

export interface TestRunResult {
  /** The program's return value, as the kernel reports it (u32). */
  readonly retval: number;
  /** Full 64-bit r0 (rarely needed; the kernel truncates to 32 bits). */
  readonly r0: bigint;
  readonly dataOut: Uint8Array;
  readonly ctxOut: Uint8Array | undefined;
  /** Mean wall time per run in nanoseconds (engine time, like the kernel's duration). */
  readonly durationNs: number;
  /** Instructions executed by the last run (interpreter exact; JIT may report 0). */
  readonly insns: number;
}

/** What test-run needs from a loaded program (the runtime's BpfProgram). */
export interface TestRunTarget {
  /** Kernel program type name ('xdp', 'sched_cls', ...). */
  readonly type: string;
  /** Options for the per-run HelperContext (the runtime's maps, trace pipe...). */
  helperContextOptions(cpu?: number): HelperContextOptions;
  /** The CPU of a run whose options name none (a worker's runtime: the worker's CPU); default 0. */
  readonly defaultCpu?: number;
  /** One past the furthest context byte the verifier saw the program access (the kernel's max_ctx_offset); 0 or absent when not verified. */
  readonly maxCtxOffset?: number;
  /** Build the engine (compile, for the JIT) before the timed runs. */
  prepare(options: { engine?: string }): void;
  /** One top-level run on `ctx` (tail calls included); returns r0 halves and the instruction count. */
  execute(ctx: ProgRunContext, options: { engine?: string; budget?: number }): { r0lo: number; r0hi: number; insns: number };
}

export function testRun(target: TestRunTarget, options: TestRunOptions = {}): TestRunResult {
  const repeat = options.repeat ?? 1;
  if (!Number.isInteger(repeat) || repeat < 0 || repeat > 0xffffffff) throw new UsageError(`repeat must be a u32, got ${repeat}`);
  // the kernel runs raw tracepoint and syscall programs once per test run (no repeat)
  const kind = ctxKind(target.type);
  if ((kind === 'syscall' || kind === 'raw_tracepoint') && repeat > 1) {
    throw new TestRunError(EINVAL, `${target.type} programs run once per test run (repeat ${repeat}); the kernel refuses repeat for them`);
  }
  if (kind === 'syscall' || kind === 'raw_tracepoint') checkCtxInCoversAccesses(target.type, options.ctxIn?.length ?? 0, target.maxCtxOffset ?? 0);
  const runs = Math.max(1, repeat);
  const ctx = contextFor(target, options);
  ctx.busy = true;
  try {
    const exec = { ...(options.engine !== undefined ? { engine: options.engine } : {}), ...(options.budget !== undefined ? { budget: options.budget } : {}) };
    target.prepare(exec);
    let r = { r0lo: 0, r0hi: 0, insns: 0 };
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < runs; i++) r = target.execute(ctx, exec);
    const total = Number(process.hrtime.bigint() - t0);
    return {
      retval: r.r0lo >>> 0,
      r0: (BigInt(r.r0hi >>> 0) << 32n) | BigInt(r.r0lo >>> 0),
      dataOut: ctx.dataOut(),
      ctxOut: ctx.ctxOut(),
      durationNs: Math.round(total / runs),
      insns: r.insns,
    };
  } finally {
    ctx.busy = false;
    // a context made because the cached one was busy is not kept
    if (cached.get(target) !== ctx) ctx.dispose();
  }
}

/**
 * One run context per program, reset for each test run: running a capture
 * then allocates nothing per packet but the results. A new context is made
 * when the cached one cannot take the input (another size of ctx_in) or is
 * in use (a test run started from inside one).
 */
const cached = new WeakMap<TestRunTarget, ProgRunContext>();

function contextFor(target: TestRunTarget, options: TestRunOptions): ProgRunContext {
  const c = cached.get(target);
  if (c !== undefined && c.busy) return createRunContext(target.type, target.helperContextOptions(options.cpu), options.dataIn, options.ctxIn);
  if (c !== undefined && c.reset(options.dataIn, options.ctxIn)) {
    c.cpu = options.cpu ?? target.defaultCpu ?? 0;
    return c;
  }
  c?.dispose();
  cached.delete(target);
  const n = createRunContext(target.type, target.helperContextOptions(options.cpu), options.dataIn, options.ctxIn);
  cached.set(target, n);
  return n;
}

/** Free the cached run context of a program (its regions in the runtime memory). */
export function releaseTestRunContext(target: TestRunTarget): void {
  const c = cached.get(target);
  if (c === undefined || c.busy) return;
  c.dispose();
  cached.delete(target);
}
