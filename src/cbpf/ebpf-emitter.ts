// A small eBPF emitter for the classic translation: opcodes looked up in
// the one ISA table, the register assignment, jump targets that are classic
// instruction indices or named places, and resolution of jump offsets with a
// far mode for programs past the 16-bit range.

import { ClassicError } from './errors.js';
import { BY_NAME, Shape, type RawInsn } from '../isa/index.js';

// ---- eBPF opcodes, looked up in the one ISA table ------------------------------
export function opc(name: string, shape: Shape): number {
  const row = BY_NAME.get(name)?.find((d) => d.shape === shape);
  if (row === undefined) throw new Error(`cbpf translate: no ISA row ${name}/${shape}`);
  return row.opcode;
}
export const O = {
  mov64r: opc('mov', Shape.AluReg),
  add64i: opc('add', Shape.AluImm),
  add64r: opc('add', Shape.AluReg),
  add32i: opc('add32', Shape.AluImm),
  jsge32i: opc('jsge32', Shape.JmpImm),
  jslt32i: opc('jslt32', Shape.JmpImm),
  sub64r: opc('sub', Shape.AluReg),
  lsh64i: opc('lsh', Shape.AluImm),
  jge64r: opc('jge', Shape.JmpReg),
  jge64i: opc('jge', Shape.JmpImm),
  jlt64i: opc('jlt', Shape.JmpImm),
  div32i: opc('div32', Shape.AluImm),
  ldxdw: opc('ldxdw', Shape.Load),
  stxb: opc('stxb', Shape.StoreReg),
  stxdw: opc('stxdw', Shape.StoreReg),
  jne64r: opc('jne', Shape.JmpReg),
  jset32i: opc('jset32', Shape.JmpImm),
  or64r: opc('or', Shape.AluReg),
  rsh64r: opc('rsh', Shape.AluReg),
  div64i: opc('div', Shape.AluImm),
  mod64i: opc('mod', Shape.AluImm),
  mul64i: opc('mul', Shape.AluImm),
  jle64r: opc('jle', Shape.JmpReg),
  jle64i: opc('jle', Shape.JmpImm),
  jne32i: opc('jne32', Shape.JmpImm),
  ja32: opc('ja32', Shape.Ja32),
  mov32i: opc('mov32', Shape.AluImm),
  mov32r: opc('mov32', Shape.AluReg),
  xor32r: opc('xor32', Shape.AluReg),
  and32i: opc('and32', Shape.AluImm),
  lsh32i: opc('lsh32', Shape.AluImm),
  neg32: opc('neg32', Shape.Neg),
  be: opc('be16', Shape.Endian),
  ldxb: opc('ldxb', Shape.Load),
  ldxh: opc('ldxh', Shape.Load),
  ldxw: opc('ldxw', Shape.Load),
  stxw: opc('stxw', Shape.StoreReg),
  ja: opc('ja', Shape.Ja),
  jgt64i: opc('jgt', Shape.JmpImm),
  jgt64r: opc('jgt', Shape.JmpReg),
  jeq32i: opc('jeq32', Shape.JmpImm),
  exit: opc('exit', Shape.Exit),
};
// Registers (see translate.ts).
export const R_A = 0;
export const R_CTX = 6;
export const R_X = 7;
export const R_DATA = 8;
export const R_END = 9;
export const R_T1 = 2;
export const R_T2 = 3;
export const R_FP = 10;

/** Jump targets: a classic pc (>= 0), or one of these places in the generated code. */
export const FAIL = -1; // the shared `return 0` tail
export const RESULT = -2; // scan driver: where every return goes, with the result in r0
export const LOOP = -3; // scan driver: the next record
export const DONE = -4; // scan driver: the end of the buffer

interface Fixup {
  readonly slot: number;
  readonly target: number;
}

/** Collects eBPF slots and resolves jump targets at the end. */
export class Emitter {
  readonly slots: RawInsn[] = [];
  readonly fixups: Fixup[] = [];
  /** Slots of the negative (non-classic) labels. */
  readonly places = new Map<number, number>();
  /**
   * embedded: in the scan driver a classic `ret` jumps to RESULT instead of
   * exiting. far: conditional jumps to places are emitted as the negated
   * condition over a `ja`, which resolve() widens to `gotol` when the place
   * is more than 32767 slots away (used only when the short form does not fit).
   */
  constructor(
    readonly embedded: boolean,
    readonly far: boolean,
  ) {}
  emit(opcode: number, dst: number, src: number, off: number, imm: number): void {
    this.slots.push({ opcode, dst, src, off, imm: imm | 0 });
  }
  /** A jump to a classic pc or a place; the offset is filled in by resolve(). */
  jump(opcode: number, dst: number, src: number, imm: number, target: number): void {
    this.fixups.push({ slot: this.slots.length, target });
    this.emit(opcode, dst, src, 0, imm);
  }
  /** `if (dst cond src/imm) goto place`, with `negated` the opposite condition's opcode. */
  cjump(opcode: number, negated: number, dst: number, src: number, imm: number, target: number): void {
    if (!this.far) {
      this.jump(opcode, dst, src, imm, target);
      return;
    }
    this.emit(negated, dst, src, 1, imm);
    this.jump(O.ja, 0, 0, 0, target);
  }
  private nextLabel = -1000;
  /** A fresh local label, for jumps inside the code of one classic instruction. */
  label(): number {
    return this.nextLabel--;
  }
  /** The next slot is this place. */
  place(label: number): void {
    this.places.set(label, this.slots.length);
  }
  get length(): number {
    return this.slots.length;
  }
  /** Fill in every jump offset. */
  resolve(pcMap: Int32Array): void {
    for (const f of this.fixups) {
      const to = f.target >= 0 ? pcMap[f.target]! : this.places.get(f.target);
      if (to === undefined || to < 0) throw new Error(`cbpf translate: jump to unplaced target ${f.target}`);
      const rel = to - f.slot - 1;
      const slot = this.slots[f.slot]!;
      if (rel <= 0x7fff && rel >= -0x8000) slot.off = rel;
      else if (slot.opcode === O.ja) {
        // gotol: the 32-bit offset is in imm
        slot.opcode = O.ja32;
        slot.imm = rel;
      } else throw new FarJumpNeeded(rel);
    }
  }
  /** Whether any jump goes to this place. */
  uses(label: number): boolean {
    return this.fixups.some((f) => f.target === label);
  }
}

/** A conditional jump does not reach its place: translate again in far mode. */
export class FarJumpNeeded extends Error {
  constructor(readonly span: number) {
    super(`a jump spans ${span} eBPF instructions`);
  }
}

/** Build with short jumps, and again with far ones if a jump does not fit. */
export function withFarRetry<T>(build: (far: boolean) => T): T {
  try {
    return build(false);
  } catch (e) {
    if (!(e instanceof FarJumpNeeded)) throw e;
  }
  try {
    return build(true);
  } catch (e) {
    if (e instanceof FarJumpNeeded) throw new ClassicError(-1, `translated program too large: ${e.message}`);
    throw e;
  }
}

