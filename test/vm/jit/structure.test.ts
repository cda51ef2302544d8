// Stage tests for blocks -> structure: the trees for the basic shapes
// (printed, so a change in nesting is a visible diff), the irreducible
// fallback, and a property test over random control-flow graphs: every tree
// passes checkStructure, and the JIT computes what the interpreter computes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EXIT, JK, K, MOV, X } from '../cases.js';
import { programFromSlots, type Program } from '../../../src/isa/decode.js';
import type { RawInsn } from '../../../src/isa/fields.js';
import { Op } from '../../../src/isa/table.js';
import { buildCfg, Term } from '../../../src/vm/jit/blocks.js';
import { checkStructure, printStructure, structure } from '../../../src/vm/jit/structure.js';
import { compile } from '../../../src/vm/jit/engine.js';
import { createVm } from '../../../src/vm/vm.js';
import { Prng } from '../../../src/vm/fuzz/prng.js';
import { BudgetExceeded, DecodeError, ProgramError } from '../../../src/internal/errors.js';

const prog = (...parts: RawInsn[][]): Program => programFromSlots(parts.flat());
const JA = (off: number): RawInsn[] => JK(Op.JA, 0, 0, off);
const tree = (p: Program, fn = 0): string => {
  const s = structure(buildCfg(p).funcs[fn]!);
  assert.deepEqual(checkStructure(s), []);
  return printStructure(s.tree);
};

test('straight line: one block', () => {
  assert.equal(tree(prog(MOV(0, 1), EXIT())), 'code 0\nexit\n');
});

test('if/else diamond: taken arm in an if, the other after it, the join after a block', () => {
  // 0: if r1 == 0 goto 3; 1: r0 = 1; 2: goto 4; 3: r0 = 2; 4: exit
  const p = prog(JK(Op.JEQ64_IMM, 1, 0, 2), MOV(0, 1), JA(1), MOV(0, 2), EXIT());
  assert.equal(tree(p), ['block B3', '  code 0', '  if cond0', '    code 2', '    br B3', '  end', '  code 1', 'end B3', 'code 3', 'exit', ''].join('\n'));
  const vm = createVm();
  for (const r1 of [0, 1]) assert.equal(compile(p, vm.config).run([r1]).r0, r1 === 0 ? 2n : 1n);
});

test('long programs do not recurse: 100,000 instructions of chained tests compile', () => {
  // r0 += 1; if r1 > k goto +1; ... (every skip target is a merge node) and a chain of early exits
  const parts: RawInsn[][] = [MOV(0, 0)];
  for (let k = 0; k < 25_000; k++) parts.push(K(Op.ADD64_IMM, 0, 1), JK(Op.JGT64_IMM, 1, k, 1), K(Op.ADD64_IMM, 0, 2), JK(Op.JEQ64_IMM, 1, k, 1));
  parts.push(EXIT(), EXIT());
  const p = prog(...parts);
  const vm = createVm();
  const jit = compile(p, vm.config);
  assert.equal(jit.run([10]).r0, vm.run(p, { args: [10] }).r0);
});

test('a counted loop becomes a Wasm loop with a br_if back edge', () => {
  // r0 = 0; r1 = 5; L: r0 += r1; r1 -= 1; if r1 != 0 goto L; exit
  const p = prog(MOV(0, 0), MOV(1, 5), X(Op.ADD64_REG, 0, 1), K(Op.SUB64_IMM, 1, 1), JK(Op.JNE64_IMM, 1, 0, -3), EXIT());
  assert.equal(tree(p), ['code 0', 'loop L1', '  code 1', '  br_if cond1 L1', '  code 2', '  exit', 'end L1', ''].join('\n'));
});

test('nested loops nest', () => {
  // r2 = 3; outer: r1 = 4; inner: r0 += 1; r1 -= 1; if r1 != 0 goto inner; r2 -= 1; if r2 != 0 goto outer; exit
  const p = prog(MOV(0, 0), MOV(2, 3), MOV(1, 4), K(Op.ADD64_IMM, 0, 1), K(Op.SUB64_IMM, 1, 1), JK(Op.JNE64_IMM, 1, 0, -3), K(Op.SUB64_IMM, 2, 1), JK(Op.JNE64_IMM, 2, 0, -6), EXIT());
  const t = tree(p);
  assert.match(t, /loop L1\n {2}code 1\n {2}loop L2\n/);
  const vm = createVm();
  assert.equal(compile(p, vm.config).run([]).r0, 12n);
});

test('a loop with two entries is irreducible and uses the dispatcher', () => {
  // r1 = 4; if r3 == 0 goto mid; top: r0 += 1; mid: r0 *= 3; r1 -= 1; if r1 != 0 goto top; exit
  const p = prog(MOV(0, 0), MOV(1, 4), JK(Op.JEQ64_IMM, 3, 0, 1), K(Op.ADD64_IMM, 0, 1), K(Op.MUL64_IMM, 0, 3), K(Op.SUB64_IMM, 1, 1), JK(Op.JNE64_IMM, 1, 0, -4), EXIT());
  const s = structure(buildCfg(p).funcs[0]!);
  assert.equal(s.dispatcher, true);
  assert.deepEqual(checkStructure(s), []);
  const vm = createVm();
  const jit = compile(p, vm.config);
  for (const r3 of [0, 1]) assert.equal(jit.run([0, 0, r3]).r0, vm.run(p, { args: [0, 0, r3] }).r0);
});

test('a conditional jump to the next instruction is a plain fall-through', () => {
  const p = prog(MOV(0, 7), JK(Op.JEQ64_IMM, 0, 7, 0), EXIT());
  assert.equal(tree(p), 'code 0\ncode 1\nexit\n');
});

test('unreachable blocks are left out', () => {
  const p = prog(MOV(0, 1), JA(2), MOV(0, 2), MOV(0, 3), EXIT());
  const cfg = buildCfg(p);
  assert.equal(cfg.funcs[0]!.blocks.length, 3);
  assert.equal(tree(p), 'code 0\ncode 2\nexit\n');
});

test('running off the end of the program is a ProgramError at the end, as in the interpreter', () => {
  const p = prog(MOV(0, 1), JK(Op.JEQ64_IMM, 1, 0, -2));
  assert.equal(buildCfg(p).funcs[0]!.blocks[0]!.term, Term.Cond);
  const vm = createVm();
  const check = (e: unknown): boolean => e instanceof ProgramError && e.pc === 2 && /fell off the end/.test(e.message);
  assert.throws(() => compile(p, vm.config).run([1]), check);
  assert.throws(() => vm.run(p, { args: [1] }), check);
});

test('a jump out of its function is a DecodeError naming the jump', () => {
  // main calls f at 3; main's goto lands inside f
  const p = prog(K(Op.CALL_LOCAL, 0, 2), JA(1), EXIT(), MOV(0, 1), EXIT());
  assert.throws(() => buildCfg(p), (e: unknown) => e instanceof DecodeError && e.insn === 1);
});

/** A random CFG: each block does some arithmetic and ends in exit, goto or a data-dependent branch anywhere. */
function randomGraph(seed: number): Program {
  const r = new Prng(seed);
  const n = r.range(2, 12);
  const blockLen = 3; // r0 = r0 * 3 + k; r2 += 1; terminator
  const slots: RawInsn[][] = [MOV(0, 1), MOV(2, 0)];
  const startOf = (b: number): number => 2 + b * blockLen;
  for (let b = 0; b < n; b++) {
    slots.push(K(Op.MUL64_IMM, 0, 3), K(Op.ADD64_IMM, 2, 1));
    const here = startOf(b) + 2;
    const target = r.int(n);
    const off = startOf(target) - (here + 1);
    const kind = b === n - 1 ? r.int(2) : r.int(4);
    if (kind === 0) slots.push(EXIT());
    else if (kind === 1) slots.push(JA(off));
    else slots.push(JK(r.chance(0.5) ? Op.JSET64_IMM : Op.JGT64_IMM, 2, r.pick([1, 2, 4, 5, 9]), off));
  }
  return prog(...slots);
}

test('random control-flow graphs: well-formed trees and the interpreter\'s results', () => {
  const vm = createVm();
  let irreducible = 0;
  for (let seed = 1; seed <= 400; seed++) {
    const p = randomGraph(seed);
    const s = structure(buildCfg(p).funcs[0]!);
    if (s.dispatcher) irreducible++;
    assert.deepEqual(checkStructure(s), [], `seed ${seed}`);
    const run = (f: () => bigint): string => {
      try {
        return String(f());
      } catch (e) {
        assert.ok(e instanceof BudgetExceeded, `seed ${seed}: ${String(e)}`);
        return 'budget';
      }
    };
    const a = run(() => vm.run(p, { budget: 5000 }).r0);
    const b = run(() => compile(p, vm.config).run([], { budget: 5000 }).r0);
    assert.equal(b, a, `seed ${seed}\n${printStructure(s.tree)}`);
  }
  assert.ok(irreducible >= 10, `only ${irreducible} irreducible graphs`);
});
