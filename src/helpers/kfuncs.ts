// The kfuncs the runtime runs (src/verifier/kfuncs.ts rows marked
// runnable), as helpers under reserved ids: when a program loads, each kfunc
// call (src_reg 2, named by the extern the object declares) becomes a
// helper call to KFUNC_HELPER_BASE + the kfunc's row index
// (mapKfuncCalls), so the interpreter and the JIT call them as they call
// any helper. Kfuncs that need the kernel (tasks, cgroups) are not here:
// a program calling them is refused when it loads (kfuncLoadCheck).
//
// Iterators keep their state in the program's stack as the kernel lays it
// out (struct bpf_iter_num_kern, bpf_iter_bits_kern). A bits iterator over
// more than one word copies the words, as the kernel does with its
// allocator; the copy lives on the JS side, keyed by the iterator's address,
// until destroy(). CPU masks are objects in the runtime's memory: a 64-bit
// mask and a reference count; their nr_cpu_ids is the runtime's CPU count.
// The arena pair allocates and frees pages of the arena map the program
// passes (src/maps/arena.ts).

import type { ObjectSpec, ProgramSpec } from '../elf/spec.js';
import type { RuntimeMemory, Region } from '../vm/memory.js';
import { E2BIG, EDEADLK, EFAULT, EINVAL, ETIMEDOUT } from '../maps/errno.js';
import { KFUNCS, kfuncByName, kfuncIndex } from '../verifier/kfuncs.js';
import { PseudoCall } from '../isa/fields.js';
import { arg, retInt, retU32 } from './define.js';
import { HelperContext, contextOf } from './context.js';
import { ArenaMap } from '../maps/arena.js';
import type { HelperDef, HelperEnv, HelperFn } from './registry.js';

/** Helper ids of the runnable kfuncs: this base plus the kfunc's index in KFUNCS. */
export const KFUNC_HELPER_BASE = 0xff00;

/** BPF_MAX_LOOPS: the longest range bpf_iter_num_new accepts. */
const BPF_MAX_LOOPS = 8 * 1024 * 1024;
/** BITS_ITER_NR_WORDS_MAX. */
const BITS_MAX_WORDS = 511;
/** CPUs a runtime cpumask can hold; its nr_cpu_ids is the runtime's CPU count up to this. */
export const CPUMASK_CPUS = 64;

const OPC_CALL = 0x85;

/**
 * Argument i as the address of `size` bytes the kfunc reads or writes. The
 * verifier proves it for verified programs; for unverified ones a bad
 * address faults like a bad load instead of corrupting memory.
 */
function ptrArg(env: HelperEnv, i: number, size: number, write: boolean): number {
  const p = arg(env, i);
  if (env.regs[2 * i + 1] !== 0 || !env.mem.checkRange(p, size, write)) throw env.mem.fault(env.pc, p, size, write);
  return p;
}

// ---- numbers: struct bpf_iter_num_kern { int cur; int end; } ----------------------

function iterNumNew(env: HelperEnv): void {
  const it = ptrArg(env, 1, 8, true);
  const start = env.regs[4]! | 0;
  const end = env.regs[6]! | 0;
  const dv = env.mem.dv;
  if (start > end) {
    dv.setInt32(it, 0, true);
    dv.setInt32(it + 4, 0, true);
    return retInt(env, -EINVAL);
  }
  if (end - start > BPF_MAX_LOOPS) {
    dv.setInt32(it, 0, true);
    dv.setInt32(it + 4, 0, true);
    return retInt(env, -E2BIG);
  }
  // next() moves to start first
  dv.setInt32(it, (start - 1) | 0, true);
  dv.setInt32(it + 4, end, true);
  retInt(env, 0);
}

function iterNumNext(env: HelperEnv): void {
  const it = ptrArg(env, 1, 8, true);
  const dv = env.mem.dv;
  const cur = dv.getInt32(it, true);
  const end = dv.getInt32(it + 4, true);
  // compared as 64-bit numbers, so cur == end == INT_MAX does not overflow
  if (cur + 1 >= end) {
    dv.setInt32(it, 0, true);
    dv.setInt32(it + 4, 0, true);
    return retU32(env, 0);
  }
  dv.setInt32(it, cur + 1, true);
  retU32(env, it);
}

function iterNumDestroy(env: HelperEnv): void {
  const it = ptrArg(env, 1, 8, true);
  env.mem.dv.setInt32(it, 0, true);
  env.mem.dv.setInt32(it + 4, 0, true);
}

// ---- bits: struct bpf_iter_bits_kern { u64 bits_copy (or pointer); int nr_bits; int bit; } ----

/** Copies of iterated words for iterators over more than one word, by memory and iterator address. */
const bitsCopies = new WeakMap<RuntimeMemory, Map<number, Uint8Array>>();

function copies(mem: RuntimeMemory): Map<number, Uint8Array> {
  let m = bitsCopies.get(mem);
  if (!m) bitsCopies.set(mem, (m = new Map()));
  return m;
}

function iterBitsNew(env: HelperEnv): void {
  const it = ptrArg(env, 1, 16, true);
  const src = arg(env, 2);
  const nrWords = arg(env, 3);
  const mem = env.mem;
  const dv = mem.dv;
  dv.setUint32(it, 0, true);
  dv.setUint32(it + 4, 0, true);
  dv.setInt32(it + 8, 0, true);
  dv.setInt32(it + 12, -1, true);
  copies(mem).delete(it);
  const srcHi = env.regs[5]!;
  if ((src === 0 && srcHi === 0) || nrWords === 0) return retInt(env, -EINVAL);
  if (nrWords > BITS_MAX_WORDS) return retInt(env, -E2BIG);
  const nBytes = nrWords * 8;
  // a probe read: memory the program cannot read fails with -EFAULT instead of faulting
  if (srcHi !== 0 || !mem.checkRange(src, nBytes, false)) return retInt(env, -EFAULT);
  if (nrWords === 1) mem.u8.copyWithin(it, src, src + 8);
  else copies(mem).set(it, mem.u8.slice(src, src + nBytes));
  dv.setInt32(it + 8, nrWords * 64, true);
  retInt(env, 0);
}

function iterBitsNext(env: HelperEnv): void {
  const it = ptrArg(env, 1, 16, true);
  const mem = env.mem;
  const dv = mem.dv;
  const nrBits = dv.getInt32(it + 8, true);
  let bit = dv.getInt32(it + 12, true);
  if (nrBits === 0 || bit >= nrBits) return retU32(env, 0);
  const words = nrBits === 64 ? mem.u8.subarray(it, it + 8) : copies(mem).get(it);
  if (!words) return retU32(env, 0);
  // find_next_bit from bit + 1
  for (bit = bit + 1; bit < nrBits; bit++) if (words[bit >> 3]! & (1 << (bit & 7))) break;
  dv.setInt32(it + 12, bit, true);
  retU32(env, bit >= nrBits ? 0 : it + 12);
}

function iterBitsDestroy(env: HelperEnv): void {
  copies(env.mem).delete(arg(env, 1));
}

/** bpf_rdonly_cast(obj, btf_id): the same address, which the verifier only lets the program read. */
function rdonlyCast(env: HelperEnv): void {
  env.regs[0] = env.regs[2]!;
  env.regs[1] = env.regs[3]!;
}

// ---- cpumasks: struct bpf_cpumask { u64 mask; u32 usage; } in the runtime's memory ----

interface CpumaskObj {
  readonly region: Region;
  refs: number;
}

const cpumasks = new WeakMap<RuntimeMemory, Map<number, CpumaskObj>>();

function maskTable(mem: RuntimeMemory): Map<number, CpumaskObj> {
  let m = cpumasks.get(mem);
  if (!m) cpumasks.set(mem, (m = new Map()));
  return m;
}

/** The kernel's nr_cpu_ids: the runtime's CPUs (its maps' per-CPU copies), at most CPUMASK_CPUS. */
function nrCpus(env: HelperEnv): number {
  return env.run instanceof HelperContext ? Math.min(CPUMASK_CPUS, env.run.maps.cpus) : CPUMASK_CPUS;
}

const maskAll = (env: HelperEnv): bigint => (1n << BigInt(nrCpus(env))) - 1n;
const getMask = (env: HelperEnv, i: number): bigint => env.mem.dv.getBigUint64(ptrArg(env, i, 8, false), true);
const setMask = (env: HelperEnv, i: number, v: bigint): void => env.mem.dv.setBigUint64(ptrArg(env, i, 8, true), v & maskAll(env), true);
const retBool = (env: HelperEnv, b: boolean): void => retInt(env, b ? 1 : 0);

function cpumaskCreate(env: HelperEnv): void {
  const region = env.mem.alloc(16, { name: 'bpf_cpumask', kind: 'other' });
  maskTable(env.mem).set(region.start, { region, refs: 1 });
  env.mem.dv.setUint32(region.start + 8, 1, true);
  retU32(env, region.start);
}

function cpumaskAcquire(env: HelperEnv): void {
  const obj = maskTable(env.mem).get(arg(env, 1));
  if (obj) env.mem.dv.setUint32(obj.region.start + 8, ++obj.refs, true);
  retU32(env, arg(env, 1));
}

function cpumaskRelease(env: HelperEnv): void {
  const table = maskTable(env.mem);
  const obj = table.get(arg(env, 1));
  if (!obj) return;
  env.mem.dv.setUint32(obj.region.start + 8, --obj.refs, true);
  if (obj.refs <= 0) {
    table.delete(obj.region.start);
    env.mem.free(obj.region);
  }
}

/** A CPU number argument: valid when below nr_cpu_ids (the kernel's cpu_valid; a u32, as the kfunc takes it). */
function cpuBit(env: HelperEnv, i: number): bigint | undefined {
  const cpu = arg(env, i);
  return cpu < nrCpus(env) ? 1n << BigInt(cpu) : undefined;
}

function popcount(v: bigint): number {
  let n = 0;
  for (; v; v &= v - 1n) n++;
  return n;
}

/** The first CPU in the mask, or nr_cpu_ids when there is none (cpumask_first). */
function firstSet(env: HelperEnv, v: bigint): number {
  const n = nrCpus(env);
  for (let i = 0; i < n; i++) if (v & (1n << BigInt(i))) return i;
  return n;
}

const CPUMASK_FNS: Record<string, HelperFn> = {
  bpf_cpumask_create: cpumaskCreate,
  bpf_cpumask_acquire: cpumaskAcquire,
  bpf_cpumask_release: cpumaskRelease,
  bpf_cpumask_first: (env) => retInt(env, firstSet(env, getMask(env, 1))),
  bpf_cpumask_first_zero: (env) => retInt(env, firstSet(env, ~getMask(env, 1) & maskAll(env))),
  bpf_cpumask_set_cpu: (env) => {
    const b = cpuBit(env, 1);
    if (b !== undefined) setMask(env, 2, getMask(env, 2) | b);
  },
  bpf_cpumask_clear_cpu: (env) => {
    const b = cpuBit(env, 1);
    if (b !== undefined) setMask(env, 2, getMask(env, 2) & ~b);
  },
  bpf_cpumask_test_cpu: (env) => {
    const b = cpuBit(env, 1);
    retBool(env, b !== undefined && (getMask(env, 2) & b) !== 0n);
  },
  bpf_cpumask_test_and_set_cpu: (env) => {
    const b = cpuBit(env, 1);
    if (b === undefined) return retBool(env, false);
    const m = getMask(env, 2);
    setMask(env, 2, m | b);
    retBool(env, (m & b) !== 0n);
  },
  bpf_cpumask_test_and_clear_cpu: (env) => {
    const b = cpuBit(env, 1);
    if (b === undefined) return retBool(env, false);
    const m = getMask(env, 2);
    setMask(env, 2, m & ~b);
    retBool(env, (m & b) !== 0n);
  },
  bpf_cpumask_setall: (env) => setMask(env, 1, maskAll(env)),
  bpf_cpumask_clear: (env) => setMask(env, 1, 0n),
  bpf_cpumask_and: (env) => {
    const v = getMask(env, 2) & getMask(env, 3);
    setMask(env, 1, v);
    retBool(env, v !== 0n);
  },
  bpf_cpumask_or: (env) => setMask(env, 1, getMask(env, 2) | getMask(env, 3)),
  bpf_cpumask_xor: (env) => setMask(env, 1, getMask(env, 2) ^ getMask(env, 3)),
  bpf_cpumask_equal: (env) => retBool(env, getMask(env, 1) === getMask(env, 2)),
  bpf_cpumask_intersects: (env) => retBool(env, (getMask(env, 1) & getMask(env, 2)) !== 0n),
  bpf_cpumask_subset: (env) => retBool(env, (getMask(env, 1) & ~getMask(env, 2)) === 0n),
  bpf_cpumask_empty: (env) => retBool(env, getMask(env, 1) === 0n),
  bpf_cpumask_full: (env) => retBool(env, getMask(env, 1) === maskAll(env)),
  bpf_cpumask_copy: (env) => setMask(env, 1, getMask(env, 2)),
  bpf_cpumask_weight: (env) => retInt(env, popcount(getMask(env, 1))),
};

// ---- arena pages (src/maps/arena.ts) ---------------------------------------------

/** The arena a kfunc's map argument names; undefined for another map (the kernel then does nothing). */
function arenaArg(env: HelperEnv, name: string): ArenaMap | undefined {
  const m = contextOf(env, name).maps.byDesc(arg(env, 1));
  return m instanceof ArenaMap ? m : undefined;
}

/** bpf_arena_alloc_pages(map, addr__ign, page_cnt, node_id, flags): a user address, or 0 (NULL). */
function arenaAllocPages(env: HelperEnv): void {
  const a = arenaArg(env, 'bpf_arena_alloc_pages');
  const flagsHi = env.regs[11]!;
  // only the low 32 bits of an address matter (compute_pgoff); node_id is an int
  const p = a === undefined || flagsHi !== 0 ? 0 : a.allocPages(arg(env, 2), arg(env, 3), env.regs[8]! | 0, arg(env, 5));
  retU32(env, p);
}

/** bpf_arena_free_pages(map, ptr__ign, page_cnt). */
function arenaFreePages(env: HelperEnv): void {
  arenaArg(env, 'bpf_arena_free_pages')?.freePages(arg(env, 2), arg(env, 3));
}

/** RCU, preemption and IRQ sections: nothing to do in user space (no RCU grace periods, no preemption or interrupts to turn off; verified programs cannot read a saved IRQ flag). */
const noSection: HelperFn = () => undefined;

// ---- resilient spin locks (struct bpf_res_spin_lock: one 32-bit word, 0 free) ----

/** rqspinlock's default timeout (RES_DEF_TIMEOUT, a quarter second). */
const RES_LOCK_TIMEOUT_MS = 250;
/** Locks this thread holds, per memory: taking one again is the AA deadlock the kernel reports. */
const resHeld = new WeakMap<RuntimeMemory, Set<number>>();

function heldSet(mem: RuntimeMemory): Set<number> {
  let s = resHeld.get(mem);
  if (!s) resHeld.set(mem, (s = new Set()));
  return s;
}

/** bpf_res_spin_lock(lock): 0 holding it; -EDEADLK when this thread holds it; -ETIMEDOUT when another keeps it. */
function resSpinLock(env: HelperEnv): void {
  const lock = ptrArg(env, 1, 4, true);
  const held = heldSet(env.mem);
  if (held.has(lock)) return retInt(env, -EDEADLK);
  const i32 = new Int32Array(env.mem.u8.buffer, lock, 1);
  const t0 = Date.now();
  while (Atomics.compareExchange(i32, 0, 0, 1) !== 0) {
    // another thread holds it (memory not shared: nobody could ever release it)
    if (!env.mem.shared || Date.now() - t0 > RES_LOCK_TIMEOUT_MS) return retInt(env, -ETIMEDOUT);
  }
  held.add(lock);
  retInt(env, 0);
}

function resSpinUnlock(env: HelperEnv): void {
  const lock = ptrArg(env, 1, 4, true);
  heldSet(env.mem).delete(lock);
  Atomics.store(new Int32Array(env.mem.u8.buffer, lock, 1), 0, 0);
}

const FNS: Record<string, HelperFn> = {
  bpf_iter_num_new: iterNumNew,
  bpf_iter_num_next: iterNumNext,
  bpf_iter_num_destroy: iterNumDestroy,
  bpf_iter_bits_new: iterBitsNew,
  bpf_iter_bits_next: iterBitsNext,
  bpf_iter_bits_destroy: iterBitsDestroy,
  bpf_rdonly_cast: rdonlyCast,
  bpf_rcu_read_lock: noSection,
  bpf_rcu_read_unlock: noSection,
  bpf_preempt_disable: noSection,
  bpf_preempt_enable: noSection,
  bpf_local_irq_save: noSection,
  bpf_local_irq_restore: noSection,
  bpf_res_spin_lock: resSpinLock,
  bpf_res_spin_unlock: resSpinUnlock,
  bpf_arena_alloc_pages: arenaAllocPages,
  bpf_arena_free_pages: arenaFreePages,
  ...CPUMASK_FNS,
};

/** The runnable kfuncs as helpers (ids KFUNC_HELPER_BASE + row index); every runnable row has one. */
export const KFUNC_HELPERS: readonly HelperDef[] = KFUNCS.flatMap((k, i): HelperDef[] => {
  if (!k.runnable) return [];
  const fn = FNS[k.name];
  if (fn === undefined) throw new Error(`kfuncs: ${k.name} is marked runnable but has no implementation`);
  return [{ id: KFUNC_HELPER_BASE + i, name: k.name, fn }];
});

/**
 * Load-time check of a program's kfuncs: reasons it cannot run (kfuncs the
 * runtime does not implement, named with why), and its extern list without
 * the kfuncs it can run (for the loader's other extern checks).
 */
export function kfuncLoadCheck(spec: ObjectSpec, p: ProgramSpec): { reasons: string[]; otherExterns: string[] } {
  const reasons: string[] = [];
  const otherExterns: string[] = [];
  for (const name of p.externs) {
    const e = spec.externs.find((x) => x.name === name);
    if (e?.kind !== 'kfunc') {
      otherExterns.push(name);
      continue;
    }
    const def = kfuncByName(name);
    if (def === undefined) reasons.push(`calls kernel function ${name}, which tsbpf does not know`);
    else if (!def.runnable) reasons.push(`calls kernel function ${name}, which tsbpf verifies but cannot run: ${def.why ?? 'it needs the kernel'}`);
  }
  return { reasons, otherExterns };
}

/**
 * May the unchecked engine run a verified program with these kfuncs? Not
 * with bpf_rdonly_cast: the verifier lets the program read through any
 * address it casts, which the kernel makes safe with its fault handler;
 * here only the bounds-checked engines make such a read safe (a fault).
 */
export function kfuncsTrustable(spec: ObjectSpec, p: ProgramSpec): boolean {
  return !p.externs.some((n) => n === 'bpf_rdonly_cast' && spec.externs.some((e) => e.name === n && e.kind === 'kfunc'));
}

/**
 * Turn the program's kfunc calls into calls of their helpers, in place
 * (after kfuncLoadCheck found every one runnable).
 */
export function mapKfuncCalls(insns: Uint8Array, spec: ObjectSpec, p: ProgramSpec): void {
  const dv = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  for (const e of spec.externs) {
    if (e.kind !== 'kfunc') continue;
    const k = kfuncIndex(e.name);
    for (const ref of e.refs) {
      if (ref.program !== p.name) continue;
      const at = ref.insn * 8;
      if (k < 0 || !KFUNCS[k]!.runnable || at + 8 > insns.length || insns[at] !== OPC_CALL || insns[at + 1]! >> 4 !== PseudoCall.KFUNC) continue;
      insns[at + 1] = insns[at + 1]! & 0x0f;
      dv.setInt32(at + 4, KFUNC_HELPER_BASE + k, true);
    }
  }
}
