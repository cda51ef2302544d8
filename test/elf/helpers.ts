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

/** Every committed example object, including the clang-14 builds ('clang14/maps.o'). */
export function exampleObjects(): string[] {
  const top = readdirSync(EXAMPLES).filter((f) => f.endsWith('.o'));
  const old = readdirSync(EXAMPLES + 'clang14').filter((f) => f.endsWith('.o')).map((f) => 'clang14/' + f);
  return [...top, ...old].sort();
}

/** Prefixes of the compilers the examples are built with: clang-19 ('') and clang-14. */
export const COMPILERS = ['', 'clang14/'] as const;
