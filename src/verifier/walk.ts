// One walk of the path explorer (the kernel's do_check) from an entry: the
// main program, or a global function verified on its own. Every path is
// followed with an abstract state; at prune points the state is compared
// with states already proven safe there (is_state_visited); conditional
// jumps the bounds cannot decide push the other side on `pending`. The
// per-instruction rules are in step-data.ts (ALU, loads, stores, lddw,
// LD_ABS), step-jump.ts (jumps) and step-call.ts (calls and exits).

import { MAX_CALL_FRAMES, STACK_SIZE } from '../isa/fields.js';
import { INSNS, Shape } from '../isa/table.js';
import { PseudoLd } from '../isa/fields.js';
import { Reject, type Env, type LineInfo } from './env.js';
import type { Cfg } from './cfg.js';
import type { FuncSig } from './btf-funcs.js';
import { FuncState, type VerifierState } from './state.js';
import { RegType, RegFlag, markPointer, markUnknown } from './reg-state.js';
import { kernelInsnLine } from './log.js';
import { loopStateLines, stateLine } from './log-state.js';
import { statesEqual, Checkpoint, finishBranch, type Liveness } from './prune.js';
import { stackLiveness, type StackLiveness } from './stack-liveness.js';
import { histEntry, markAllImprecise, propagatePrecision } from './precision.js';
import { stepAlu, stepAtomic, stepLddw, stepLdAbs, stepLoad, stepStore } from './step-data.js';
import { stepCondJmp, stepJa, stepMayGoto } from './step-jump.js';
import { stepCall, stepCallLocal, stepExit } from './step-call.js';
import { stepKfunc } from './kfunc-check.js';
import { iterActiveAt } from './iter.js';
import { trustedArgEntry } from './kfunc-check.js';

/** What a step tells the walk: go on at `nextInsn`, another path was popped, or every path is done. */
export const Flow = { NEXT: 0, POPPED: 1, DONE: 2 } as const;
export type Flow = (typeof Flow)[keyof typeof Flow];

export type StatsFn = (processed: number, totalStates: number, peakStates: number, maxStatesPerInsn: number) => void;

/** A branch waiting to be explored. */
export interface Pending {
  state: VerifierState;
  insn: number;
  prev: number;
  logMark: number;
  cp: Checkpoint | null;
  hist: number[];
}

/** BPF_COMPLEXITY_LIMIT_JMP_SEQ: pending branches at once. */
export const JMP_SEQ_LIMIT = 8192;

export class Walk {
  readonly log: Env['log'];
  readonly level: number;
  readonly pending: Pending[] = [];
  /** Deepest stack use per subprogram, and who calls whom, for the combined stack size. */
  readonly subprogDepth = new Map<number, number>();
  readonly callEdges = new Map<number, Set<number>>();
  processed = 0;
  totalStates = 0;
  peakStates = 0;
  maxPerInsn = 0;
  jmps = 0;
  /** The instruction being checked, the one before it on this path, and where the path goes next. */
  insn: number;
  prev = -1;
  nextInsn = 0;
  /** The instruction's log text (empty when not logging). */
  insnText = '';
  private readonly explored: (Checkpoint[] | undefined)[];
  private curStates = 0;
  private prevJmps = 0;
  /** visited()'s decision for the state it just failed to prune: store it as a checkpoint? */
  private addNew = false;
  private prevProcessed = 0;
  private printState = true;
  private readonly lineStarts: Map<number, LineInfo> | undefined;
  private lastLine: LineInfo | undefined;
  /** Pointer type each load/store used first (+1; 0 = not seen): ctx accesses are rewritten per insn, so one insn may not mix ctx and other pointers. */
  private readonly ptrTypeAt: Int8Array;

  constructor(
    readonly env: Env,
    readonly cfg: Cfg,
    readonly limit: number,
    readonly stats: StatsFn,
    entry: number,
    readonly globalFn: FuncSig | undefined,
    readonly globals: ReadonlyMap<number, FuncSig>,
    readonly queue: number[],
  ) {
    const prog = env.prog;
    this.log = env.log;
    this.level = env.log.level;
    this.explored = new Array(prog.length);
    this.ptrTypeAt = new Int8Array(prog.length);
    this.lineStarts = env.opts.lineInfo && this.level >= 1 ? new Map(env.opts.lineInfo.map((l) => [l.insn, l])) : undefined;
    this.insn = entry;
    env.state.frames = [entryFrame(env, entry, globalFn)];
  }

  /** Walk every path; returns the deepest combined stack use. */
  run(): number {
    const env = this.env;
    for (;;) {
      env.insnIdx = this.insn;
      if (++this.processed > this.limit) {
        this.report(this.processed - 1);
        throw new Reject(`BPF program is too large. Processed ${this.processed} insn`);
      }
      this.report(this.processed);
      if (this.cfg.prunePoint[this.insn]) {
        if (this.visited()) {
          if (this.level >= 2) this.log.line(`${this.insn}: safe`);
          this.noteDepth();
          if (!this.popPath()) break;
          continue;
        }
        this.checkpoint();
      }
      this.logInsn();
      this.nextInsn = this.insn + INSNS[env.prog.op[this.insn]!]!.slots;
      const frame = env.state.frames.length - 1;
      const flow = this.step();
      if (flow === Flow.DONE) break;
      if (flow === Flow.POPPED) continue;
      env.hist.push(histEntry(this.insn, frame, env.stackTag));
      env.stackTag = 0;
      this.prev = this.insn;
      this.insn = this.nextInsn;
      if (this.insn >= env.prog.length) throw new Reject(`jump out of range from insn ${this.prev} to ${this.insn}`);
    }
    this.report(this.processed);
    return combinedStack(this.subprogDepth, this.callEdges);
  }

  /** One instruction, by its class. */
  private step(): Flow {
    const env = this.env;
    const def = INSNS[env.prog.op[this.insn]!]!;
    switch (def.shape) {
      case Shape.AluImm:
      case Shape.AluReg:
      case Shape.Neg:
      case Shape.Endian:
      case Shape.MovSx:
      case Shape.AddrSpaceCast:
        stepAlu(this, def);
        return Flow.NEXT;
      case Shape.Load:
      case Shape.LoadSx:
        stepLoad(this, def);
        return Flow.NEXT;
      case Shape.Store:
      case Shape.StoreReg:
        stepStore(this, def);
        return Flow.NEXT;
      case Shape.Atomic:
        stepAtomic(this, def);
        return Flow.NEXT;
      case Shape.Lddw:
        stepLddw(this);
        return Flow.NEXT;
      case Shape.LdAbs:
      case Shape.LdInd:
        stepLdAbs(this, def);
        return Flow.NEXT;
      case Shape.Ja:
      case Shape.Ja32:
        stepJa(this, def);
        return Flow.NEXT;
      case Shape.JmpImm:
      case Shape.JmpReg:
        stepCondJmp(this, def);
        return Flow.NEXT;
      case Shape.MayGoto:
        stepMayGoto(this);
        return Flow.NEXT;
      // Calls and exits are jump-class instructions: the kernel counts them
      // towards the two jumps a new checkpoint waits for (jmps_processed).
      case Shape.Call:
        this.jmps++;
        stepCall(this);
        return Flow.NEXT;
      case Shape.CallLocal:
        this.jmps++;
        stepCallLocal(this);
        return Flow.NEXT;
      case Shape.CallKfunc:
        this.jmps++;
        return stepKfunc(this);
      case Shape.Exit:
        this.jmps++;
        return stepExit(this);
    }
    // callx, and any instruction this verifier has no rule for yet.
    throw new Reject(`unknown opcode ${env.prog.opcode[this.insn]!.toString(16).padStart(2, '0')}`);
  }

  private stackLive: StackLiveness | undefined;
  private readonly live: Liveness = {
    regs: new Int32Array(MAX_CALL_FRAMES),
    slotsLo: new Uint32Array(MAX_CALL_FRAMES),
    slotsHi: new Uint32Array(MAX_CALL_FRAMES),
  };

  /**
   * What each frame may still read at `insn`: the current frame from here, a
   * caller from where it resumes after its call (registers r6..r9 only; its
   * stack slots as at the call).
   */
  private liveAt(insn: number): Liveness {
    const cfg = this.cfg;
    const slots = (this.stackLive ??= stackLiveness(this.env.prog, cfg));
    const frames = this.env.state.frames;
    const top = frames.length - 1;
    const live = this.live;
    for (let f = 0; f <= top; f++) {
      const callsite = f === top ? -1 : frames[f + 1]!.callsite;
      live.regs[f] = (f === top ? cfg.liveIn[insn]! : (cfg.liveIn[callsite + 1] ?? 0) & 0x7c0) | (1 << 10);
      const at = f === top ? insn : callsite;
      live.slotsLo[f] = slots.lo[at]!;
      live.slotsHi[f] = slots.hi[at]!;
    }
    return live;
  }

  /** Pruning: is the current state covered by one proven safe here? An exact match with a state still being explored is a loop. */
  private visited(): boolean {
    const env = this.env;
    const insn = this.insn;
    const list = (this.explored[insn] ??= []);
    const live = this.liveAt(insn);
    // Like the kernel, store a new state only every few jumps and instructions.
    const cur = env.state;
    const force = this.cfg.forceCheckpoint[insn] === 1;
    const addNew = force || (this.jmps - this.prevJmps >= 2 && this.processed - this.prevProcessed >= 8);
    const def = INSNS[env.prog.op[insn]!]!;
    const mayGoto = def.shape === Shape.MayGoto;
    const callsCallback = force && def.shape === Shape.Call;
    // Forced checkpoints at kfunc calls are iterator next() calls (kfunc-check.ts prepareKfuncCalls).
    const iterNext = force && def.shape === Shape.CallKfunc;
    for (let k = 0; k < list.length; k++) {
      const old = list[k]!;
      if (old.branches > 0 && iterNext) {
        // An iterator loop converges when next() is reached, the iterator active, in a state the
        // loop's earlier visit covers, ranges and all; next() is never an infinite loop.
        if (iterActiveAt(cur, 1) && statesEqual(old.state, cur, live, 'range')) {
          return this.hit(old);
        }
      } else if (old.branches > 0) {
        // A loop (may_goto, or a helper calling its callback again) converges when an
        // iteration reaches a state the one before covers, ranges and all.
        const converges = (mayGoto && old.state.mayGotoDepth !== cur.mayGotoDepth) || callsCallback;
        if (converges && statesEqual(old.state, cur, live, 'range')) {
          return this.hit(old);
        }
        if (!callsCallback && old.state.mayGotoDepth === cur.mayGotoDepth && old.state.callbackUnrollDepth === cur.callbackUnrollDepth &&
          statesEqual(old.state, cur, live, 'exact')) {
          throw new Reject(`infinite loop detected at insn ${insn}`, loopStateLines(env, cur, old.state));
        }
      } else if (statesEqual(old.state, cur, live, 'within')) {
        return this.hit(old);
      }
      if (addNew) old.miss++;
      // Loop entries at forced checkpoints are kept longer (the kernel's 64 against 3).
      const n = force && old.branches > 0 ? 64 : 3;
      if (old.miss > old.hit * n + n) {
        list.splice(k--, 1);
        old.evict();
      }
    }
    this.addNew = addNew;
    return false;
  }

  /** The current state is covered by `old`: what old's future relied on, this path relies on too. */
  private hit(old: Checkpoint): true {
    old.hit++;
    propagatePrecision(this.env, old.state);
    return true;
  }

  /** Store the current state at this prune point (every few jumps and instructions, as the kernel does). */
  private checkpoint(): void {
    if (!this.addNew) return;
    const env = this.env;
    const list = this.explored[this.insn]!;
    this.prevJmps = this.jmps;
    this.prevProcessed = this.processed;
    const c = new Checkpoint(env.state.clone(), env.cp, this.insn);
    c.hist = env.hist;
    env.hist = [];
    list.push(c);
    env.cp = c;
    // The stored state keeps its precision marks; the path goes on without them and
    // marks again what it relies on (the kernel's mark_all_scalars_imprecise for root).
    if (env.privileged) markAllImprecise(env.state);
    this.totalStates++;
    this.curStates++;
    if (this.curStates > this.peakStates) this.peakStates = this.curStates;
    if (list.length > this.maxPerInsn) this.maxPerInsn = list.length;
  }

  /**
   * The state line after a branch, then the instruction, logged before it is
   * checked so a rejection follows its line; a new source line goes first, as
   * the kernel prints it.
   */
  private logInsn(): void {
    if (this.level < 1) {
      this.insnText = '';
      return;
    }
    const env = this.env;
    const prog = env.prog;
    const insn = this.insn;
    if (this.printState) {
      this.log.line(`${insn}: ${stateLine(env)}`);
      this.printState = false;
    }
    this.insnText = kernelInsnLine(prog, insn, (s, i) => s === PseudoLd.FUNC ? `func[pc${i >= 0 ? '+' : ''}${i}]` : `map[id:${i}]${s === PseudoLd.MAP_VALUE || s === PseudoLd.MAP_IDX_VALUE ? '[0]+' + (prog.imm64hi[insn]! >>> 0) : ''}`);
    const src = this.lineStarts?.get(insn);
    if (src && src !== this.lastLine) {
      this.log.line(`; ${src.text.trim()} @ ${src.file}:${src.line}`);
      this.lastLine = src;
      env.shownLine = src;
    }
    this.log.write(this.insnText);
  }

  /**
   * The previous iteration's state at `insn` (the kernel's find_prev_entry):
   * the latest checkpoint there still being explored, in the same calls
   * (other than `exclude`, the one this iteration just stored).
   */
  prevLoopEntry(insn: number, exclude: Checkpoint | null): Checkpoint | undefined {
    const list = this.explored[insn];
    if (!list) return undefined;
    const frames = this.env.state.frames;
    for (let k = list.length - 1; k >= 0; k--) {
      const c = list[k]!;
      if (c === exclude || c.branches <= 0 || c.state.frames.length !== frames.length) continue;
      if (c.state.frames.every((f, i) => f.callsite === frames[i]!.callsite)) return c;
    }
    return undefined;
  }

  /** Explore `state` from `insn` later (a branch); `logMark` is where the level-1 log rewinds to. */
  pushBranch(state: VerifierState, insn: number, logMark: number): void {
    const env = this.env;
    this.pending.push({ state, insn, prev: this.insn, logMark, cp: env.cp, hist: env.hist.slice() });
    if (env.cp) env.cp.branches++;
    if (this.pending.length > JMP_SEQ_LIMIT) throw new Reject(`The sequence of ${this.pending.length} jumps is too complex.`);
  }

  /** The path ended (exit or pruned): continue with a pending branch, if any. */
  popPath(): boolean {
    const env = this.env;
    finishBranch(env.cp);
    const next = this.pending.pop();
    if (!next) return false;
    if (this.level === 1) this.log.rewind(next.logMark);
    env.state = next.state;
    this.insn = next.insn;
    this.prev = next.prev;
    env.cp = next.cp;
    env.hist = next.hist;
    if (this.level >= 2) this.log.write(`\nfrom ${this.prev} to ${this.insn}: ${stateLine(env)}\n`);
    this.printState = true;
    return true;
  }

  /** Record stack use of every frame of the current path. */
  noteDepth(): void {
    for (const f of this.env.state.frames) {
      const d = this.subprogDepth.get(f.subprog) ?? 0;
      if (f.depth > d) this.subprogDepth.set(f.subprog, f.depth);
    }
  }

  /** A path ended at an exit: pop the next one, or finish the walk. */
  endPath(): Flow {
    return this.popPath() ? Flow.POPPED : Flow.DONE;
  }

  /** A load or store through `regno`: one instruction may not mix ctx and other pointers. */
  samePointer(regno: number): void {
    const t = this.env.state.cur.regs[regno]!.type;
    const prevT = this.ptrTypeAt[this.insn]! - 1;
    if (prevT < 0) this.ptrTypeAt[this.insn] = t + 1;
    else if (prevT !== t && (t === RegType.PTR_TO_CTX || prevT === RegType.PTR_TO_CTX || t === RegType.PTR_TO_ARENA || prevT === RegType.PTR_TO_ARENA)) throw new Reject('same insn cannot be used with different pointers');
  }

  /** Record that the current subprogram calls `target` (for the combined stack size). */
  addCallEdge(target: number): void {
    const from = this.env.state.cur.subprog;
    let edges = this.callEdges.get(from);
    if (!edges) this.callEdges.set(from, (edges = new Set()));
    edges.add(target);
  }

  private report(processed: number): void {
    this.stats(processed, this.totalStates, this.peakStates, this.maxPerInsn);
  }
}

/** Entry state: r1 = ctx, r10 = frame pointer; a global function gets its arguments from its prototype. */
function entryFrame(env: Env, entry: number, globalFn: FuncSig | undefined): FuncState {
  const f0 = new FuncState();
  f0.initFramePointer();
  f0.subprog = entry;
  if (!globalFn) {
    markPointer(f0.regs[1]!, RegType.PTR_TO_CTX);
    return f0;
  }
  if (globalFn.unsupported) throw new Reject(globalFn.unsupported);
  globalFn.args.forEach((a, i) => {
    const r = f0.regs[i + 1]!;
    if (a.kind === 'scalar') markUnknown(r);
    else if (a.kind === 'ctx') markPointer(r, RegType.PTR_TO_CTX);
    else if (a.kind === 'mem') {
      markPointer(r, RegType.PTR_TO_MEM, a.nonnull ? 0 : RegFlag.MAYBE_NULL);
      r.memSize = a.size;
      if (!a.nonnull) r.id = ++env.nextId;
    } else if (a.kind === 'btf') trustedArgEntry(env, r, a);
    else if (a.kind === 'arena') markUnknown(r); // the callee casts it (arena.ts)
    else throw new Reject(a.why);
  });
  return f0;
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
