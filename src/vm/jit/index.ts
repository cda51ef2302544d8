// Subpath `tsbpf/vm/jit`: the eBPF -> WebAssembly JIT. Loading this module
// registers the engine as 'jit' (unverified: every access checked, budget
// enforced) and 'jit-verified' (no checks; only for programs the verifier
// accepted).
//
// Hot helpers can be emitted as Wasm instead of calls into JavaScript:
// `mapIntrinsics(maps, helpers)` (intrinsics.ts) inlines array lookups and
// updates and calls an in-module hash lookup for the maps of one MapTable.
// Pass it in JitOptions, or register it for every program compiled by the
// named engines over a memory with `setJitDefaults(mem, ...)`, as the
// Runtime does.

import { hasEngine, registerEngine } from '../engines.js';
import { compile } from './engine.js';
import { jitDefaults } from './defaults.js';

export { compile, compileAsync, JitEngine } from './engine.js';
export type { JitOptions, ExitableEnv } from './engine.js';
export { buildModule } from './compile.js';
export type { BuildOptions, BuiltModule, ModuleLayout } from './compile.js';
export type { Intrinsic, IntrinsicContext } from './abi.js';
export { CTL_SIZE } from './abi.js';
export { structure, printStructure, checkStructure } from './structure.js';
export type { SNode, Structured } from './structure.js';
export { buildCfg } from './blocks.js';
export { printCode } from './wasm/print.js';

export { mapIntrinsics } from './intrinsics.js';
export type { IntrinsicSet } from './intrinsics.js';
export type { ExtraFunction } from './abi.js';
export { setJitDefaults, jitDefaults } from './defaults.js';

if (!hasEngine('jit')) registerEngine('jit', (prog, config) => compile(prog, config, jitDefaults(config.mem)));
if (!hasEngine('jit-verified')) registerEngine('jit-verified', (prog, config) => compile(prog, config, { ...jitDefaults(config.mem), verified: true }), { unchecked: true });
