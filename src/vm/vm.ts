// The VM facade: one RuntimeMemory with a stack region, a helper registry, and
// engines picked by name per run. Used by the CLI, the tests and embedders:
//
//   const vm = createVm({ helpers });
//   const prog = vm.load(bytes);
//   vm.run(prog, { mem: packet }).r0;            // interpreter
//   vm.run(prog, { mem: packet, engine: 'jit' }); // once the JIT is registered
//
// `mem` is copied into a fresh writable 'input' region for the run; r1 gets its
// address and r2 its length (the bpf_conformance contract), and `args`, if
// given as well, become r3..r5. Without `mem`, `args` are r1..r5.

import { decodeProgram, type Program } from '../isa/decode.js';
import { MAX_CALL_FRAMES, STACK_SIZE } from '../isa/fields.js';
import { HelperRegistry } from '../helpers/registry.js';
import { engineFactory, hasEngine } from './engines.js';
import { RuntimeMemory, type MemoryOptions, type Region } from './memory.js';
import type { Engine, EngineConfig, EntryArgs, ExecOptions, ExecResult } from './types.js';

export interface VmOptions {
  /** Share an existing memory (maps, other programs); default: a new one. */
  mem?: RuntimeMemory;
  /** Helpers the programs may call; default: an empty registry. */
  helpers?: HelperRegistry;
  /** Options for the new memory when `mem` is not given. */
  memOptions?: MemoryOptions;
}

export interface RunOptions extends ExecOptions {
  /** Input bytes, copied into a writable region; r1 = its address, r2 = its length. */
  mem?: Uint8Array;
  /** Entry arguments: r1..r5, or r3..r5 when `mem` is given. */
  args?: EntryArgs;
  /** Engine name: 'interp' (default) or any registered one ('jit'). */
  engine?: string;
}

export interface Vm {
  readonly mem: RuntimeMemory;
  readonly helpers: HelperRegistry;
  /** The stack region: MAX_CALL_FRAMES frames of STACK_SIZE bytes. */
  readonly stack: Region;
  readonly config: EngineConfig;
  /** Decode (and validate) program bytes; a Program passes through. */
  load(code: Uint8Array | Program): Program;
  /** The engine of that name for the program, built once and cached. */
  engine(prog: Program, name?: string): Engine;
  run(prog: Program | Uint8Array, options?: RunOptions): ExecResult;
  /** Unmap the stack region (the memory itself stays usable if it was shared in). */
  dispose(): void;
}

export function createVm(options: VmOptions = {}): Vm {
  const mem = options.mem ?? new RuntimeMemory(options.memOptions);
  const helpers = options.helpers ?? new HelperRegistry();
  const stack = mem.alloc(MAX_CALL_FRAMES * STACK_SIZE, { name: 'stack', kind: 'stack', writable: true });
  const config: EngineConfig = { mem, helpers, stack };
  const cache = new WeakMap<Program, Map<string, Engine>>();

  const load = (code: Uint8Array | Program): Program => (code instanceof Uint8Array ? decodeProgram(code) : code);

  const engine = (prog: Program, name = 'interp'): Engine => {
    let perProg = cache.get(prog);
    if (perProg === undefined) {
      perProg = new Map();
      cache.set(prog, perProg);
    }
    let e = perProg.get(name);
    if (e === undefined) {
      e = engineFactory(name)(prog, config);
      perProg.set(name, e);
    }
    return e;
  };

  const run = (code: Program | Uint8Array, opts: RunOptions = {}): ExecResult => {
    const prog = load(code);
    const e = engine(prog, opts.engine);
    if (opts.mem === undefined) return e.run(opts.args ?? [], opts);
    const input = mem.alloc(opts.mem.length, { name: 'input', kind: 'input', writable: true, init: opts.mem });
    try {
      return e.run([input.start, opts.mem.length, ...(opts.args ?? []).slice(0, 3)], opts);
    } finally {
      mem.free(input);
    }
  };

  return {
    mem,
    helpers,
    stack,
    config,
    load,
    engine,
    run,
    dispose: () => mem.free(stack),
  };
}

// ---- engines ---------------------------------------------------------------------
// The JIT registers itself ('jit', 'jit-verified') through engines.ts when its
// module loads; importing it here makes every Vm able to use it. It imports
// engines.ts, never this file, so there is no cycle. Only standard APIs are
// used on this path, so the VM loads in browsers too.
import './jit/index.js';

/** Fail early with a clear message when a caller names an engine that is not there. */
export function requireEngine(name: string): void {
  if (!hasEngine(name)) engineFactory(name); // throws the UsageError listing what exists
}
