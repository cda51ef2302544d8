// Subpath export `tsbpf/verifier`: proves programs safe before they run.
export { verify, INSN_LIMIT } from './verify.js';
export type { VerifyResult } from './verify.js';
export type { MapInfo, VerifyOptions, LineInfo } from './env.js';
export { kernelInsnLine, kernelStyle, helperLogName } from './log.js';
export { funcSignatures } from './btf-funcs.js';
export type { FuncSig, FuncArg } from './btf-funcs.js';
