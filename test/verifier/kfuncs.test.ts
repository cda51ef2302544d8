// Kfunc calls in the verifier (src/verifier/kfunc-check.ts, iter.ts):
// open-coded iterators with their stack slots and loop convergence,
// references to kernel objects, program-type sets, prototypes, and the
// kernel's messages. Hand-written programs call kfuncs through `call -N`
// placeholders (the N-th name of the case); the same bytes with the
// running kernel's BTF ids go through the kernel's verifier too, when we
// are root, and both verdicts must agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { verify, type VerifyOptions } from '../../src/verifier/index.js';
import { decodeProgram } from '../../src/isa/decode.js';
import { assemble } from '../../src/asm/assemble.js';
import { loadObject } from '../../src/elf/index.js';
import { objectVerifyOptions, unrelocatedMapLoads } from '../../src/verifier/object.js';
import { kernelVerdicts } from './kernel.js';
import { build, kernelBtf, vmlinuxFunc, type Built } from './kfunc-asm.js';
import { FIXTURES } from '../paths.js';

const SOCKET_FILTER = 1;
const TRACEPOINT = 5;
const RAW_TRACEPOINT = 17;
const SYSCALL = 31;
const BPF_F_SLEEPABLE = 1 << 4;

interface Case {
  readonly name: string;
  readonly progType: number;
  readonly text: string;
  readonly kfuncs: readonly string[];
  /** undefined: accepted; otherwise a substring of our one-line reason. */
  readonly reject?: string;
  /** Compare with the kernel (false where the kernel cannot take the bytes, e.g. an unknown name). */
  readonly kernel?: boolean;
  /** Our instruction budget (the kernel keeps its 1,000,000): walks that never end stop sooner. */
  readonly insnLimit?: number;
  readonly license?: string;
}

const NUM = ['bpf_iter_num_new', 'bpf_iter_num_next', 'bpf_iter_num_destroy'];
// new(&it at fp-8, 0, 10); count the elements in r6; destroy; return r6
const COUNT_LOOP = `
r1 = r10
r1 += -8
r2 = 0
r3 = 10
call -1
r6 = 0
r1 = r10
r1 += -8
call -2
if r0 == 0 goto +2
r6 += 1
goto -6
r1 = r10
r1 += -8
call -3
r0 = r6
exit`;

const CASES: readonly Case[] = [
  { name: 'an iterator loop with a counter converges', progType: SOCKET_FILTER, text: COUNT_LOOP, kfuncs: NUM },
  {
    name: 'elements are read through the pointer next() returns', progType: SOCKET_FILTER, kfuncs: NUM,
    text: 'r1 = r10\nr1 += -8\nr2 = 0\nr3 = 3\ncall -1\nr6 = 0\nr1 = r10\nr1 += -8\ncall -2\nif r0 == 0 goto +3\nr2 = *(u32 *)(r0 + 0)\nr6 += r2\ngoto -7\nr1 = r10\nr1 += -8\ncall -3\nr0 = r6\nexit',
  },
  {
    name: 'an element read past its 4 bytes', progType: SOCKET_FILTER, kfuncs: NUM, reject: 'outside of the allowed memory range',
    text: 'r1 = r10\nr1 += -8\nr2 = 0\nr3 = 3\ncall -1\nr1 = r10\nr1 += -8\ncall -2\nif r0 == 0 goto +1\nr2 = *(u32 *)(r0 + 4)\nr1 = r10\nr1 += -8\ncall -3\nr0 = 0\nexit',
  },
  {
    name: 'next() may return NULL: a read without a check', progType: SOCKET_FILTER, kfuncs: NUM, reject: "R0 invalid mem access 'scalar'",
    text: 'r1 = r10\nr1 += -8\nr2 = 0\nr3 = 3\ncall -1\nr1 = r10\nr1 += -8\ncall -2\nr2 = *(u32 *)(r0 + 0)\nr1 = r10\nr1 += -8\ncall -3\nr0 = 0\nexit',
  },
  {
    name: 'destroy without new', progType: SOCKET_FILTER, kfuncs: NUM, reject: 'expected an initialized iter_num as arg #0',
    text: 'r1 = r10\nr1 += -8\ncall -3\nr0 = 0\nexit',
  },
  {
    name: 'next without new', progType: SOCKET_FILTER, kfuncs: NUM, reject: 'expected an initialized iter_num as arg #0',
    text: 'r1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\ncall -2\nr0 = 0\nexit',
  },
  {
    name: 'new over a live iterator', progType: SOCKET_FILTER, kfuncs: NUM, reject: 'expected uninitialized iter_num as arg #0',
    text: 'r1 = r10\nr1 += -8\nr2 = 0\nr3 = 3\ncall -1\nr1 = r10\nr1 += -8\nr2 = 0\nr3 = 3\ncall -1\nr0 = 0\nexit',
  },
  {
    name: 'an iterator never destroyed leaks its reference', progType: SOCKET_FILTER, kfuncs: NUM, reject: 'reference leak',
    text: 'r1 = r10\nr1 += -8\nr2 = 0\nr3 = 3\ncall -1\nr0 = 0\nexit',
  },
  {
    name: 'the iterator\'s bytes cannot be read', progType: SOCKET_FILTER, kfuncs: NUM, reject: 'invalid read from stack off -8+0 size 8',
    text: 'r1 = r10\nr1 += -8\nr2 = 0\nr3 = 3\ncall -1\nr6 = *(u64 *)(r10 - 8)\nr1 = r10\nr1 += -8\ncall -3\nr0 = 0\nexit',
  },
  {
    name: 'an overwritten iterator is no iterator', progType: SOCKET_FILTER, kfuncs: NUM, reject: 'expected an initialized iter_num as arg #0',
    text: 'r1 = r10\nr1 += -8\nr2 = 0\nr3 = 3\ncall -1\n*(u64 *)(r10 - 8) = r0\nr1 = r10\nr1 += -8\ncall -3\nr0 = 0\nexit',
  },
  {
    name: 'the iterator argument must point into the stack', progType: SOCKET_FILTER, kfuncs: NUM, reject: 'arg#0 expected pointer to an iterator on stack',
    text: 'r1 = 0\nr2 = 0\nr3 = 3\ncall -1\nr0 = 0\nexit',
  },
  {
    // The counter indexes the stack: it must stay exact, so the loop unrolls until the access leaves the stack.
    name: 'a counter used as a stack offset is not widened away: unbounded, refused', progType: SOCKET_FILTER, kfuncs: NUM, reject: '',
    text: 'r1 = r10\nr1 += -8\nr2 = 0\nr3 = 1000\ncall -1\nr6 = 0\nr1 = r10\nr1 += -8\ncall -2\nif r0 == 0 goto +6\nr2 = r10\nr2 += -64\nr2 += r6\nr3 = 0\n*(u8 *)(r2 + 0) = r3\nr6 += 1\ngoto -12\nr1 = r10\nr1 += -8\ncall -3\nr0 = 0\nexit',
  },
  {
    // After the loop the counter decides a branch, so it is precise: it is never widened and the
    // loop unrolls without end (the kernel's verdict too).
    name: 'a counter the program compares after the loop never converges', progType: SOCKET_FILTER, kfuncs: NUM, reject: 'BPF program is too large', insnLimit: 20_000,
    text: COUNT_LOOP.replace('r0 = r6\nexit', 'r0 = 0\nif r6 != 10 goto +1\nr0 = 1\nexit'),
  },
  {
    name: 'bits: a NULL pointer is fine (the kfunc ignores it)', progType: SOCKET_FILTER, kfuncs: ['bpf_iter_bits_new', 'bpf_iter_bits_next', 'bpf_iter_bits_destroy'],
    text: 'r1 = r10\nr1 += -16\nr2 = 0\nr3 = 1\ncall -1\nr1 = r10\nr1 += -16\ncall -2\nr1 = r10\nr1 += -16\ncall -3\nr0 = 0\nexit',
  },
  {
    name: 'bits: destroy of a num iterator is a type error', progType: SOCKET_FILTER, kfuncs: ['bpf_iter_num_new', 'bpf_iter_bits_destroy', 'bpf_iter_num_destroy'],
    reject: 'expected an initialized iter_bits as arg #0',
    text: 'r1 = r10\nr1 += -16\nr2 = 0\nr3 = 1\ncall -1\nr1 = r10\nr1 += -16\ncall -2\nr0 = 0\nexit',
  },
  {
    name: 'task kfuncs are not registered for socket filters', progType: SOCKET_FILTER, kfuncs: ['bpf_task_from_pid', 'bpf_task_release'],
    reject: 'calling kernel function bpf_task_from_pid is not allowed',
    text: 'r1 = 1\ncall -1\nif r0 == 0 goto +2\nr1 = r0\ncall -2\nr0 = 0\nexit',
  },
  {
    name: 'task lookup and release in a tracepoint', progType: TRACEPOINT, kfuncs: ['bpf_task_from_pid', 'bpf_task_release'],
    text: 'r1 = 1\ncall -1\nif r0 == 0 goto +2\nr1 = r0\ncall -2\nr0 = 0\nexit',
  },
  {
    name: 'a task reference released twice', progType: TRACEPOINT, kfuncs: ['bpf_task_from_pid', 'bpf_task_release'], reject: '',
    text: 'r1 = 1\ncall -1\nif r0 == 0 goto +5\nr6 = r0\nr1 = r6\ncall -2\nr1 = r6\ncall -2\nr0 = 0\nexit',
  },
  {
    name: 'a task pointer that may be NULL cannot be released', progType: TRACEPOINT, kfuncs: ['bpf_task_from_pid', 'bpf_task_release'], reject: 'Possibly NULL pointer passed to trusted arg0',
    text: 'r1 = 1\ncall -1\nr1 = r0\ncall -2\nr0 = 0\nexit',
  },
  {
    name: 'the current task is trusted but not referenced: no release', progType: TRACEPOINT, kfuncs: ['bpf_task_release'], reject: 'release kernel function bpf_task_release expects refcounted PTR_TO_BTF_ID',
    text: 'call 158\nr1 = r0\ncall -1\nr0 = 0\nexit',
  },
  {
    name: 'acquire on the current task, then release', progType: TRACEPOINT, kfuncs: ['bpf_task_acquire', 'bpf_task_release'],
    text: 'call 158\nr1 = r0\ncall -1\nif r0 == 0 goto +2\nr1 = r0\ncall -2\nr0 = 0\nexit',
  },
  {
    name: 'a scalar where a task is expected', progType: TRACEPOINT, kfuncs: ['bpf_task_acquire'], reject: 'Possibly NULL pointer passed to trusted arg0',
    text: 'r1 = 0\ncall -1\nr0 = 0\nexit',
  },
  {
    name: 'a cgroup where a task is expected', progType: TRACEPOINT, kfuncs: ['bpf_cgroup_from_id', 'bpf_task_release', 'bpf_cgroup_release'],
    reject: 'expected pointer to STRUCT task_struct but R1 has a pointer to STRUCT cgroup',
    text: 'r1 = 1\ncall -1\nif r0 == 0 goto +2\nr1 = r0\ncall -2\nr0 = 0\nexit',
  },
  {
    // checked for every kfunc call before the walk, walked or not
    name: 'a non-GPL program calls no kfunc, not even one it never walks', progType: SOCKET_FILTER, kfuncs: NUM, license: 'MIT',
    reject: 'cannot call kernel function from non-GPL compatible program', text: 'r0 = 0\nif r0 == 0 goto +1\ncall -3\nexit',
  },
  {
    name: 'a non-GPL program cannot read kernel structs', progType: TRACEPOINT, kfuncs: [], license: 'MIT',
    reject: 'GPL', text: 'call 158\nr0 = *(u32 *)(r0 + 0)\nexit',
  },
  {
    name: 'a kfunc tsbpf does not know', progType: SOCKET_FILTER, kfuncs: ['bpf_no_such_kfunc'], reject: 'calling kernel function bpf_no_such_kfunc is not allowed', kernel: false,
    text: 'call -1\nr0 = 0\nexit',
  },
];

function oursFor(c: Case, extra: Partial<VerifyOptions> = {}): ReturnType<typeof verify> {
  const b = build(c.text, c.kfuncs);
  return verify(decodeProgram(b.bytes, { validate: false }), {
    progType: c.progType, logLevel: 1, kfuncs: b.kfuncs, sleepable: c.progType === SYSCALL, ...(c.insnLimit ? { insnLimit: c.insnLimit } : {}),
    ...(c.license ? { license: c.license } : {}),
    ...(kernelBtf ? { kernelBtf } : {}), ...extra,
  });
}

for (const c of CASES) {
  test(`kfuncs: ${c.name}`, () => {
    const r = oursFor(c);
    if (c.reject === undefined) assert.equal(r.ok, true, r.error?.reason ?? '');
    else {
      assert.equal(r.ok, false, 'accepted');
      assert.ok(r.error!.reason.includes(c.reject), r.error!.reason);
    }
  });
}

test('kfuncs: every case gets the kernel\'s verdict (root only)', (t) => {
  const cases = CASES.filter((c) => c.kernel !== false);
  if (!kernelBtf) return t.skip('no /sys/kernel/btf/vmlinux: the kernel cannot name kfuncs');
  const kv = kernelVerdicts(cases.map((c) => ({
    bytes: build(c.text, c.kfuncs).bytes, progType: c.progType, maps: [], progFlags: c.progType === SYSCALL ? BPF_F_SLEEPABLE : 0, ...(c.license ? { license: c.license } : {}),
  })));
  if (kv[0]?.status === 'unavailable') return t.skip(`kernel oracle unavailable: ${kv[0].log}`);
  cases.forEach((c, i) => {
    const ours = oursFor(c).ok ? 'accept' : 'reject';
    assert.equal(ours, kv[i]!.status, `${c.name}: kernel ${kv[i]!.status} (${kv[i]!.log.trim().split('\n').slice(-3).join(' | ')})`);
  });
});

test('kfuncs: a kfunc call the options do not name is the kernel\'s unknown BTF id', () => {
  const c = CASES[0]!;
  const r = oursFor(c, { kfuncs: new Map() });
  assert.match(r.error!.reason, /^kernel btf_id \d+ is not a function$/);
});

test('kfuncs: reading the current task needs the kernel\'s BTF, and with it reads fields', (t) => {
  const text = 'call 158\nr0 = *(u32 *)(r0 + 0)\nexit';
  const without = verify(decodeProgram(assemble(text, { dialect: 'llvm' })), { progType: TRACEPOINT });
  assert.equal(without.ok, false);
  assert.match(without.error!.reason, /needs the kernel's BTF/);
  if (!kernelBtf) return t.skip('no /sys/kernel/btf/vmlinux');
  assert.equal(verify(decodeProgram(assemble(text, { dialect: 'llvm' })), { progType: TRACEPOINT, kernelBtf }).ok, true);
  const far = verify(decodeProgram(assemble('call 158\nr0 = *(u32 *)(r0 + 32000)\nexit', { dialect: 'llvm' })), { progType: TRACEPOINT, kernelBtf });
  assert.match(far.error!.reason, /access beyond struct task_struct/);
  const store = verify(decodeProgram(assemble('call 158\nr1 = 0\n*(u32 *)(r0 + 0) = r1\nr0 = 0\nexit', { dialect: 'llvm' })), { progType: TRACEPOINT, kernelBtf });
  assert.equal(store.ok, false);
});

// ---- clang-built objects ----

function verifyObject(file: string, prog: string): ReturnType<typeof verify> {
  const spec = loadObject(new Uint8Array(readFileSync(join(FIXTURES, 'kfuncs', file))), { file });
  const p = spec.programs.find((x) => x.name === prog)!;
  return verify(decodeProgram(unrelocatedMapLoads(p), { validate: false }), objectVerifyOptions(spec, p, { logLevel: 1, ...(kernelBtf ? { kernelBtf } : {}) }));
}

test('kfuncs: the fixture programs verify as the kernel does', () => {
  for (const prog of ['sum_range', 'index_array', 'count_bits', 'one_word', 'bad_range']) {
    const r = verifyObject('iters.o', prog);
    assert.equal(r.ok, true, `${prog}: ${r.error?.reason}`);
  }
  assert.equal(verifyObject('cpumask.o', 'masks').ok, true);
  assert.equal(verifyObject('cpumask_bad.o', 'double_release').ok, false);
  assert.match(verifyObject('cpumask_bad.o', 'leak').error!.reason, /reference leak/);
  assert.match(verifyObject('kernel_objects.o', 'task_lookup_raw_tp').error!.reason, /calling kernel function bpf_task_from_pid is not allowed/);
  assert.equal(verifyObject('kernel_objects.o', 'task_lookup').ok, true);
});

test('kfuncs: an extern declared with another prototype than the kernel\'s is refused', () => {
  const r = verifyObject('bad_proto.o', 'wrong_prototype');
  assert.equal(r.ok, false);
  assert.match(r.error!.reason, /kernel function bpf_iter_num_new: the object declares it as int \(\*\)\(\.\.\.\) with 2 argument\(s\), which does not match the kernel's prototype/);
});

test('kfuncs: program types follow the kernel\'s kfunc sets', () => {
  // the common set (iterators) is open to every type; cpumask kfuncs to tracing, struct_ops and syscall
  const c: Case = { name: '', progType: RAW_TRACEPOINT, kfuncs: ['bpf_cpumask_create', 'bpf_cpumask_release'], text: 'call -1\nif r0 == 0 goto +2\nr1 = r0\ncall -2\nr0 = 0\nexit' };
  assert.match(oursFor(c).error!.reason, /calling kernel function bpf_cpumask_create is not allowed/);
  assert.equal(oursFor({ ...c, progType: SYSCALL }).ok, true);
  assert.equal(oursFor({ ...c, progType: TRACEPOINT }).ok, true);
  assert.equal(oursFor({ name: '', progType: RAW_TRACEPOINT, kfuncs: NUM, text: COUNT_LOOP }).ok, true);
});

test('kfuncs: global functions with __arg_trusted task arguments', () => {
  // main: r1 = current task (or NULL); call the global function; exit. func (at insn 5, 4 with NULL): per case.
  const prog = (arg: string, body: string): Built => build(`${arg}\ncall func\nr0 = 0\nexit\nfunc:\n${body}`, ['bpf_task_release']);
  const sig = (insn: number, nullable: boolean) => [{ insn, name: 'subprog_trusted', global: true, args: [{ kind: 'btf' as const, struct: 'task_struct', nullable }] }];
  const run = (b: Built, nullable = false) => {
    const p = decodeProgram(b.bytes, { validate: false });
    // the function starts after main's exit
    const insn = [...p.opcode].indexOf(0x95) + 1;
    return verify(p, { progType: TRACEPOINT, kfuncs: b.kfuncs, funcs: sig(insn, nullable), ...(kernelBtf ? { kernelBtf } : {}) });
  };
  const current = 'call 158\nr1 = r0';
  assert.equal(run(prog(current, 'r0 = 0\nexit')).ok, true);
  const nullArg = run(prog('r1 = 0', 'r0 = 0\nexit'));
  assert.match(nullArg.error!.reason, /Caller passes invalid args into func#1 \('subprog_trusted'\)/);
  assert.match(nullArg.log, /R1 type=scalar expected=ptr_, trusted_ptr_, rcu_ptr_/);
  assert.equal(run(prog('r1 = 0', 'r0 = 0\nexit'), true).ok, true, 'NULL is fine for __arg_nullable');
  // a trusted argument is not a reference: the function cannot release it
  assert.match(run(prog(current, 'call -1\nr0 = 0\nexit')).error!.reason, /release kernel function bpf_task_release expects refcounted PTR_TO_BTF_ID/);
  // a nullable one must be checked before it is read
  assert.match(run(prog(current, 'r0 = *(u32 *)(r1 + 0)\nexit'), true).error!.reason, /invalid mem access/);
});
