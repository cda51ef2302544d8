// bpf_trace_printk (to the HelperContext's trace pipe) and bpf_snprintf (to
// a program buffer), both through the kernel's format rules in bprintf.ts.

import { EFAULT, EINVAL } from '../maps/errno.js';
import { contextOf } from './context.js';
import { arg, helper, retInt } from './define.js';
import { bprintf, MAX_BPRINTF_BUF, MAX_BPRINTF_VARARGS } from './bprintf.js';
import type { HelperDef } from './registry.js';

/** Bytes to a string one code unit per byte (TextDecoder's 'latin1' is really windows-1252). */
function bytesToString(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode(...b.subarray(i, i + 4096));
  return s;
}

/**
 * trace_printk(fmt, fmt_size, a1, a2, a3): at most 3 arguments; the message
 * (truncated to MAX_BPRINTF_BUF - 1 bytes) goes to the trace pipe. Returns the
 * length the message would have had, or -EINVAL for a format the kernel rejects.
 */
export const tracePrintk = helper('trace_printk', (env) => {
  const ctx = contextOf(env, 'trace_printk');
  const r = bprintf(env.mem, arg(env, 1), arg(env, 2), env.regs, 6, 3);
  if (typeof r === 'number') return retInt(env, r);
  const msg = r.length >= MAX_BPRINTF_BUF ? r.subarray(0, MAX_BPRINTF_BUF - 1) : r;
  ctx.tracePipe.write({ ns: ctx.clock(), cpu: ctx.cpu, pid: ctx.identity.pid, comm: ctx.identity.comm, message: bytesToString(msg) });
  retInt(env, r.length);
}, true);

/**
 * snprintf(str, str_size, fmt, data, data_len): data is an array of u64
 * arguments (data_len a multiple of 8, at most 12 of them). Writes at most
 * str_size - 1 bytes and a NUL; returns the untruncated length plus one.
 */
export const snprintf = helper('snprintf', (env) => {
  const ctx = contextOf(env, 'snprintf');
  const str = arg(env, 1);
  const size = arg(env, 2);
  const fmt = arg(env, 3);
  const data = arg(env, 4);
  const dataLen = arg(env, 5);
  const mem = env.mem;
  if (dataLen % 8 !== 0 || dataLen > MAX_BPRINTF_VARARGS * 8 || (dataLen !== 0 && data === 0)) return retInt(env, -EINVAL);
  if (!mem.checkRange(data, dataLen, false) || !mem.checkRange(str, size, true)) return retInt(env, -EFAULT);
  // the format is a constant string: it ends at its NUL, within its region
  const region = mem.regionOf(fmt, 1);
  if (region === undefined) return retInt(env, -EFAULT);
  const args = ctx.snprintfArgs;
  for (let k = 0; k < dataLen / 4; k++) args[k] = mem.dv.getInt32(data + 4 * k, true);
  const r = bprintf(mem, fmt, region.start + region.size - fmt, args, 0, dataLen / 8);
  if (typeof r === 'number') return retInt(env, r);
  if (size > 0) {
    const n = Math.min(r.length, size - 1);
    mem.u8.set(r.subarray(0, n), str);
    mem.u8[str + n] = 0;
  }
  retInt(env, r.length + 1);
}, true);

export const TRACE_HELPERS: readonly HelperDef[] = [tracePrintk, snprintf];
