// Subpath export `tsbpf/btf`: BTF types, BTF.ext records, line info and value printing.
export { Btf, MAX_RESOLVE_DEPTH } from './btf.js';
export { parseBtf, BTF_MAGIC } from './parse-btf.js';
export { parseBtfExt, CORE_RELO_KINDS } from './parse-ext.js';
export type { BtfExt, FuncInfo, LineInfo, CoreRelo } from './parse-ext.js';
export { LineTable } from './line-info.js';
export { btfValue, formatBtfValue, toJsonText } from './print.js';
export type { BtfValue } from './print.js';
export { formatMapDump } from './map-dump.js';
export type { MapEntryTypes } from './map-dump.js';
export { encodeBtf, BtfEncoder } from './encode.js';
export * from './types.js';
export { sanitizeForKernel } from './sanitize.js';
export { resolveCoreRelo, findCandidates, formatSpec } from './core-relo.js';
export type { CoreReloResult, CandidateCache } from './core-relo.js';
export { CoreKind, essentialName, parseCoreSpec } from './core-spec.js';
export type { CoreSpec, CoreAccessor } from './core-spec.js';
export { matchSpec, typesAreCompat, typesMatch } from './core-match.js';
