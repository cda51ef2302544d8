// Verification of a program (the kernel's bpf_check): structural checks of
// lddw forms, the control-flow analysis, then one walk of every path from
// the entry (walk.ts), and one per global function, which the kernel
// verifies on its own. Rules per instruction class live in step-data.ts,
// step-jump.ts and step-call.ts, and the modules they use.

import { isGplCompatible } from '../elf/license.js';
import { LDDW_SECOND_HALF, checkFields, type Program } from '../isa/decode.js';
import { INSNS, Shape } from '../isa/table.js';
import { PseudoLd, Src } from '../isa/fields.js';
import { DecodeError, VerifierError } from '../internal/errors.js';
import { BPF_PROG_TYPE, nameOf } from '../internal/uapi.gen.js';
import { ctxLayout, structCtxLayout } from '../progtypes/ctx.js';
import { Reject, type Env, type MapInfo, type VerifyOptions, type LineInfo } from './env.js';
import { analyzeCfg, subprogEnd, type Cfg } from './cfg.js';
import { prepareKfuncCalls } from './kfunc-check.js';
import { checkMapProgCompat } from './critical.js';
import { VerifierState } from './state.js';
import { VerifierLog, statsLine } from './log.js';
import { sourceLine } from './log-state.js';
import type { FuncSig } from './btf-funcs.js';
import { Walk } from './walk.js';
import { checkCastSpaces, findArena, isArenaMap, type ArenaInfo } from './arena.js';
import { arenaBytes } from '../maps/arena-layout.js';

export interface VerifyResult {
  readonly ok: boolean;
  readonly log: string;
  readonly error?: VerifierError;
  /** Instructions processed (the kernel's insn_processed). */
  readonly processed: number;
  readonly totalStates: number;
  readonly peakStates: number;
  readonly maxStatesPerInsn: number;
  /** Deepest combined stack use over all call chains, in bytes. */
  readonly stackDepth: number;
  /** Accepted programs with an arena: the arena map's index and which instructions the engines confine to it (arena.ts). */
  readonly arena?: ArenaInfo;
  /** One past the furthest context byte the program reads or writes (the kernel's max_ctx_offset): test runs refuse a shorter ctx_in. */
  readonly maxCtxOffset: number;
}

export const INSN_LIMIT = 1_000_000;

/** The maps, followed by the inner map of each map-in-map (index = maps.length + k). */
function withInnerMaps(maps: readonly MapInfo[]): MapInfo[] {
  const out = [...maps];
  for (const m of maps) if (m.inner) out.push(m.inner);
  return out;
}

/** Verify a program. Never throws for a bad program: the verdict and the log say why. */
export function verify(prog: Program, opts: VerifyOptions): VerifyResult {
  const level = opts.logLevel ?? 1;
  // Level 1 only shows the failing path: walk without formatting first, and
  // walk again with the log only when the program is rejected.
  if (level === 1) {
    const quiet = verifyOnce(prog, opts, 0);
    const stats = statsLine(quiet.processed, opts.insnLimit ?? INSN_LIMIT, quiet.maxStatesPerInsn, quiet.totalStates, quiet.peakStates) + '\n';
    if (quiet.ok) return { ...quiet, log: stats };
    // A walk that long would log too much to read; name the error without walking again.
    if (quiet.processed > 200_000) return { ...quiet, log: `${quiet.error!.reason}\n${stats}` };
  }
  return verifyOnce(prog, opts, level);
}

function verifyOnce(prog: Program, opts: VerifyOptions, level: number): VerifyResult {
  const log = new VerifierLog(level);
  const license = opts.license ?? 'GPL';
  const env: Env = {
    prog,
    opts,
    // Inner maps of map-in-maps are appended, so registers can point at them by index.
    maps: withInnerMaps(opts.maps ?? []),
    log,
    ctx: opts.ctxSize !== undefined ? structCtxLayout(opts.ctxSize) : ctxLayout(opts.progType),
    privileged: opts.privileged ?? true,
    gpl: isGplCompatible(license),
    state: new VerifierState(),
    insnIdx: 0,
    nextId: 0,
    hist: [],
    cp: null,
    stackTag: 0,
    shownLine: undefined,
    arena: undefined,
    maxCtxOffset: 0,
  };
  const limit = opts.insnLimit ?? INSN_LIMIT;
  let processed = 0;
  let totalStates = 0;
  let peakStates = 0;
  let maxStatesPerInsn = 0;
  let stackDepth = 0;
  const finish = (err?: Reject): VerifyResult => {
    let error: VerifierError | undefined;
    if (err) {
      const src = sourceLine(opts.lineInfo, env.insnIdx);
      // The failing instruction's source line, unless the path log just showed it.
      if (src && src !== env.shownLine) log.line(`; ${src.text.trim()} @ ${src.file}:${src.line}`);
      log.line(err.message);
      for (const d of err.details) log.line(d);
      const srcText = src ? `${src.text.trim()} @ ${src.file}:${src.line}` : undefined;
      error = new VerifierError(env.insnIdx, err.message, undefined, srcText);
    }
    log.line(statsLine(processed, limit, maxStatesPerInsn, totalStates, peakStates));
    let text = log.text();
    // Like the kernel at level 1, an accepted program's log is only the statistics.
    if (!err && level === 1) text = statsLine(processed, limit, maxStatesPerInsn, totalStates, peakStates) + '\n';
    if (error) Object.defineProperty(error, 'log', { value: text });
    return { ok: !err, log: text, error, processed, totalStates, peakStates, maxStatesPerInsn, stackDepth, maxCtxOffset: env.maxCtxOffset, ...(env.arena !== undefined && !err ? { arena: env.arena } : {}) };
  };
  try {
    if (nameOf(BPF_PROG_TYPE, opts.progType) === undefined || opts.progType <= 0) throw new Reject(`unknown program type ${opts.progType}`);
    // The kernel refuses such a program before verifying it (E2BIG); the walk's history also numbers instructions in 21 bits.
    if (prog.length > INSN_LIMIT) throw new Reject(`program of ${prog.length} insns is too large (limit ${INSN_LIMIT})`);
    if (opts.progType === BPF_PROG_TYPE['syscall'] && !opts.sleepable) throw new Reject('Syscall programs can only be sleepable');
    checkLddw(env);
    env.arena = findArena(prog, env.maps);
    const cfg = analyzeCfg(prog, env.privileged);
    prepareKfuncCalls(env, cfg);
    checkSubprogLdAbs(env, cfg);
    // Global functions (BTF linkage global) are verified once each, on their own.
    const globals = new Map<number, FuncSig>();
    for (const f of opts.funcs ?? []) if (f.global && f.insn !== 0) globals.set(f.insn, f);
    const queue: number[] = [];
    const base = { p: 0, t: 0, pk: 0, m: 0 };
    const stats = (p: number, t: number, pk: number, m: number): void => {
      processed = base.p + p;
      totalStates = base.t + t;
      peakStates = Math.max(base.pk, pk);
      maxStatesPerInsn = Math.max(base.m, m);
    };
    stackDepth = new Walk(env, cfg, limit, stats, 0, undefined, globals, queue).run();
    for (let k = 0; k < queue.length; k++) {
      const fn = globals.get(queue[k]!)!;
      Object.assign(base, { p: processed, t: totalStates, pk: peakStates, m: maxStatesPerInsn });
      if (log.level >= 1) log.line(`Validating ${fn.name}() func#${cfg.subprogs.indexOf(fn.insn)}...`);
      env.state = new VerifierState();
      env.cp = null;
      env.hist = [];
      stackDepth = Math.max(stackDepth, new Walk(env, cfg, limit - processed, stats, fn.insn, fn, globals, queue).run());
    }
    return finish();
  } catch (e) {
    if (e instanceof Reject) return finish(e);
    throw e;
  }
}

/**
 * LD_ABS/LD_IND in a subprogram (the kernel's check_abnormal_return and
 * check_btf_func): its hidden exit returns 0 from the subprogram, so the
 * program needs BTF and the subprogram must return an int.
 */
function checkSubprogLdAbs(env: Env, cfg: Cfg): void {
  const prog = env.prog;
  for (let k = 1; k < cfg.subprogs.length; k++) {
    const start = cfg.subprogs[k]!;
    const end = subprogEnd(cfg, start, prog.length);
    let ldAbs = false;
    for (let i = start; i < end && !ldAbs; i++) {
      const op = prog.op[i]!;
      if (op < 0) continue;
      const shape = INSNS[op]!.shape;
      ldAbs = shape === Shape.LdAbs || shape === Shape.LdInd;
    }
    if (!ldAbs) continue;
    if (!env.opts.btf) throw new Reject('LD_ABS is not allowed in subprogs without BTF');
    const sig = env.opts.funcs?.find((f) => f.insn === start);
    if (sig && sig.scalarReturn === false) throw new Reject("LD_ABS is only allowed in functions that return 'int'.");
  }
}

/** lddw pseudo forms: map references must name a map; offsets into values must be inside them. */
function checkLddw(env: Env): void {
  const prog = env.prog;
  const slot = { opcode: 0, dst: 0, src: 0, off: 0, imm: 0 };
  for (let i = 0; i < prog.length; i++) {
    const op = prog.op[i]!;
    if (op === LDDW_SECOND_HALF) {
      // Not the second half of an lddw: an encoding the ISA table does not know.
      const prevDef = i > 0 && prog.op[i - 1]! >= 0 ? INSNS[prog.op[i - 1]!] : undefined;
      if (prevDef?.slots !== 2 || (i >= 2 && prog.op[i - 2]! >= 0 && INSNS[prog.op[i - 2]!]!.slots === 2)) {
        env.insnIdx = i;
        throw new Reject(`unknown opcode ${prog.opcode[i]!.toString(16).padStart(2, '0')}`);
      }
      continue;
    }
    const def = INSNS[op]!;
    env.insnIdx = i;
    // the decoder would name the field; the kernel's check_alu_op names the rule
    if (def.shape === Shape.AddrSpaceCast) checkCastSpaces(prog.imm[i]!);
    // Structural checks (registers exist, reserved fields zero) for programs decoded without validation.
    try {
      slot.opcode = prog.opcode[i]!;
      slot.dst = prog.dst[i]!;
      slot.src = prog.src[i]!;
      slot.off = prog.off[i]!;
      slot.imm = prog.imm[i]!;
      checkFields(i, def, slot);
    } catch (e) {
      if (e instanceof DecodeError) throw new Reject(kernelFieldReason(e.reason));
      throw e;
    }
    if (def.shape !== Shape.Lddw) continue;
    if (i + 1 >= prog.length) throw new Reject('invalid bpf_ld_imm64 insn');
    const src = prog.src[i]!;
    if (src === PseudoLd.IMM64 || src === PseudoLd.FUNC) continue;
    if (src === PseudoLd.BTF_ID) throw new Reject('ld_imm64 of a BTF id (ksym) is not supported');
    const idx = prog.imm[i]!;
    const map = env.maps[idx];
    if (map === undefined) throw new Reject(`fd ${idx} is not pointing to valid bpf_map`);
    if (src === PseudoLd.MAP_VALUE || src === PseudoLd.MAP_IDX_VALUE) {
      const off = prog.imm64hi[i]! >>> 0;
      // an arena global: any offset inside the arena (arena_map_direct_value_addr)
      if (isArenaMap(map)) {
        if (off > arenaBytes(map.maxEntries)) throw new Reject(`invalid access to map value pointer, value_size=${arenaBytes(map.maxEntries)} off=${off}`);
        continue;
      }
      if (off >= map.valueSize) throw new Reject(`invalid access to map value pointer, value_size=${map.valueSize} off=${off}`);
    }
    checkMapProgCompat(env, map);
  }
}

export type { MapInfo, VerifyOptions, LineInfo };
export { Src };

/** A structural error as the kernel words it: a register past r10 is check_reg_arg's `R15 is invalid`. */
function kernelFieldReason(reason: string): string {
  const m = /: invalid (?:src|dst) register r(\d+)$/.exec(reason);
  return m ? `R${m[1]} is invalid` : reason;
}
