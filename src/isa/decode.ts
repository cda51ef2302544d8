// Bytes -> instructions. Decoding happens once per program into a struct of
// typed arrays, so the interpreter, JIT and verifier index numbers instead of
// chasing objects. Validation of each slot is structural only (the encoding
// is an instruction, reserved fields are zero, registers exist, jumps land on
// an instruction); the verifier does the rest.

import { DecodeError } from '../internal/errors.js';
import { Field, INSN_SIZE, MAX_REG, type RawInsn } from './fields.js';
import { INSNS, Op, Shape, isJump, lookup, type InsnDef } from './table.js';

/**
 * A decoded program: one entry per 8-byte slot. The second slot of an lddw
 * has op = -1 (not an instruction); its imm is in `imm` as usual and the
 * first slot's `imm64hi` holds it too, for convenience.
 */
export interface Program {
  readonly length: number;
  /** Op per slot; -1 for the second half of an lddw. */
  readonly op: Int16Array;
  readonly opcode: Uint8Array;
  readonly dst: Uint8Array;
  readonly src: Uint8Array;
  readonly off: Int16Array;
  readonly imm: Int32Array;
  /** For lddw slots: the high 32 bits of the immediate (the next slot's imm). */
  readonly imm64hi: Int32Array;
  /** The raw bytes, little-endian, 8 per slot. */
  readonly bytes: Uint8Array;
}

export const LDDW_SECOND_HALF = -1;

/** Read one raw slot from little-endian bytes. */
export function readSlot(bytes: Uint8Array, index: number): RawInsn {
  const p = index * INSN_SIZE;
  const regs = bytes[p + 1]!;
  return {
    opcode: bytes[p]!,
    dst: regs & 0x0f,
    src: regs >> 4,
    off: ((bytes[p + 2]! | (bytes[p + 3]! << 8)) << 16) >> 16,
    imm: bytes[p + 4]! | (bytes[p + 5]! << 8) | (bytes[p + 6]! << 16) | (bytes[p + 7]! << 24),
  };
}

export interface DecodeOptions {
  /** Check fields, registers and jump targets (default true). */
  validate?: boolean;
}

/** Decode a whole program. Throws DecodeError naming the instruction index and reason. */
export function decodeProgram(input: Uint8Array, options: DecodeOptions = {}): Program {
  const validate = options.validate ?? true;
  if (input.length % INSN_SIZE !== 0) {
    throw new DecodeError(Math.floor(input.length / INSN_SIZE), `program length ${input.length} is not a multiple of ${INSN_SIZE} bytes`);
  }
  const n = input.length / INSN_SIZE;
  const bytes = new Uint8Array(input);
  const prog: Program = {
    length: n,
    op: new Int16Array(n),
    opcode: new Uint8Array(n),
    dst: new Uint8Array(n),
    src: new Uint8Array(n),
    off: new Int16Array(n),
    imm: new Int32Array(n),
    imm64hi: new Int32Array(n),
    bytes,
  };
  for (let i = 0; i < n; i++) {
    const s = readSlot(bytes, i);
    prog.opcode[i] = s.opcode;
    prog.dst[i] = s.dst;
    prog.src[i] = s.src;
    prog.off[i] = s.off;
    prog.imm[i] = s.imm;
    const def = lookup(s.opcode, s.src, s.off, s.imm);
    if (def === undefined) {
      if (validate) throw new DecodeError(i, describeUnknown(s));
      prog.op[i] = LDDW_SECOND_HALF;
      continue;
    }
    prog.op[i] = def.op;
    if (validate) checkFields(i, def, s);
    if (def.slots === 2) {
      if (i + 1 >= n) {
        if (validate) throw new DecodeError(i, 'lddw is missing its second half (last instruction of the program)');
        continue;
      }
      const hi = readSlot(bytes, i + 1);
      if (validate && (hi.opcode !== 0 || hi.dst !== 0 || hi.src !== 0 || hi.off !== 0)) {
        throw new DecodeError(i + 1, 'second half of lddw must have opcode, registers and offset zero');
      }
      i++;
      prog.op[i] = LDDW_SECOND_HALF;
      prog.dst[i] = hi.dst;
      prog.src[i] = hi.src;
      prog.off[i] = hi.off;
      prog.imm[i] = hi.imm;
      prog.opcode[i] = hi.opcode;
      prog.imm64hi[i - 1] = hi.imm;
    }
  }
  if (validate) checkTargets(prog);
  return prog;
}

function describeUnknown(s: RawInsn): string {
  const hex = `0x${s.opcode.toString(16).padStart(2, '0')}`;
  const cands = INSNS.filter((d) => d.opcode === s.opcode);
  if (cands.length === 0) return `unknown opcode ${hex}`;
  const d = cands[0]!.discr!;
  const v = d.field === 'src' ? s.src : d.field === 'off' ? s.off : s.imm;
  return `invalid ${d.field} ${v} for opcode ${hex} (${cands.map((c) => c.name).join('/')})`;
}

const FIELD_NAMES: ReadonlyArray<readonly [number, keyof RawInsn, string]> = [
  [Field.DST, 'dst', 'dst register'],
  [Field.SRC, 'src', 'src register'],
  [Field.OFF, 'off', 'offset'],
  [Field.IMM, 'imm', 'immediate'],
];

/** Reserved fields zero, registers in range. */
export function checkFields(i: number, def: InsnDef, s: RawInsn): void {
  for (const [bit, key, label] of FIELD_NAMES) {
    if ((def.zero & bit) !== 0 && s[key] !== 0 && def.discr?.field !== key) {
      throw new DecodeError(i, `${def.name}: reserved ${label} field must be 0, is ${s[key]}`);
    }
  }
  if (def.imms !== undefined && !def.imms.includes(s.imm)) {
    throw new DecodeError(i, `${def.name}: immediate ${s.imm} is not defined (expected ${def.imms.join(' or ')})`);
  }
  if ((def.zero & Field.DST) === 0 && s.dst > MAX_REG) throw new DecodeError(i, `${def.name}: invalid dst register r${s.dst}`);
  const usesSrcReg = (def.zero & Field.SRC) === 0 && def.discr?.field !== 'src';
  if (usesSrcReg && s.src > MAX_REG) throw new DecodeError(i, `${def.name}: invalid src register r${s.src}`);
}

/** Every jump and local call must land on an instruction (not outside, not inside an lddw). */
export function checkTargets(prog: Program): void {
  const n = prog.length;
  for (let i = 0; i < n; i++) {
    const op = prog.op[i]!;
    if (op === LDDW_SECOND_HALF) continue;
    const def = INSNS[op]!;
    let target: number;
    if (isJump(def.shape)) target = i + 1 + (def.shape === Shape.Ja32 ? prog.imm[i]! : prog.off[i]!);
    else if (def.shape === Shape.CallLocal) target = i + 1 + prog.imm[i]!;
    else continue;
    if (target < 0 || target >= n) throw new DecodeError(i, `jump out of range: target ${target}, program has ${n} instructions`);
    if (prog.op[target] === LDDW_SECOND_HALF) throw new DecodeError(i, `jump into the middle of lddw at ${target - 1}`);
  }
}

/** The definition of the instruction at slot i, or undefined for an lddw second half. */
export function defAt(prog: Program, i: number): InsnDef | undefined {
  const op = prog.op[i]!;
  return op < 0 ? undefined : INSNS[op];
}

/** Build a Program from raw slots (used by the assembler and tests). */
export function programFromSlots(slots: readonly RawInsn[], options?: DecodeOptions): Program {
  return decodeProgram(encodeSlots(slots), options);
}

/** Raw slots -> little-endian bytes. */
export function encodeSlots(slots: readonly RawInsn[]): Uint8Array {
  const out = new Uint8Array(slots.length * INSN_SIZE);
  slots.forEach((s, i) => writeSlot(out, i, s));
  return out;
}

export function writeSlot(out: Uint8Array, index: number, s: RawInsn): void {
  const p = index * INSN_SIZE;
  out[p] = s.opcode & 0xff;
  out[p + 1] = (s.dst & 0x0f) | ((s.src & 0x0f) << 4);
  out[p + 2] = s.off & 0xff;
  out[p + 3] = (s.off >> 8) & 0xff;
  out[p + 4] = s.imm & 0xff;
  out[p + 5] = (s.imm >> 8) & 0xff;
  out[p + 6] = (s.imm >> 16) & 0xff;
  out[p + 7] = (s.imm >>> 24) & 0xff;
}

export { Op };
