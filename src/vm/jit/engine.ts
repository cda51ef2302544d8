// The JIT engine: compiles a program to a Wasm module over the runtime's
// memory and runs it. Only standard WebAssembly and typed-array APIs are
// used, so it runs unchanged in Node.js and in browsers (where synchronous
// compilation of large modules on the main thread may be refused: use
// compileAsync there).
//
// Faults, budget exhaustion and run-time errors are thrown by the imports
// the generated code calls on its slow paths; a JS exception unwinds the
// Wasm frames, so a fault at any call depth reaches run() as the same typed
// error the interpreter throws.

import type { Program } from '../../isa/decode.js';
import { MAX_CALL_FRAMES, STACK_SIZE } from '../../isa/fields.js';
import { INSNS } from '../../isa/table.js';
import type { HelperEnv, HelperRegistry } from '../../helpers/registry.js';
import { BudgetExceeded, MemoryFault, ProgramError, TsbpfError, UnsupportedError, UsageError } from '../../internal/errors.js';
import type { RuntimeMemory, Region } from '../memory.js';
import { DEFAULT_BUDGET, type Engine, type EngineConfig, type EntryArgs, type ExecOptions, type ExecResult } from '../types.js';
import { buildModule, type BuildOptions, type BuiltModule } from './compile.js';
import { CTL_BUDGET, CTL_DUMP, CTL_DUMP_FLAG, CTL_INDEX, CTL_PEND, CTL_PSTART, CTL_SIZE, ErrCode, INFO_MISALIGNED, INFO_WRITE } from './abi.js';
import { printStructure } from './structure.js';

export interface JitOptions extends BuildOptions {
  /**
   * The control block (register block, budget) the generated code uses, at
   * least CTL_SIZE bytes. Default: one per memory, shared by every engine of
   * this thread. Programs running in several workers on one shared memory
   * need one block per worker.
   */
  readonly ctl?: Region;
}

interface JitExports {
  run(): number;
  batch(n: number, args: number, out: number): number;
}

/** Budget chunk handed to Wasm at a time (the counter is an i32). */
const CHUNK = 0x40000000;
const TWO32 = 4294967296;

/**
 * One control block per memory, shared by all JIT engines on it (runs on one
 * thread do not overlap), so engines never leak regions.
 */
const ctlBlocks = new WeakMap<RuntimeMemory, Region>();
function ctlBlock(mem: RuntimeMemory): Region {
  let r = ctlBlocks.get(mem);
  if (r === undefined) {
    // Not writable by programs: only the generated code and this file write it.
    r = mem.alloc(CTL_SIZE, { name: 'jit-ctl', kind: 'other', writable: false, align: 64 });
    ctlBlocks.set(mem, r);
  }
  return r;
}

const NO_OPTIONS: ExecOptions = {};

/** A run's result; r0 as a BigInt is built only when asked for. */
class JitResult implements ExecResult {
  constructor(
    readonly r0lo: number,
    readonly r0hi: number,
    readonly insns: number,
  ) {}

  get r0(): bigint {
    return (BigInt(this.r0hi >>> 0) << 32n) | BigInt(this.r0lo >>> 0);
  }
}

/**
 * The environment JIT helpers get. Besides HelperEnv it offers the tail-call
 * path: a helper that has run another program in place of this one (as
 * bpf_tail_call does) sets r0 and calls exitProgram(), and the run ends at
 * once with that r0, from any call depth.
 */
export interface ExitableEnv extends HelperEnv {
  exitProgram(): void;
}

class Env implements ExitableEnv {
  readonly regs: Int32Array;
  pc = 0;
  run: unknown = undefined;
  exitRequested = false;

  exitProgram(): void {
    this.exitRequested = true;
  }

  constructor(
    readonly mem: RuntimeMemory,
    regs: Int32Array,
  ) {
    this.regs = regs;
  }
}

export class JitEngine implements Engine {
  readonly prog: Program;
  readonly verified: boolean;
  /** The Wasm module's bytes (for inspection and tests). */
  readonly bytes: Uint8Array;
  readonly built: BuiltModule;
  private readonly mem: RuntimeMemory;
  private readonly helpers: HelperRegistry;
  private readonly ctl: Region;
  private readonly env: Env;
  /** The control block as int32s (r0..r5 halves first); a view of the memory, rebuilt when the buffer changes. */
  private block: Int32Array;
  private blockOf: Uint8Array;
  private runFn!: JitExports['run'];
  private batchFn!: JitExports['batch'];
  private running = false;
  // per-run budget state, read by the budget import
  private budget = 0;
  private budgetLeft = 0;
  private unlimited = false;
  private handedOut = 0;
  private batchScratch: Region | undefined;

  /** Use compile() or compileAsync(). */
  constructor(prog: Program, config: EngineConfig, built: BuiltModule, ctl: Region, options: JitOptions) {
    if (config.stack.size < MAX_CALL_FRAMES * STACK_SIZE) {
      throw new UsageError(`stack region '${config.stack.name}' has ${config.stack.size} bytes; the JIT needs ${MAX_CALL_FRAMES} frames of ${STACK_SIZE}`);
    }
    this.prog = prog;
    this.verified = options.verified ?? false;
    this.built = built;
    this.bytes = built.bytes;
    this.mem = config.mem;
    this.helpers = config.helpers;
    this.ctl = ctl;
    this.env = new Env(this.mem, new Int32Array(12));
    this.block = new Int32Array(this.mem.u8.buffer, ctl.start, CTL_SIZE >> 2);
    this.blockOf = this.mem.u8;
  }

  /** Instantiate (synchronously) from a compiled module. */
  attach(module: WebAssembly.Module): this {
    const inst = new WebAssembly.Instance(module, { env: this.imports() });
    // Plain function references: property reads on the exports object are slow.
    const ex = inst.exports as unknown as JitExports;
    this.runFn = ex.run;
    this.batchFn = ex.batch;
    return this;
  }

  /** The structure trees of the program's functions, printed (debugging, golden tests). */
  structureText(): string {
    return this.built.structures.map((s, k) => `func ${k}${s.dispatcher ? ' (dispatcher)' : ''}\n${printStructure(s.tree, '  ')}`).join('');
  }

  run(args: EntryArgs, options: ExecOptions = NO_OPTIONS): ExecResult {
    const regs = this.regsView();
    const n = args.length;
    for (let i = 1; i <= 5; i++) {
      const v = i <= n ? args[i - 1]! : 0;
      if (typeof v === 'number' && (v | 0) === v) {
        // the common case: an int32 (addresses below 2^31, small values); taken as unsigned
        regs[2 * i] = v;
        regs[2 * i + 1] = 0;
      } else if (typeof v === 'bigint') {
        const u = BigInt.asUintN(64, v);
        regs[2 * i] = Number(u & 0xffffffffn) | 0;
        regs[2 * i + 1] = Number(u >> 32n) | 0;
      } else {
        if (!Number.isInteger(v)) throw new UsageError(`argument r${i} is not an integer: ${v}`);
        regs[2 * i] = v | 0;
        regs[2 * i + 1] = 0;
      }
    }
    regs[CTL_BUDGET >> 2] = this.startBudget(options.budget ?? DEFAULT_BUDGET);
    regs[CTL_DUMP_FLAG >> 2] = options.regsOut ? 1 : 0;
    regs[CTL_PEND >> 2] = 0; // regions may have changed since the last run
    if (this.running) throw new UsageError('JitEngine.run is not re-entrant (a helper tried to run the same program)');
    this.running = true;
    this.env.run = options.run;
    this.env.exitRequested = false;
    let left: number;
    try {
      left = this.runFn();
    } catch (e) {
      throw translate(e);
    } finally {
      this.running = false;
      this.env.run = undefined;
    }
    const view = this.regsView();
    if (options.regsOut) {
      const k = Math.min(options.regsOut.length, 22);
      for (let j = 0; j < k; j++) options.regsOut[j] = view[(CTL_DUMP >> 2) + j]!;
    }
    return new JitResult(view[0]!, view[1]!, this.verified ? 0 : this.handedOut - left);
  }

  /**
   * Run over `count` argument records inside Wasm: record k is r1..r5 as
   * 5 little-endian u64 at argsAddr + 40k, and r0 goes to outAddr + 8k (u64).
   * Each record gets the full budget (at most 2^31-1 instructions; 0 =
   * unlimited). Both ranges must lie in mapped regions.
   */
  runBatchAt(count: number, argsAddr: number, outAddr: number, options: ExecOptions = {}): void {
    if (!Number.isInteger(count) || count < 0) throw new UsageError(`batch count ${count} is not a non-negative integer`);
    if (count === 0) return;
    const mem = this.mem;
    if (!mem.checkRange(argsAddr, count * 40, false)) throw new UsageError(`batch arguments at 0x${argsAddr.toString(16)} (${count} x 40 bytes) are not in a mapped region`);
    if (!mem.checkRange(outAddr, count * 8, false)) throw new UsageError(`batch results at 0x${outAddr.toString(16)} (${count} x 8 bytes) are not in a mapped region`);
    const budget = options.budget ?? DEFAULT_BUDGET;
    this.budget = budget;
    this.unlimited = budget <= 0;
    this.budgetLeft = 0; // a batch never refills a bounded budget: each record starts from ctl
    const i32 = this.ctlI32();
    i32[CTL_BUDGET >> 2] = this.unlimited ? CHUNK : Math.min(budget, 0x7fffffff);
    i32[CTL_DUMP_FLAG >> 2] = 0;
    i32[CTL_PEND >> 2] = 0;
    this.enter(options.run, () => this.batchFn(count, argsAddr, outAddr));
  }

  /** Convenience over runBatchAt: one run per argument list; returns each r0. */
  runBatch(inputs: readonly EntryArgs[], options: ExecOptions = {}): BigUint64Array {
    const n = inputs.length;
    const out = new BigUint64Array(n);
    if (n === 0) return out;
    const need = n * 48;
    if (this.batchScratch === undefined || this.batchScratch.size < need) {
      if (this.batchScratch !== undefined) this.mem.free(this.batchScratch);
      this.batchScratch = this.mem.alloc(need, { name: 'jit-batch', kind: 'scratch', writable: false, align: 8 });
    }
    const base = this.batchScratch.start;
    const dv = this.mem.dv;
    for (let k = 0; k < n; k++) {
      const a = inputs[k]!;
      for (let r = 0; r < 5; r++) {
        const v = r < a.length ? a[r]! : 0;
        if (typeof v === 'bigint') dv.setBigUint64(base + 40 * k + 8 * r, BigInt.asUintN(64, v), true);
        else {
          if (!Number.isInteger(v)) throw new UsageError(`batch input ${k}: argument r${r + 1} is not an integer: ${v}`);
          dv.setUint32(base + 40 * k + 8 * r, v >>> 0, true);
          dv.setUint32(base + 40 * k + 8 * r + 4, 0, true);
        }
      }
    }
    const outAddr = base + 40 * n;
    this.runBatchAt(n, base, outAddr, options);
    const dv2 = this.mem.dv;
    for (let k = 0; k < n; k++) out[k] = dv2.getBigUint64(outAddr + 8 * k, true);
    return out;
  }

  /** Index of the record a failed batch was running. */
  lastBatchIndex(): number {
    return this.ctlI32()[CTL_INDEX >> 2]!;
  }

  /** Free the batch scratch region (the control block is shared per memory and stays). */
  dispose(): void {
    if (this.batchScratch !== undefined) this.mem.free(this.batchScratch);
    this.batchScratch = undefined;
  }

  // ---- internals ----------------------------------------------------------------------------

  private enter(run: unknown, body: () => number): number {
    if (this.running) throw new UsageError('JitEngine.run is not re-entrant (a helper tried to run the same program)');
    this.running = true;
    this.env.run = run;
    this.env.exitRequested = false;
    try {
      return body();
    } catch (e) {
      throw translate(e);
    } finally {
      this.running = false;
      this.env.run = undefined;
    }
  }

  /** Set up the budget state; returns the first chunk for the counter. */
  private startBudget(budget: number): number {
    this.budget = budget;
    this.unlimited = budget <= 0;
    const first = this.unlimited ? CHUNK : Math.min(budget, CHUNK);
    this.budgetLeft = this.unlimited ? 0 : budget - first;
    this.handedOut = first;
    return first;
  }

  /** The register block as int32 halves; rebuilt if the memory grew (a non-shared buffer is then detached). */
  private regsView(): Int32Array {
    // The memory only grows through RuntimeMemory, which then replaces mem.u8:
    // comparing that object is enough (reading .buffer of a shared view is slow).
    const u8 = this.mem.u8;
    if (this.blockOf !== u8) {
      this.block = new Int32Array(u8.buffer, this.ctl.start, CTL_SIZE >> 2);
      this.blockOf = u8;
    }
    return this.block;
  }

  private ctlI32(): Int32Array {
    return this.regsView();
  }

  private imports(): Record<string, WebAssembly.ImportValue> {
    const mem = this.mem;
    const helpers = this.helpers;
    const env = this.env;
    const prog = this.prog;
    const callHelper = (id: number, pc: number): number => {
      const h = helpers.get(id);
      if (h === undefined) throw new ProgramError(pc, `call to unknown helper id ${id}`);
      // The helper gets a plain array, not a view of the memory: a helper that
      // grows a non-shared memory detaches its buffer, and a write of r0 into
      // a detached view would be lost.
      const block = this.regsView();
      const regs = env.regs;
      for (let k = 2; k < 12; k++) regs[k] = block[k]!;
      regs[0] = 0;
      regs[1] = 0;
      env.pc = pc;
      h.fn(env);
      mem.refresh();
      const after = this.regsView();
      after[0] = regs[0]!;
      after[1] = regs[1]!;
      after[CTL_PEND >> 2] = 0; // the helper may have unmapped the cached region
      if (!env.exitRequested) return 0;
      env.exitRequested = false;
      return 1;
    };
    return {
      mem: mem.wasm,
      helper: callHelper,
      slow: (addr: number, info: number): number => {
        const size = info & 0xff;
        if (!mem.check(addr >>> 0, size, (info & INFO_WRITE) !== 0)) return 0;
        // remember the region, so the next access to its partial granule stays in Wasm
        const r = mem.regionOf(addr >>> 0, size);
        if (r !== undefined) {
          const block = this.regsView();
          block[CTL_PSTART >> 2] = r.start;
          block[CTL_PEND >> 2] = r.start + r.size;
        }
        return 1;
      },
      fault: (pc: number, lo: number, hi: number, info: number): never => {
        const addr = hi * TWO32 + (lo >>> 0);
        const size = info & 0xff;
        const write = (info & INFO_WRITE) !== 0;
        if ((info & INFO_MISALIGNED) !== 0) throw new MemoryFault(pc, addr, size, write, `atomic access must be aligned to ${size} bytes`);
        throw mem.fault(pc, addr, size, write);
      },
      budget: (pc: number, current: number): number => {
        // current is the (negative) counter after charging a block
        while (current < 0) {
          if (this.unlimited) {
            current += CHUNK;
            this.handedOut += CHUNK;
          } else if (this.budgetLeft > 0) {
            const c = Math.min(this.budgetLeft, CHUNK);
            this.budgetLeft -= c;
            this.handedOut += c;
            current += c;
          } else throw new BudgetExceeded(pc, this.budget);
        }
        return current;
      },
      err: (code: number, pc: number): never => {
        switch (code) {
          case ErrCode.FallOff:
            throw new ProgramError(pc, 'fell off the end of the program (no exit)');
          case ErrCode.CallDepth:
            throw new ProgramError(pc, `call depth exceeds ${MAX_CALL_FRAMES} frames`);
          case ErrCode.LddwPseudo:
            throw new ProgramError(pc, `${INSNS[prog.op[pc]!]!.name} (lddw with src ${prog.src[pc]}) must be rewritten by a loader before the program runs`);
          case ErrCode.Kfunc:
            throw new ProgramError(pc, `kfunc calls are not supported (BTF id ${prog.imm[pc]})`);
          default:
            throw new ProgramError(pc, `jit: unknown error code ${code}`);
        }
      },
      callx: (lo: number, hi: number, pc: number): number => {
        if (hi !== 0 || lo < 0 || !helpers.has(lo)) {
          const v = hi === 0 ? lo >>> 0 : hi * TWO32 + (lo >>> 0);
          throw new ProgramError(pc, `callx target r${prog.dst[pc]} = ${v} is not a registered helper id`);
        }
        return callHelper(lo, pc);
      },
      pkt: (pc: number, at: number, r6lo: number, r6hi: number): number => {
        const size = INSNS[prog.op[pc]!]!.width / 8;
        const run = env.run as { packet?: { start: number; len: number } } | undefined;
        let start: number;
        let len: number;
        if (typeof run === 'object' && run !== null && run.packet !== undefined) {
          start = run.packet.start;
          len = run.packet.len;
        } else {
          // No packet given: read from r6 to the end of the region it points into.
          const region = r6hi === 0 ? mem.regionOf(r6lo >>> 0) : undefined;
          if (region === undefined) throw new ProgramError(pc, 'legacy packet load with no packet: pass run.packet or point r6 into a mapped region');
          start = r6lo >>> 0;
          len = region.start + region.size - start;
        }
        const v = mem.packetLoad(start, len, at, size);
        const regs = this.regsView();
        if (v < 0) {
          regs[0] = 0;
          regs[1] = 0;
          return 1;
        }
        regs[0] = v | 0;
        regs[1] = 0;
        return 0;
      },
    };
  }
}

/** Wasm traps (a verified program that was not actually safe, stack exhaustion) become ProgramError. */
function translate(e: unknown): unknown {
  if (e instanceof TsbpfError) return e;
  if (e instanceof WebAssembly.RuntimeError || e instanceof RangeError) {
    return new ProgramError(-1, `wasm trap: ${e.message}`);
  }
  return e;
}

function prepare(prog: Program, config: EngineConfig, options: JitOptions): { built: BuiltModule; ctl: Region } {
  const ctl = options.ctl ?? ctlBlock(config.mem);
  if (ctl.size < CTL_SIZE) throw new UsageError(`control block '${ctl.name}' has ${ctl.size} bytes; the JIT needs ${CTL_SIZE}`);
  const built = buildModule(
    prog,
    {
      ctlBase: ctl.start,
      stackEnd: config.stack.start + config.stack.size,
      stackTrusted: config.stack.writable && config.stack.size >= MAX_CALL_FRAMES * STACK_SIZE,
      maxBytes: config.mem.maxBytes,
      shared: config.mem.shared,
    },
    options,
  );
  return { built, ctl };
}

/** Compile a program for the given memory, helpers and stack. */
export function compile(prog: Program, config: EngineConfig, options: JitOptions = {}): JitEngine {
  const { built, ctl } = prepare(prog, config, options);
  const engine = new JitEngine(prog, config, built, ctl, options);
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(built.bytes as BufferSource);
  } catch (e) {
    throw wasmRefused(e);
  }
  return engine.attach(module);
}

/** The Wasm engine refused the module: too large (V8 caps a function at 7,654,321 bytes), or a JIT bug. */
function wasmRefused(e: unknown): unknown {
  if (e instanceof WebAssembly.CompileError || e instanceof WebAssembly.LinkError) {
    return new UnsupportedError(`the WebAssembly engine refused the compiled program: ${e.message}`);
  }
  return e;
}

/** As compile(), with asynchronous Wasm compilation (required for large modules on a browser's main thread). */
export async function compileAsync(prog: Program, config: EngineConfig, options: JitOptions = {}): Promise<JitEngine> {
  const { built, ctl } = prepare(prog, config, options);
  const engine = new JitEngine(prog, config, built, ctl, options);
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(built.bytes as BufferSource);
  } catch (e) {
    throw wasmRefused(e);
  }
  return engine.attach(module);
}
