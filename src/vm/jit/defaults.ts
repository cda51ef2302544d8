// Options the registered 'jit' and 'jit-verified' engines use for every
// program compiled over a given memory. The engine registry builds engines
// from (program, config) alone, so whoever owns the memory's maps (a
// Runtime) states here once what the JIT may inline for them:
//
//   setJitDefaults(mem, mapIntrinsics(maps, helpers));

import type { RuntimeMemory } from '../memory.js';
import type { JitOptions } from './engine.js';

const defaults = new WeakMap<RuntimeMemory, JitOptions>();
const NONE: JitOptions = {};

/** Set (or, with undefined, clear) the options for programs compiled over `mem` by the registered engines. */
export function setJitDefaults(mem: RuntimeMemory, options: JitOptions | undefined): void {
  if (options === undefined) defaults.delete(mem);
  else defaults.set(mem, options);
}

/** The options set for `mem` (empty when none were set). */
export function jitDefaults(mem: RuntimeMemory): JitOptions {
  return defaults.get(mem) ?? NONE;
}
