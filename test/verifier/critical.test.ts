// Critical sections in the verifier (src/verifier/critical.ts) where the
// hand-written case file cannot reach: kfunc calls (bpf_rcu_read_lock/unlock,
// bpf_preempt_disable/enable, iterators) inside and around sections, a
// bpf_spin_lock held while calling them, and pruning that must keep states
// with different sections apart. Kfuncs are called through `call -N`
// placeholders (the N-th name of the case), as in kfuncs.test.ts; as root the
// same bytes with the running kernel's BTF ids go through its verifier, and
// its verdict and error line must be ours.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verify } from '../../src/verifier/index.js';
import { decodeProgram } from '../../src/isa/decode.js';
import { BtfKind } from '../../src/btf/types.js';
import { BPF_PROG_TYPE } from '../../src/internal/uapi.gen.js';
import type { MapInfo } from '../../src/verifier/env.js';
import { kernelErrorLine, kernelVerdicts } from './kernel.js';
import { build, kernelBtf, vmlinuxFunc } from './kfunc-asm.js';


interface Case {
  readonly name: string;
  readonly type: string;
  readonly text: string;
  readonly maps?: readonly MapInfo[];
  /** undefined: accepted; otherwise our one-line reason, which must also be the kernel's error line. */
  readonly reject?: string;
  /** Reads kernel objects: needs the running kernel's BTF (skipped without it). */
  readonly kernelBtf?: boolean;
  /** Loaded with BPF_F_SLEEPABLE. */
  readonly sleepable?: boolean;
}

const KF = ['bpf_rcu_read_lock', 'bpf_rcu_read_unlock', 'bpf_preempt_disable', 'bpf_preempt_enable', 'bpf_iter_num_new', 'bpf_iter_num_next', 'bpf_iter_num_destroy',
  'bpf_task_acquire', 'bpf_task_release', 'bpf_local_irq_save', 'bpf_local_irq_restore'];
const RCU_LOCK = 'call -1\n';
const RCU_UNLOCK = 'call -2\n';
const PREEMPT_OFF = 'call -3\n';
const PREEMPT_ON = 'call -4\n';
const RET0 = 'r0 = 0\nexit\n';
/** bpf_copy_from_user(fp-8, 8, NULL): a helper that may sleep. */
const COPY_FROM_USER = 'r1 = r10\nr1 += -8\nr2 = 8\nr3 = 0\ncall 148\n';
const BPF_F_SLEEPABLE = 1 << 4;
/** bpf_local_irq_save / restore with the flag at fp+OFF. */
const irqSave = (off: number): string => `r1 = r10\nr1 += ${off}\ncall -10\n`;
const irqRestore = (off: number): string => `r1 = r10\nr1 += ${off}\ncall -11\n`;
/** An array whose 16-byte value holds a bpf_spin_lock at 4 (its BTF as kernel_load.py builds it). */
const LOCK_MAP: MapInfo = { type: 2, keySize: 4, valueSize: 16, maxEntries: 1, valueBtf: true, spinLockOff: 4 };
const PROG_ARRAY: MapInfo = { type: 3, keySize: 4, valueSize: 4, maxEntries: 1 };
/** r6 = the lock map's value (null-checked; `out` returns 0). */
const LOOKUP = 'r1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\nld_pseudo r1, 1, 0\ncall 1\nif r0 == 0 goto out\nr6 = r0\n';
const LOCK = 'r1 = r6\nr1 += 4\ncall 93\n';
const UNLOCK = 'r1 = r6\nr1 += 4\ncall 94\n';
const OUT = 'out:\nr0 = 0\nexit\n';
/** Offset of a task_struct member in the running kernel's BTF (-1 without it). */
function taskOff(field: string): number {
  const id = kernelBtf?.idsByName('task_struct').find((i) => kernelBtf!.type(i).kind === BtfKind.STRUCT);
  const t = id === undefined ? undefined : kernelBtf!.type(id);
  const m = t?.kind === BtfKind.STRUCT ? t.members.find((x) => x.name === field) : undefined;
  return m === undefined ? -1 : m.bitOffset / 8;
}
/**
 * r1 = current->FIELD (bpf_get_current_task_btf), `mid` between the read and
 * bpf_task_acquire(r1), which is released when not NULL; `pre`/`post` around it all.
 */
function acquireField(field: string, pre = '', mid = '', post = ''): string {
  return `${pre}call 158\nr1 = *(u64 *)(r0 + ${taskOff(field)})\n${mid}call -8\nif r0 == 0 goto out\nr1 = r0\ncall -9\nout:\n${post}r0 = 0\nexit\n`;
}

const CASES: readonly Case[] = [
  { name: 'an RCU section', type: 'socket_filter', text: RCU_LOCK + RCU_UNLOCK + RET0 },
  { name: 'RCU sections in xdp and kprobe programs too', type: 'xdp', text: RCU_LOCK + RCU_UNLOCK + RET0 },
  { name: 'an RCU section in a kprobe', type: 'kprobe', text: RCU_LOCK + RCU_UNLOCK + RET0 },
  { name: 'helpers may be called in an RCU section', type: 'sched_cls', text: RCU_LOCK + 'call 7\n' + RCU_UNLOCK + RET0 },
  { name: 'nested RCU read lock', type: 'socket_filter', text: RCU_LOCK + RCU_LOCK + RCU_UNLOCK + RCU_UNLOCK + RET0, reject: 'nested rcu read lock (kernel function bpf_rcu_read_lock)' },
  { name: 'RCU unlock without lock', type: 'socket_filter', text: RCU_UNLOCK + RET0, reject: 'unmatched rcu read unlock (kernel function bpf_rcu_read_unlock)' },
  { name: 'RCU unlock on a path that did not lock', type: 'socket_filter', text: 'r2 = *(u32 *)(r1 + 0)\nif r2 == 0 goto l\n' + RCU_LOCK + 'l:\n' + RCU_UNLOCK + RET0, reject: 'unmatched rcu read unlock (kernel function bpf_rcu_read_unlock)' },
  { name: 'exit inside an RCU section', type: 'socket_filter', text: RCU_LOCK + RET0, reject: 'BPF_EXIT instruction in main prog cannot be used inside bpf_rcu_read_lock-ed region' },
  { name: 'LD_ABS inside an RCU section', type: 'sched_cls', text: 'r6 = r1\n' + RCU_LOCK + 'r0 = *(u8 *)skb[0]\n' + RCU_UNLOCK + RET0, reject: 'BPF_LD_[ABS|IND] cannot be used inside bpf_rcu_read_lock-ed region' },
  {
    name: 'tail call inside an RCU section', type: 'sched_cls', maps: [PROG_ARRAY],
    text: 'r6 = r1\n' + RCU_LOCK + 'r1 = r6\nld_pseudo r2, 1, 0\nr3 = 0\ncall 12\n' + RCU_UNLOCK + RET0,
    reject: 'tail_call cannot be used inside bpf_rcu_read_lock-ed region',
  },
  { name: 'a sleepable program may call a helper that sleeps', type: 'syscall', sleepable: true, text: COPY_FROM_USER + RET0 },
  { name: 'a helper that sleeps in an RCU section', type: 'syscall', sleepable: true, text: RCU_LOCK + COPY_FROM_USER + RCU_UNLOCK + RET0, reject: 'sleepable helper bpf_copy_from_user#148 in rcu_read_lock region' },
  { name: 'a helper that sleeps with preemption off', type: 'syscall', sleepable: true, text: PREEMPT_OFF + COPY_FROM_USER + PREEMPT_ON + RET0, reject: 'sleepable helper bpf_copy_from_user#148 in non-preemptible region' },
  { name: 'IRQs saved and restored', type: 'socket_filter', text: irqSave(-8) + irqRestore(-8) + RET0 },
  { name: 'IRQs saved twice, restored innermost first', type: 'socket_filter', text: irqSave(-8) + irqSave(-16) + irqRestore(-16) + irqRestore(-8) + RET0 },
  { name: 'IRQs restored out of order', type: 'socket_filter', text: irqSave(-8) + irqSave(-16) + irqRestore(-8) + irqRestore(-16) + RET0, reject: 'cannot restore irq state out of order, expected id=2 acquired at insn_idx=5' },
  { name: 'exit with IRQs saved', type: 'socket_filter', text: irqSave(-8) + RET0, reject: 'BPF_EXIT instruction in main prog cannot be used inside bpf_local_irq_save-ed region' },
  { name: 'IRQ restore without save', type: 'socket_filter', text: irqRestore(-8) + RET0, reject: 'expected an initialized irq flag as arg#0' },
  { name: 'IRQ save over a saved flag', type: 'socket_filter', text: irqSave(-8) + irqSave(-8) + RET0, reject: 'expected uninitialized irq flag as arg#0' },
  { name: 'a saved IRQ flag cannot be read', type: 'socket_filter', text: irqSave(-8) + 'r1 = *(u64 *)(r10 - 8)\n' + irqRestore(-8) + RET0, reject: 'invalid read from stack off -8+0 size 8' },
  { name: 'a saved IRQ flag overwritten is no flag', type: 'socket_filter', text: irqSave(-8) + 'r1 = 0\n*(u64 *)(r10 - 8) = r1\n' + irqRestore(-8) + RET0, reject: 'expected an initialized irq flag as arg#0' },
  { name: 'the IRQ flag must be on the stack', type: 'socket_filter', text: 'r1 = 0\ncall -10\n' + RET0, reject: "arg#0 doesn't point to an irq flag on stack" },
  { name: 'exit with IRQs saved and a reference held: the reference is named first', type: 'socket_filter', text: irqSave(-8) + 'r1 = r10\nr1 += -24\nr2 = 0\nr3 = 3\ncall -5\n' + RET0, reject: 'BPF_EXIT instruction in main prog would lead to reference leak' },
  { name: 'a helper that sleeps with IRQs saved', type: 'syscall', sleepable: true, text: irqSave(-16) + COPY_FROM_USER + irqRestore(-16) + RET0, reject: 'sleepable helper bpf_copy_from_user#148 in IRQ-disabled region' },
  {
    name: 'states with and without saved IRQs are not pruned together (a slot not yet written matches any)', type: 'socket_filter',
    text: 'r6 = *(u32 *)(r1 + 0)\nr7 = 0\nif r6 == 0 goto l\n' + irqSave(-8) + 'r7 = 0\nl:\nr8 = 1\nr8 += 1\nr8 += 1\nr8 += 1\nr8 += 1\nr8 += 1\nr8 += 1\nr8 += 1\nif r7 != 0 goto e\ne:\n' + irqRestore(-8) + RET0,
    reject: 'expected an initialized irq flag as arg#0',
  },
  {
    // The saving path comes second and its flag is overwritten after the join: only the saved-IRQ
    // list tells the states apart, and pruning on the first would accept an exit with IRQs off.
    name: 'states differing only in saved IRQs are not pruned together', type: 'socket_filter',
    text: 'r6 = *(u32 *)(r1 + 0)\nr8 = 1\nr8 += 1\nr8 += 1\nr8 += 1\nr8 += 1\nr8 += 1\nr8 += 1\nif r6 != 0 goto s\ngoto j\ns:\n' + irqSave(-8) +
      'j:\nr1 = 0\n*(u64 *)(r10 - 8) = r1\nr8 = 1\nr8 += 1\n' + RET0,
    reject: 'BPF_EXIT instruction in main prog cannot be used inside bpf_local_irq_save-ed region',
  },
  { name: 'preemption off and on', type: 'socket_filter', text: PREEMPT_OFF + PREEMPT_ON + RET0 },
  { name: 'preemption off twice, on twice', type: 'socket_filter', text: PREEMPT_OFF + PREEMPT_OFF + PREEMPT_ON + PREEMPT_ON + RET0 },
  { name: 'helpers may be called with preemption off', type: 'sched_cls', text: PREEMPT_OFF + 'call 7\n' + PREEMPT_ON + RET0 },
  { name: 'preemption on without off', type: 'socket_filter', text: PREEMPT_ON + RET0, reject: 'unmatched attempt to enable preemption (kernel function bpf_preempt_enable)' },
  { name: 'exit with preemption off', type: 'socket_filter', text: PREEMPT_OFF + PREEMPT_OFF + PREEMPT_ON + RET0, reject: 'BPF_EXIT instruction in main prog cannot be used inside bpf_preempt_disable-ed region' },
  { name: 'LD_ABS with preemption off', type: 'sched_cls', text: 'r6 = r1\n' + PREEMPT_OFF + 'r0 = *(u8 *)skb[0]\n' + PREEMPT_ON + RET0, reject: 'BPF_LD_[ABS|IND] cannot be used inside bpf_preempt_disable-ed region' },
  { name: 'exit in both an RCU section and with preemption off: RCU is named first', type: 'socket_filter', text: RCU_LOCK + PREEMPT_OFF + RET0, reject: 'BPF_EXIT instruction in main prog cannot be used inside bpf_rcu_read_lock-ed region' },
  { name: 'a kfunc call while holding a spin lock', type: 'sched_cls', maps: [LOCK_MAP], text: LOOKUP + LOCK + RCU_LOCK + RCU_UNLOCK + UNLOCK + OUT, reject: 'function calls are not allowed while holding a lock' },
  {
    name: 'a number iterator while holding a spin lock', type: 'sched_cls', maps: [LOCK_MAP],
    text: LOOKUP + LOCK + 'r1 = r10\nr1 += -16\nr2 = 0\nr3 = 3\ncall -5\nr1 = r10\nr1 += -16\ncall -6\nr1 = r10\nr1 += -16\ncall -7\n' + UNLOCK + OUT,
  },
  { name: 'a spin lock inside an RCU section', type: 'sched_cls', maps: [LOCK_MAP], text: RCU_LOCK + LOOKUP + LOCK + UNLOCK + RCU_UNLOCK + RET0 + 'out:\n' + RCU_UNLOCK + RET0 },
  { name: 'a spin lock with preemption off', type: 'sched_cls', maps: [LOCK_MAP], text: LOOKUP + PREEMPT_OFF + LOCK + UNLOCK + PREEMPT_ON + OUT },
  { name: 'exit holding a spin lock in an RCU section: the lock is named first', type: 'sched_cls', maps: [LOCK_MAP], text: RCU_LOCK + LOOKUP + LOCK + RET0 + 'out:\n' + RCU_UNLOCK + RET0, reject: 'BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region' },
  {
    // Both paths meet at l with r7 = 0 and the same registers, one inside the section and one not:
    // pruning the second against the first would accept an unmatched unlock.
    name: 'states inside and outside an RCU section are not pruned together', type: 'socket_filter',
    text: 'r6 = *(u32 *)(r1 + 0)\nr7 = 0\nif r6 == 0 goto l\n' + RCU_LOCK + 'r7 = 0\nl:\nr8 = 1\nr8 += 1\nr8 += 1\nr8 += 1\nr8 += 1\nr8 += 1\nr8 += 1\nr8 += 1\nif r7 != 0 goto e\ne:\n' + RCU_UNLOCK + RET0,
    reject: 'unmatched rcu read unlock (kernel function bpf_rcu_read_unlock)',
  },
  {
    name: 'states holding and not holding a spin lock are not pruned together', type: 'sched_cls', maps: [LOCK_MAP],
    text: LOOKUP + 'r8 = *(u32 *)(r6 + 8)\nr7 = 0\nif r8 == 0 goto l\n' + LOCK + 'r7 = 0\nif r7 > 5 goto l\nif r7 > 6 goto l\nr7 = 0\nr7 = 0\nl:\nr8 = 1\nr8 += 1\nr8 += 1\nr8 += 1\nr8 += 1\nr8 += 1\nr8 += 1\nr8 += 1\nif r7 != 0 goto e\ne:\n' + UNLOCK + OUT,
    reject: 'bpf_spin_unlock without taking a lock',
  },
];

/** Pointers walked from a task in RCU sections: bpf_task_acquire (KF_RCU) takes rcu_ptr_ ones. */
const RCU_POINTERS: readonly Case[] = [
  { name: 'task->real_parent is an RCU pointer (a non-sleepable program is always in an RCU section)', type: 'tracepoint', kernelBtf: true, text: acquireField('real_parent') },
  { name: 'task->group_leader too', type: 'tracepoint', kernelBtf: true, text: acquireField('group_leader') },
  { name: 'an RCU pointer\'s own real_parent too', type: 'tracepoint', kernelBtf: true, text: acquireField('real_parent', '', 'r1 = *(u64 *)(r1 + ' + taskOff('real_parent') + ')\n') },
  { name: 'task->parent is not listed: a plain pointer', type: 'tracepoint', kernelBtf: true, text: acquireField('parent'), reject: 'R1 must be a rcu pointer' },
  { name: 'task->last_wakee is a plain pointer', type: 'tracepoint', kernelBtf: true, text: acquireField('last_wakee'), reject: 'R1 must be a rcu pointer' },
  { name: 'read and acquired inside an explicit RCU section', type: 'tracepoint', kernelBtf: true, text: acquireField('real_parent', RCU_LOCK, '', RCU_UNLOCK) },
  {
    name: 'read inside an RCU section, used after it: untrusted', type: 'tracepoint', kernelBtf: true,
    text: acquireField('real_parent', RCU_LOCK, 'r6 = r1\n' + RCU_UNLOCK + 'r1 = r6\n'), reject: 'R1 must be a rcu pointer',
  },
];

const ALL = [...CASES, ...(kernelBtf ? RCU_POINTERS : [])];
const built = ALL.map((c) => ({ c, ...build(c.text, KF) }));

for (const { c, bytes, kfuncs } of built) {
  test(`critical sections: ${c.name}`, () => {
    const r = verify(decodeProgram(bytes, { validate: false }), {
      progType: BPF_PROG_TYPE[c.type]!, maps: c.maps ?? [], kfuncs, logLevel: 1, sleepable: c.sleepable === true, ...(c.kernelBtf && kernelBtf ? { kernelBtf } : {}),
    });
    if (c.reject === undefined) assert.ok(r.ok, r.log);
    else {
      assert.equal(r.ok, false, `accepted:\n${r.log}`);
      assert.equal(r.error!.reason, c.reject, r.log);
    }
  });
}

test('critical sections: the kernel gives the same verdicts and error lines (root only)', (t) => {
  if (!kernelBtf || KF.some((n) => vmlinuxFunc(n) === 0)) {
    t.skip('the running kernel has no BTF for these kfuncs');
    return;
  }
  const kv = kernelVerdicts(built.map(({ c, bytes }) => ({ bytes, progType: BPF_PROG_TYPE[c.type]!, maps: c.maps ?? [], progFlags: c.sleepable ? BPF_F_SLEEPABLE : 0 })));
  if (kv[0]?.status === 'unavailable') {
    t.skip(`kernel oracle unavailable: ${kv[0].log}`);
    return;
  }
  const wrong = built
    .map(({ c }, i) => ({ c, k: kv[i]! }))
    .filter(({ c, k }) => k.status !== (c.reject === undefined ? 'accept' : 'reject') || (c.reject !== undefined && kernelErrorLine(k.log) !== c.reject))
    .map(({ c, k }) => `${c.name}: kernel ${k.status}: ${kernelErrorLine(k.log)}`);
  assert.deepEqual(wrong, []);
});
