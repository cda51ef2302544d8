// The engine path must run unchanged in browsers (issue 5): the ISA, the
// assembler, the VM (memory, interpreter, JIT) and maps may not import Node's
// built-in modules, directly or through anything they import. This walks the
// compiled import graph from those entry points and fails on any `node:` or
// bare Node built-in import.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { ROOT } from './paths.js';

const ENTRIES = ['src/isa/index.js', 'src/asm/index.js', 'src/vm/index.js', 'src/vm/jit/index.js', 'src/vm/interpreter.js', 'src/vm/memory.js'];
const BUILTINS = new Set(builtinModules);

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) out.push((m[1] ?? m[2] ?? m[3])!);
  return out;
}

test('the engine path imports no Node built-in module', () => {
  const dist = join(ROOT, 'dist');
  const seen = new Set<string>();
  const offenders: string[] = [];
  const stack = ENTRIES.map((e) => join(dist, e));
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of importsOf(file)) {
      if (spec.startsWith('node:') || BUILTINS.has(spec)) offenders.push(`${file.slice(dist.length + 1)} imports ${spec}`);
      else if (spec.startsWith('.')) stack.push(resolve(dirname(file), spec));
    }
  }
  assert.ok(seen.size > 20, `walked ${seen.size} modules`);
  assert.deepEqual(offenders, []);
});
