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
import { assemble } from '../../../src/asm/assemble.js';
import { decodeProgram } from '../../../src/isa/decode.js';
import { STANDARD_HELPERS } from '../../../src/helpers/index.js';
import { HelperRegistry } from '../../../src/helpers/registry.js';
import { MapTable } from '../../../src/maps/table.js';
import { RuntimeMemory } from '../../../src/vm/memory.js';
import { mapIntrinsics } from '../../../src/vm/jit/intrinsics.js';

const GOLDEN = join(ROOT, 'test', 'vm', 'jit', 'golden');
const prog = (...parts: RawInsn[][]): Program => programFromSlots(parts.flat());
/** A fixed layout, so addresses in the listings do not depend on the allocator. */
const LAYOUT = { ctlBase: 0x10000, stackEnd: 0x20000, stackTrusted: true, maxBytes: 16 << 20, shared: true };

/** An array and a hash map in a fresh memory (fixed addresses), and the intrinsics for them. */
const maps = new MapTable(new RuntimeMemory());
const arr = maps.create({ name: 'arr', type: 'array', keySize: 4, valueSize: 8, maxEntries: 256 });
const hash = maps.create({ name: 'h', type: 'hash', keySize: 12, valueSize: 8, maxEntries: 16 });
const MAPS = mapIntrinsics(maps, new HelperRegistry(STANDARD_HELPERS));
// hist[key]++ with the key on the stack, then h[key] looked up, then arr[key] = *value
const mapProgram = decodeProgram(
  assemble(
    `*(u32 *)(r10 - 4) = r1
    r2 = r10
    r2 += -4
    r1 = ${arr.desc} ll
    call 1
    if r0 == 0x0 goto +3
    r1 = *(u64 *)(r0 + 0)
    r1 += 1
    *(u64 *)(r0 + 0) = r1
    r2 = r10
    r2 += -16
    r1 = ${hash.desc} ll
    call 1
    r2 = r10
    r2 += -4
    r3 = r10
    r3 += -16
    r4 = 0
    r1 = ${arr.desc} ll
    call 2
    exit`,
    { dialect: 'llvm' },
  ),
);

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
  // map intrinsics: array lookup inline, hash lookup through the module's lookup function, array update as loads and stores
  ['map-intrinsics.verified', mapProgram, { ...MAPS, verified: true }, false],
  // ... and guarded by the map's liveness and key readability, with the helper call as the fallback
  ['map-intrinsics.unverified', mapProgram, MAPS, false],
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
