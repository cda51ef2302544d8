// Stage 3 of the JIT: structure trees -> Wasm function bodies. One function
// per eBPF function, signature (r0..r10: i64) -> r0: i64: a callee starts
// with the caller's registers (r10 one frame lower), and r6..r9 come back
// unchanged for free because they are the callee's own locals. Everything
// is written into the module's single Writer; emitting an instruction
// allocates nothing. Arithmetic is in alu.ts, the memory-check functions in
// check.ts, the contract with the JS side in abi.ts.

import { AtomicOp, BPF_MAX_LOOPS, MAX_CALL_FRAMES, STACK_SIZE } from '../../isa/fields.js';
import type { Program } from '../../isa/decode.js';
import { INSNS, Op, Shape, writesDst } from '../../isa/table.js';
import {
  CTL_DUMP,
  CTL_REGS,
  ErrCode,
  Glob,
  Imp,
  INFO_ATOMIC,
  INFO_WRITE,
  L_A0,
  L_BUDGET,
  L_LABEL,
  L_LOOPS,
  L_R0,
  L_R10,
  L_T0,
  L_T1,
  REG_LOCAL,
  type Intrinsic,
  type IntrinsicContext,
} from './abi.js';
import { emitAlu, emitCond, emitEndian, emitMovSx, emitNeg } from './alu.js';
import { Term, type FuncCfg } from './blocks.js';
import { checkIndex, pushClampedAddress, pushShadowByte } from './check.js';
import { closeArenaAccess, openArenaAccess } from './arena.js';
import { ArenaMark, type ArenaAccess } from '../arena-access.js';
import type { SNode, Structured, Target } from './structure.js';
import { T, W, WA } from './wasm/opcodes.js';
import type { Writer } from './wasm/writer.js';

/** Everything the function emitter needs that is fixed for the whole module. */
export interface EmitEnv {
  readonly w: Writer;
  readonly prog: Program;
  readonly verified: boolean;
  readonly ctlBase: number;
  /** Number of eBPF functions. */
  readonly funcCount: number;
  /**
   * No instruction writes r10, so every frame pointer is exactly one of the
   * stack's frames and [r10 - 512, r10) needs no check (unverified mode).
   */
  readonly trustFp: boolean;
  /** r10 of function 0 when no instruction writes r10 (it is then this constant), else -1. */
  readonly fpConst: number;
  /**
   * Something in the program can end the whole run from any call depth: a
   * legacy packet load out of bounds, or a helper that asks to (the
   * tail-call path). Local calls then check the abort flag on return.
   */
  readonly canAbort: boolean;
  readonly maxBytes: number;
  /** Wasm function index of eBPF function 0. */
  readonly funcBase: number;
  /** Wasm function index of the first memory-check function (unverified mode). */
  readonly checkBase: number;
  /** Slot of a function's first instruction -> its index. */
  readonly funcAt: ReadonlyMap<number, number>;
  readonly intrinsics: ReadonlyMap<number, Intrinsic>;
  /** Extra functions (for intrinsics) by name -> Wasm function index. */
  readonly extraFuncs: ReadonlyMap<string, number>;
  /** The program's arena and its marked accesses (arena.ts), if it has one. */
  readonly arena?: ArenaAccess;
}

const LOAD_U: Record<number, W> = { 8: W.i64_load8_u, 16: W.i64_load16_u, 32: W.i64_load32_u, 64: W.i64_load };
const LOAD_S: Record<number, W> = { 8: W.i64_load8_s, 16: W.i64_load16_s, 32: W.i64_load32_s };
const STORE: Record<number, W> = { 8: W.i64_store8, 16: W.i64_store16, 32: W.i64_store32, 64: W.i64_store };
const LOG2: Record<number, number> = { 8: 0, 16: 1, 32: 2, 64: 3 };
const RMW_BASE: Record<number, WA> = {
  [AtomicOp.ADD]: WA.rmw_add, [AtomicOp.OR]: WA.rmw_or, [AtomicOp.AND]: WA.rmw_and, [AtomicOp.XOR]: WA.rmw_xor,
};

// ---- Label stack ------------------------------------------------------------------------------

const enum Lbl {
  Follow = 1,
  Loop = 2,
  If = 3,
  Dispatch = 4,
  Plain = 5,
}

/** Emits the functions of one module. Reused for every function; holds no per-instruction state. */
export class FuncEmitter implements IntrinsicContext {
  readonly w: Writer;
  readonly verified: boolean;
  readonly tmpI64: readonly [number, number] = [L_T0, L_T1];
  readonly tmpI32 = L_A0;
  pc = 0;
  helperId = 0;
  private readonly env: EmitEnv;
  // Values known at compile time within the current block (for intrinsics):
  // kind 0 unknown, 1 constant (kLo, kHi), 2 r10 + kLo.
  private readonly kKind = new Uint8Array(11);
  private readonly kLo = new Int32Array(11);
  private readonly kHi = new Int32Array(11);
  private f!: FuncCfg;
  private s!: Structured;
  private dispatchOrder: Int32Array = new Int32Array(0);
  private readonly lblKind: number[] = [];
  private readonly lblBb: number[] = [];
  // Checked ranges per register, offsets relative to its value: [lo, hi), empty when hi <= lo.
  private readonly rLo = new Int32Array(11);
  private readonly rHi = new Int32Array(11);
  private readonly wLo = new Int32Array(11);
  private readonly wHi = new Int32Array(11);
  // Per block of the current function: its only predecessor, and the ranges known at its end.
  private singlePred = new Int32Array(0);
  private snapped = new Uint8Array(0);
  private snaps = new Int32Array(0);

  constructor(env: EmitEnv) {
    this.env = env;
    this.w = env.w;
    this.verified = env.verified;
  }

  reg(r: number): number {
    return REG_LOCAL[r]!;
  }

  constantU32(r: number): number {
    return this.kKind[r] === 1 && this.kHi[r] === 0 ? this.kLo[r]! >>> 0 : -1;
  }

  inFrame(r: number, size: number): boolean {
    if (this.kKind[r] !== 2 || !(this.verified || this.env.trustFp)) return false;
    const off = this.kLo[r]!;
    return off >= -STACK_SIZE && off <= -size;
  }

  pushAddress(r: number): void {
    const w = this.w;
    if (this.kKind[r] === 2 && this.f.index === 0 && this.env.fpConst > 0) {
      w.u8(W.i32_const);
      w.s32(this.env.fpConst + this.kLo[r]!);
      return;
    }
    w.u8x2(W.local_get, REG_LOCAL[r]!);
    w.u8(W.i32_wrap_i64);
  }

  func(name: string): number {
    const f = this.env.extraFuncs.get(name);
    if (f === undefined) throw new Error(`jit: internal error: an intrinsic calls function '${name}', which the module does not have`);
    return f;
  }

  emitHelperCall(spillArgs = true): void {
    const w = this.w;
    if (spillArgs) this.spillArgs();
    w.u8(W.i32_const);
    w.s32(this.helperId);
    w.u8(W.i32_const);
    w.s32(this.pc);
    w.u8(W.call);
    w.u32(Imp.helper);
    this.endIfAsked();
  }

  emitReturnR0(): void {
    this.saveBudget();
    this.w.u8x2(W.local_get, L_R0);
    this.w.u8(W.return);
  }

  /** Local budget -> global (before a call or a return), failing first if it is exhausted. */
  private saveBudget(): void {
    if (this.verified) return;
    this.w.u8x2(W.local_get, L_BUDGET);
    this.testBudget(this.pc);
    this.w.u8x2(W.local_get, L_BUDGET);
    this.w.u8x2(W.global_set, Glob.budget);
  }

  /** Global budget -> local (after a call). */
  private loadBudget(): void {
    if (this.verified) return;
    this.w.u8x2(W.global_get, Glob.budget);
    this.w.u8x2(W.local_set, L_BUDGET);
  }

  /** Emit the body (without locals header and final end) of one function. */
  emitFunction(f: FuncCfg, s: Structured): void {
    const w = this.w;
    this.f = f;
    this.s = s;
    this.lblKind.length = 0;
    this.lblBb.length = 0;
    if (!this.verified) {
      w.u8x2(W.global_get, Glob.budget);
      w.u8x2(W.local_set, L_BUDGET);
      this.findSinglePreds(f);
    }
    if (hasMayGoto(this.env.prog, f)) {
      // The kernel's prologue store: this invocation's may_goto budget. (A
      // function entered by running off the end of the previous one, which
      // only unverified programs can do, starts a fresh budget here where
      // the interpreter keeps the frame's; telling them apart takes more
      // than BPF_MAX_LOOPS may_goto, far beyond the default budget.)
      w.u8(W.i32_const);
      w.s32(BPF_MAX_LOOPS);
      w.u8x2(W.local_set, L_LOOPS);
    }
    this.nodes(s.tree);
    // Every path ends in return or a branch; tell the validator the end is unreachable.
    w.u8(W.unreachable);
  }

  // ---- structure -------------------------------------------------------------------------

  private push(kind: Lbl, bb: number): void {
    this.lblKind.push(kind);
    this.lblBb.push(bb);
  }

  private pop(): void {
    this.lblKind.pop();
    this.lblBb.pop();
  }

  private depthOf(kind: Lbl, bb: number): number {
    for (let i = this.lblKind.length - 1; i >= 0; i--) {
      if (this.lblKind[i] === kind && (kind === Lbl.Dispatch || this.lblBb[i] === bb)) return this.lblKind.length - 1 - i;
    }
    throw new Error(`jit: internal error: no enclosing label for ${kind}:${bb} in function ${this.f.index}`);
  }

  private targetDepth(t: Target): number {
    return this.depthOf(t.to === 'loop' ? Lbl.Loop : Lbl.Follow, t.bb);
  }

  /**
   * Emit a list of nodes. The walk keeps its own stack of open lists, not
   * the JS call stack: a long program nests deeply, and recursion would
   * overflow. On leaving a list: 0 = nothing, 1 = `end` (closing its label),
   * 2 = `else` and then the if's else list.
   */
  private nodes(root: readonly SNode[]): void {
    const w = this.w;
    const lists: (readonly SNode[])[] = [root];
    const index: number[] = [0];
    const closers: number[] = [0];
    const elses: (readonly SNode[] | undefined)[] = [undefined];
    while (lists.length > 0) {
      const top = lists.length - 1;
      const list = lists[top]!;
      if (index[top]! >= list.length) {
        const closer = closers[top]!;
        const pendingElse = elses[top];
        lists.pop();
        index.pop();
        closers.pop();
        elses.pop();
        if (closer === 2 && pendingElse !== undefined) {
          w.u8(W.else);
          lists.push(pendingElse);
          index.push(0);
          closers.push(1);
          elses.push(undefined);
        } else if (closer !== 0) {
          this.pop();
          w.u8(W.end);
        }
        continue;
      }
      const n = list[index[top]!++]!;
      let body: readonly SNode[] | undefined;
      let closer = 1;
      let elseList: readonly SNode[] | undefined;
      switch (n.kind) {
        case 'block':
          w.u8x2(W.block, T.void);
          this.push(Lbl.Follow, n.follow);
          body = n.body;
          break;
        case 'loop':
          w.u8x2(W.loop, T.void);
          this.push(Lbl.Loop, n.header);
          body = n.body;
          break;
        case 'if':
          emitCond(this.w, this.env.prog, this.f.blocks[n.bb]!.last, false);
          w.u8x2(W.if, T.void);
          this.push(Lbl.If, -1);
          body = n.then;
          if (n.else.length > 0) {
            closer = 2;
            elseList = n.else;
          }
          break;
        default:
          this.leaf(n);
      }
      if (body !== undefined) {
        lists.push(body);
        index.push(0);
        closers.push(closer);
        elses.push(elseList);
      }
    }
  }

  /** A node without children. */
  private leaf(n: SNode): void {
    const w = this.w;
    switch (n.kind) {
      case 'code':
        this.code(n.bb);
        return;
      case 'brif':
        emitCond(this.w, this.env.prog, this.f.blocks[n.bb]!.last, n.negate);
        w.u8(W.br_if);
        w.u32(this.targetDepth(n.target));
        return;
      case 'br':
        w.u8(W.br);
        w.u32(this.targetDepth(n.target));
        return;
      case 'exit':
        this.pc = this.f.blocks[n.bb]!.last;
        if (this.f.index === 0) this.dumpRegs();
        this.emitReturnR0();
        return;
      case 'falloff':
        this.fallOff();
        return;
      case 'goto': {
        const idx = this.dispatchOrder[n.bb]!;
        w.u8(W.i32_const);
        w.s32(idx);
        w.u8x2(W.local_set, L_LABEL);
        w.u8(W.br);
        w.u32(this.depthOf(Lbl.Dispatch, -1));
        return;
      }
      case 'dispatch':
        this.dispatch(n.order, n.bodies);
        return;
      default:
        throw new Error(`jit: internal error: ${n.kind} is not a leaf`);
    }
  }

  /**
   * loop { block*n { local.get label; br_table 0..n-1 } body0 } body1 ... }:
   * after the k-th `end` comes the code of order[k]; each body ends by
   * setting the label and branching back to the loop.
   */
  private dispatch(order: readonly number[], bodies: readonly (readonly SNode[])[]): void {
    const w = this.w;
    const n = order.length;
    this.dispatchOrder = new Int32Array(this.f.blocks.length).fill(-1);
    order.forEach((b, i) => (this.dispatchOrder[b] = i));
    // The label local starts at 0 = order[0], the entry.
    w.u8x2(W.loop, T.void);
    this.push(Lbl.Dispatch, -1);
    for (let i = 0; i < n; i++) {
      w.u8x2(W.block, T.void);
      this.push(Lbl.Plain, -1);
    }
    w.u8x2(W.local_get, L_LABEL);
    w.u8(W.br_table);
    w.u32(n);
    for (let i = 0; i < n; i++) w.u32(i);
    w.u32(n - 1);
    for (let i = 0; i < n; i++) {
      w.u8(W.end);
      this.pop();
      this.nodes(bodies[i]!);
    }
    this.pop();
    w.u8(W.end);
  }

  /** At the program's exit, if the run asked for the register file (ExecOptions.regsOut), store r0..r10 to the control block. */
  private dumpRegs(): void {
    const w = this.w;
    w.u8x2(W.global_get, Glob.dump);
    w.u8x2(W.if, T.void);
    for (let r = 0; r <= 10; r++) {
      w.u8(W.i32_const);
      w.s32(this.env.ctlBase);
      w.u8x2(W.local_get, REG_LOCAL[r]!);
      w.u8(W.i64_store);
      w.u32(3);
      w.u32(CTL_DUMP + 8 * r);
    }
    w.u8(W.end);
  }

  /**
   * Running off the end of a function continues in the next one, as in the
   * interpreter (whose exit then returns to our caller): a call with all
   * registers, then return. Off the end of the program is an error.
   */
  private fallOff(): void {
    const w = this.w;
    if (this.f.index + 1 < this.env.funcCount) {
      this.saveBudget();
      for (let r = 0; r <= 10; r++) w.u8x2(W.local_get, r);
      w.u8(W.call);
      w.u32(this.env.funcBase + this.f.index + 1);
      w.u8(W.return);
      return;
    }
    this.error(ErrCode.FallOff, this.env.prog.length);
  }

  private error(code: ErrCode, pc: number): void {
    const w = this.w;
    w.u8(W.i32_const);
    w.s32(code);
    w.u8(W.i32_const);
    w.s32(pc);
    w.u8(W.call);
    w.u32(Imp.err);
    w.u8(W.unreachable);
  }

  // ---- straight-line code ------------------------------------------------------------------

  /** The instructions of a block, less a jump or exit terminator; charges the budget first. */
  private code(bb: number): void {
    const b = this.f.blocks[bb]!;
    const prog = this.env.prog;
    if (!this.verified) {
      this.charge(b.insns, b.start, this.s.cycleCut[bb] === 1);
      // A block entered only from one block that is already emitted starts
      // with what was known at that block's end (no call lies in between).
      const p = bb === 0 ? -1 : this.singlePred[bb]!;
      if (p >= 0 && this.snapped[p] === 1) this.restoreRanges(p);
      else this.forgetAll();
    }
    const stop = b.term === Term.Fall || b.term === Term.FallOff ? b.last + 1 : b.last;
    this.kKind.fill(0);
    for (let i = b.start; i < stop; i++) {
      if (prog.op[i]! < 0) continue;
      this.pc = i;
      this.insn(i);
      this.track(i);
      if (!this.verified) this.forgetWrites(i);
    }
    if (!this.verified) this.saveRanges(bb);
  }

  /** singlePred[b] = the only predecessor of b, or -1 (none, or several). */
  private findSinglePreds(f: FuncCfg): void {
    const n = f.blocks.length;
    this.singlePred = new Int32Array(n).fill(-1);
    const count = new Uint8Array(n);
    const add = (from: number, to: number): void => {
      if (to < 0) return;
      if (count[to]! < 2) count[to]!++;
      this.singlePred[to] = count[to] === 1 ? from : -1;
    };
    for (const b of f.blocks) {
      if (b.term === Term.Fall) add(b.id, b.next);
      else if (b.term === Term.Jump) add(b.id, b.taken);
      else if (b.term === Term.Cond) {
        add(b.id, b.taken);
        if (b.next !== b.taken) add(b.id, b.next);
      }
    }
    this.snapped = new Uint8Array(n);
    this.snaps = new Int32Array(n * 44);
  }

  private saveRanges(bb: number): void {
    const at = bb * 44;
    this.snaps.set(this.rLo, at);
    this.snaps.set(this.rHi, at + 11);
    this.snaps.set(this.wLo, at + 22);
    this.snaps.set(this.wHi, at + 33);
    this.snapped[bb] = 1;
  }

  private restoreRanges(bb: number): void {
    const at = bb * 44;
    const snaps = this.snaps;
    for (let r = 0; r < 11; r++) {
      this.rLo[r] = snaps[at + r]!;
      this.rHi[r] = snaps[at + 11 + r]!;
      this.wLo[r] = snaps[at + 22 + r]!;
      this.wHi[r] = snaps[at + 33 + r]!;
    }
  }

  /** After the instruction at i: update the values known at compile time. */
  private track(i: number): void {
    const prog = this.env.prog;
    const op = prog.op[i]!;
    const d = INSNS[op]!;
    const dst = prog.dst[i]!;
    const kind = this.kKind;
    switch (op) {
      case Op.LDDW:
        kind[dst] = 1;
        this.kLo[dst] = prog.imm[i]!;
        this.kHi[dst] = prog.imm64hi[i]!;
        return;
      case Op.MOV64_IMM:
      case Op.MOV32_IMM:
        kind[dst] = 1;
        this.kLo[dst] = prog.imm[i]!;
        this.kHi[dst] = op === Op.MOV64_IMM ? prog.imm[i]! >> 31 : 0;
        return;
      case Op.MOV64_REG: {
        const src = prog.src[i]!;
        if (src === 10) {
          kind[dst] = 2;
          this.kLo[dst] = 0;
        } else {
          kind[dst] = kind[src]!;
          this.kLo[dst] = this.kLo[src]!;
          this.kHi[dst] = this.kHi[src]!;
        }
        return;
      }
      case Op.ADD64_IMM:
        // only frame offsets are followed; keep them small so they stay exact
        if (kind[dst] === 2 && Math.abs(this.kLo[dst]! + prog.imm[i]!) < 1 << 20) this.kLo[dst] = this.kLo[dst]! + prog.imm[i]!;
        else kind[dst] = 0;
        return;
      default:
    }
    if (writesDst(d.shape)) kind[dst] = 0;
    else if (d.shape === Shape.Atomic) {
      const a = d.discr!.value;
      if (a === AtomicOp.CMPXCHG) kind[0] = 0;
      else if (a === AtomicOp.XCHG || (a & AtomicOp.FETCH) !== 0) kind[prog.src[i]!] = 0;
    } else if (d.shape === Shape.Call || d.shape === Shape.Callx || d.shape === Shape.CallLocal || d.shape === Shape.LdAbs || d.shape === Shape.LdInd) {
      // r0 is the result; r1..r5 are scratch after a call
      for (let r = 0; r <= 5; r++) kind[r] = 0;
    }
  }

  // ---- checked ranges (unverified mode) ---------------------------------------------------
  // Between calls the mapping of memory cannot change, so once
  // [reg + lo, reg + hi) has passed the check it stays valid until reg is
  // written, and later accesses inside it skip the check. The knowledge
  // lives through a block, and into a successor that has no other
  // predecessor.

  private forgetAll(): void {
    this.rHi.fill(0);
    this.rLo.fill(0);
    this.wHi.fill(0);
    this.wLo.fill(0);
  }

  private forget(reg: number): void {
    this.rLo[reg] = this.rHi[reg] = this.wLo[reg] = this.wHi[reg] = 0;
  }

  /** After the instruction at i: drop what it may have changed. */
  private forgetWrites(i: number): void {
    const prog = this.env.prog;
    const d = INSNS[prog.op[i]!]!;
    if (writesDst(d.shape)) this.forget(prog.dst[i]!);
    else if (d.shape === Shape.Atomic) {
      const op = d.discr!.value;
      if (op === AtomicOp.CMPXCHG) this.forget(0);
      else if (op === AtomicOp.XCHG || (op & AtomicOp.FETCH) !== 0) this.forget(prog.src[i]!);
    } else if (d.shape === Shape.Call || d.shape === Shape.Callx || d.shape === Shape.CallLocal || d.shape === Shape.LdAbs || d.shape === Shape.LdInd) {
      // r0 changes, and a helper may map or unmap memory
      this.forgetAll();
    }
  }

  /** Is [off, off + size) relative to reg inside a range already checked for this direction? */
  private covered(reg: number, off: number, size: number, write: boolean): boolean {
    const lo = write ? this.wLo : this.rLo;
    const hi = write ? this.wHi : this.rHi;
    return hi[reg]! > lo[reg]! && off >= lo[reg]! && off + size <= hi[reg]!;
  }

  /** Record a passed check; extend the range when the new one touches it, else replace it. */
  private remember(reg: number, off: number, size: number, write: boolean): void {
    const lo = write ? this.wLo : this.rLo;
    const hi = write ? this.wHi : this.rHi;
    const end = off + size;
    if (hi[reg]! > lo[reg]! && off <= hi[reg]! && end >= lo[reg]!) {
      lo[reg] = Math.min(lo[reg]!, off);
      hi[reg] = Math.max(hi[reg]!, end);
    } else {
      lo[reg] = off;
      hi[reg] = end;
    }
  }

  /**
   * budget -= n. The counter is tested only where cycles are cut (loop
   * headers) and before calls and returns: a straight run of blocks is
   * bounded by the function's size, so a runaway loop still stops at its
   * header, and a run that went over budget fails at the latest when it
   * returns, so the instruction count stays exact. A negative counter asks
   * the `budget` import, which throws or adds the next chunk of a large budget.
   */
  private charge(n: number, pc: number, test: boolean): void {
    const w = this.w;
    w.u8x2(W.local_get, L_BUDGET);
    w.u8(W.i32_const);
    w.s32(n);
    w.u8(W.i32_sub);
    if (!test) {
      w.u8x2(W.local_set, L_BUDGET);
      return;
    }
    w.u8x2(W.local_tee, L_BUDGET);
    this.testBudget(pc);
  }

  /** With the counter on the stack: if it is negative, call the `budget` import. */
  private testBudget(pc: number): void {
    const w = this.w;
    w.u8x2(W.i32_const, 0);
    w.u8(W.i32_lt_s);
    w.u8x2(W.if, T.void);
    w.u8(W.i32_const);
    w.s32(pc);
    w.u8x2(W.local_get, L_BUDGET);
    w.u8(W.call);
    w.u32(Imp.budget);
    w.u8x2(W.local_set, L_BUDGET);
    w.u8(W.end);
  }

  /** One non-terminator instruction. */
  private insn(i: number): void {
    const prog = this.env.prog;
    const d = INSNS[prog.op[i]!]!;
    const w = this.w;
    const dst = REG_LOCAL[prog.dst[i]!]!;
    switch (d.shape) {
      case Shape.AluImm:
      case Shape.AluReg:
        emitAlu(w, prog, i, dst);
        return;
      case Shape.Neg:
        emitNeg(w, d.width, dst);
        return;
      case Shape.MovSx:
        emitMovSx(w, d, REG_LOCAL[prog.src[i]!]!, dst);
        return;
      case Shape.Endian:
        emitEndian(w, d.endian!, d.width, dst);
        return;
      case Shape.Load:
      case Shape.LoadSx: {
        const size = d.width / 8;
        const arena = this.arenaAt(i);
        if (arena !== undefined) {
          openArenaAccess(w, arena, REG_LOCAL[prog.src[i]!]!, prog.off[i]!, size, 'load');
          w.u8((d.shape === Shape.Load ? LOAD_U : LOAD_S)[d.width]!);
          w.u32(LOG2[d.width]!);
          w.u32(0);
          closeArenaAccess(w, 'load');
          w.u8x2(W.local_set, dst);
          return;
        }
        const offset = this.address(REG_LOCAL[prog.src[i]!]!, prog.off[i]!, size, 0, i);
        w.u8((d.shape === Shape.Load ? LOAD_U : LOAD_S)[d.width]!);
        w.u32(LOG2[d.width]!);
        w.u32(offset);
        w.u8x2(W.local_set, dst);
        return;
      }
      case Shape.Store:
      case Shape.StoreReg: {
        const size = d.width / 8;
        const arena = this.arenaAt(i);
        if (arena !== undefined) openArenaAccess(w, arena, dst, prog.off[i]!, size, 'store');
        const offset = arena !== undefined ? 0 : this.address(dst, prog.off[i]!, size, INFO_WRITE, i);
        if (d.shape === Shape.Store) {
          w.u8(W.i64_const);
          w.s32(prog.imm[i]!);
        } else w.u8x2(W.local_get, REG_LOCAL[prog.src[i]!]!);
        w.u8(STORE[d.width]!);
        w.u32(LOG2[d.width]!);
        w.u32(offset);
        if (arena !== undefined) closeArenaAccess(w, 'store');
        return;
      }
      case Shape.Atomic:
        this.atomic(i, d.width, d.discr!.value, dst);
        return;
      case Shape.Lddw:
        if (d.discr!.value !== 0) {
          // map fds, map values, BTF ids and functions must be resolved by the loader into plain lddw.
          this.error(ErrCode.LddwPseudo, i);
          return;
        }
        w.u8(W.i64_const);
        w.s64(prog.imm[i]!, prog.imm64hi[i]!);
        w.u8x2(W.local_set, dst);
        return;
      case Shape.Call:
        this.helperCall(i, prog.imm[i]!);
        return;
      case Shape.CallLocal:
        this.localCall(i);
        return;
      case Shape.LdAbs:
      case Shape.LdInd:
        this.packetLoad(i, d.shape === Shape.LdInd);
        return;
      case Shape.Callx:
        this.callx(i);
        return;
      case Shape.CallKfunc:
        this.error(ErrCode.Kfunc, i);
        return;
      case Shape.AddrSpaceCast:
        // both directions keep the low 32 bits (see the table row)
        w.u8x2(W.local_get, REG_LOCAL[prog.src[i]!]!);
        w.u8(W.i32_wrap_i64);
        w.u8(W.i64_extend_i32_u);
        w.u8x2(W.local_set, dst);
        return;
      case Shape.MayGoto:
      case Shape.Ja:
      case Shape.Ja32:
      case Shape.JmpImm:
      case Shape.JmpReg:
      case Shape.Exit:
        throw new Error(`jit: internal error: terminator ${d.name} at ${i} inside a block`);
      default: {
        const never: never = d.shape;
        throw new Error(`jit: unhandled shape ${String(never)}`);
      }
    }
  }

  /**
   * Push the i32 address of `size` bytes at base+off and return the memarg
   * offset to use. Unverified: a call to the check function for this size
   * and direction, which returns the address or throws a MemoryFault.
   * Verified: the low 32 bits of base, with a non-negative offset folded
   * into the memarg.
   */
  private address(base: number, off: number, size: number, info: number, pc: number): number {
    const w = this.w;
    const atomic = (info & INFO_ATOMIC) !== 0;
    const write = (info & INFO_WRITE) !== 0;
    const inFrame = this.env.trustFp && base === L_R10 && off >= -STACK_SIZE && off <= -size && !atomic;
    if (base === L_R10 && this.f.index === 0 && this.env.fpConst > 0 && (this.verified || inFrame)) {
      // r10 of the outermost frame is a constant: a constant address lets V8 fold it
      w.u8(W.i32_const);
      w.s32(this.env.fpConst + off);
      return 0;
    }
    w.u8x2(W.local_get, base);
    if (!this.verified && !inFrame && (atomic || !this.covered(base, off, size, write))) {
      this.checkedAddress(off, size, info, pc);
      this.remember(base, off, size, write);
      return 0;
    }
    w.u8(W.i32_wrap_i64);
    if (off >= 0) return off;
    w.u8(W.i32_const);
    w.s32(off);
    w.u8(W.i32_add);
    return 0;
  }

  /**
   * The inline fast path of RuntimeMemory.check, with the base register on
   * the stack: ea = base + off; a = ea if ea <= maxBytes - 8, else 0 (whose
   * shadow byte is 0, so the access takes the slow path). Anything but the
   * fast case calls the check function, which does the full test (both
   * granules, the region list for partial ones) or throws the fault.
   * Leaves the i32 address on the stack.
   */
  private checkedAddress(off: number, size: number, info: number, pc: number): void {
    const w = this.w;
    const need = (info & INFO_ATOMIC) !== 0 ? 3 : (info & INFO_WRITE) !== 0 ? 2 : 1;
    pushClampedAddress(w, off, 0, this.env.maxBytes - 8);
    pushShadowByte(w, 0);
    // Fast when the access stays inside one granule whose shadow byte grants
    // it fully: (s & (need | partial)) == need. An access that crosses into
    // the next granule (unaligned) takes the check function, which tests both.
    w.u8(W.i32_const);
    w.s32(need | 0x80);
    w.u8(W.i32_and);
    w.u8x2(W.i32_const, need);
    w.u8(W.i32_ne);
    if (size > 1) {
      w.u8x2(W.local_get, L_A0);
      if ((info & INFO_ATOMIC) !== 0) {
        // atomics must be aligned, which also keeps them inside one granule
        w.u8x2(W.i32_const, size - 1);
        w.u8(W.i32_and);
      } else {
        w.u8x2(W.i32_const, 7);
        w.u8(W.i32_and);
        w.u8x2(W.i32_const, 8 - size);
        w.u8(W.i32_gt_u);
      }
      w.u8(W.i32_or);
    }
    w.u8x2(W.if, T.void);
    w.u8x2(W.local_get, L_T0);
    w.u8(W.i32_const);
    w.s32(pc);
    w.u8(W.call);
    w.u32(this.env.checkBase + checkIndex(size, info));
    w.u8(W.drop);
    w.u8(W.end);
    w.u8x2(W.local_get, L_A0);
  }

  private atomic(i: number, width: number, op: number, dst: number): void {
    const w = this.w;
    const prog = this.env.prog;
    const size = width / 8;
    const src = REG_LOCAL[prog.src[i]!]!;
    const arena = this.arenaAt(i);
    if (arena !== undefined) openArenaAccess(w, arena, dst, prog.off[i]!, size, 'atomic');
    const offset = arena !== undefined ? 0 : this.address(dst, prog.off[i]!, size, INFO_WRITE | INFO_ATOMIC, i);
    const variant = width === 64 ? WA.i64_full : WA.i64_32u;
    let sub: number;
    let result: number; // local that receives the old value, or -1
    if (op === AtomicOp.CMPXCHG) {
      w.u8x2(W.local_get, L_R0);
      w.u8x2(W.local_get, src);
      sub = WA.rmw_cmpxchg + variant;
      result = L_R0;
    } else if (op === AtomicOp.XCHG) {
      w.u8x2(W.local_get, src);
      sub = WA.rmw_xchg + variant;
      result = src;
    } else {
      w.u8x2(W.local_get, src);
      sub = RMW_BASE[op & ~AtomicOp.FETCH]! + variant;
      result = (op & AtomicOp.FETCH) !== 0 ? src : -1;
    }
    w.u8(W.atomic_prefix);
    w.u32(sub);
    w.u32(LOG2[width]!);
    w.u32(offset);
    if (result < 0) w.u8(W.drop);
    else w.u8x2(W.local_set, result);
    if (arena !== undefined) closeArenaAccess(w, 'atomic');
  }

  /** The arena, when the access at i goes through an arena pointer (the verifier's mark). */
  private arenaAt(i: number): ArenaAccess | undefined {
    const a = this.env.arena;
    return a !== undefined && (a.marks[i]! & ArenaMark.ACCESS) !== 0 ? a : undefined;
  }

  private helperCall(i: number, id: number): void {
    this.pc = i;
    this.helperId = id;
    const intrinsic = this.env.intrinsics.get(id);
    if (intrinsic !== undefined) intrinsic(this);
    else this.emitHelperCall();
  }

  /**
   * After a helper (i32 result on the stack): r0 from the register block,
   * and if the helper asked to end the program (a tail call that ran its
   * target, for instance), set the abort flag and return r0 at once.
   */
  private endIfAsked(): void {
    const w = this.w;
    this.loadR0();
    w.u8x2(W.if, T.void);
    w.u8x2(W.i32_const, 1);
    w.u8x2(W.global_set, Glob.abort);
    w.u8x2(W.local_get, L_R0);
    w.u8(W.return);
    w.u8(W.end);
  }

  /** r1..r5 -> the register block, where the JS side reads them as int32 halves. */
  private spillArgs(): void {
    const w = this.w;
    for (let r = 1; r <= 5; r++) {
      w.u8(W.i32_const);
      w.s32(this.env.ctlBase);
      w.u8x2(W.local_get, REG_LOCAL[r]!);
      w.u8(W.i64_store);
      w.u32(3);
      w.u32(CTL_REGS + 8 * r);
    }
  }

  /** r0 <- the register block. */
  private loadR0(): void {
    const w = this.w;
    w.u8(W.i32_const);
    w.s32(this.env.ctlBase);
    w.u8(W.i64_load);
    w.u32(3);
    w.u32(CTL_REGS);
    w.u8x2(W.local_set, L_R0);
  }

  /** callx: the helper id is in dst; the JS side checks it (both halves) and dispatches. */
  private callx(i: number): void {
    const w = this.w;
    const dst = REG_LOCAL[this.env.prog.dst[i]!]!;
    this.spillArgs();
    w.u8x2(W.local_get, dst);
    w.u8(W.i32_wrap_i64);
    w.u8x2(W.local_get, dst);
    w.u8x2(W.i64_const, 32);
    w.u8(W.i64_shr_u);
    w.u8(W.i32_wrap_i64);
    w.u8(W.i32_const);
    w.s32(i);
    w.u8(W.call);
    w.u32(Imp.callx);
    this.endIfAsked();
  }

  /**
   * LD_ABS / LD_IND: the `pkt` import reads the big-endian bytes (it knows
   * the packet) into r0's slot and returns 0, or returns 1 when the access is
   * outside the packet, which ends the whole program with r0 = 0.
   */
  private packetLoad(i: number, indirect: boolean): void {
    const w = this.w;
    const prog = this.env.prog;
    w.u8(W.i32_const);
    w.s32(i);
    if (indirect) {
      w.u8x2(W.local_get, REG_LOCAL[prog.src[i]!]!);
      w.u8(W.i32_wrap_i64);
      w.u8(W.i32_const);
      w.s32(prog.imm[i]!);
      w.u8(W.i32_add);
    } else {
      w.u8(W.i32_const);
      w.s32(prog.imm[i]!);
    }
    w.u8x2(W.local_get, REG_LOCAL[6]!);
    w.u8(W.i32_wrap_i64);
    w.u8x2(W.local_get, REG_LOCAL[6]!);
    w.u8x2(W.i64_const, 32);
    w.u8(W.i64_shr_u);
    w.u8(W.i32_wrap_i64);
    w.u8(W.call);
    w.u32(Imp.pkt);
    w.u8x2(W.if, T.void);
    w.u8x2(W.i64_const, 0);
    w.u8x2(W.local_set, L_R0);
    if (this.f.index === 0) this.dumpRegs();
    w.u8x2(W.i32_const, 1);
    w.u8x2(W.global_set, Glob.abort);
    w.u8x2(W.local_get, L_R0);
    w.u8(W.return);
    w.u8(W.end);
    this.loadR0();
  }

  private localCall(i: number): void {
    const w = this.w;
    const prog = this.env.prog;
    const target = i + 1 + prog.imm[i]!;
    const fn = this.env.funcAt.get(target)!;
    if (!this.verified) {
      // the callee's frame must exist: depth + 1 < MAX_CALL_FRAMES
      w.u8x2(W.global_get, Glob.depth);
      w.u8(W.i32_const);
      w.s32(MAX_CALL_FRAMES - 1);
      w.u8(W.i32_ge_u);
      w.u8x2(W.if, T.void);
      this.error(ErrCode.CallDepth, i);
      w.u8(W.end);
      this.bumpDepth(W.i32_add);
    }
    for (let r = 0; r < 10; r++) w.u8x2(W.local_get, REG_LOCAL[r]!);
    w.u8x2(W.local_get, L_R10);
    w.u8(W.i64_const);
    w.s32(STACK_SIZE);
    w.u8(W.i64_sub);
    this.saveBudget();
    w.u8(W.call);
    w.u32(this.env.funcBase + fn);
    w.u8x2(W.local_set, L_R0);
    this.loadBudget();
    if (!this.verified) this.bumpDepth(W.i32_sub);
    if (this.env.canAbort) {
      // the callee ended the whole program: pass its r0 up
      w.u8x2(W.global_get, Glob.abort);
      w.u8x2(W.if, T.void);
      w.u8x2(W.local_get, L_R0);
      w.u8(W.return);
      w.u8(W.end);
    }
  }

  private bumpDepth(op: W): void {
    const w = this.w;
    w.u8x2(W.global_get, Glob.depth);
    w.u8x2(W.i32_const, 1);
    w.u8(op);
    w.u8x2(W.global_set, Glob.depth);
  }
}

/** Does the function have a may_goto (and so a loop budget to set up)? */
function hasMayGoto(prog: Program, f: FuncCfg): boolean {
  for (let i = f.start; i < f.end; i++) {
    const op = prog.op[i]!;
    if (op >= 0 && INSNS[op]!.shape === Shape.MayGoto) return true;
  }
  return false;
}
