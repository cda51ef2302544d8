// probe_read, probe_read_kernel/user and their _str forms. In the kernel they
// read memory that may fault and report it; here "kernel" and "user" memory
// are both the runtime's memory, and a read outside the program-visible
// regions fails the same way: -EFAULT with the destination zeroed.

import { EFAULT } from '../maps/errno.js';
import { arg, helper, retInt } from './define.js';
import type { HelperDef, HelperEnv } from './registry.js';

/** probe_read(dst, size, src): 0, or -EFAULT with dst zeroed. */
function probeRead(env: HelperEnv): void {
  const dst = arg(env, 1);
  const size = arg(env, 2);
  const src = arg(env, 3);
  const mem = env.mem;
  if (!mem.checkRange(dst, size, true)) return retInt(env, -EFAULT);
  if (!mem.checkRange(src, size, false)) {
    mem.u8.fill(0, dst, dst + size);
    return retInt(env, -EFAULT);
  }
  mem.u8.copyWithin(dst, src, src + size);
  retInt(env, 0);
}

/**
 * probe_read_str(dst, size, src): copy a NUL-terminated string, at most
 * size - 1 characters, always terminated. Returns the length including the
 * NUL, or -EFAULT (dst zeroed) if the string runs into unreadable memory.
 */
function probeReadStr(env: HelperEnv): void {
  const dst = arg(env, 1);
  const size = arg(env, 2);
  const src = arg(env, 3);
  const mem = env.mem;
  if (size === 0) return retInt(env, 0);
  if (!mem.checkRange(dst, size, true)) return retInt(env, -EFAULT);
  const u8 = mem.u8;
  // the readable run from src: the rest of its region
  const r = mem.regionOf(src, 1);
  const avail = r === undefined ? 0 : r.start + r.size - src;
  let n = 0;
  while (n < size - 1 && n < avail) {
    const c = u8[src + n]!;
    u8[dst + n] = c;
    n++;
    if (c === 0) return retInt(env, n);
  }
  if (n < size - 1) {
    // ran off the readable memory before a NUL or the size limit
    u8.fill(0, dst, dst + size);
    return retInt(env, -EFAULT);
  }
  u8[dst + n] = 0;
  retInt(env, n + 1);
}

export const PROBE_READ_HELPERS: readonly HelperDef[] = [
  helper('probe_read', probeRead, true),
  helper('probe_read_kernel', probeRead, true),
  helper('probe_read_user', probeRead, true),
  helper('probe_read_str', probeReadStr, true),
  helper('probe_read_kernel_str', probeReadStr, true),
  helper('probe_read_user_str', probeReadStr, true),
];
