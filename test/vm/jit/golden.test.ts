// Expect tests: the structure tree and the Wasm code the JIT emits for a few
// small programs, compared with committed listings in golden/. A change in
// code generation shows up as a diff; accepting it is a deliberate step:
//   UPDATE_GOLDEN=1 node --test dist/test/vm/jit/golden.test.js
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT, JK, K, LD, MOV, ST, STX, X } from '../cases.js';
import { programFromSlots, type Program } from '../../../src/isa/decode.js';
import type { RawInsn } from '../../../src/isa/fields.js';
import { Op } from '../../../src/isa/table.js';
import { buildModule, type BuildOptions } from '../../../src/vm/jit/compile.js';
import { Imp } from '../../../src/vm/jit/abi.js';
import { printStructure } from '../../../src/vm/jit/structure.js';
import { printCode } from '../../../src/vm/jit/wasm/print.js';
import { ROOT } from '../../paths.js';

const GOLDEN = join(ROOT, 'test', 'vm', 'jit', 'golden');
const prog = (...parts: RawInsn[][]): Program => programFromSlots(parts.flat());
/** A fixed layout, so addresses in the listings do not depend on the allocator. */
const LAYOUT = { ctlBase: 0x10000, stackEnd: 0x20000, stackTrusted: true, maxBytes: 16 << 20, shared: true };

const CASES: ReadonlyArray<readonly [string, Program, BuildOptions, boolean]> = [
  // r0 = sum of 1..r1
  ['counted-loop.verified', prog(MOV(0, 0), X(Op.ADD64_REG, 0, 1), K(Op.SUB64_IMM, 1, 1), JK(Op.JNE64_IMM, 1, 0, -3), EXIT()), { verified: true }, false],
  // loads, a store, an atomic and a stack access, with checks; also lists the check functions and entry points
  [
    'memory.unverified',
    prog(LD(Op.LDXW, 2, 1, 4), LD(Op.LDXH, 3, 1, 6), ST(Op.STB, 1, 0, 9), STX(Op.ATOMIC64_FETCH_ADD, 1, 2, 8), STX(Op.STXDW, 10, 3, -8), X(Op.MOV64_REG, 0, 2), EXIT()),
    {},
    true,
  ],
  // a loop entered in the middle: the dispatcher
  ['irreducible.verified', prog(MOV(0, 0), MOV(1, 4), JK(Op.JEQ64_IMM, 3, 0, 1), K(Op.ADD64_IMM, 0, 1), K(Op.MUL64_IMM, 0, 3), K(Op.SUB64_IMM, 1, 1), JK(Op.JNE64_IMM, 1, 0, -4), EXIT()), { verified: true }, false],
  // division semantics, a helper call and a local call
  [
    'calls-div.unverified',
    prog(X(Op.DIV64_REG, 1, 2), K(Op.SDIV32_IMM, 1, -1), K(Op.CALL, 0, 7), K(Op.CALL_LOCAL, 0, 1), EXIT(), X(Op.SMOD64_REG, 0, 1), EXIT()),
    {},
    false,
  ],
];

for (const [name, p, options, everything] of CASES) {
  test(`golden: ${name}`, () => {
    const built = buildModule(p, LAYOUT, options);
    const nf = built.cfg.funcs.length;
    let text = built.structures.map((s, k) => `;; structure of func ${Imp.count + k}${s.dispatcher ? ' (dispatcher)' : ''}\n${printStructure(s.tree, ';;   ')}`).join('');
    text += printCode(built.bytes, everything ? {} : { from: Imp.count, to: Imp.count + nf });
    const file = join(GOLDEN, `${name}.wat`);
    if (process.env.UPDATE_GOLDEN) writeFileSync(file, text);
    assert.ok(existsSync(file), `${file} is missing; run with UPDATE_GOLDEN=1 to create it`);
    assert.equal(text, readFileSync(file, 'utf8'));
    // the module is valid Wasm
    assert.ok(WebAssembly.validate(built.bytes as BufferSource));
  });
}
