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

/**
 * Programs proven safe: the verifier accepted them (the runtime marks them
 * after verify()), or they are safe by construction (classic BPF
 * translations). Only these may run on an unchecked engine.
 */
const trusted = new WeakSet<Program>();

/** Mark a program as proven safe, so unchecked engines ('jit-verified') accept it. */
export function trustProgram(prog: Program): Program {
  trusted.add(prog);
  return prog;
}

export function isTrusted(prog: Program): boolean {
  return trusted.has(prog);
}

export interface RegisterOptions {
  replace?: boolean;
  /**
   * The engine leaves out memory checks and the budget: it only builds for
   * programs passed to trustProgram(), so unverified code can never pick it
   * by name.
   */
  unchecked?: boolean;
}

/** Register (or, with replace, swap) an engine under a name. */
export function registerEngine(name: string, factory: EngineFactory, options: RegisterOptions = {}): void {
  if (factories.has(name) && !options.replace) throw new UsageError(`engine '${name}' is already registered`);
  const gated: EngineFactory = options.unchecked
    ? (prog, config) => {
        if (!trusted.has(prog)) {
          throw new UsageError(
            `engine '${name}' runs without memory checks, so it only runs programs the verifier accepted; this program was not verified (use 'jit', or load it through the Runtime, which verifies)`,
          );
        }
        return factory(prog, config);
      }
    : factory;
  factories.set(name, gated);
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
