// The kernel functions (kfuncs) tsbpf knows: one row per kfunc with the
// kernel's flags (include/linux/btf.h KF_*), its argument and return kinds,
// the kfunc set it belongs to (which decides the program types that may
// call it, as register_btf_kfunc_id_set does in 6.12) and whether the
// runtime can run it. The verifier checks calls against these rows
// (kfunc-check.ts); the runtime implements the runnable ones
// (src/helpers/kfuncs.ts). A program names a kfunc by its extern
// declaration; rows are found by that name.

import { BPF_PROG_TYPE } from '../internal/uapi.gen.js';

/** The kernel's KF_* flags (include/linux/btf.h), same bit values. */
export const KF = {
  ACQUIRE: 1 << 0,
  RELEASE: 1 << 1,
  RET_NULL: 1 << 2,
  TRUSTED_ARGS: 1 << 4,
  SLEEPABLE: 1 << 5,
  DESTRUCTIVE: 1 << 6,
  RCU: 1 << 7,
  ITER_NEW: 1 << 8,
  ITER_NEXT: 1 << 9,
  ITER_DESTROY: 1 << 10,
  RCU_PROTECTED: 1 << 11,
} as const;

/** Open-coded iterators: the struct on the program's stack and its size in bytes. */
export interface IterKind {
  /** Suffix of struct bpf_iter_<name> (num, bits); the kernel's messages say iter_<name>. */
  readonly name: string;
  readonly size: number;
}

export const ITERS: readonly IterKind[] = [
  { name: 'num', size: 8 },
  { name: 'bits', size: 16 },
];

/** Kernel structs kfuncs take and return (PTR_TO_BTF_ID), by BTF name. */
export type KernelStruct = 'task_struct' | 'cgroup' | 'bpf_cpumask' | 'cpumask';

export type KfuncArg =
  /** An integer (the kernel: any scalar). */
  | { readonly kind: 'scalar' }
  /** A constant scalar the verifier reads (the kernel's __k suffix). */
  | { readonly kind: 'const' }
  /** Pointer to struct bpf_iter_<iter> on the stack (iterator state). */
  | { readonly kind: 'iter'; readonly iter: string }
  /** Anything: the kfunc reads it safely itself (the kernel's __ign suffix). */
  | { readonly kind: 'ignored' }
  /** Pointer to a kernel object of this struct. */
  | { readonly kind: 'btf'; readonly struct: KernelStruct }
  /** A map (the kernel's __map suffix): &map from an lddw, at offset 0. */
  | { readonly kind: 'map' };

export type KfuncRet =
  | { readonly kind: 'scalar' }
  | { readonly kind: 'void' }
  /** Pointer to a kernel object (trusted; referenced with KF_ACQUIRE; may be NULL with KF_RET_NULL). */
  | { readonly kind: 'btf'; readonly struct: KernelStruct }
  /** int * into the iterator's state (the element an iterator's next() returns). */
  | { readonly kind: 'iter_elem'; readonly size: number }
  /** bpf_rdonly_cast: an untrusted pointer to the BTF type named by the constant second argument. */
  | { readonly kind: 'rdonly_cast' }
  /** A user address in an arena, declared `void __arena *`; the kernel's `void *` return, so an unknown scalar to the verifier. */
  | { readonly kind: 'arena' };

/** Kfunc sets and the program types each one is registered for (kernel/bpf/helpers.c, cpumask.c, 6.12). */
export type KfuncSet = 'common' | 'generic' | 'cpumask' | 'arena';

export interface KfuncDef {
  readonly name: string;
  readonly flags: number;
  readonly args: readonly KfuncArg[];
  readonly ret: KfuncRet;
  readonly set: KfuncSet;
  /** The runtime implements it (src/helpers/kfuncs.ts); otherwise programs calling it verify but do not load. */
  readonly runnable: boolean;
  /** Why it cannot run in user space, for the runtime's refusal. */
  readonly why?: string;
}

const scalar: KfuncArg = { kind: 'scalar' };
const task: KfuncArg = { kind: 'btf', struct: 'task_struct' };
const cgroup: KfuncArg = { kind: 'btf', struct: 'cgroup' };
const bpfCpumask: KfuncArg = { kind: 'btf', struct: 'bpf_cpumask' };
const cpumask: KfuncArg = { kind: 'btf', struct: 'cpumask' };
const iter = (name: string): KfuncArg => ({ kind: 'iter', iter: name });
const retScalar: KfuncRet = { kind: 'scalar' };
const retVoid: KfuncRet = { kind: 'void' };
const NO_TASKS = 'it works on kernel tasks, which a user-space runtime does not have';
const NO_CGROUPS = 'it works on kernel cgroups, which a user-space runtime does not have';

const rows: KfuncDef[] = [
  // Open-coded iterators (common set: every program type).
  { name: 'bpf_iter_num_new', flags: KF.ITER_NEW, args: [iter('num'), scalar, scalar], ret: retScalar, set: 'common', runnable: true },
  { name: 'bpf_iter_num_next', flags: KF.ITER_NEXT | KF.RET_NULL, args: [iter('num')], ret: { kind: 'iter_elem', size: 4 }, set: 'common', runnable: true },
  { name: 'bpf_iter_num_destroy', flags: KF.ITER_DESTROY, args: [iter('num')], ret: retVoid, set: 'common', runnable: true },
  { name: 'bpf_iter_bits_new', flags: KF.ITER_NEW, args: [iter('bits'), { kind: 'ignored' }, scalar], ret: retScalar, set: 'common', runnable: true },
  { name: 'bpf_iter_bits_next', flags: KF.ITER_NEXT | KF.RET_NULL, args: [iter('bits')], ret: { kind: 'iter_elem', size: 4 }, set: 'common', runnable: true },
  { name: 'bpf_iter_bits_destroy', flags: KF.ITER_DESTROY, args: [iter('bits')], ret: retVoid, set: 'common', runnable: true },
  { name: 'bpf_rdonly_cast', flags: 0, args: [{ kind: 'ignored' }, { kind: 'const' }], ret: { kind: 'rdonly_cast' }, set: 'common', runnable: true },
  // Tasks and cgroups (generic set).
  { name: 'bpf_task_from_pid', flags: KF.ACQUIRE | KF.RET_NULL, args: [scalar], ret: { kind: 'btf', struct: 'task_struct' }, set: 'generic', runnable: false, why: NO_TASKS },
  { name: 'bpf_task_acquire', flags: KF.ACQUIRE | KF.RCU | KF.RET_NULL, args: [task], ret: { kind: 'btf', struct: 'task_struct' }, set: 'generic', runnable: false, why: NO_TASKS },
  { name: 'bpf_task_release', flags: KF.RELEASE, args: [task], ret: retVoid, set: 'generic', runnable: false, why: NO_TASKS },
  { name: 'bpf_cgroup_from_id', flags: KF.ACQUIRE | KF.RET_NULL, args: [scalar], ret: { kind: 'btf', struct: 'cgroup' }, set: 'generic', runnable: false, why: NO_CGROUPS },
  { name: 'bpf_cgroup_acquire', flags: KF.ACQUIRE | KF.RCU | KF.RET_NULL, args: [cgroup], ret: { kind: 'btf', struct: 'cgroup' }, set: 'generic', runnable: false, why: NO_CGROUPS },
  { name: 'bpf_cgroup_release', flags: KF.RELEASE, args: [cgroup], ret: retVoid, set: 'generic', runnable: false, why: NO_CGROUPS },
  // CPU masks (cpumask set): objects the runtime allocates in its memory.
  { name: 'bpf_cpumask_create', flags: KF.ACQUIRE | KF.RET_NULL, args: [], ret: { kind: 'btf', struct: 'bpf_cpumask' }, set: 'cpumask', runnable: true },
  { name: 'bpf_cpumask_release', flags: KF.RELEASE, args: [bpfCpumask], ret: retVoid, set: 'cpumask', runnable: true },
  { name: 'bpf_cpumask_acquire', flags: KF.ACQUIRE | KF.TRUSTED_ARGS, args: [bpfCpumask], ret: { kind: 'btf', struct: 'bpf_cpumask' }, set: 'cpumask', runnable: true },
  { name: 'bpf_cpumask_first', flags: KF.RCU, args: [cpumask], ret: retScalar, set: 'cpumask', runnable: true },
  { name: 'bpf_cpumask_first_zero', flags: KF.RCU, args: [cpumask], ret: retScalar, set: 'cpumask', runnable: true },
  { name: 'bpf_cpumask_set_cpu', flags: KF.RCU, args: [scalar, bpfCpumask], ret: retVoid, set: 'cpumask', runnable: true },
  { name: 'bpf_cpumask_clear_cpu', flags: KF.RCU, args: [scalar, bpfCpumask], ret: retVoid, set: 'cpumask', runnable: true },
  { name: 'bpf_cpumask_test_cpu', flags: KF.RCU, args: [scalar, cpumask], ret: retScalar, set: 'cpumask', runnable: true },
  { name: 'bpf_cpumask_test_and_set_cpu', flags: KF.RCU, args: [scalar, bpfCpumask], ret: retScalar, set: 'cpumask', runnable: true },
  { name: 'bpf_cpumask_test_and_clear_cpu', flags: KF.RCU, args: [scalar, bpfCpumask], ret: retScalar, set: 'cpumask', runnable: true },
  { name: 'bpf_cpumask_setall', flags: KF.RCU, args: [bpfCpumask], ret: retVoid, set: 'cpumask', runnable: true },
  { name: 'bpf_cpumask_clear', flags: KF.RCU, args: [bpfCpumask], ret: retVoid, set: 'cpumask', runnable: true },
  { name: 'bpf_cpumask_and', flags: KF.RCU, args: [bpfCpumask, cpumask, cpumask], ret: retScalar, set: 'cpumask', runnable: true },
  { name: 'bpf_cpumask_or', flags: KF.RCU, args: [bpfCpumask, cpumask, cpumask], ret: retVoid, set: 'cpumask', runnable: true },
  { name: 'bpf_cpumask_xor', flags: KF.RCU, args: [bpfCpumask, cpumask, cpumask], ret: retVoid, set: 'cpumask', runnable: true },
  { name: 'bpf_cpumask_equal', flags: KF.RCU, args: [cpumask, cpumask], ret: retScalar, set: 'cpumask', runnable: true },
  { name: 'bpf_cpumask_intersects', flags: KF.RCU, args: [cpumask, cpumask], ret: retScalar, set: 'cpumask', runnable: true },
  { name: 'bpf_cpumask_subset', flags: KF.RCU, args: [cpumask, cpumask], ret: retScalar, set: 'cpumask', runnable: true },
  { name: 'bpf_cpumask_empty', flags: KF.RCU, args: [cpumask], ret: retScalar, set: 'cpumask', runnable: true },
  { name: 'bpf_cpumask_full', flags: KF.RCU, args: [cpumask], ret: retScalar, set: 'cpumask', runnable: true },
  { name: 'bpf_cpumask_copy', flags: KF.RCU, args: [bpfCpumask, cpumask], ret: retVoid, set: 'cpumask', runnable: true },
  { name: 'bpf_cpumask_weight', flags: KF.RCU, args: [cpumask], ret: retScalar, set: 'cpumask', runnable: true },
  // Arena pages (kernel/bpf/arena.c; src/maps/arena.ts): alloc(map, addr__ign, page_cnt, node_id, flags), free(map, ptr__ign, page_cnt).
  { name: 'bpf_arena_alloc_pages', flags: KF.TRUSTED_ARGS | KF.SLEEPABLE, args: [{ kind: 'map' }, { kind: 'ignored' }, scalar, scalar, scalar], ret: { kind: 'arena' }, set: 'arena', runnable: true },
  { name: 'bpf_arena_free_pages', flags: KF.TRUSTED_ARGS | KF.SLEEPABLE, args: [{ kind: 'map' }, { kind: 'ignored' }, scalar], ret: retVoid, set: 'arena', runnable: true },
  // Sections (critical.ts): an RCU read-side section and preemption off. A user-space
  // runtime has neither, so they run as no-ops; the verifier checks their pairing.
  { name: 'bpf_rcu_read_lock', flags: 0, args: [], ret: retVoid, set: 'common', runnable: true },
  { name: 'bpf_rcu_read_unlock', flags: 0, args: [], ret: retVoid, set: 'common', runnable: true },
  { name: 'bpf_preempt_disable', flags: 0, args: [], ret: retVoid, set: 'common', runnable: true },
  { name: 'bpf_preempt_enable', flags: 0, args: [], ret: retVoid, set: 'common', runnable: true },
  // unsigned long *flags__irq_flag: a stack slot the verifier tracks (critical.ts irqSave/irqRestore).
  { name: 'bpf_local_irq_save', flags: 0, args: [{ kind: 'ignored' }], ret: retVoid, set: 'common', runnable: true },
  { name: 'bpf_local_irq_restore', flags: 0, args: [{ kind: 'ignored' }], ret: retVoid, set: 'common', runnable: true },
  // struct bpf_res_spin_lock * in a map value (critical.ts processResSpinLock); lock returns 0 or -errno.
  { name: 'bpf_res_spin_lock', flags: 0, args: [{ kind: 'ignored' }], ret: retScalar, set: 'common', runnable: true },
  { name: 'bpf_res_spin_unlock', flags: 0, args: [{ kind: 'ignored' }], ret: retVoid, set: 'common', runnable: true },
];

export const KFUNCS: readonly KfuncDef[] = rows;
const BY_NAME = new Map(rows.map((r) => [r.name, r]));

export function kfuncByName(name: string): KfuncDef | undefined {
  return BY_NAME.get(name);
}

/** Index of a kfunc in KFUNCS (the runtime numbers its kfunc helpers by it). */
export function kfuncIndex(name: string): number {
  return rows.findIndex((r) => r.name === name);
}

export function iterKind(name: string): IterKind | undefined {
  return ITERS.find((k) => k.name === name);
}

// The kernel's bpf_prog_type_to_kfunc_hook: program types share a hook, and
// a set registered for one type of a hook is callable from all of them.
const HOOKS: Record<string, readonly string[]> = {
  tracing: ['tracing', 'tracepoint', 'perf_event', 'lsm'],
  tc: ['sched_cls'],
  xdp: ['xdp'],
  struct_ops: ['struct_ops'],
  syscall: ['syscall'],
  cgroup: ['cgroup_skb', 'cgroup_sock', 'cgroup_device', 'cgroup_sock_addr', 'cgroup_sockopt', 'cgroup_sysctl'],
};

function typesOf(hooks: readonly string[]): ReadonlySet<number> {
  const out = new Set<number>();
  for (const h of hooks) for (const t of HOOKS[h]!) if (BPF_PROG_TYPE[t] !== undefined) out.add(BPF_PROG_TYPE[t]!);
  return out;
}

/** Program types per set ('common' is registered for BPF_PROG_TYPE_UNSPEC: every type). */
const SET_TYPES: Record<Exclude<KfuncSet, 'common' | 'arena'>, ReadonlySet<number>> = {
  generic: typesOf(['tracing', 'tc', 'xdp', 'struct_ops', 'syscall', 'cgroup']),
  cpumask: typesOf(['tracing', 'struct_ops', 'syscall']),
};

/** May a program of this type call the kfunc (the kernel's btf_kfunc_id_set_contains)? */
export function kfuncAllowed(def: KfuncDef, progType: number): boolean {
  if (def.set === 'common' || def.set === 'arena') return true;
  return SET_TYPES[def.set].has(progType);
}
