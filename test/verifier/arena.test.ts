// The verifier's arena rules (src/verifier/arena.ts) on self-written
// clang-built programs (test/fixtures/arena) and hand-assembled ones:
// verdicts and messages as the kernel's, and the marks it leaves for the
// engines (which accesses are arena accesses, which ALU64 instructions run
// as 32-bit). As root, with the libbpf the verifier corpus built
// (/tmp/vcorpus/lib, see /work/shared/verifier-corpus), the fixtures' verdicts
// are compared with the running kernel's.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { verify, type VerifyOptions } from '../../src/verifier/index.js';
import { decodeProgram } from '../../src/isa/decode.js';
import { assemble } from '../../src/asm/assemble.js';
import { loadObject } from '../../src/elf/index.js';
import { objectVerifyOptions, unrelocatedMapLoads } from '../../src/verifier/object.js';
import { BPF_MAP_TYPE, BPF_PROG_TYPE } from '../../src/internal/uapi.gen.js';
import { ArenaMark } from '../../src/vm/arena-access.js';
import { loadKernelBtf } from '../../src/verifier/kfuncs-vmlinux.js';
import { FIXTURES } from '../paths.js';

const DIR = join(FIXTURES, 'arena');

/** The running kernel's BTF: CO-RE targets and kernel struct layouts (edges.o's untrusted_map needs it). */
const kernelBtf = loadKernelBtf();

function verifyFixture(file: string, prog: string): ReturnType<typeof verify> {
  const spec = loadObject(readFileSync(join(DIR, file)), { file, ...(kernelBtf ? { coreTarget: kernelBtf } : {}) });
  const p = spec.programs.find((x) => x.name === prog)!;
  return verify(decodeProgram(unrelocatedMapLoads(p), { validate: false }), objectVerifyOptions(spec, p, { logLevel: 1, ...(kernelBtf ? { kernelBtf } : {}) }));
}

/** Instruction indexes with a mark. */
function marked(res: ReturnType<typeof verify>, bit: number): number[] {
  const out: number[] = [];
  res.arena!.marks.forEach((m, i) => {
    if (m & bit) out.push(i);
  });
  return out;
}

const ARENA_MAP = { type: BPF_MAP_TYPE['arena']!, keySize: 0, valueSize: 0, maxEntries: 4, flags: 1 << 10 };
const SYSCALL: VerifyOptions = { progType: BPF_PROG_TYPE['syscall']!, sleepable: true, maps: [ARENA_MAP] };

/** Turn the lddw at each slot into a reference to map `index` (BPF_PSEUDO_MAP_FD), as a loader would. */
function mapRefs(code: Uint8Array, refs: readonly (readonly [number, number])[]): Uint8Array {
  const dv = new DataView(code.buffer, code.byteOffset, code.byteLength);
  for (const [slot, index] of refs) {
    code[slot * 8 + 1] = (code[slot * 8 + 1]! & 0x0f) | (1 << 4);
    dv.setInt32(slot * 8 + 4, index, true);
  }
  return code;
}

function verifyAsm(src: string, opts: VerifyOptions = SYSCALL): ReturnType<typeof verify> {
  return verify(decodeProgram(assemble(src)), opts);
}

test('the fixtures verify, with every arena access and 32-bit rewrite marked', () => {
  const c = verifyFixture('counters.o', 'bump');
  assert.ok(c.ok, c.log);
  // counters.o (llvm-objdump): 7 r1 = addr_space_cast(r1), 8 w2 = *(u32 *)(r1) [runs], ... see below
  const text = spawnSync('llvm-objdump-19', ['-d', join(DIR, 'counters.o')], { encoding: 'utf8' });
  if (text.status === 0) {
    // the lines that touch memory through a register other than r10 are the arena accesses
    const lines = text.stdout.split('\n').filter((l) => /^\s+\d+:/.test(l));
    const access = lines.filter((l) => /\*\((u|s)\d+ \*\)\(r[0-9] /.test(l) && !/\(r10 /.test(l)).map((l) => Number(/^\s+(\d+):/.exec(l)![1]));
    assert.deepEqual(marked(c, ArenaMark.ACCESS), access, 'arena accesses');
  }
  assert.ok(marked(c, ArenaMark.ACCESS).length >= 4);
  const l = verifyFixture('list.o', 'build_and_sum');
  assert.ok(l.ok, l.log);
  // `r6 += r8` and friends on arena pointers run as 32-bit adds
  assert.ok(marked(l, ArenaMark.ZEXT).length > 0, 'list.o has 64-bit arithmetic on arena pointers');
  for (const i of marked(l, ArenaMark.ZEXT)) assert.equal(l.arena!.marks[i]! & ArenaMark.ACCESS, 0);
  assert.ok(verifyFixture('confine.o', 'escape').ok);
  assert.ok(verifyFixture('edges.o', 'load_sx').ok, 'sign-extending arena loads: 6.18 accepts them');
  // a global function's __arg_arena argument: an arena pointer or a number from the caller
  const g = verifyFixture('globalfn.o', 'call_arena');
  assert.ok(g.ok, g.log);
});

test('refusals with the kernel\'s messages', () => {
  const fetchOr = verifyFixture('edges.o', 'fetch_or');
  assert.equal(fetchOr.ok, false);
  assert.equal(fetchOr.error!.reason, 'BPF_ATOMIC stores into R1 arena is not allowed');
  const stack = verifyFixture('globalfn.o', 'call_stack');
  assert.equal(stack.error!.reason, 'addr_space_cast insn can only be used in a program that has an associated arena');
  if (kernelBtf) {
    // a map pointer read from another map (map->inner_map_meta) is not trusted
    const untrusted = verifyFixture('edges.o', 'untrusted_map');
    assert.equal(untrusted.error!.reason, 'R1 must be referenced or trusted');
  }
  const helper = verifyFixture('edges.o', 'helper_arg');
  assert.equal(helper.ok, false);
  assert.match(helper.error!.reason, /^R1 type=arena expected=/);
  // no arena among the program's maps
  const noArena = verifyAsm('r1 = addr_space_cast(r1, 0x0, 0x1)\nr0 = 0\nexit', { ...SYSCALL, maps: [] });
  assert.equal(noArena.error!.reason, 'addr_space_cast insn can only be used in a program that has an associated arena');
  // an arena map the program does not name is not its arena either
  const unnamed = verifyAsm('r1 = addr_space_cast(r1, 0x0, 0x1)\nr0 = 0\nexit');
  assert.equal(unnamed.error!.reason, 'addr_space_cast insn can only be used in a program that has an associated arena');
  // two arenas named by one program
  const arenas = { ...SYSCALL, maps: [ARENA_MAP, ARENA_MAP] };
  const two = verify(decodeProgram(mapRefs(assemble('r1 = 0 ll\nr2 = 0 ll\nr0 = 0\nexit'), [[0, 0], [2, 1]])), arenas);
  assert.equal(two.error!.reason, 'Only one arena per program');
});

test('as(0)->as(1) gives a number, as(1)->as(0) an arena pointer; scalars cannot be dereferenced', () => {
  // lddw of the arena map (src 1) names the arena; r1 is then a scalar user address
  const prog = (body: string): Uint8Array => mapRefs(assemble(`r9 = 0 ll\n${body}`), [[0, 0]]);
  const ok = verify(decodeProgram(prog('r1 = 4096\nr1 = addr_space_cast(r1, 0x0, 0x1)\nr0 = *(u64 *)(r1 + 8)\n*(u32 *)(r1 - 4) = 1\nr1 += r0\nr0 = *(u8 *)(r1 + 32767)\nexit')), SYSCALL);
  assert.ok(ok.ok, ok.log);
  assert.deepEqual(marked(ok, ArenaMark.ACCESS), [4, 5, 7]);
  assert.deepEqual(marked(ok, ArenaMark.ZEXT), [6]);
  const back = verify(decodeProgram(prog('r1 = 4096\nr1 = addr_space_cast(r1, 0x1, 0x0)\nr0 = *(u64 *)(r1 + 0)\nexit')), SYSCALL);
  assert.equal(back.error!.reason, "R1 invalid mem access 'scalar'");
  // the decoder refuses other address spaces; a program decoded without validation meets the verifier's rule
  const bad = verify(decodeProgram(prog('r1 = 0\nr1 = addr_space_cast(r1, 0x2, 0x1)\nr0 = 0\nexit'), { validate: false }), SYSCALL);
  assert.equal(bad.error!.reason, 'addr_space_cast insn can only convert between address space 1 and 0');
});

// ---- the kernel as oracle --------------------------------------------------------------

const LIBBPF = '/tmp/vcorpus/lib/libbpf.so';

/** Load one program of an object with the corpus' libbpf (autoload off for the others); exit 0 = accepted. */
const VERDICT_PY = `
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1]); vp = ctypes.c_void_p
lib.bpf_object__open_file.restype = vp; lib.bpf_object__open_file.argtypes = [ctypes.c_char_p, vp]
lib.bpf_object__load.argtypes = [vp]
lib.bpf_object__next_program.restype = vp; lib.bpf_object__next_program.argtypes = [vp, vp]
lib.bpf_program__name.restype = ctypes.c_char_p; lib.bpf_program__name.argtypes = [vp]
lib.bpf_program__set_autoload.argtypes = [vp, ctypes.c_bool]
lib.bpf_program__set_log_buf.argtypes = [vp, ctypes.c_char_p, ctypes.c_size_t]
lib.bpf_program__set_log_level.argtypes = [vp, ctypes.c_uint32]
obj = lib.bpf_object__open_file(sys.argv[2].encode(), None)
buf = ctypes.create_string_buffer(1 << 20); p = None
while True:
    p = lib.bpf_object__next_program(obj, p)
    if not p: break
    mine = lib.bpf_program__name(p).decode() == sys.argv[3]
    lib.bpf_program__set_autoload(p, mine)
    if mine: lib.bpf_program__set_log_buf(p, buf, len(buf)); lib.bpf_program__set_log_level(p, 1)
err = lib.bpf_object__load(obj)
lines = [l for l in buf.value.decode(errors='replace').split('\\n') if l and not l.startswith('processed ')]
print(lines[-1] if err and lines else '')
sys.exit(0 if err == 0 else 1)
`;

function kernelSkip(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root for the kernel oracle';
  if (!existsSync(LIBBPF)) return `needs the corpus libbpf at ${LIBBPF} (build it with /work/shared/verifier-corpus/build.sh)`;
  return undefined;
}

test('the kernel gives the same verdicts (and error lines) on the fixtures (root only)', (t) => {
  const skip = kernelSkip();
  if (skip) return t.skip(skip);
  const cases: [string, string][] = [
    ['counters.o', 'bump'], ['list.o', 'build_and_sum'], ['list.o', 'use_after_free'], ['confine.o', 'escape'],
    ['edges.o', 'fetch_or'], ['edges.o', 'load_sx'], ['edges.o', 'helper_arg'],
    ['globalfn.o', 'call_arena'], ['globalfn.o', 'call_stack'], ['edges.o', 'untrusted_map'],
  ];
  for (const [file, prog] of cases) {
    const k = spawnSync('python3', ['-c', VERDICT_PY, LIBBPF, join(DIR, file), prog], { encoding: 'utf8' });
    assert.ok(k.status === 0 || k.status === 1, `${file} ${prog}: ${k.stderr}`);
    const ours = verifyFixture(file, prog);
    assert.equal(ours.ok, k.status === 0, `${file} ${prog}: kernel ${k.status === 0 ? 'accepts' : `rejects: ${k.stdout.trim()}`}; tsbpf ${ours.ok ? 'accepts' : `rejects: ${ours.error!.reason}`}`);
    if (!ours.ok) assert.equal(ours.error!.reason, k.stdout.trim(), `${file} ${prog}: error line`);
  }
});
