// The path walk (the kernel's do_check): every path from the entry is
// followed with an abstract state, branching at conditional jumps that the
// bounds cannot decide, pruning at prune points, until every path exits or
// one is unsafe. Per-instruction work dispatches on the ISA table's shape;
// the rules live in alu.ts, memory-access.ts, helpers-check.ts,
// branches.ts, stack.ts and prune.ts.

import { isGplCompatible } from '../elf/license.js';
import { LDDW_SECOND_HALF, checkFields, type Program } from '../isa/decode.js';
import { INSNS, Shape } from '../isa/table.js';
import { AluOp, AtomicOp, JmpOp, MAX_CALL_FRAMES, PseudoLd, STACK_SIZE, Src } from '../isa/fields.js';
import { DecodeError, VerifierError } from '../internal/errors.js';
import { BPF_FUNC, BPF_PROG_TYPE, nameOf } from '../internal/uapi.gen.js';
import { ctxLayout, structCtxLayout } from '../progtypes/ctx.js';
import { Reject, type Env, type MapInfo, type VerifyOptions, type LineInfo } from './env.js';
import { analyzeCfg, subprogEnd, useDef, type Cfg } from './cfg.js';
import { FuncState, VerifierState, StackByte } from './state.js';
import {
  RegState, RegType, RegFlag, formatReg, markConstScalar, markNotInit, markPointer, markUnknown, isNullConst,
} from './reg-state.js';
import { VerifierLog, kernelInsnLine, statsLine, commentPad } from './log.js';
import { checkBinaryAlu, checkMov, checkMovImm, checkUnaryAlu } from './alu.js';
import { checkMemAccess } from './memory-access.js';
import { callbackSite, checkCallbackExit, enterCallback, isCallbackHelper } from './callbacks.js';
import { checkHelperCall, checkHelperMem, clearPacketPointers } from './helpers-check.js';
import { CHANGES_PACKET_DATA } from '../helpers/protos.js';
import type { FuncSig } from './btf-funcs.js';
import {
  scalarBranchTaken, regSetMinMax, revOpcode, syncLinkedScalars, markPtrOrNull, matchPktPointers, findGoodPktPointers,
} from './branches.js';
import { statesEqual, Checkpoint, finishBranch } from './prune.js';
import { markPrecise } from './precision.js';
import { coerceToSize } from './bounds.js';
import { tnumIsConst } from './tnum.js';

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
}

export const INSN_LIMIT = 1_000_000;
/** BPF_COMPLEXITY_LIMIT_JMP_SEQ: pending branches at once. */
const JMP_SEQ_LIMIT = 8192;

interface Pending {
  state: VerifierState;
  insn: number;
  prev: number;
  logMark: number;
  cp: Checkpoint | null;
  hist: number[];
}

function frameLive(env: Env, cfg: Cfg, insn: number): (f: number) => number {
  return (f: number): number => {
    const frames = env.state.frames;
    if (f === frames.length - 1) return cfg.liveIn[insn]! | (1 << 10);
    // A caller frame resumes after its call: r6..r10 are what it still has.
    const resume = frames[f + 1]!.callsite + 1;
    return ((cfg.liveIn[resume] ?? 0) & 0x7c0) | (1 << 10);
  };
}

/** Registers and stack of a frame as the kernel prints them; with `onlySlot`, just that stack slot. */
function formatState(env: Env, fs: FuncState, onlySlot = -1): string {
  const parts: string[] = [];
  const sizes = (i: number): { keySize: number; valueSize: number } | undefined => env.maps[i];
  if (onlySlot < 0) {
    fs.regs.forEach((r, i) => {
      if (r.type !== RegType.NOT_INIT) parts.push(`R${i}=${formatReg(r, fs.frameno, sizes)}`);
    });
  }
  for (let slot = fs.spilled.length - 1; slot >= 0; slot--) {
    if (onlySlot >= 0 && slot !== onlySlot) continue;
    const base = slot * 8;
    let any = false;
    for (let b = 0; b < 8; b++) if (fs.bytes[base + b] !== StackByte.INVALID) any = true;
    if (!any) continue;
    const off = base - STACK_SIZE;
    const sp = fs.spilled[slot];
    if (sp && fs.bytes[base] === StackByte.SPILL) {
      // A narrow spill prints the other bytes' kinds first, like the kernel: fp-8=mmmm0.
      let pre = '';
      for (let b = 7; b >= 0; b--) if (fs.bytes[base + b] !== StackByte.SPILL) pre += '?m0r'[fs.bytes[base + b]!]!;
      parts.push(`fp${off}=${pre}${formatReg(sp, fs.frameno, sizes)}`);
    } else {
      let s = '';
      for (let b = 7; b >= 0; b--) s += '?m0r'[fs.bytes[base + b]!]!;
      parts.push(`fp${off}=${s}`);
    }
  }
  return parts.join(' ');
}

function stateLine(env: Env): string {
  const st = env.state;
  const f = st.cur;
  const refs = st.refs.length ? ` refs=${st.refs.map((r) => r.id).join(',')}` : '';
  return (st.frames.length > 1 ? `frame${f.frameno}: ` : '') + formatState(env, f) + refs;
}

function sourceLine(lines: readonly LineInfo[] | undefined, insn: number): LineInfo | undefined {
  if (!lines || lines.length === 0) return undefined;
  let best: LineInfo | undefined;
  for (const l of lines) if (l.insn <= insn && (!best || l.insn >= best.insn)) best = l;
  return best;
}

/** The maps, followed by the inner map of each map-in-map (index = maps.length + k). */
function withInnerMaps(maps: readonly MapInfo[]): MapInfo[] {
  const out = [...maps];
  for (const m of maps) if (m.inner) out.push(m.inner);
  return out;
}

/** Index (in withInnerMaps) of a map-in-map's inner map, or -1. */
export function innerMapIndex(maps: readonly MapInfo[], outer: number, count: number): number {
  let k = count;
  for (let i = 0; i < count; i++) {
    if (!maps[i]!.inner) continue;
    if (i === outer) return k;
    k++;
  }
  return -1;
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
      const srcText = src ? `${src.text.trim()} @ ${src.file}:${src.line}` : undefined;
      error = new VerifierError(env.insnIdx, err.message, undefined, srcText);
    }
    log.line(statsLine(processed, limit, maxStatesPerInsn, totalStates, peakStates));
    let text = log.text();
    // Like the kernel at level 1, an accepted program's log is only the statistics.
    if (!err && level === 1) text = statsLine(processed, limit, maxStatesPerInsn, totalStates, peakStates) + '\n';
    if (error) Object.defineProperty(error, 'log', { value: text });
    return { ok: !err, log: text, error, processed, totalStates, peakStates, maxStatesPerInsn, stackDepth };
  };
  try {
    if (nameOf(BPF_PROG_TYPE, opts.progType) === undefined || opts.progType <= 0) throw new Reject(`unknown program type ${opts.progType}`);
    if (opts.progType === BPF_PROG_TYPE['syscall'] && !opts.sleepable) throw new Reject('Syscall programs can only be sleepable');
    checkLddw(env);
    const cfg = analyzeCfg(prog, env.privileged);
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
    stackDepth = walk(env, cfg, limit, stats, 0, undefined, globals, queue);
    for (let k = 0; k < queue.length; k++) {
      const fn = globals.get(queue[k]!)!;
      Object.assign(base, { p: processed, t: totalStates, pk: peakStates, m: maxStatesPerInsn });
      if (log.level >= 1) log.line(`Validating ${fn.name}() func#${cfg.subprogs.indexOf(fn.insn)}...`);
      env.state = new VerifierState();
      env.cp = null;
      env.hist = [];
      stackDepth = Math.max(stackDepth, walk(env, cfg, limit - processed, stats, fn.insn, fn, globals, queue));
    }
    return finish();
  } catch (e) {
    if (e instanceof Reject) return finish(e);
    throw e;
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
    // Structural checks (registers exist, reserved fields zero) for programs decoded without validation.
    try {
      slot.opcode = prog.opcode[i]!;
      slot.dst = prog.dst[i]!;
      slot.src = prog.src[i]!;
      slot.off = prog.off[i]!;
      slot.imm = prog.imm[i]!;
      checkFields(i, def, slot);
    } catch (e) {
      if (e instanceof DecodeError) throw new Reject(e.reason);
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
      if (off >= map.valueSize) throw new Reject(`invalid access to map value pointer, value_size=${map.valueSize} off=${off}`);
    }
  }
}

function walk(
  env: Env, cfg: Cfg, limit: number, stats: (p: number, t: number, pk: number, m: number) => void,
  entry: number, globalFn: FuncSig | undefined, globals: Map<number, FuncSig>, queue: number[],
): number {
  const prog = env.prog;
  const log = env.log;
  const explored: (Checkpoint[] | undefined)[] = new Array(prog.length);
  const pending: Pending[] = [];
  const subprogDepth = new Map<number, number>();
  const callEdges = new Map<number, Set<number>>();
  let processed = 0, totalStates = 0, curStates = 0, peakStates = 0, maxPerInsn = 0;
  let jmps = 0, prevJmps = 0, prevProcessed = 0;
  const lineStarts = env.opts.lineInfo && log.level >= 1 ? new Map(env.opts.lineInfo.map((l) => [l.insn, l])) : undefined;
  let lastLine: LineInfo | undefined;
  // Pointer type each load/store used first (+1; 0 = not seen): ctx accesses are rewritten per insn, so one insn may not mix ctx and other pointers.
  const ptrTypeAt = new Int8Array(prog.length);
  const samePointer = (regno: number): void => {
    const t = env.state.cur.regs[regno]!.type;
    const prevT = ptrTypeAt[insn]! - 1;
    if (prevT < 0) ptrTypeAt[insn] = t + 1;
    else if (prevT !== t && (t === RegType.PTR_TO_CTX || prevT === RegType.PTR_TO_CTX)) throw new Reject('same insn cannot be used with different pointers');
  };

  // Entry state: r1 = ctx, r10 = frame pointer; a global function gets its arguments from its prototype.
  const f0 = new FuncState();
  f0.initFramePointer();
  f0.subprog = entry;
  if (globalFn) {
    if (globalFn.unsupported) throw new Reject(globalFn.unsupported);
    globalFn.args.forEach((a, i) => {
      const r = f0.regs[i + 1]!;
      if (a.kind === 'scalar') markUnknown(r);
      else if (a.kind === 'ctx') markPointer(r, RegType.PTR_TO_CTX);
      else if (a.kind === 'mem') {
        markPointer(r, RegType.PTR_TO_MEM, a.nonnull ? 0 : RegFlag.MAYBE_NULL);
        r.memSize = a.size;
        if (!a.nonnull) r.id = ++env.nextId;
      } else throw new Reject(a.why);
    });
  } else {
    markPointer(f0.regs[1]!, RegType.PTR_TO_CTX);
  }
  env.state.frames = [f0];
  let insn = entry;
  let prev = -1;

  let printState = true;
  const level = log.level;

  const popPath = (): boolean => {
    finishBranch(env.cp);
    // Record stack use of every frame of the finished path.
    const next = pending.pop();
    if (!next) return false;
    if (level === 1) log.rewind(next.logMark);
    env.state = next.state;
    insn = next.insn;
    prev = next.prev;
    env.cp = next.cp;
    env.hist = next.hist;
    if (level >= 2) log.write(`\nfrom ${prev} to ${insn}: ${stateLine(env)}\n`);
    printState = true;
    return true;
  };

  const noteDepth = (): void => {
    for (const f of env.state.frames) {
      const d = subprogDepth.get(f.subprog) ?? 0;
      if (f.depth > d) subprogDepth.set(f.subprog, f.depth);
    }
  };

  for (;;) {
    env.insnIdx = insn;
    if (++processed > limit) {
      stats(processed - 1, totalStates, peakStates, maxPerInsn);
      throw new Reject(`BPF program is too large. Processed ${processed} insn`);
    }
    stats(processed, totalStates, peakStates, maxPerInsn);
    // ---- pruning ----
    if (cfg.prunePoint[insn]) {
      const list = (explored[insn] ??= []);
      const live = frameLive(env, cfg, insn);
      let pruned = false;
      // Like the kernel, store a new state only every few jumps and instructions.
      const addNew = jmps - prevJmps >= 2 && processed - prevProcessed >= 8;
      for (let k = 0; k < list.length; k++) {
        const old = list[k]!;
        if (old.branches > 0) {
          if (statesEqual(old.state, env.state, live, 'exact')) throw new Reject(`infinite loop detected at insn ${insn}`);
        } else if (statesEqual(old.state, env.state, live, 'within')) {
          old.hit++;
          pruned = true;
          break;
        }
        if (addNew) old.miss++;
        if (old.miss > old.hit * 3 + 3) list.splice(k--, 1);
      }
      if (pruned) {
        if (level >= 2) log.line(`${insn}: safe`);
        noteDepth();
        if (!popPath()) break;
        continue;
      }
    }
    if (cfg.prunePoint[insn] && jmps - prevJmps >= 2 && processed - prevProcessed >= 8) {
      const list = explored[insn]!;
      prevJmps = jmps;
      prevProcessed = processed;
      const c: Checkpoint = new Checkpoint(env.state.clone(), env.cp, insn);
      c.hist = env.hist;
      env.hist = [];
      list.push(c);
      env.cp = c;
      totalStates++;
      curStates++;
      if (curStates > peakStates) peakStates = curStates;
      if (list.length > maxPerInsn) maxPerInsn = list.length;
    }
    if (printState && level >= 1) {
      log.line(`${insn}: ${stateLine(env)}`);
      printState = false;
    }
    const op = prog.op[insn]!;
    const def = INSNS[op]!;
    const code = prog.opcode[insn]!;
    const dst = prog.dst[insn]!;
    const src = prog.src[insn]!;
    const off = prog.off[insn]!;
    const imm = prog.imm[insn]!;
    const regs = env.state.cur.regs;
    const insnText = level >= 1 ? kernelInsnLine(prog, insn, (s, i) => s === PseudoLd.FUNC ? `func[pc${i >= 0 ? '+' : ''}${i}]` : `map[id:${i}]${s === PseudoLd.MAP_VALUE || s === PseudoLd.MAP_IDX_VALUE ? '[0]+' + (prog.imm64hi[insn]! >>> 0) : ''}`) : '';
    // The instruction is logged before it is checked, so a rejection follows its line;
    // a new source line goes first, as the kernel prints it.
    if (level >= 1) {
      const src = lineStarts?.get(insn);
      if (src && src !== lastLine) {
        log.line(`; ${src.text.trim()} @ ${src.file}:${src.line}`);
        lastLine = src;
        env.shownLine = src;
      }
      log.write(insnText);
    }
    let nextInsn = insn + def.slots;
    switch (def.shape) {
      case Shape.AluImm:
      case Shape.AluReg: {
        if (dst === 10) throw new Reject('frame pointer is read only');
        const bits = def.width as 32 | 64;
        const aluOp = code & 0xf0;
        const signed = off === 1;
        if (aluOp === AluOp.MOV) {
          if (def.shape === Shape.AluImm) checkMovImm(env, dst, imm, bits);
          else checkMov(env, dst, src, bits, 0);
        } else {
          let operand: RegState;
          if (def.shape === Shape.AluImm) {
            if ((aluOp === AluOp.DIV || aluOp === AluOp.MOD) && imm === 0) throw new Reject('div by zero');
            if ((aluOp === AluOp.LSH || aluOp === AluOp.RSH || aluOp === AluOp.ARSH) && (imm < 0 || imm >= bits)) {
              throw new Reject(`invalid shift ${imm}`);
            }
            operand = immReg;
            markConstScalar(operand, bits === 64 ? BigInt(imm) : BigInt(imm >>> 0));
          } else {
            operand = readReg(regs, src);
          }
          readReg(regs, dst);
          checkBinaryAlu(env, dst, operand, aluOp, signed, bits, def.shape === Shape.AluReg ? src : -1);
        }
        if (level >= 1) emitComment(env, insnText, dst);
        break;
      }
      case Shape.Neg:
      case Shape.Endian: {
        if (dst === 10) throw new Reject('frame pointer is read only');
        readReg(regs, dst);
        checkUnaryAlu(env, dst, code & 0xf0, def.width === 32 && def.shape === Shape.Neg ? 32 : 64);
        if (def.shape === Shape.Endian) markUnknown(regs[dst]!);
        if (level >= 1) emitComment(env, insnText, dst);
        break;
      }
      case Shape.MovSx: {
        if (dst === 10) throw new Reject('frame pointer is read only');
        const bits = (code & 0x07) === 0x07 ? 64 : 32;
        checkMov(env, dst, src, bits, def.width / 8);
        if (level >= 1) emitComment(env, insnText, dst);
        break;
      }
      case Shape.Load:
      case Shape.LoadSx: {
        readReg(regs, src);
        if (dst === 10) throw new Reject('frame pointer is read only');
        const value = new RegState();
        checkMemAccess(env, { regno: src, off, size: def.width / 8, write: false, value, valueRegno: dst, signExtend: def.shape === Shape.LoadSx });
        samePointer(src);
        if (value.type === RegType.NOT_INIT) markUnknown(value);
        regs[dst]!.copyFrom(value);
        if (level >= 1) emitComment(env, insnText, dst);
        break;
      }
      case Shape.Store: {
        readReg(regs, dst);
        checkMemAccess(env, { regno: dst, off, size: def.width / 8, write: true, imm });
        samePointer(dst);
        if (level >= 1) emitComment(env, insnText);
        break;
      }
      case Shape.StoreReg: {
        const orig = readReg(regs, src);
        // A scalar spilled to the stack stays linked to its register (same id), like a copy.
        if (regs[dst]!.type === RegType.PTR_TO_STACK && orig.type === RegType.SCALAR && orig.id === 0 && !tnumIsConst(orig.varOff)) {
          orig.id = ++env.nextId;
        }
        const v = orig.clone();
        readReg(regs, dst);
        checkMemAccess(env, { regno: dst, off, size: def.width / 8, write: true, value: v, valueRegno: src });
        samePointer(dst);
        if (level >= 1) emitComment(env, insnText);
        break;
      }
      case Shape.Atomic: {
        checkAtomic(env, dst, src, off, imm, def.width / 8);
        if (level >= 1) emitComment(env, insnText, imm === AtomicOp.CMPXCHG ? 0 : imm & AtomicOp.FETCH ? src : undefined);
        break;
      }
      case Shape.Lddw: {
        if (dst === 10) throw new Reject('frame pointer is read only');
        const r = regs[dst]!;
        const hi = prog.imm64hi[insn]!;
        switch (src) {
          case PseudoLd.IMM64:
            markConstScalar(r, (BigInt(hi) << 32n) | BigInt(imm >>> 0));
            break;
          case PseudoLd.MAP_FD:
          case PseudoLd.MAP_IDX:
            markPointer(r, RegType.CONST_PTR_TO_MAP);
            r.mapIndex = imm;
            break;
          case PseudoLd.MAP_VALUE:
          case PseudoLd.MAP_IDX_VALUE:
            markPointer(r, RegType.PTR_TO_MAP_VALUE);
            r.mapIndex = imm;
            r.off = hi >>> 0;
            break;
          case PseudoLd.FUNC:
            // check_ld_imm: a function pointer needs the program's BTF func_info.
            if (!env.opts.btf) throw new Reject('missing btf func_info');
            markPointer(r, RegType.PTR_TO_FUNC);
            r.frameno = insn + 1 + imm;
            break;
        }
        if (level >= 1) emitComment(env, insnText, dst);
        break;
      }
      case Shape.LdAbs:
      case Shape.LdInd: {
        const t = env.opts.progType;
        const T = BPF_PROG_TYPE;
        if (t !== T['socket_filter'] && t !== T['sched_cls'] && t !== T['sched_act']) {
          throw new Reject('BPF_LD_[ABS|IND] instructions not allowed for this program type');
        }
        if (env.state.frames.length > 1 || (env.state.cur.subprog !== 0)) throw new Reject('BPF_LD_[ABS|IND] cannot be mixed with bpf-to-bpf calls');
        if (def.shape === Shape.LdInd) readReg(regs, src);
        const r6 = regs[6]!;
        if (r6.type !== RegType.PTR_TO_CTX) throw new Reject('at the time of BPF_LD_ABS|IND R6 != pointer to skb');
        if (env.state.refs.length > 0) throw new Reject('BPF_LD_[ABS|IND] would lead to reference leak');
        for (let i = 1; i <= 5; i++) markNotInit(regs[i]!);
        markUnknown(regs[0]!);
        coerceToSize(regs[0]!, def.width / 8);
        if (level >= 1) emitComment(env, insnText, 0);
        break;
      }
      case Shape.Ja:
      case Shape.Ja32:
        jmps++;
        if (level >= 1) emitComment(env, insnText);
        nextInsn = insn + 1 + (def.shape === Shape.Ja32 ? imm : off);
        break;
      case Shape.JmpImm:
      case Shape.JmpReg: {
        jmps++;
        const target = insn + 1 + off;
        // The pushed branch rewinds the log to the end of this line (level 1 keeps only the failing path).
        const mark = log.mark() + 1;
        const taken = checkCondJmp(env, def.shape === Shape.JmpReg, dst, src, imm, code, def.width === 32, pending, target, insn, mark, env.cp);
        // The comment shows the registers as the path continues (refined by the comparison).
        if (level >= 1) emitComment(env, insnText);
        if (taken === 1) nextInsn = target;
        if (pending.length > JMP_SEQ_LIMIT) throw new Reject(`The sequence of ${pending.length} jumps is too complex.`);
        if (taken === 2 && env.cp) env.cp.branches++;
        break;
      }
      case Shape.Call: {
        const site = isCallbackHelper(imm) ? callbackSite(env, imm) : undefined;
        checkHelperCall(env, imm);
        if (site !== undefined) {
          // The helper calls the callback: verify its body now, then come back after the call.
          if (level >= 1) emitComment(env, insnText);
          if (env.state.frames.length >= MAX_CALL_FRAMES) throw new Reject(`the call stack of ${env.state.frames.length + 1} frames is too deep !`);
          const caller = env.state.cur;
          let edges = callEdges.get(caller.subprog);
          if (!edges) callEdges.set(caller.subprog, (edges = new Set()));
          edges.add(site.target);
          const callee = enterCallback(env, imm, site, insn);
          nextInsn = site.target;
          if (level >= 1) log.line(`caller:\n ${formatState(env, caller)}\ncallee:\n ${formatState(env, callee)}`);
          break;
        }
        if (level >= 1) emitComment(env, insnText, 0);
        break;
      }
      case Shape.CallLocal: {
        const target = insn + 1 + imm;
        const g = globals.get(target);
        if (g) {
          // A global function: check the arguments against its prototype, then go on as after a helper.
          checkGlobalCall(env, g, cfg.subprogs.indexOf(target));
          // A function that may move packet data (itself or through its callees) leaves stale packet pointers.
          if (subprogChangesPacket(prog, cfg, target, new Set())) clearPacketPointers(env);
          if (!queue.includes(target)) queue.push(target);
          if (level >= 1) emitComment(env, insnText, 0);
          break;
        }
        if (level >= 1) emitComment(env, insnText);
        if (env.state.frames.length >= MAX_CALL_FRAMES) throw new Reject(`the call stack of ${env.state.frames.length + 1} frames is too deep !`);
        const caller = env.state.cur;
        const callee = new FuncState();
        callee.frameno = env.state.frames.length;
        callee.callsite = insn;
        callee.subprog = target;
        for (let i = 1; i <= 5; i++) callee.regs[i]!.copyFrom(caller.regs[i]!);
        callee.initFramePointer();
        let edges = callEdges.get(caller.subprog);
        if (!edges) callEdges.set(caller.subprog, (edges = new Set()));
        edges.add(target);
        env.state.frames.push(callee);
        nextInsn = target;
        if (level >= 1) log.line(`caller:\n ${formatState(env, caller)}\ncallee:\n ${formatState(env, callee)}`);
        break;
      }
      case Shape.CallKfunc:
        throw new Reject('calling kernel functions is not supported');
      case Shape.Callx:
        throw new Reject(`unknown opcode ${code.toString(16).padStart(2, "0")}`);
      case Shape.Exit: {
        if (level >= 1) emitComment(env, insnText);
        const st = env.state;
        const r0 = st.cur.regs[0]!;
        if (r0.type === RegType.NOT_INIT) throw new Reject('R0 !read_ok');
        noteDepth();
        if (st.frames.length === 1 && globalFn) {
          if (r0.type !== RegType.SCALAR) throw new Reject(`At subprogram exit the register R0 is not a scalar value (${regName(r0)})`);
          if (st.refs.length > 0) throw new Reject('BPF_EXIT instruction in global subprogram would lead to reference leak');
          if (!popPath()) {
            stats(processed, totalStates, peakStates, maxPerInsn);
            return combinedStack(subprogDepth, callEdges);
          }
          continue;
        }
        if (st.frames.length > 1) {
          // A static function may return any value but a pointer into its own frame.
          if (r0.type === RegType.PTR_TO_STACK && r0.frameno === st.cur.frameno) throw new Reject('cannot return stack pointer to the caller');
          if (st.cur.callback) checkCallbackExit(env, st.cur);
          const callee = st.frames.pop()!;
          const caller = st.cur;
          // Pointers into the callee's stack die with it. After a callback, r0 is what the helper returns.
          if (callee.callback) markUnknown(caller.regs[0]!);
          else caller.regs[0]!.copyFrom(callee.regs[0]!);
          if (callee.callback && subprogChangesPacket(prog, cfg, callee.subprog, new Set())) clearPacketPointers(env);
          for (let i = 1; i <= 5; i++) markNotInit(caller.regs[i]!);
          nextInsn = callee.callsite + 1;
          if (level >= 1) log.line(`returning from callee:\n ${formatState(env, callee)}\nto caller at ${nextInsn}:\n ${formatState(env, caller)}`);
          break;
        }
        checkReturnCode(env, r0);
        if (st.refs.length > 0) {
          for (const r of st.refs) env.log.line(`Unreleased reference id=${r.id} alloc_insn=${r.insn}`);
          throw new Reject('BPF_EXIT instruction in main prog would lead to reference leak');
        }
        curStates = Math.max(0, curStates);
        if (!popPath()) {
          stats(processed, totalStates, peakStates, maxPerInsn);
          return combinedStack(subprogDepth, callEdges);
        }
        continue;
      }
    }
    env.hist.push(insn * 128 + env.stackTag);
    env.stackTag = 0;
    prev = insn;
    insn = nextInsn;
    if (insn >= prog.length) throw new Reject(`jump out of range from insn ${prev} to ${insn}`);
  }
  stats(processed, totalStates, peakStates, maxPerInsn);
  return combinedStack(subprogDepth, callEdges);
}

const immReg = new RegState();

/** Does the subprogram at `start` (or one it calls) call a helper that moves packet data, or tail-call? */
function subprogChangesPacket(prog: Program, cfg: Cfg, start: number, seen: Set<number>): boolean {
  if (seen.has(start)) return false;
  seen.add(start);
  const end = subprogEnd(cfg, start, prog.length);
  for (let i = start; i < end; i++) {
    const op = prog.op[i]!;
    if (op < 0) continue;
    const shape = INSNS[op]!.shape;
    if (shape === Shape.Call && (CHANGES_PACKET_DATA.has(prog.imm[i]!) || prog.imm[i] === BPF_FUNC['tail_call'])) return true;
    if (shape === Shape.CallLocal && subprogChangesPacket(prog, cfg, i + 1 + prog.imm[i]!, seen)) return true;
  }
  return false;
}

/** A call of a global function: arguments must fit its prototype (the kernel's btf_check_func_arg_match). */
function checkGlobalCall(env: Env, fn: FuncSig, funcNo: number): void {
  if (fn.unsupported) throw new Reject(fn.unsupported);
  const regs = env.state.cur.regs;
  const bad = (why: string): never => {
    env.log.line(why);
    throw new Reject(`Caller passes invalid args into func#${funcNo} ('${fn.name}')`);
  };
  fn.args.forEach((a, i) => {
    const regno = i + 1;
    const r = regs[regno]!;
    if (r.type === RegType.NOT_INIT) throw new Reject(`R${regno} !read_ok`);
    if (a.kind === 'scalar') {
      if (r.type !== RegType.SCALAR) bad(`R${regno} is not a scalar`);
    } else if (a.kind === 'ctx') {
      if (r.type !== RegType.PTR_TO_CTX) bad(`arg#${i} expects pointer to ctx`);
    } else if (a.kind === 'mem') {
      if (isNullConst(r)) {
        if (a.nonnull) bad(`arg#${i} expected non-NULL pointer`);
        return;
      }
      try {
        checkHelperMem(env, regno, BigInt(a.size), false, true);
        checkHelperMem(env, regno, BigInt(a.size), true, true);
      } catch (e) {
        if (e instanceof Reject) bad(e.message);
        throw e;
      }
    } else {
      throw new Reject(a.why);
    }
  });
  for (let i = 1; i <= 5; i++) markNotInit(regs[i]!);
  markUnknown(regs[0]!);
}

function notNull(r: RegState): boolean {
  if (r.flags & RegFlag.MAYBE_NULL) return false;
  switch (r.type) {
    case RegType.PTR_TO_SOCKET:
    case RegType.PTR_TO_TCP_SOCK:
    case RegType.PTR_TO_MAP_VALUE:
    case RegType.PTR_TO_MAP_KEY:
    case RegType.PTR_TO_SOCK_COMMON:
    case RegType.PTR_TO_MEM:
      return true;
  }
  return false;
}

function readReg(regs: RegState[], r: number): RegState {
  const x = regs[r]!;
  if (x.type === RegType.NOT_INIT) throw new Reject(`R${r} !read_ok`);
  return x;
}

/**
 * End an instruction's log line with the kernel's `; R1=... fp-8=...` comment:
 * the registers the instruction read or wrote (only r0 for helper calls) and
 * the stack slot it touched, as they are now.
 */
function emitComment(env: Env, insnText: string, written?: number): void {
  const prog = env.prog;
  const i = env.insnIdx;
  const shape = INSNS[prog.op[i]!]!.shape;
  let mask = 0;
  if (shape === Shape.Call || shape === Shape.LdAbs || shape === Shape.LdInd || (shape === Shape.CallLocal && written === 0)) mask = 1;
  else if (shape !== Shape.Exit && shape !== Shape.Ja && shape !== Shape.Ja32 && shape !== Shape.CallLocal) {
    const ud = useDef(prog, i);
    mask = ud.use | ud.def;
  }
  const f = env.state.cur;
  const parts: string[] = [];
  for (let r = 0; r <= 10; r++) {
    if (mask & (1 << r) && f.regs[r]!.type !== RegType.NOT_INIT) parts.push(`R${r}=${formatReg(f.regs[r]!, f.frameno, (k) => env.maps[k])}`);
  }
  const tag = env.stackTag;
  if (tag > 0 && tag < 127) {
    const slot = tag - 1;
    const one = formatState(env, f, slot);
    if (one) parts.push(one);
  }
  if (parts.length && env.state.refs.length) parts.push(`refs=${env.state.refs.map((r) => r.id).join(',')}`);
  const prefix = env.state.frames.length > 1 ? `frame${f.frameno}: ` : '';
  env.log.write(parts.length ? `${' '.repeat(commentPad(insnText.length))}; ${prefix}${parts.join(' ')}\n` : '\n');
}

function regName(r: RegState): string {
  return formatReg(r, 0).replace(/\(.*$/, '');
}

/** Deepest sum of frame sizes along any call chain; each frame rounds up to 32 bytes like the kernel. */
function combinedStack(depths: Map<number, number>, edges: Map<number, Set<number>>): number {
  const round = (d: number): number => (Math.max(d, 1) + 31) & ~31;
  const memo = new Map<number, number>();
  const visit = (s: number, guard: Set<number>): number => {
    const m = memo.get(s);
    if (m !== undefined) return m;
    if (guard.has(s)) return 0;
    guard.add(s);
    let best = 0;
    for (const t of edges.get(s) ?? []) best = Math.max(best, visit(t, guard));
    guard.delete(s);
    const total = round(depths.get(s) ?? 0) + best;
    memo.set(s, total);
    return total;
  };
  const total = visit(0, new Set());
  if (total > STACK_SIZE && edges.size > 0) throw new Reject(`combined stack size of ${edges.size + 1} calls is ${total}. Too large`);
  return total;
}

function checkAtomic(env: Env, dst: number, src: number, off: number, imm: number, size: number): void {
  const regs = env.state.cur.regs;
  if (regs[src]!.type === RegType.NOT_INIT) throw new Reject(`R${src} !read_ok`);
  if (regs[dst]!.type === RegType.NOT_INIT) throw new Reject(`R${dst} !read_ok`);
  if (imm === AtomicOp.CMPXCHG && regs[0]!.type === RegType.NOT_INIT) throw new Reject('R0 !read_ok');
  const p = regs[dst]!;
  if (p.type === RegType.PTR_TO_CTX || p.type === RegType.PTR_TO_PACKET || p.type === RegType.PTR_TO_PACKET_META || p.type === RegType.PTR_TO_FLOW_KEYS) {
    throw new Reject(`BPF_ATOMIC stores into R${dst} ${regName(p)} is not allowed`);
  }
  if (regs[src]!.isPointer() && !env.privileged) throw new Reject(`R${src} leaks addr into mem`);
  const loaded = new RegState();
  checkMemAccess(env, { regno: dst, off, size, write: false, value: loaded, valueRegno: -1, atomic: p.type === RegType.PTR_TO_STACK, aligned: true });
  if (p.type !== RegType.PTR_TO_STACK) checkMemAccess(env, { regno: dst, off, size, write: true, value: unknownScalar(), valueRegno: -1, aligned: true });
  const out = imm === AtomicOp.CMPXCHG ? 0 : imm & AtomicOp.FETCH ? src : -1;
  if (out >= 0) {
    // The fetched register gets what the read saw (a stack spill is restored, anything else is unknown).
    if (loaded.type === RegType.NOT_INIT || loaded.isPointer()) markUnknown(loaded);
    regs[out]!.copyFrom(loaded);
    if (size < 8) coerceToSize(regs[out]!, size);
  }
}

function unknownScalar(): RegState {
  const r = new RegState();
  markUnknown(r);
  return r;
}

// Attach types that decide return ranges (enum bpf_attach_type; some are newer than the generated table).
const ATTACH_RET_1_1 = new Set([19, 20, 29, 30, 31, 32, 51, 52, 53]); // recvmsg, getpeername, getsockname (inet4/6, unix)
const ATTACH_BIND = new Set([8, 9]);
const ATTACH_INET_EGRESS = 1;

/** Program return values (the kernel's check_return_code) for the types that constrain them. */
function checkReturnCode(env: Env, r0: RegState): void {
  const T = BPF_PROG_TYPE;
  const t = env.opts.progType;
  const at = env.opts.expectedAttachType ?? -1;
  let range: [bigint, bigint] | undefined = [0n, 1n];
  if (t === T['cgroup_sock_addr']) {
    if (ATTACH_RET_1_1.has(at)) range = [1n, 1n];
    if (ATTACH_BIND.has(at)) range = [0n, 3n];
  } else if (t === T['cgroup_skb']) {
    if (at === ATTACH_INET_EGRESS) range = [0n, 3n];
  } else if (t === T['cgroup_sock'] || t === T['sock_ops'] || t === T['cgroup_device'] || t === T['cgroup_sysctl'] || t === T['cgroup_sockopt']) {
    // (0, 1)
  } else if (t === T['sk_lookup']) {
    range = [0n, 1n];
  } else if (t === (T['netfilter'] ?? 32)) {
    range = [0n, 1n];
  } else {
    range = undefined;
  }
  if (!range) {
    if (r0.type !== RegType.SCALAR && !env.privileged) throw new Reject(`R0 leaks addr as return value`);
    return;
  }
  if (r0.type !== RegType.SCALAR) throw new Reject(`At program exit the register R0 is not a known value (${regName(r0)})`);
  markPrecise(env, 0);
  if (r0.smin < range[0] || r0.smax > range[1]) {
    let v = '';
    if (r0.smin > -(1n << 63n)) v += ` smin=${r0.smin}`;
    if (r0.smax < (1n << 63n) - 1n) v += ` smax=${r0.smax}`;
    if (!v) v = ' unknown scalar value';
    throw new Reject(`At program exit the register R0 has${v} should have been in [${range[0]}, ${range[1]}]`);
  }
}

/**
 * A conditional jump. Returns 1 when only the jump is taken, 0 when only the
 * fall-through happens, 2 when both are possible (the jump side is pushed).
 */
function checkCondJmp(
  env: Env, isReg: boolean, dstno: number, srcno: number, imm: number, code: number, w32: boolean,
  pending: Pending[], target: number, insn: number, logMark: number, cp: Checkpoint | null,
): number {
  const regs = env.state.cur.regs;
  const dst = regs[dstno]!;
  if (dst.type === RegType.NOT_INIT) throw new Reject(`R${dstno} !read_ok`);
  let srcReg: RegState;
  if (isReg) {
    srcReg = regs[srcno]!;
    if (srcReg.type === RegType.NOT_INIT) throw new Reject(`R${srcno} !read_ok`);
  } else {
    srcReg = immReg;
    markConstScalar(srcReg, w32 ? BigInt(imm >>> 0) : BigInt(imm));
  }
  const op = code & 0xf0;
  if ((dst.isPointer() || srcReg.isPointer()) && !env.privileged) {
    if (!(op === JmpOp.JEQ || op === JmpOp.JNE) || !isNullConst(srcReg)) throw new Reject(`R${dstno} pointer comparison prohibited`);
  }
  // Decide the branch when the values allow it.
  let taken = -1;
  if (dst.type === RegType.SCALAR && srcReg.type === RegType.SCALAR) {
    taken = scalarBranchTaken(dst, srcReg, op, w32);
  } else if (op === JmpOp.JEQ || op === JmpOp.JNE) {
    // A pointer that cannot be NULL compared with 0 (the kernel's reg_not_null: map values and
    // keys, memory, sockets; not ctx or stack pointers, whose tests the kernel walks both ways).
    const [p, c] = dst.isPointer() ? [dst, srcReg] : [srcReg, dst];
    const cConst = c.type === RegType.SCALAR && (w32 ? (c.varOff.mask & 0xffffffffn) === 0n && (c.varOff.value & 0xffffffffn) === 0n : isNullConst(c));
    if (p.isPointer() && cConst && notNull(p)) taken = op === JmpOp.JNE ? 1 : 0;
  }
  if (taken >= 0 && dst.type === RegType.SCALAR) {
    // The path now depends on these values.
    if (isReg) markPrecise(env, dstno, srcno);
    else markPrecise(env, dstno);
  }
  if (taken === 1) return 1;
  if (taken === 0) return 0;
  // Both sides: the jump side gets a copy.
  const other = env.state.clone();
  const oregs = other.cur.regs;
  const odst = oregs[dstno]!;
  const osrc = isReg ? oregs[srcno]! : srcReg.clone();
  const tsrc = isReg ? regs[srcno]! : srcReg.clone();
  let jumpLive = true, fallLive = true;
  if (dst.type === RegType.SCALAR && srcReg.type === RegType.SCALAR) {
    jumpLive = regSetMinMax(odst, osrc, op, w32);
    fallLive = regSetMinMax(dst, tsrc, revOpcode(op), w32);
    if (jumpLive) {
      syncLinkedScalars(other, odst);
      if (isReg) syncLinkedScalars(other, osrc);
    }
    if (fallLive) {
      syncLinkedScalars(env.state, dst);
      if (isReg) syncLinkedScalars(env.state, tsrc);
    }
  } else if (!isReg && imm === 0 && !w32 && (op === JmpOp.JEQ || op === JmpOp.JNE) && dst.flags & RegFlag.MAYBE_NULL && dst.id) {
    // if (p == NULL): p is NULL on the jump side of JEQ and on the fall-through of JNE.
    // A map-in-map lookup that is not NULL is the inner map.
    const count = env.opts.maps?.length ?? 0;
    const inner = (idx: number): number => innerMapIndex(env.maps, idx, count);
    markPtrOrNull(other, dst.id, op === JmpOp.JEQ, inner);
    markPtrOrNull(env.state, dst.id, op === JmpOp.JNE, inner);
  } else if (isReg && !w32) {
    const m = matchPktPointers(op, dst, srcReg);
    if (m) {
      const st = m.branch === 'true' ? other : env.state;
      const reg = m.reg === 'dst' ? st.cur.regs[dstno]! : st.cur.regs[srcno]!;
      findGoodPktPointers(st, reg, m.open);
    }
  }
  if (!jumpLive && !fallLive) return 0;
  if (!jumpLive) return 0;
  if (!fallLive) {
    env.state = other;
    return 1;
  }
  pending.push({ state: other, insn: target, prev: insn, logMark, cp, hist: env.hist.slice() });
  return 2;
}

export type { MapInfo, VerifyOptions, LineInfo };
export { Src };
