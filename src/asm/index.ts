// Subpath export `tsbpf/asm`: assembler (conformance and LLVM dialects),
// disassembler (LLVM syntax) and the bpf_conformance .data file parser.
export { assemble, assembleToSlots, detectDialect, cleanLlvmLine } from './assemble.js';
export type { AssembleOptions, Assembled, Dialect } from './assemble.js';
export { formatInsn, disassembleProgram, UNKNOWN } from './disassemble.js';
export type { FormatOptions, DisassembleOptions, SymbolHooks } from './disassemble.js';
export { parseDataFile } from './data-file.js';
export type { DataFile } from './data-file.js';
export { parseHexText, formatHexSlots } from './hex-text.js';
