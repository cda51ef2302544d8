// Random well-formed eBPF programs from a seed, for differential testing of
// the engines (and later the verifier). Every instruction comes from the ISA
// table's rows; the generator only decides operands and control flow.
//
// Register discipline (so that every run is deterministic and the engines
// may differ only where eBPF leaves behaviour unspecified):
//   r6      base of the input memory region (r1 at entry), never written
//   r9      loop counter, written only by loop headers and latches
//   r10     frame pointer, never written
//   r7      a pointer derived from r6, rewritten on some paths only
//   r0..r5, r8  free; r1..r5 are re-initialised after every call, as
//           the calling convention makes them scratch
// Programs contain ALU 32/64 (all ops), lddw, loads/stores on the input
// region and the stack (a few deliberately out of bounds), atomics, forward
// jumps, dead code, bounded loops, loops with two entries (irreducible),
// bpf-to-bpf calls (occasionally unbounded recursion), helper calls, and
// rarely a runaway loop. may_goto guards loops and skips code (its budget of
// BPF_MAX_LOOPS is never spent within the fuzz instruction budget, so the
// taken edge is left to the semantics table), and addr_space_cast converts
// values and the derived pointer. Given maps (GenOptions.maps), programs also call
// map_lookup/update/delete_elem on them and use the values (gen-maps.ts).

import { AtomicOp, Field, type RawInsn } from '../../isa/fields.js';
import { INSNS, Op, Shape, type InsnDef } from '../../isa/table.js';
import { MapCallGen, type FuzzMap } from './gen-maps.js';
import { Prng } from './prng.js';

/** Helper ids the fuzz programs call; see fuzzHelpers in diff.ts. */
export const FUZZ_HELPER_MIX = 0x7001;
export const FUZZ_HELPER_UNKNOWN = 0x7fff;

export interface GenOptions {
  /** Size of the input memory region r1 points to (default 64). */
  memSize?: number;
  /** Maximum number of bpf-to-bpf subprograms (default 3). */
  maxFuncs?: number;
  /** Probability that a memory access is deliberately out of bounds (default 0.005). */
  oobRate?: number;
  /** Maps the program may call map helpers on (their descriptors must exist when it runs). */
  maps?: readonly FuzzMap[];
}

export interface FuzzProgram {
  readonly seed: number;
  readonly slots: readonly RawInsn[];
  readonly memSize: number;
  /** Initial contents of the input region. */
  readonly mem: Uint8Array;
  /**
   * The program passes a map helper something a verifier would refuse (a
   * bad key or value pointer, a non-map r1): engines in verified mode may
   * then legitimately differ, so only unverified runs are compared.
   */
  readonly wild: boolean;
}

export const FREE_REGS = [0, 1, 2, 3, 4, 5, 8] as const;
/** A derived pointer into the input region, set only by 'ptr' chunks (and the prologue). */
const PTR_REG = 7;
export const SRC_REGS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] as const;
export const MEM_BASE = 6;
export const LOOP_REG = 9;

const rowsOf = (pred: (d: InsnDef) => boolean): InsnDef[] => INSNS.filter(pred);
const ALU_ROWS = rowsOf((d) => d.shape === Shape.AluImm || d.shape === Shape.AluReg || d.shape === Shape.Neg || d.shape === Shape.Endian || d.shape === Shape.MovSx);
export const LOAD_ROWS = rowsOf((d) => d.shape === Shape.Load || d.shape === Shape.LoadSx);
export const STORE_ROWS = rowsOf((d) => d.shape === Shape.Store || d.shape === Shape.StoreReg);
export const ATOMIC_ROWS = rowsOf((d) => d.shape === Shape.Atomic);
const COND_ROWS = rowsOf((d) => d.shape === Shape.JmpImm || d.shape === Shape.JmpReg);
const MAY_GOTO = INSNS[Op.MAY_GOTO]!;
const CAST = INSNS[Op.ADDR_SPACE_CAST]!;

/** Immediates that hit the edge cases: zero, -1, sign boundaries, shift widths. */
const EDGE_IMMS = [0, 1, -1, 2, 3, 7, 8, 15, 16, 31, 32, 33, 63, 64, 0x7fffffff, -0x80000000, 0xffff, 0xff, -2, 0x80];

interface Fixup {
  at: number;
  label: number;
  /** 'off' for jumps, 'imm' for gotol and local calls. */
  field: 'off' | 'imm';
}

/** A tiny assembler with forward/backward labels. */
export class Asm {
  readonly slots: RawInsn[] = [];
  private readonly labels: number[] = [];
  private readonly fixups: Fixup[] = [];

  label(): number {
    this.labels.push(-1);
    return this.labels.length - 1;
  }

  bind(l: number): void {
    this.labels[l] = this.slots.length;
  }

  /** Append one instruction of `def`, filling its discriminator. */
  insn(def: InsnDef, f: Partial<RawInsn> = {}): number {
    const s: RawInsn = { opcode: def.opcode, dst: f.dst ?? 0, src: f.src ?? 0, off: f.off ?? 0, imm: f.imm ?? 0 };
    // fields the row does not use must be zero
    if (def.zero & Field.DST) s.dst = 0;
    if (def.zero & Field.SRC) s.src = 0;
    if (def.zero & Field.OFF) s.off = 0;
    if (def.zero & Field.IMM) s.imm = 0;
    if (def.discr) s[def.discr.field] = def.discr.value;
    const at = this.slots.length;
    this.slots.push(s);
    if (def.slots === 2) this.slots.push({ opcode: 0, dst: 0, src: 0, off: 0, imm: 0 });
    return at;
  }

  ref(at: number, label: number, field: 'off' | 'imm'): void {
    this.fixups.push({ at, label, field });
  }

  resolve(): RawInsn[] {
    for (const f of this.fixups) {
      const target = this.labels[f.label]!;
      if (target < 0) throw new Error(`fuzz: unbound label ${f.label}`);
      this.slots[f.at]![f.field] = target - (f.at + 1);
    }
    return this.slots;
  }
}

class Generator {
  readonly r: Prng;
  readonly a = new Asm();
  readonly memSize: number;
  private readonly oobRate: number;
  private readonly funcLabels: number[] = [];
  /** Index of the function being generated (0 = main). */
  private fn = 0;
  private budget = 0;
  /** Emits map helper calls; undefined when the program has no maps. */
  readonly mapCalls: MapCallGen | undefined;

  constructor(seed: number, options: GenOptions) {
    this.r = new Prng(seed);
    this.memSize = options.memSize ?? 64;
    this.oobRate = options.oobRate ?? 0.005;
    const maps = options.maps ?? [];
    this.mapCalls = maps.length > 0 ? new MapCallGen(this, maps) : undefined;
    const nFuncs = this.r.int((options.maxFuncs ?? 3) + 1);
    for (let k = 0; k <= nFuncs; k++) this.funcLabels.push(this.a.label());
  }

  generate(): RawInsn[] {
    const a = this.a;
    const r = this.r;
    for (let k = 0; k < this.funcLabels.length; k++) {
      this.fn = k;
      a.bind(this.funcLabels[k]!);
      if (k === 0) a.insn(INSNS[Op.MOV64_REG]!, { dst: MEM_BASE, src: 1 });
      // give every free register a value (the engines agree on zeros too, but values make ALU ops interesting)
      for (const reg of FREE_REGS) if (reg !== 1 && r.chance(0.7)) this.setConst(reg);
      if (k === 0) {
        a.insn(INSNS[Op.MOV64_IMM]!, { dst: LOOP_REG, imm: r.range(0, 5) });
        this.setPtr();
      }
      this.budget = r.range(8, k === 0 ? 40 : 20);
      this.chunks(this.budget, false);
      // fold a few registers into r0 so the result depends on them
      for (let i = 0; i < 3; i++) a.insn(INSNS[r.pick([Op.XOR64_REG, Op.ADD64_REG, Op.SUB64_REG])]!, { dst: 0, src: r.pick(FREE_REGS) });
      a.insn(INSNS[Op.EXIT]!);
    }
    return a.resolve();
  }

  /** r7 = r6 + k, k in the first half of the input region. */
  private setPtr(): void {
    this.a.insn(INSNS[Op.MOV64_REG]!, { dst: PTR_REG, src: MEM_BASE });
    this.a.insn(INSNS[Op.ADD64_IMM]!, { dst: PTR_REG, imm: this.r.int(this.memSize >> 1) });
  }

  imm(): number {
    const r = this.r;
    return r.chance(0.5) ? r.pick(EDGE_IMMS) : r.chance(0.5) ? r.range(-100, 100) : r.next() | 0;
  }

  private setConst(reg: number): void {
    const r = this.r;
    if (r.chance(0.3)) {
      const at = this.a.insn(INSNS[Op.LDDW]!, { dst: reg, imm: this.imm() });
      this.a.slots[at + 1]!.imm = this.imm();
    } else this.a.insn(INSNS[r.chance(0.5) ? Op.MOV64_IMM : Op.MOV32_IMM]!, { dst: reg, imm: this.imm() });
  }

  private chunks(n: number, inLoop: boolean): void {
    for (let i = 0; i < n; i++) this.chunk(inLoop);
  }

  private chunk(inLoop: boolean): void {
    const r = this.r;
    const kind = r.weighted<string>([
      [40, 'alu'],
      [3, 'lddw'],
      [4, 'ptr'],
      [10, 'load'],
      [10, 'store'],
      [5, 'atomic'],
      [9, 'skip'],
      [2, 'dead'],
      [inLoop ? 0 : 4, 'loop'],
      [inLoop ? 0 : 1, 'irreducible'],
      [this.fn + 1 < this.funcLabels.length ? 4 : 0, 'call'],
      [3, 'helper'],
      // (not in main: re-running its prologue would move r6, the memory base, and misalign atomics)
      [this.fn > 0 ? 0.15 : 0, 'recurse'],
      [0.05, 'badhelper'],
      [0.03, 'spin'],
      // (last, and weight 0 without maps: programs without maps stay what they were for each seed)
      [this.mapCalls !== undefined ? 14 : 0, 'map'],
      [inLoop ? 0 : 3, 'maygoto-loop'],
      [2, 'maygoto-skip'],
      [0.03, 'maygoto-spin'],
      [3, 'cast'],
    ]);
    const a = this.a;
    switch (kind) {
      case 'alu':
        this.alu();
        return;
      case 'lddw':
        this.setConst(r.pick(FREE_REGS));
        return;
      case 'ptr':
        this.setPtr();
        return;
      case 'load': {
        const d = r.pick(LOAD_ROWS);
        const [base, off] = this.address(d.width / 8, false);
        a.insn(d, { dst: r.pick(FREE_REGS), src: base, off });
        return;
      }
      case 'store': {
        const d = r.pick(STORE_ROWS);
        const [base, off] = this.address(d.width / 8, false);
        a.insn(d, { dst: base, src: r.pick(SRC_REGS), off, imm: this.imm() });
        return;
      }
      case 'atomic': {
        const d = r.pick(ATOMIC_ROWS);
        const [base, off] = this.address(d.width / 8, true);
        // the fetch forms and xchg write their src register: keep it a free one
        const op = d.discr!.value;
        const writesSrc = op === AtomicOp.XCHG || (op & AtomicOp.FETCH) !== 0;
        a.insn(d, { dst: base, src: writesSrc && op !== AtomicOp.CMPXCHG ? r.pick(FREE_REGS) : r.pick(SRC_REGS), off });
        return;
      }
      case 'skip': {
        const l = a.label();
        this.condJump(l);
        this.chunks(r.range(1, 3), inLoop);
        a.bind(l);
        return;
      }
      case 'dead': {
        const l = a.label();
        if (r.chance(0.5)) a.ref(a.insn(INSNS[Op.JA]!), l, 'off');
        else a.ref(a.insn(INSNS[Op.JA32]!), l, 'imm');
        this.chunks(r.range(1, 2), inLoop);
        a.bind(l);
        return;
      }
      case 'loop': {
        a.insn(INSNS[Op.MOV64_IMM]!, { dst: LOOP_REG, imm: r.range(1, 6) });
        const top = a.label();
        a.bind(top);
        this.chunks(r.range(1, 4), true);
        this.latch(top);
        return;
      }
      case 'irreducible': {
        // mov r9, N; if c goto mid; top: A; mid: B; r9 -= 1; if r9 != 0 goto top
        a.insn(INSNS[Op.MOV64_IMM]!, { dst: LOOP_REG, imm: r.range(1, 5) });
        const top = a.label();
        const mid = a.label();
        this.condJump(mid);
        a.bind(top);
        this.chunks(r.range(1, 2), true);
        a.bind(mid);
        this.chunks(r.range(1, 2), true);
        this.latch(top);
        return;
      }
      case 'call': {
        const target = r.range(this.fn + 1, this.funcLabels.length - 1);
        a.ref(a.insn(INSNS[Op.CALL_LOCAL]!), this.funcLabels[target]!, 'imm');
        this.clobberArgs();
        return;
      }
      case 'recurse':
        // unbounded recursion: both engines must stop at the call-depth limit
        a.ref(a.insn(INSNS[Op.CALL_LOCAL]!), this.funcLabels[this.fn]!, 'imm');
        this.clobberArgs();
        return;
      case 'spin':
        // a runaway loop: both engines must stop it with BudgetExceeded
        a.insn(INSNS[Op.JA]!, { off: -1 });
        return;
      case 'map':
        this.mapCalls!.emit();
        return;
      case 'maygoto-loop': {
        // mov r9, N; top: may_goto out; body; r9 -= 1; if r9 != 0 goto top; out:
        a.insn(INSNS[Op.MOV64_IMM]!, { dst: LOOP_REG, imm: r.range(1, 6) });
        const top = a.label();
        const out = a.label();
        a.bind(top);
        a.ref(a.insn(MAY_GOTO), out, 'off');
        this.chunks(r.range(1, 3), true);
        this.latch(top);
        a.bind(out);
        return;
      }
      case 'maygoto-skip': {
        // falls through (the budget is not spent), so the skipped code runs
        const l = a.label();
        a.ref(a.insn(MAY_GOTO), l, 'off');
        this.chunks(r.range(1, 2), inLoop);
        a.bind(l);
        return;
      }
      case 'maygoto-spin': {
        // the kernel's open-coded loop without a bound: the instruction budget stops it first
        const top = a.label();
        const out = a.label();
        a.bind(top);
        a.ref(a.insn(MAY_GOTO), out, 'off');
        a.ref(a.insn(INSNS[Op.JA]!), top, 'off');
        a.bind(out);
        return;
      }
      case 'cast': {
        // either direction keeps the low 32 bits: the derived pointer stays a pointer
        const imm = r.pick(CAST.imms!);
        if (r.chance(0.4)) a.insn(CAST, { dst: PTR_REG, src: PTR_REG, imm });
        else a.insn(CAST, { dst: r.pick(FREE_REGS), src: r.pick(SRC_REGS), imm });
        return;
      }
      case 'helper':
      case 'badhelper':
        a.insn(INSNS[Op.CALL]!, { imm: kind === 'helper' ? FUZZ_HELPER_MIX : FUZZ_HELPER_UNKNOWN });
        this.clobberArgs();
        return;
    }
  }

  /** r9 -= 1; if r9 != 0 goto top (64- or 32-bit compare). */
  private latch(top: number): void {
    const a = this.a;
    a.insn(INSNS[Op.SUB64_IMM]!, { dst: LOOP_REG, imm: 1 });
    a.ref(a.insn(INSNS[this.r.chance(0.5) ? Op.JNE64_IMM : Op.JNE32_IMM]!, { dst: LOOP_REG, imm: 0 }), top, 'off');
  }

  condJump(label: number): void {
    const r = this.r;
    const d = r.pick(COND_ROWS);
    const at = this.a.insn(d, { dst: r.pick(SRC_REGS), src: r.pick(SRC_REGS), imm: this.imm() });
    this.a.ref(at, label, 'off');
  }

  /** After a call, r1..r5 are scratch: give them fresh constants so nothing depends on them. */
  clobberArgs(): void {
    for (let reg = 1; reg <= 5; reg++) this.a.insn(INSNS[Op.MOV64_IMM]!, { dst: reg, imm: this.imm() });
  }

  private alu(): void {
    const r = this.r;
    const d = r.pick(ALU_ROWS);
    const dst = r.pick(FREE_REGS);
    const src = r.pick(SRC_REGS);
    let imm = this.imm();
    // keep shift counts in range so results are defined (both engines mask, but the RFC leaves larger counts undefined)
    const shift = d.alu === 'lsh' || d.alu === 'rsh' || d.alu === 'arsh';
    if (shift) imm = r.int(d.width);
    if (d.shape === Shape.AluReg && shift) {
      // shifting by a register: mask it first so the count is in range
      this.a.insn(INSNS[Op.AND64_IMM]!, { dst: src === 6 || src === 9 || src === 10 ? 0 : src, imm: d.width - 1 });
      this.a.insn(d, { dst, src: src === 6 || src === 9 || src === 10 ? 0 : src });
      return;
    }
    this.a.insn(d, { dst, src, imm });
  }

  /** [base register, offset] for an access of `size` bytes; atomics are aligned. */
  private address(size: number, aligned: boolean): [number, number] {
    const r = this.r;
    if (!aligned && r.chance(0.15)) {
      // through the derived pointer r7 (see 'ptr'): it differs between paths
      // and is often something else, so these accesses test the checks
      // that engines may skip when a range is known to be mapped
      const half = this.memSize >> 1;
      return [PTR_REG, r.range(-2, half - size + 2)];
    }
    const stack = r.chance(0.4);
    const align = aligned ? size : r.chance(0.7) ? size : 1;
    if (r.chance(this.oobRate)) {
      // just past either end
      // (aligned for atomics: a misaligned atomic faults in the JIT, as Wasm requires alignment, while the interpreter performs it)
      if (aligned) return stack ? [10, r.pick([0, 8, -520])] : [MEM_BASE, r.pick([this.memSize, this.memSize + 8, -8])];
      return stack ? [10, r.pick([0, 8, -520, -513 - size])] : [MEM_BASE, r.pick([this.memSize, this.memSize + 8, -8, -1 - size])];
    }
    if (stack) {
      const slots = Math.floor((512 - size) / align);
      return [10, -size - align * r.int(slots + 1)];
    }
    const slots = Math.floor((this.memSize - size) / align);
    return [MEM_BASE, align * r.int(slots + 1)];
  }
}

/** The program for a seed. */
export function generateProgram(seed: number, options: GenOptions = {}): FuzzProgram {
  const g = new Generator(seed, options);
  const slots = g.generate();
  const memSize = options.memSize ?? 64;
  const r = new Prng(seed ^ 0x5bd1e995);
  const mem = new Uint8Array(memSize);
  for (let i = 0; i < memSize; i++) mem[i] = r.int(256);
  return { seed, slots, memSize, mem, wild: g.mapCalls?.wild ?? false };
}
