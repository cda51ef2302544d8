// Subpath export `tsbpf/runtime`: objects loaded into a runtime, their
// programs and maps by name, test runs.
export { Runtime } from './runtime.js';
export type { RuntimeOptions, LoadObjectOptions, AttachOptions } from './runtime.js';
export type { RuntimeShare, ShareOptions } from './share.js';
export { Collection } from './collection.js';
export { BpfProgram } from './program.js';
export { TypedMap } from './typed-map.js';
export type { KeyOrValue, TypedEntry } from './typed-map.js';
export { encodeBtfValue } from './encode-value.js';
export { LoadError, ShareError } from './errors.js';
