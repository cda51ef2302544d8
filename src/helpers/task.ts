// Time, CPU, randomness and "current task" helpers. The task is the host
// process (pid, uid/gid, comm from /proc/self/comm), the CPU is the execution
// context's index, and time is CLOCK_MONOTONIC (process.hrtime) unless the
// HelperContext is given another clock (tests pin it).

import { EFAULT } from '../maps/errno.js';
import { contextOf } from './context.js';
import { arg, helper, retInt, retU32, retU64 } from './define.js';
import type { HelperDef } from './registry.js';

export const TASK_HELPERS: readonly HelperDef[] = [
  helper('ktime_get_ns', (env) => retU64(env, contextOf(env, 'ktime_get_ns').clock())),
  // boot time counts suspend, which a runtime process does not see: same clock
  helper('ktime_get_boot_ns', (env) => retU64(env, contextOf(env, 'ktime_get_boot_ns').clock())),
  helper('ktime_get_coarse_ns', (env) => retU64(env, contextOf(env, 'ktime_get_coarse_ns').clock())),
  helper('jiffies64', (env) => {
    const ctx = contextOf(env, 'jiffies64');
    // the kernel starts jiffies 5 minutes before the 32-bit wrap (INITIAL_JIFFIES)
    const initial = 0x100000000n - BigInt(300 * ctx.hz);
    retU64(env, initial + (ctx.clock() * BigInt(ctx.hz)) / 1_000_000_000n);
  }),
  helper('get_prandom_u32', (env) => retU32(env, contextOf(env, 'get_prandom_u32').nextRandom())),
  helper('get_smp_processor_id', (env) => retU32(env, contextOf(env, 'get_smp_processor_id').cpu)),
  helper('get_numa_node_id', (env) => retU32(env, 0)),
  helper('get_current_pid_tgid', (env) => {
    const id = contextOf(env, 'get_current_pid_tgid').identity;
    env.regs[0] = id.pid | 0;
    env.regs[1] = id.tgid | 0;
  }),
  helper('get_current_uid_gid', (env) => {
    const id = contextOf(env, 'get_current_uid_gid').identity;
    env.regs[0] = id.uid | 0;
    env.regs[1] = id.gid | 0;
  }),
  helper('get_current_comm', (env) => {
    // strscpy_pad: the name truncated to size - 1, NUL-padded to size
    const ctx = contextOf(env, 'get_current_comm');
    const buf = arg(env, 1);
    const size = arg(env, 2);
    if (size === 0 || !env.mem.checkRange(buf, size, true)) return retInt(env, -EFAULT);
    const u8 = env.mem.u8;
    u8.fill(0, buf, buf + size);
    u8.set(ctx.commBytes.subarray(0, Math.min(size - 1, 15)), buf);
    retInt(env, 0);
  }),
];
