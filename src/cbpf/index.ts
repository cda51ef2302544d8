// Subpath export `tsbpf/cbpf`: classic BPF programs, their checker, their
// translation to eBPF, and running them as packet or seccomp filters.
export * from './insn.js';
export { ClassicError } from './errors.js';
export { assembleClassic, parseClassicNumber } from './asm.js';
export type { ClassicAsmOptions } from './asm.js';
export { readClassic, readClassicBinary, writeClassicBinary, parseDd, parseDdd, detectClassicFormat, CLASSIC_FORMATS } from './read.js';
export type { ClassicFormat, ReadClassicOptions } from './read.js';
export { disassembleClassic, formatClassicInsn, formatDd, formatDdd } from './disasm.js';
export { checkClassic, ancillaryOf, SECCOMP_DATA_SIZE } from './check.js';
export type { CheckClassicOptions, ClassicMode } from './check.js';
export { translateClassic, SKB, SKB_SIZE, MAX_PACKET_OFF, SCRATCH_OFF } from './translate.js';
export { translateScanDriver, SCAN_CTX, SCAN_CTX_SIZE, SCAN_OUT_RECORD, SCAN_STATUS } from './scan-driver.js';
export type { TranslateOptions, Translation } from './translate.js';
export type { ScanDriverOptions } from './scan-driver.js';
export { ClassicFilter, SeccompFilter, compileClassic } from './classic-filter.js';
export type { ClassicFilterOptions, PacketMeta, SeccompData } from './classic-filter.js';
export { scanCapture } from './scan-capture.js';
export type { ScanOptions, ScanResult, AcceptedPacket, ProgramSource } from './scan-capture.js';
export { scanCaptureSplit } from './scan-split.js';
export type { SplitOptions, SplitResult, WorkerEntry } from './scan-split.js';
export { disassembleTranslation } from './disasm-translation.js';
export { SECCOMP_RET, SECCOMP_RET_ACTION_FULL, SECCOMP_RET_DATA, AUDIT_ARCH, describeSeccompAction } from './seccomp.js';
// The tcpdump filter-expression compiler (expression -> classic program).
export { compileFilter, DEFAULT_SNAPLEN, FilterError, parseFilter, tokenize, LINKTYPE, linkLayer } from './filter/index.js';
export type { FilterOptions, Token, TokenKind, LinkLayer, Expr, Arith, Quals, Id } from './filter/index.js';
