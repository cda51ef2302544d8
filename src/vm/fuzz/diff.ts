// Differential runs: the same generated program on the interpreter (the
// reference) and the JIT, from the same memory state, compared on r0..r9,
// the input region, the stack, and the error (class, pc, and for memory
// faults the address, size and direction). A run that ends normally on the
// interpreter is also run on the JIT in verified mode (no checks), which
// must then agree too.

import { decodeProgram, encodeSlots, type Program } from '../../isa/decode.js';
import { MAX_CALL_FRAMES, STACK_SIZE } from '../../isa/fields.js';
import { HelperRegistry, argI64, setR0Big } from '../../helpers/registry.js';
import { MemoryFault, TsbpfError } from '../../internal/errors.js';
import { Interpreter } from '../interpreter.js';
import { RuntimeMemory, type Region } from '../memory.js';
import { REG_FILE_LENGTH, type Engine, type EngineConfig } from '../types.js';
import { compile } from '../jit/engine.js';
import { FUZZ_HELPER_MIX, generateProgram, type FuzzProgram, type GenOptions } from './gen.js';

/** The helper fuzz programs call: a 64-bit mix of r1..r5 into r0. */
export function fuzzHelpers(): HelperRegistry {
  return new HelperRegistry([
    {
      id: FUZZ_HELPER_MIX,
      name: 'fuzz_mix',
      fn: (env) => {
        const v = (argI64(env, 1) * 31n + argI64(env, 2)) ^ (argI64(env, 3) << 7n) ^ (argI64(env, 4) - argI64(env, 5));
        setR0Big(env, BigInt.asIntN(64, v));
      },
    },
  ]);
}

export interface Outcome {
  /** r0..r10 as int32 halves, when the run ended normally. */
  readonly regs?: Int32Array;
  /** 'MemoryFault@pc addr size w|r', 'ProgramError@pc message', 'BudgetExceeded'... */
  readonly error?: string;
  readonly mem: Uint8Array;
  readonly stack: Uint8Array;
}

export interface DiffResult {
  readonly seed: number;
  /** Empty when the engines agree. */
  readonly mismatches: readonly string[];
  readonly interp: Outcome;
  readonly jit: Outcome;
  readonly program: FuzzProgram;
}

function describeError(e: unknown): string {
  if (e instanceof MemoryFault) return `MemoryFault@${e.pc} 0x${e.addr.toString(16)} ${e.size} ${e.write ? 'w' : 'r'}`;
  if (e instanceof TsbpfError) {
    if (e.name === 'BudgetExceeded') return 'BudgetExceeded';
    return `${e.name}: ${e.message}`;
  }
  return `non-tsbpf error: ${String(e)}`;
}

/** One memory, stack and input region reused for every seed. */
export class DiffHarness {
  readonly mem: RuntimeMemory;
  readonly config: EngineConfig;
  private readonly input: Region;
  readonly budget: number;

  constructor(options: { memSize?: number; budget?: number } = {}) {
    this.mem = new RuntimeMemory({ maxBytes: 16 * 1024 * 1024 });
    const stack = this.mem.alloc(MAX_CALL_FRAMES * STACK_SIZE, { name: 'stack', kind: 'stack' });
    // 61 bytes: the last granule is partial, so accesses near the end take the slow path
    this.input = this.mem.alloc(options.memSize ?? 61, { name: 'input', kind: 'input' });
    this.config = { mem: this.mem, helpers: fuzzHelpers(), stack };
    this.budget = options.budget ?? 1_000_000;
  }

  private execute(engine: Engine, fp: FuzzProgram): Outcome {
    const mem = this.mem;
    mem.refresh();
    mem.u8.set(fp.mem.subarray(0, this.input.size), this.input.start);
    const stack = this.config.stack;
    mem.u8.fill(0, stack.start, stack.start + stack.size);
    const regs = new Int32Array(REG_FILE_LENGTH);
    let error: string | undefined;
    try {
      engine.run([this.input.start, this.input.size], { budget: this.budget, regsOut: regs });
    } catch (e) {
      error = describeError(e);
    }
    mem.refresh();
    return {
      ...(error === undefined ? { regs } : { error }),
      mem: mem.u8.slice(this.input.start, this.input.start + this.input.size),
      stack: mem.u8.slice(stack.start, stack.start + stack.size),
    };
  }

  /** Generate the program for a seed, run it on both engines, compare. */
  runSeed(seed: number, gen: GenOptions = {}): DiffResult {
    const program = generateProgram(seed, { memSize: this.input.size, ...gen });
    const prog = decodeProgram(encodeSlots(program.slots));
    return this.compare(seed, program, prog);
  }

  compare(seed: number, program: FuzzProgram, prog: Program): DiffResult {
    const interp = this.execute(new Interpreter(prog, this.config), program);
    const jit = this.execute(compile(prog, this.config), program);
    const mismatches = diffOutcomes(interp, jit, 'jit');
    if (interp.error === undefined) {
      const verified = this.execute(compile(prog, this.config, { verified: true }), program);
      mismatches.push(...diffOutcomes(interp, verified, 'jit-verified'));
    }
    return { seed, mismatches, interp, jit, program };
  }
}

function diffOutcomes(a: Outcome, b: Outcome, label: string): string[] {
  const out: string[] = [];
  if (a.error !== b.error) out.push(`${label}: error ${b.error ?? 'none'}, interpreter ${a.error ?? 'none'}`);
  if (a.regs && b.regs) {
    for (let r = 0; r < 10; r++) {
      const x = hex64(a.regs, r);
      const y = hex64(b.regs, r);
      if (x !== y) out.push(`${label}: r${r} = ${y}, interpreter ${x}`);
    }
  }
  const m = firstDiff(a.mem, b.mem);
  if (m >= 0) out.push(`${label}: input byte ${m} = ${b.mem[m]}, interpreter ${a.mem[m]}`);
  const s = firstDiff(a.stack, b.stack);
  if (s >= 0) out.push(`${label}: stack byte ${s} = ${b.stack[s]}, interpreter ${a.stack[s]}`);
  return out;
}

function hex64(regs: Int32Array, r: number): string {
  return `0x${(regs[2 * r + 1]! >>> 0).toString(16).padStart(8, '0')}${(regs[2 * r]! >>> 0).toString(16).padStart(8, '0')}`;
}

function firstDiff(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : a.length;
}
