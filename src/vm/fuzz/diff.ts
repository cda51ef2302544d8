// Differential runs: the same generated program on the interpreter (the
// reference) and the JIT, from the same memory state, compared on r0..r9,
// the input region, the stack, and the error (class, pc, and for memory
// faults the address, size and direction). A run that ends normally on the
// interpreter is also run on the JIT in verified mode (no checks), which
// must then agree too.
//
// With maps (DiffHarness option `maps`), each seed also gets a few maps
// (maps.ts), built afresh for every engine at the same addresses, and
// programs that call map helpers on them (gen-maps.ts); the JIT inlines
// those calls as the Runtime configures it. The maps' contents after the
// run are compared too, through the user-space API and byte for byte.

import { decodeProgram, encodeSlots, type Program } from '../../isa/decode.js';
import { MAX_CALL_FRAMES, STACK_SIZE, type RawInsn } from '../../isa/fields.js';
import { INSNS, Op } from '../../isa/table.js';
import { HelperRegistry, argI64, setR0Big, type HelperDef } from '../../helpers/registry.js';
import { HelperContext } from '../../helpers/context.js';
import { STANDARD_HELPERS } from '../../helpers/index.js';
import { MemoryFault, TsbpfError } from '../../internal/errors.js';
import { Interpreter } from '../interpreter.js';
import { RuntimeMemory, type Region } from '../memory.js';
import { REG_FILE_LENGTH, type Engine, type EngineConfig } from '../types.js';
import { compile } from '../jit/engine.js';
import { mapIntrinsics } from '../jit/intrinsics.js';
import { FUZZ_HELPER_MIX, generateProgram, type FuzzProgram, type GenOptions } from './gen.js';
import { FUZZ_CPUS, FuzzMapSet, planMaps, type MapPlan } from './maps.js';

const MOV_R0_0: RawInsn = { opcode: INSNS[Op.MOV64_IMM]!.opcode, dst: 0, src: 0, off: 0, imm: 0 };
const EXIT: RawInsn = { opcode: INSNS[Op.EXIT]!.opcode, dst: 0, src: 0, off: 0, imm: 0 };

/** Bytes reserved for one seed's maps: far more than 4 maps of 8 elements of 40-byte keys and values take. */
const MAP_ARENA = 1 << 20;

const fuzzMix: HelperDef = {
  id: FUZZ_HELPER_MIX,
  name: 'fuzz_mix',
  fn: (env) => {
    const v = (argI64(env, 1) * 31n + argI64(env, 2)) ^ (argI64(env, 3) << 7n) ^ (argI64(env, 4) - argI64(env, 5));
    setR0Big(env, BigInt.asIntN(64, v));
  },
};

/** The helper fuzz programs call (a 64-bit mix of r1..r5 into r0), with the standard helpers when `standard`. */
export function fuzzHelpers(standard = false): HelperRegistry {
  return new HelperRegistry(standard ? [...STANDARD_HELPERS, fuzzMix] : [fuzzMix]);
}

export interface Outcome {
  /** r0..r10 as int32 halves, when the run ended normally. */
  readonly regs?: Int32Array;
  /** 'MemoryFault@pc addr size w|r', 'ProgramError@pc message', 'BudgetExceeded'... */
  readonly error?: string;
  readonly mem: Uint8Array;
  readonly stack: Uint8Array;
  /** With maps: each map's elements as text, then its descriptor and data bytes. */
  readonly maps?: readonly string[];
  readonly mapBytes?: readonly Uint8Array[];
}

export interface DiffResult {
  readonly seed: number;
  /** Empty when the engines agree. */
  readonly mismatches: readonly string[];
  readonly interp: Outcome;
  readonly jit: Outcome;
  readonly program: FuzzProgram;
  /** The maps the program ran with (maps mode). */
  readonly plan?: MapPlan;
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
  /** Programs call map helpers on per-seed maps. */
  readonly withMaps: boolean;

  constructor(options: { memSize?: number; budget?: number; maps?: boolean } = {}) {
    this.mem = new RuntimeMemory({ maxBytes: 16 * 1024 * 1024 });
    const stack = this.mem.alloc(MAX_CALL_FRAMES * STACK_SIZE, { name: 'stack', kind: 'stack' });
    // 61 bytes: the last granule is partial, so accesses near the end take the slow path
    this.input = this.mem.alloc(options.memSize ?? 61, { name: 'input', kind: 'input' });
    this.withMaps = options.maps ?? false;
    this.config = { mem: this.mem, helpers: fuzzHelpers(this.withMaps), stack };
    this.budget = options.budget ?? 1_000_000;
    // The JIT allocates its control block at the first compile over a memory: do that now,
    // so that it does not land between two builds of a seed's maps and move the second.
    if (this.withMaps) {
      compile(decodeProgram(encodeSlots([MOV_R0_0, EXIT])), this.config);
      // Reserve the heap the maps will use, then free it: it stays one hole, into which
      // every seed's maps go first-fit, so a seed's map addresses (and so its program)
      // do not depend on the seeds run before it.
      this.mem.free(this.mem.alloc(MAP_ARENA, { name: 'fuzz map arena' }));
    }
  }

  private execute(engine: Engine, fp: FuzzProgram, maps?: FuzzMapSet, cpu = 0): Outcome {
    const mem = this.mem;
    mem.refresh();
    mem.u8.set(fp.mem.subarray(0, this.input.size), this.input.start);
    const stack = this.config.stack;
    mem.u8.fill(0, stack.start, stack.start + stack.size);
    const regs = new Int32Array(REG_FILE_LENGTH);
    let error: string | undefined;
    try {
      // a fixed clock and random seed: helpers the fuzz programs do not call should not differ either
      const run = maps === undefined ? undefined : new HelperContext({ maps: maps.table, cpu, seed: 1, clock: () => 0n });
      engine.run([this.input.start, this.input.size], { budget: this.budget, regsOut: regs, run });
    } catch (e) {
      error = describeError(e);
    }
    mem.refresh();
    return {
      ...(error === undefined ? { regs } : { error }),
      mem: mem.u8.slice(this.input.start, this.input.start + this.input.size),
      stack: mem.u8.slice(stack.start, stack.start + stack.size),
      ...(maps === undefined ? {} : { maps: maps.contents(), mapBytes: maps.rawBytes() }),
    };
  }

  /** Generate the program for a seed, run it on both engines, compare. */
  runSeed(seed: number, gen: GenOptions = {}): DiffResult {
    if (this.withMaps) return this.runSeedWithMaps(seed, gen);
    const program = generateProgram(seed, { memSize: this.input.size, ...gen });
    const prog = decodeProgram(encodeSlots(program.slots));
    return this.compare(seed, program, prog);
  }

  /**
   * Maps mode: the seed's maps are built (the generator needs their
   * addresses), the program runs on the interpreter, and the maps are
   * closed and rebuilt from the plan for each further engine: same
   * addresses, same ids, same hash seeds, same elements.
   */
  private runSeedWithMaps(seed: number, gen: GenOptions): DiffResult {
    const plan = planMaps(seed);
    // odd seeds run as CPU 1: per-CPU maps then hand out their second copy
    const cpu = seed % FUZZ_CPUS;
    let set = new FuzzMapSet(this.mem, plan);
    const layout = set.layout();
    const program = generateProgram(seed, { memSize: this.input.size, ...gen, maps: set.fuzzMaps() });
    const prog = decodeProgram(encodeSlots(program.slots));
    const rebuild = (): FuzzMapSet => {
      set.close();
      set = new FuzzMapSet(this.mem, plan);
      if (set.layout() !== layout) throw new Error(`fuzz harness: seed ${seed}: maps rebuilt at other addresses (${set.layout()} vs ${layout})`);
      return set;
    };
    try {
      const interp = this.execute(new Interpreter(prog, this.config), program, set, cpu);
      rebuild();
      const jit = this.execute(compile(prog, this.config, mapIntrinsics(set.table, this.config.helpers)), program, set, cpu);
      const mismatches = diffOutcomes(interp, jit, 'jit');
      // verified mode trusts pointers the verifier would have checked: only for programs that pass none that are bad
      if (interp.error === undefined && !program.wild) {
        rebuild();
        const verified = this.execute(compile(prog, this.config, { verified: true, ...mapIntrinsics(set.table, this.config.helpers) }), program, set, cpu);
        mismatches.push(...diffOutcomes(interp, verified, 'jit-verified'));
      }
      return { seed, mismatches, interp, jit, program, plan };
    } finally {
      set.close();
    }
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

/** Differences of `b` (an engine named `label`) from `a` (the interpreter), one line each. */
export function diffOutcomes(a: Outcome, b: Outcome, label: string): string[] {
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
  const am = a.maps ?? [];
  const bm = b.maps ?? [];
  for (let i = 0; i < Math.max(am.length, bm.length); i++) {
    if (am[i] !== bm[i]) out.push(`${label}: map contents ${bm[i] ?? 'none'}, interpreter ${am[i] ?? 'none'}`);
  }
  const ab = a.mapBytes ?? [];
  const bb = b.mapBytes ?? [];
  for (let i = 0; i < Math.max(ab.length, bb.length); i++) {
    const d = ab[i] !== undefined && bb[i] !== undefined ? firstDiff(ab[i]!, bb[i]!) : 0;
    // (region 2k is map k's descriptor, 2k + 1 its data)
    if (d >= 0) out.push(`${label}: map region ${i} byte ${d} = ${bb[i]?.[d]}, interpreter ${ab[i]?.[d]}`);
  }
  return out;
}

function hex64(regs: Int32Array, r: number): string {
  return `0x${(regs[2 * r + 1]! >>> 0).toString(16).padStart(8, '0')}${(regs[2 * r]! >>> 0).toString(16).padStart(8, '0')}`;
}

function firstDiff(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : a.length;
}
