// Stacks and the current task, which a user-space runtime does not have:
// - bpf_get_current_task returns 0 (NULL): there is no task_struct to point
//   to; a program that reads through it with bpf_probe_read_kernel gets
//   -EFAULT and a zeroed buffer, as for any bad kernel address;
// - bpf_get_stackid and bpf_get_stack check their flags as the kernel does
//   (-EINVAL) and then fail as the kernel does when no stack can be walked
//   (get_perf_callchain returning NULL): -EFAULT, and get_stack zeroes its
//   buffer.

import { EFAULT, EINVAL } from '../maps/errno.js';
import { arg, argHi, helper, retInt, retU32 } from './define.js';
import type { HelperDef } from './registry.js';

const BPF_F_SKIP_FIELD_MASK = 0xff;
const BPF_F_USER_STACK = 1 << 8;
const BPF_F_FAST_STACK_CMP = 1 << 9;
const BPF_F_REUSE_STACKID = 1 << 10;
const BPF_F_USER_BUILD_ID = 1 << 11;
/** sizeof(u64) per frame, sizeof(struct bpf_stack_build_id) with BPF_F_USER_BUILD_ID. */
const FRAME_SIZE = 8;
const BUILD_ID_FRAME_SIZE = 32;

const STACKID_FLAGS = BPF_F_SKIP_FIELD_MASK | BPF_F_USER_STACK | BPF_F_FAST_STACK_CMP | BPF_F_REUSE_STACKID;
const STACK_FLAGS = BPF_F_SKIP_FIELD_MASK | BPF_F_USER_STACK | BPF_F_USER_BUILD_ID;

export const STACK_HELPERS: readonly HelperDef[] = [
  helper('get_current_task', (env) => retU32(env, 0)),
  helper('get_stackid', (env) => {
    if ((arg(env, 3) & ~STACKID_FLAGS) !== 0 || argHi(env, 3) !== 0) return retInt(env, -EINVAL);
    retInt(env, -EFAULT);
  }),
  helper('get_stack', (env) => {
    const buf = arg(env, 2);
    const size = arg(env, 3);
    const flags = arg(env, 4);
    const buildId = (flags & BPF_F_USER_BUILD_ID) !== 0;
    let err = -EFAULT;
    if ((flags & ~STACK_FLAGS) !== 0 || argHi(env, 4) !== 0) err = -EINVAL;
    // a build id only exists for user stacks
    else if (buildId && (flags & BPF_F_USER_STACK) === 0) err = -EINVAL;
    else if (size % (buildId ? BUILD_ID_FRAME_SIZE : FRAME_SIZE) !== 0) err = -EINVAL;
    // every failure zeroes the buffer (the kernel's `clear:` path)
    if (env.mem.checkRange(buf, size, true)) env.mem.u8.fill(0, buf, buf + size);
    retInt(env, err);
  }),
];
