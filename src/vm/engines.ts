// Where execution engines register, by name: 'interp' (the reference
// interpreter) is built in; the JIT adds 'jit'. The VM facade (vm.ts) picks an
// engine by name per run, so callers switch engines without other changes.
//
// An engine module registers itself when it is loaded:
//   registerEngine('jit', (prog, config) => compile(prog, config));
// vm.ts loads src/vm/jit/index.js if it exists (see OPTIONAL_ENGINE_MODULES
// there). Import this file, not vm.ts, from an engine module: vm.ts waits for
// the engine modules while it loads, so importing vm.ts from one would deadlock.

import type { Program } from '../isa/decode.js';
import { UsageError } from '../internal/errors.js';
import { Interpreter } from './interpreter.js';
import type { Engine, EngineConfig } from './types.js';

export type EngineFactory = (prog: Program, config: EngineConfig) => Engine;

const factories = new Map<string, EngineFactory>();

/** Register (or, with replace, swap) an engine under a name. */
export function registerEngine(name: string, factory: EngineFactory, options: { replace?: boolean } = {}): void {
  if (factories.has(name) && !options.replace) throw new UsageError(`engine '${name}' is already registered`);
  factories.set(name, factory);
}

/** The factory for an engine name; UsageError listing the known names if there is none. */
export function engineFactory(name: string): EngineFactory {
  const f = factories.get(name);
  if (f === undefined) {
    throw new UsageError(`engine '${name}' is not available (have: ${[...factories.keys()].join(', ')})`);
  }
  return f;
}

export function hasEngine(name: string): boolean {
  return factories.has(name);
}

export function engineNames(): string[] {
  return [...factories.keys()];
}

registerEngine('interp', (prog, config) => new Interpreter(prog, config));
