// The standard helpers by Linux id, and the pieces embedders use to run them:
// a registry with all of them, the per-run HelperContext, and the trace pipe.
// Embedders add their own helpers to the registry (HelperRegistry.register)
// with ids of their choosing and, for the verifier, prototypes in protos.ts's
// format.

import { HelperRegistry, type HelperDef } from './registry.js';
import { MAP_HELPERS } from './map-helpers.js';
import { PROBE_READ_HELPERS } from './probe-read.js';
import { TASK_HELPERS } from './task.js';
import { TRACE_HELPERS } from './trace.js';
import { RINGBUF_HELPERS } from './ringbuf-helpers.js';
import { MISC_HELPERS } from './misc.js';
import { tailCall } from './tail-call.js';
import { STRTOL_HELPERS } from './strtol.js';
import { STACK_HELPERS } from './stack.js';

export const STANDARD_HELPERS: readonly HelperDef[] = [
  ...MAP_HELPERS,
  ...PROBE_READ_HELPERS,
  ...TASK_HELPERS,
  ...TRACE_HELPERS,
  ...RINGBUF_HELPERS,
  ...MISC_HELPERS,
  ...STRTOL_HELPERS,
  ...STACK_HELPERS,
  tailCall,
];

/** A fresh registry with every standard helper (extend it freely). */
export function standardHelpers(): HelperRegistry {
  return new HelperRegistry(STANDARD_HELPERS);
}

export { HelperRegistry, argU32, argI64, setR0, setR0Big } from './registry.js';
export type { HelperDef, HelperEnv, HelperFn } from './registry.js';
export { HelperContext, contextOf } from './context.js';
export type { CallbackInvoker, Clock, HelperContextOptions, ProcessIdentity } from './context.js';
export { TracePipe, formatTraceLine } from './trace-pipe.js';
export type { TraceEntry } from './trace-pipe.js';
export { bprintf, MAX_BPRINTF_BUF, MAX_BPRINTF_VARARGS } from './bprintf.js';
export { checkHelperCalls, isGplCompatible } from './check-calls.js';
export { strtol, strtoul, parseUnsigned } from './strtol.js';
