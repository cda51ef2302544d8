// Program -> Wasm module bytes: the three stages (blocks, structure, emit)
// and the module around them (imports, the memory-check functions, the run
// and batch entry points). Pure: no WebAssembly API calls here, so the bytes
// can be inspected, cached, or compiled elsewhere.

import { arenaAccessOf, arenaProgram } from '../arena-access.js';
import { checkFields, checkTargets, readSlot, type Program } from '../../isa/decode.js';
import { DecodeError, UsageError } from '../../internal/errors.js';
import { AtomicOp } from '../../isa/fields.js';
import { INSNS, Shape, writesDst } from '../../isa/table.js';
import { buildCfg, type ProgramCfg } from './blocks.js';
import { CTL_BUDGET, CTL_DUMP_FLAG, CTL_INDEX, CTL_REGS, FUNC_LOCALS, Glob, Imp, type ExtraFunction, type Intrinsic } from './abi.js';
import { CHECKS, emitCheck } from './check.js';
import { FuncEmitter, type EmitEnv } from './emit.js';
import { structure, type Structured } from './structure.js';
import {
  beginBody,
  beginSection,
  endBody,
  endSection,
  writeExports,
  writeFunctions,
  writeGlobals,
  writeHeader,
  writeImports,
  writeTypes,
  Section,
  type FuncType,
} from './wasm/module.js';
import { T, W } from './wasm/opcodes.js';
import { Writer } from './wasm/writer.js';

export interface ModuleLayout {
  /** Address of the control block (register block, budget). */
  readonly ctlBase: number;
  /** r10 of the outermost frame: the end of the stack region. */
  readonly stackEnd: number;
  /** The stack region is writable and holds MAX_CALL_FRAMES frames, so in-frame accesses need no check. */
  readonly stackTrusted: boolean;
  /** Memory limits, to declare the imported memory exactly as it was created. */
  readonly maxBytes: number;
  readonly shared: boolean;
}

export interface BuildOptions {
  /** Leave out memory checks, the budget and the call-depth check (the verifier proved them unnecessary). */
  readonly verified?: boolean;
  /** Helper id -> Wasm emitted in place of the call (hot helpers, tail calls). */
  readonly intrinsics?: ReadonlyMap<number, Intrinsic>;
  /** Functions the intrinsics call (added to the module after the entry points; names must be unique). */
  readonly functions?: readonly ExtraFunction[];
}

export interface BuiltModule {
  readonly bytes: Uint8Array;
  readonly cfg: ProgramCfg;
  readonly structures: readonly Structured[];
}

const I64x11: readonly T[] = [T.i64, T.i64, T.i64, T.i64, T.i64, T.i64, T.i64, T.i64, T.i64, T.i64, T.i64];
// Type indices, in the order of TYPES below.
const enum Ty {
  ii_v = 0,
  ii_i = 1,
  iiii_v = 2,
  i_i = 3,
  iii_i = 4,
  iiii_i = 5,
  prog = 6,
  check = 7,
  run = 8,
  batch = 9,
}
const TYPES: readonly FuncType[] = [
  { params: [T.i32, T.i32], results: [] },
  { params: [T.i32, T.i32], results: [T.i32] },
  { params: [T.i32, T.i32, T.i32, T.i32], results: [] },
  { params: [T.i32], results: [T.i32] },
  { params: [T.i32, T.i32, T.i32], results: [T.i32] },
  { params: [T.i32, T.i32, T.i32, T.i32], results: [T.i32] },
  { params: I64x11, results: [T.i64] },
  { params: [T.i64, T.i32], results: [T.i32] },
  { params: [], results: [T.i32] },
  { params: [T.i32, T.i32, T.i32], results: [T.i32] },
];
/** Import names, in Imp order, with their types. */
const IMPORTS: ReadonlyArray<readonly [string, Ty]> = [
  ['helper', Ty.ii_i],
  ['slow', Ty.ii_i],
  ['fault', Ty.iiii_v],
  ['budget', Ty.ii_i],
  ['err', Ty.ii_v],
  ['callx', Ty.iii_i],
  ['pkt', Ty.iiii_i],
];

/** Compile a decoded program into the bytes of a Wasm module. */
export function buildModule(original: Program, layout: ModuleLayout, options: BuildOptions = {}): BuiltModule {
  const verified = options.verified ?? false;
  // an arena program runs with its 32-bit rewrites; its arena accesses are confined (arena.ts)
  const arena = arenaAccessOf(original);
  const prog = arena !== undefined ? arenaProgram(original, arena) : original;
  validate(prog);
  const cfg = buildCfg(prog);
  const structures = cfg.funcs.map(structure);
  const nf = cfg.funcs.length;
  const funcBase = Imp.count;
  const checkBase = funcBase + nf;
  const nChecks = verified ? 0 : CHECKS.length;
  const runIndex = checkBase + nChecks;
  const batchIndex = runIndex + 1;
  const extras = options.functions ?? [];
  const extraIndex = new Map<string, number>();
  extras.forEach((f, k) => {
    if (extraIndex.has(f.name)) throw new UsageError(`jit: two extra functions are named '${f.name}'`);
    extraIndex.set(f.name, batchIndex + 1 + k);
  });
  let canAbort = false;
  let writesFp = false;
  for (let i = 0; i < prog.length; i++) {
    const op = prog.op[i]!;
    if (op < 0) continue;
    const d = INSNS[op]!;
    if (d.shape === Shape.LdAbs || d.shape === Shape.LdInd || d.shape === Shape.Call || d.shape === Shape.Callx) canAbort = true;
    if (writesDst(d.shape) && prog.dst[i] === 10) writesFp = true;
    if (d.shape === Shape.Atomic && prog.src[i] === 10 && (d.discr!.value === AtomicOp.XCHG || (d.discr!.value & AtomicOp.FETCH) !== 0)) writesFp = true;
  }

  // Wasm bytes are roughly 6-10x the eBPF instruction count; start near that.
  const w = new Writer(Math.max(4096, prog.length * 48));
  writeHeader(w);
  writeTypes(w, [...TYPES, ...extras]);
  writeImports(w, [
    ...IMPORTS.map(([name, type]) => ({ kind: 'func' as const, module: 'env', name, type })),
    { kind: 'memory', module: 'env', name: 'mem', min: 1, max: layout.maxBytes / 65536, shared: layout.shared },
  ]);
  writeFunctions(w, [...cfg.funcs.map(() => Ty.prog), ...Array<number>(nChecks).fill(Ty.check), Ty.run, Ty.batch, ...extras.map((_, k) => TYPES.length + k)]);
  writeGlobals(w, [
    { type: T.i32, mutable: true, init: 0 },
    { type: T.i32, mutable: true, init: 0 },
    { type: T.i32, mutable: true, init: 0 },
    { type: T.i32, mutable: true, init: 0 },
  ]);
  writeExports(w, [
    { name: 'run', kind: 'func', index: runIndex },
    { name: 'batch', kind: 'func', index: batchIndex },
  ]);

  const code = beginSection(w, Section.Code);
  w.u32(nf + nChecks + 2 + extras.length);
  const env: EmitEnv = {
    w,
    prog,
    verified,
    ctlBase: layout.ctlBase,
    maxBytes: layout.maxBytes,
    funcBase,
    checkBase,
    funcAt: cfg.funcAt,
    funcCount: nf,
    canAbort,
    trustFp: !writesFp && layout.stackTrusted,
    fpConst: writesFp ? -1 : layout.stackEnd,
    intrinsics: options.intrinsics ?? new Map(),
    extraFuncs: extraIndex,
    ...(arena !== undefined ? { arena } : {}),
  };
  const fe = new FuncEmitter(env);
  for (let k = 0; k < nf; k++) {
    const at = beginBody(w, FUNC_LOCALS);
    fe.emitFunction(cfg.funcs[k]!, structures[k]!);
    endBody(w, at);
  }
  for (let c = 0; c < nChecks; c++) {
    const [size, info] = CHECKS[c]!;
    const at = beginBody(w, [[3, T.i32]]);
    emitCheck(w, size, info, layout.maxBytes, layout.ctlBase);
    endBody(w, at);
  }
  emitRun(w, layout, funcBase);
  emitBatch(w, layout, funcBase, verified, canAbort);
  for (const f of extras) {
    const at = w.placeholder();
    f.emit(w, { maxBytes: layout.maxBytes, ctlBase: layout.ctlBase });
    w.patchSizeFrom(at);
  }
  endSection(w, code);
  return { bytes: w.finish(), cfg, structures };
}

/**
 * A Program decoded with `validate: false` may hold anything; the emitter
 * trusts register numbers, jump targets and opcodes, so check them here
 * (DecodeError naming the slot), as the interpreter does.
 */
function validate(prog: Program): void {
  for (let i = 0; i < prog.length; i++) {
    const op = prog.op[i]!;
    if (op < 0) {
      const prev = i > 0 ? prog.op[i - 1]! : -1;
      if (prev < 0 || INSNS[prev]!.slots !== 2) throw new DecodeError(i, `not an instruction (opcode 0x${prog.opcode[i]!.toString(16).padStart(2, '0')})`);
      continue;
    }
    checkFields(i, INSNS[op]!, readSlot(prog.bytes, i));
    if (INSNS[op]!.slots === 2 && (i + 1 >= prog.length || prog.op[i + 1]! >= 0)) throw new DecodeError(i, 'lddw is missing its second half');
  }
  checkTargets(prog);
}

/** Reset the per-run globals: budget from the control block, depth and abort to 0. */
function resetGlobals(w: Writer, ctl: number): void {
  w.u8(W.i32_const);
  w.s32(ctl);
  w.u8(W.i32_load);
  w.u32(2);
  w.u32(CTL_BUDGET);
  w.u8x2(W.global_set, Glob.budget);
  w.u8x2(W.i32_const, 0);
  w.u8x2(W.global_set, Glob.depth);
  w.u8x2(W.i32_const, 0);
  w.u8x2(W.global_set, Glob.abort);
  w.u8(W.i32_const);
  w.s32(ctl);
  w.u8(W.i32_load);
  w.u32(2);
  w.u32(CTL_DUMP_FLAG);
  w.u8x2(W.global_set, Glob.dump);
}

/** Push the entry registers: r0 = 0, r1..r5 from `loadArg`, r6..r9 = 0, r10 = stack end. */
function entryRegs(w: Writer, stackEnd: number, loadArg: (r: number) => void): void {
  w.u8x2(W.i64_const, 0);
  for (let r = 1; r <= 5; r++) loadArg(r);
  for (let r = 6; r <= 9; r++) w.u8x2(W.i64_const, 0);
  w.u8(W.i64_const);
  w.s64(stackEnd, 0);
}

/** run() -> budget left: r1..r5 from the register block, r0 back into it. */
function emitRun(w: Writer, layout: ModuleLayout, funcBase: number): void {
  const ctl = layout.ctlBase;
  const at = beginBody(w, []);
  resetGlobals(w, ctl);
  w.u8(W.i32_const);
  w.s32(ctl);
  entryRegs(w, layout.stackEnd, (r) => {
    w.u8(W.i32_const);
    w.s32(ctl);
    w.u8(W.i64_load);
    w.u32(3);
    w.u32(CTL_REGS + 8 * r);
  });
  w.u8(W.call);
  w.u32(funcBase);
  w.u8(W.i64_store);
  w.u32(3);
  w.u32(CTL_REGS);
  // budget left, for the instruction count
  w.u8(W.i32_const);
  w.s32(ctl);
  w.u8x2(W.global_get, Glob.budget);
  w.u8(W.i32_store);
  w.u32(2);
  w.u32(CTL_BUDGET);
  w.u8x2(W.global_get, Glob.budget);
  endBody(w, at);
}

/**
 * batch(n, args, out) -> 0: for each of n records of r1..r5 (5 x i64 at
 * args), run the program with a fresh budget and store r0 (i64) at out.
 */
function emitBatch(w: Writer, layout: ModuleLayout, funcBase: number, verified: boolean, canAbort: boolean): void {
  const ctl = layout.ctlBase;
  const N = 0;
  const ARGS = 1;
  const OUT = 2;
  const I = 3;
  const at = beginBody(w, [[1, T.i32]]);
  // once per batch: everything; per record, only what a run can change
  resetGlobals(w, ctl);
  w.u8x2(W.block, T.void);
  w.u8x2(W.loop, T.void);
  w.u8x2(W.local_get, I);
  w.u8x2(W.local_get, N);
  w.u8(W.i32_ge_u);
  w.u8x2(W.br_if, 1);
  w.u8(W.i32_const);
  w.s32(ctl);
  w.u8x2(W.local_get, I);
  w.u8(W.i32_store);
  w.u32(2);
  w.u32(CTL_INDEX);
  if (!verified) {
    // a fresh budget per record (the depth is back at 0 after every normal return)
    w.u8(W.i32_const);
    w.s32(ctl);
    w.u8(W.i32_load);
    w.u32(2);
    w.u32(CTL_BUDGET);
    w.u8x2(W.global_set, Glob.budget);
  }
  if (canAbort) {
    w.u8x2(W.i32_const, 0);
    w.u8x2(W.global_set, Glob.abort);
  }
  w.u8x2(W.local_get, OUT);
  entryRegs(w, layout.stackEnd, (r) => {
    w.u8x2(W.local_get, ARGS);
    w.u8(W.i64_load);
    w.u32(3);
    w.u32(8 * (r - 1));
  });
  w.u8(W.call);
  w.u32(funcBase);
  w.u8(W.i64_store);
  w.u32(3);
  w.u32(0);
  for (const [local, step] of [
    [ARGS, 40],
    [OUT, 8],
    [I, 1],
  ] as const) {
    w.u8x2(W.local_get, local);
    w.u8(W.i32_const);
    w.s32(step);
    w.u8(W.i32_add);
    w.u8x2(W.local_set, local);
  }
  w.u8x2(W.br, 0);
  w.u8(W.end);
  w.u8(W.end);
  w.u8x2(W.i32_const, 0);
  endBody(w, at);
}
