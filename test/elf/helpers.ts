// Shared by the ELF tests: where the example objects live, and reading them.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadObject } from '../../src/elf/load.js';
import type { ObjectSpec } from '../../src/elf/spec.js';

/** examples/ at the repository root (tests run from dist/test/elf/). */
export const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));

export function exampleBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(EXAMPLES + name));
}

export function loadExample(name: string): ObjectSpec {
  return loadObject(exampleBytes(name), { file: name });
}

export function exampleObjects(): string[] {
  return readdirSync(EXAMPLES).filter((f) => f.endsWith('.o')).sort();
}
