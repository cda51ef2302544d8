// tsbpf: the user's nouns, by name. Each folder is also a subpath export
// (tsbpf/isa, tsbpf/asm, tsbpf/vm, ...) with the rest of its API.
//
//   import { Runtime } from 'tsbpf';
//   const coll = new Runtime().loadObject(bytes);
//   const { retval, dataOut } = coll.program('xdp_prog').testRun({ dataIn: packet });
//   for (const { key, value } of coll.typedMap('flows').entries()) console.log(key, value);

// Runtime: objects, programs, maps, test runs
export { Runtime, Collection, BpfProgram, TypedMap, LoadError, ShareError } from './runtime/index.js';
export type { RuntimeOptions, LoadObjectOptions, AttachOptions, RuntimeShare, ShareOptions, KeyOrValue, TypedEntry } from './runtime/index.js';
export { TestRunError } from './progtypes/index.js';
export type { TestRunOptions, TestRunResult } from './progtypes/index.js';

// Maps
export { BpfMap, MapTable, MapError, RingBufMap, PerfEventArrayMap, ProgArrayMap, ArenaMap } from './maps/index.js';
export type { BatchResult, PerfRecord } from './maps/index.js';

// Objects, BTF, instructions
export { loadObject } from './elf/index.js';
export type { ObjectSpec, ProgramSpec, MapSpec } from './elf/index.js';
export { Btf } from './btf/index.js';
export type { BtfValue } from './btf/index.js';
export { decodeProgram } from './isa/decode.js';
export type { Program } from './isa/decode.js';
export { assemble } from './asm/assemble.js';

// Engines and helpers for embedders
export { createVm, RuntimeMemory } from './vm/index.js';
export type { Vm, VmOptions, RunOptions, ExecResult } from './vm/index.js';
export { HelperRegistry, TracePipe } from './helpers/index.js';
export type { HelperDef, HelperEnv } from './helpers/index.js';
export { verify } from './verifier/index.js';
export type { VerifyResult } from './verifier/index.js';

// Errors
export { TsbpfError, DecodeError, AsmError, ElfError, BtfError, MemoryFault, BudgetExceeded, ProgramError, UnsupportedError, UsageError, VerifierError } from './internal/errors.js';
