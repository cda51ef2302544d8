// Subpath export `tsbpf/attach`: probe points inside Node.js — tracepoints on
// diagnostics_channel channels, function probes on JavaScript functions, and
// user-defined static probes — and the links that attach programs to them.
export { attachProgram, attachObject, layoutFor, LinkSet } from './attach.js';
export type { AttachOptions, AttachableObject } from './attach.js';
export { attachChannel, declareChannel, knownChannels } from './channel.js';
export type { ChannelAttachOptions } from './channel.js';
export { BUILTIN_CHANNELS } from './channel-fields.js';
export { attachFunction, resolveFunction, FUNCTION_ALIASES } from './function-probe.js';
export type { FunctionAttachOptions } from './function-probe.js';
export { attachStaticProbe, probe, StaticProbe } from './static-probe.js';
export { Link, DEFAULT_EVENT_BUDGET } from './link.js';
export type { LinkStats, LinkOptions, LinkSink, FaultReport, FaultHandler } from './link.js';
export { ctxLayoutOf, ctxStructOf, DEFAULT_FUNC_LAYOUT } from './ctx-layout.js';
export type { CtxLayout, CtxField, CtxFieldKind } from './ctx-layout.js';
export { compileCtxWriter, memberGetter, objectId } from './ctx-writer.js';
export type { CtxWriter, FieldAliases } from './ctx-writer.js';
export { attachPointOf } from './section.js';
export type { AttachKind, AttachPoint } from './section.js';
export { AttachError } from './errors.js';
export type { AttachProgram } from './program.js';
