// Subpath export `tsbpf/isa`: the instruction set.
export * from './fields.js';
export { INSNS, OP_COUNT, BY_OPCODE, BY_NAME, lookup, isJump, writesDst, Op, Shape } from './table.js';
export type { InsnDef, Discriminator, AluKind, CmpKind, EndianKind } from './table.js';
export {
  decodeProgram,
  readSlot,
  writeSlot,
  encodeSlots,
  programFromSlots,
  checkFields,
  checkTargets,
  defAt,
  LDDW_SECOND_HALF,
} from './decode.js';
export type { Program, DecodeOptions } from './decode.js';
