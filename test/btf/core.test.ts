// CO-RE resolution without a kernel: hand-built local and target BTFs with
// renamed, moved, missing and resized fields, flavors, anonymous members,
// bitfields, enums and ambiguous candidates. The expected values are worked
// out from the layouts by hand (libbpf's rules, relo_core.c); test/elf/
// core-kernel.test.ts checks the same code against libbpf itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolveCoreRelo, type CandidateCache } from '../../src/btf/core-relo.js';
import { CoreKind, essentialName } from '../../src/btf/core-spec.js';
import type { Btf } from '../../src/btf/btf.js';
import { loadObject } from '../../src/elf/load.js';
import { CORE_POISON_IMM } from '../../src/elf/core-apply.js';
import { decodeProgram } from '../../src/isa/decode.js';
import { BtfError, ElfError } from '../../src/internal/errors.js';
import { Types, taskTarget } from './core-target.js';

function resolve(local: Btf, typeId: number, access: string, kind: number, targ: Btf, cache: CandidateCache = new Map()) {
  return resolveCoreRelo(local, typeId, access, kind, targ, cache);
}

test('essential names drop the last ___flavor suffix only', () => {
  assert.equal(essentialName('task_struct___old'), 'task_struct');
  assert.equal(essentialName('a___b___c'), 'a___b');
  assert.equal(essentialName('plain'), 'plain');
  assert.equal(essentialName('x____y'), 'x____y'); // four underscores: no X___Y with X and Y non-underscores
  assert.equal(essentialName('___x'), '___x'); // nothing before the separator
});

test('field offsets follow renamed flavors, moved fields and anonymous members', () => {
  const l = new Types();
  const li = l.int('int', 4, true);
  const ls = l.struct('s___v1', 8, [['a', li, 0], ['b', li, 32]]);
  const local = l.btf();
  const t = new Types();
  const ti = t.int('int', 4, true);
  const tl = t.int('long', 8, true);
  const anon = t.struct('', 8, [['pad', ti, 0], ['b', ti, 32]]);
  t.struct('s', 24, [['x', tl, 0], ['inner', anon, 64], ['a', ti, 128]]);
  const targ = t.btf();
  const b = resolve(local, ls, '0:1', CoreKind.FIELD_BYTE_OFFSET, targ);
  assert.equal(b.orig, 4n);
  assert.equal(b.poison, true, 'a named member ("inner") is not searched: b is missing');
  const t2 = new Types();
  const t2i = t2.int('int', 4, true);
  const anon2 = t2.struct('', 8, [['pad', t2i, 0], ['b', t2i, 32]]);
  t2.struct('s', 16, [['a', t2i, 0], ['', anon2, 64]]);
  const targ2 = t2.btf();
  const b2 = resolve(local, ls, '0:1', CoreKind.FIELD_BYTE_OFFSET, targ2);
  assert.deepEqual([b2.orig, b2.value, b2.poison], [4n, 12n, false], 'b found through the anonymous member at byte 8, then 4');
  assert.match(b2.target, /\+ 0:1:1$/);
  assert.equal(resolve(local, ls, '0:0', CoreKind.FIELD_BYTE_OFFSET, targ2).value, 0n);
  assert.equal(resolve(local, ls, '0:1', CoreKind.FIELD_EXISTS, targ2).value, 1n);
  assert.equal(resolve(local, ls, '0:1', CoreKind.FIELD_EXISTS, targ).value, 0n);
});

test('load size changes: unsigned and pointers widen, signed fields poison', () => {
  const l = new Types();
  const u32 = l.int('unsigned int', 4);
  const s32 = l.int('int', 4, true);
  const ls = l.struct('regs', 8, [['di', u32, 0], ['si', s32, 32]]);
  const local = l.btf();
  const t = new Types();
  const u64 = t.int('unsigned long', 8);
  const s64 = t.int('long', 8, true);
  t.struct('regs', 16, [['si', s64, 0], ['di', u64, 64]]);
  const targ = t.btf();
  const di = resolve(local, ls, '0:0', CoreKind.FIELD_BYTE_OFFSET, targ);
  assert.deepEqual([di.value, di.origSize, di.newSize, di.failSizeAdjust], [8n, 4, 8, false]);
  const si = resolve(local, ls, '0:1', CoreKind.FIELD_BYTE_OFFSET, targ);
  assert.deepEqual([si.value, si.origSize, si.newSize, si.failSizeAdjust], [0n, 4, 8, true]);
  assert.equal(resolve(local, ls, '0:1', CoreKind.FIELD_SIGNED, targ).value, 1n);
  assert.equal(resolve(local, ls, '0:0', CoreKind.FIELD_BYTE_SIZE, targ).value, 8n);
});

test('bitfields: offset, size and shifts of the smallest load that holds the field', () => {
  const l = new Types();
  const u8 = l.int('unsigned char', 1);
  const ls = l.struct('skb', 4, [['pkt_type', u8, 0, 3]]);
  const local = l.btf();
  const t = new Types();
  const tu8 = t.int('unsigned char', 1);
  // pkt_type:3 at bit 130 of the target: byte 16, bits 2..4.
  t.struct('skb', 32, [['x', tu8, 0, 8], ['pkt_type', tu8, 130, 3]]);
  const targ = t.btf();
  const r = (kind: number): bigint => resolve(local, ls, '0:0', kind, targ).value;
  assert.equal(r(CoreKind.FIELD_BYTE_OFFSET), 16n);
  assert.equal(r(CoreKind.FIELD_BYTE_SIZE), 1n);
  assert.equal(r(CoreKind.FIELD_LSHIFT_U64), 64n - (130n + 3n - 128n)); // 59
  assert.equal(r(CoreKind.FIELD_RSHIFT_U64), 61n);
  assert.equal(r(CoreKind.FIELD_SIGNED), 0n);
});

test('array steps: element offsets in the target, out-of-range indexes do not match', () => {
  const l = new Types();
  const ch = l.int('char', 1, true);
  const lint = l.int('int', 4);
  const arr = l.array(ch, lint, 16);
  const ls = l.struct('task', 20, [['pid', lint, 0], ['comm', arr, 32]]);
  const local = l.btf();
  const t = new Types();
  const tch = t.int('char', 1, true);
  const tint = t.int('int', 4);
  const small = t.array(tch, tint, 2);
  t.struct('task', 100, [['comm', small, 0], ['pid', tint, 64]]);
  const targ = t.btf();
  assert.equal(resolve(local, ls, '0:1:1', CoreKind.FIELD_BYTE_OFFSET, targ).value, 1n);
  assert.equal(resolve(local, ls, '0:1:3', CoreKind.FIELD_EXISTS, targ).value, 0n, 'comm[3] is beyond the target array');
  assert.equal(resolve(local, ls, '0:1', CoreKind.FIELD_BYTE_SIZE, targ).value, 2n);
  assert.equal(resolve(local, ls, '0', CoreKind.FIELD_BYTE_OFFSET, targ).value, 0n);
  assert.equal(resolve(local, ls, '1', CoreKind.FIELD_BYTE_OFFSET, targ).value, 100n, 'p[1] steps by the target size');
});

test('enum values by name, 32-bit values sign-extended as libbpf reads them, enum64', () => {
  const l = new Types();
  const le = l.enum('mode', [['A', 0], ['B', 1], ['GONE', 2]]);
  const le64 = l.enum64('big', [['HUGE', 1n]]);
  const local = l.btf();
  const t = new Types();
  t.enum('mode___x', [['B', -1], ['A', 5]], true);
  t.enum64('big', [['HUGE', 0x123456789n]]);
  const targ = t.btf();
  assert.equal(resolve(local, le, '1', CoreKind.ENUMVAL_VALUE, targ).value, 0xffffffffffffffffn);
  assert.equal(resolve(local, le, '0', CoreKind.ENUMVAL_VALUE, targ).value, 5n);
  assert.equal(resolve(local, le, '2', CoreKind.ENUMVAL_EXISTS, targ).value, 0n);
  assert.equal(resolve(local, le, '2', CoreKind.ENUMVAL_VALUE, targ).poison, true);
  assert.equal(resolve(local, le64, '0', CoreKind.ENUMVAL_VALUE, targ).value, 0x123456789n);
});

test('type relocations: exists, size, target id, matches', () => {
  const l = new Types();
  const li = l.int('int', 4, true);
  const lp = l.struct('pair', 8, [['a', li, 0]]);
  const missing = l.struct('absent', 4, [['a', li, 0]]);
  const local = l.btf();
  const t = new Types();
  const ti = t.int('int', 4, true);
  const tu = t.int('unsigned int', 4);
  const tp = t.struct('pair', 12, [['b', tu, 0], ['a', ti, 32], ['c', ti, 64]]);
  const targ = t.btf();
  assert.equal(resolve(local, lp, '0', CoreKind.TYPE_EXISTS, targ).value, 1n);
  assert.equal(resolve(local, missing, '0', CoreKind.TYPE_EXISTS, targ).value, 0n);
  assert.equal(resolve(local, lp, '0', CoreKind.TYPE_SIZE, targ).value, 12n);
  assert.equal(resolve(local, lp, '0', CoreKind.TYPE_ID_TARGET, targ).value, BigInt(tp));
  assert.equal(resolve(local, lp, '0', CoreKind.TYPE_ID_LOCAL, targ).value, BigInt(lp));
  assert.equal(resolve(local, lp, '0', CoreKind.TYPE_MATCHES, targ).value, 1n, 'local members are a subset with matching types');
  const t2 = new Types();
  const t2u = t2.int('unsigned int', 4);
  t2.struct('pair', 4, [['a', t2u, 0]]);
  assert.equal(resolve(local, lp, '0', CoreKind.TYPE_MATCHES, t2.btf()).value, 0n, 'signedness differs');
});

test('ambiguous candidates and anonymous local types are refused', () => {
  const l = new Types();
  const li = l.int('int', 4, true);
  const ls = l.struct('s', 8, [['a', li, 0], ['b', li, 32]]);
  const anon = l.struct('', 4, [['a', li, 0]]);
  const local = l.btf();
  const t = new Types();
  const ti = t.int('int', 4, true);
  t.struct('s', 8, [['a', ti, 0], ['b', ti, 32]]);
  t.struct('s___other', 8, [['b', ti, 0], ['a', ti, 32]]);
  const targ = t.btf();
  assert.throws(() => resolve(local, ls, '0:1', CoreKind.FIELD_BYTE_OFFSET, targ), (e: unknown) => e instanceof BtfError && /field offset ambiguity/.test(e.message));
  assert.throws(() => resolve(local, anon, '0:0', CoreKind.FIELD_BYTE_OFFSET, targ), /anonymous types are not supported/);
  assert.throws(() => resolve(local, ls, '0:7', CoreKind.FIELD_BYTE_OFFSET, targ), /member 7 of struct s does not exist/);
  assert.throws(() => resolve(local, ls, '0:x', CoreKind.FIELD_BYTE_OFFSET, targ), /bad access string/);
});

test('a candidate that fails one relocation is not tried for the next one of the same type (libbpf\'s cache)', () => {
  const l = new Types();
  const li = l.int('int', 4, true);
  const ls = l.struct('s', 8, [['a', li, 0], ['b', li, 32]]);
  const local = l.btf();
  const t = new Types();
  const ti = t.int('int', 4, true);
  t.struct('s', 4, [['a', ti, 0]]);
  t.struct('s___2', 8, [['x', ti, 0], ['a', ti, 32], ['b', ti, 0]]);
  const targ = t.btf();
  const cache: CandidateCache = new Map();
  // Only s___2 has b: the cache keeps just it, so 'a' then resolves to s___2's offset without ambiguity.
  assert.equal(resolve(local, ls, '0:1', CoreKind.FIELD_BYTE_OFFSET, targ, cache).value, 0n);
  assert.equal(resolve(local, ls, '0:0', CoreKind.FIELD_BYTE_OFFSET, targ, cache).value, 4n);
  assert.throws(() => resolve(local, ls, '0:0', CoreKind.FIELD_BYTE_OFFSET, targ), /ambiguity/, 'without the pruned cache both candidates match a');
});

test('core_task.o relocated against a hand-made target: values, poisoning and runnability', () => {
  const file = fileURLToPath(new URL('../../../test/fixtures/objects/core/core_task.o', import.meta.url));
  const bytes = new Uint8Array(readFileSync(file));
  const spec = loadObject(bytes, { file, coreTarget: taskTarget() });
  const kinds = spec.programs.find((p) => p.name === 'core_kinds')!;
  const value = (kind: string, type: string, access: string): bigint | undefined =>
    kinds.coreRelos.find((r) => r.kindName === kind && r.typeName === type && r.access === access)?.result?.value;
  assert.equal(value('field_byte_offset', 'struct task_struct', '0:0'), 12n, 'pid moved to byte 12');
  assert.equal(value('field_byte_offset', 'struct task_struct', '0:3:3'), 27n, 'comm[3]');
  assert.equal(value('field_exists', 'struct task_struct___old', '0:1'), 0n);
  assert.equal(value('field_exists', 'struct task_struct___new', '0:0'), 1n);
  assert.equal(value('type_size', 'struct task_struct', '0'), 64n);
  assert.equal(value('field_byte_offset', 'struct sk_buff', '0:0'), 4n);
  assert.equal(value('field_lshift_u64', 'struct sk_buff', '0:0'), 64n - (37n + 3n - 32n));
  assert.equal(value('enumval_value', 'enum pid_type', '3'), 9n);
  assert.equal(value('type_exists', 'struct no_such_kernel_type', '0'), 0n);
  const d = decodeProgram(kinds.insns);
  const old = kinds.coreRelos.find((r) => r.kindName === 'field_byte_offset' && r.typeName === 'struct task_struct___old')!;
  assert.equal(old.result?.poisoned, true);
  assert.equal(d.imm[old.insn], CORE_POISON_IMM, 'unresolvable read became call 0xbad2310');
  const pid = kinds.coreRelos.find((r) => r.kindName === 'field_byte_offset' && r.typeName === 'struct task_struct' && r.access === '0:0')!;
  assert.equal(d.imm[pid.insn], 12, 'the ALU immediate carries the new offset');
  // Every copy of the sub-functions is patched in both programs that call them.
  const sub = spec.programs.find((p) => p.name === 'core_subfn')!;
  assert.ok(sub.coreRelos.length > 0 && sub.coreRelos.every((r) => r.result !== undefined));
  const plain = loadObject(bytes, { file });
  assert.ok(plain.programs.every((p) => p.coreRelos.every((r) => r.result === undefined)), 'without a target nothing is applied');
});

test('a relocated instruction that does not hold the value the local BTF predicts is refused', () => {
  const file = fileURLToPath(new URL('../../../test/fixtures/objects/core/core_task.o', import.meta.url));
  const bytes = new Uint8Array(readFileSync(file));
  const plain = loadObject(bytes, { file });
  const r = plain.programs[0]!.coreRelos.find((x) => x.kindName === 'type_size')!;
  // Find the instruction's bytes in the file's section and corrupt its immediate.
  const sectionInsn = r.sectionInsn;
  const text = Buffer.from(bytes);
  const sh = plain.programs[0]!;
  const needle = Buffer.from(sh.insns.subarray(r.insn * 8, r.insn * 8 + 8));
  const at = text.indexOf(needle);
  assert.ok(at > 0 && sectionInsn >= 0);
  const bad = new Uint8Array(bytes);
  bad[at + 4] = bad[at + 4]! ^ 0x55;
  assert.throws(() => loadObject(bad, { file, coreTarget: taskTarget() }), (e: unknown) => e instanceof ElfError && /type_size struct task_struct \+ 0\): instruction \d+ \(ALU\) has immediate \d+, expected 40/.test(e.message));
});
