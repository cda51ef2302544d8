// Subpath export `tsbpf/vm`: memory, engines and the VM facade.
export { createVm, requireEngine } from './vm.js';
export type { Vm, VmOptions, RunOptions } from './vm.js';
export { Interpreter } from './interpreter.js';
export type { PacketSource } from './interpreter.js';
export { registerEngine, engineFactory, hasEngine, engineNames, trustProgram, isTrusted } from './engines.js';
export { ArenaMark, markArenaAccesses, markArenaEntries, arenaAccessOf } from './arena-access.js';
export type { ArenaAccess } from './arena-access.js';
export type { EngineFactory, RegisterOptions } from './engines.js';
export { RuntimeMemory, Perm, GRANULE, NULL_GUARD, SHADOW_BASE, PAGE } from './memory.js';
export type { Region, RegionKind, AllocOptions, MemoryOptions } from './memory.js';
export { DEFAULT_BUDGET, REG_FILE_LENGTH } from './types.js';
export type { RegFile, StepHook, ExecOptions, EntryArgs, ExecResult, EngineConfig, Engine } from './types.js';
