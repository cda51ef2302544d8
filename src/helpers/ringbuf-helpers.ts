// ringbuf_output/reserve/submit/discard/query and perf_event_output.
// submit and discard find their ring buffer from the record header (its
// pg_off field holds the map id, see src/maps/ringbuf.ts). A pointer that is
// not a reserved record is a ProgramError: the kernel's verifier makes that
// impossible, and guessing would corrupt the ring.

import { ProgramError } from '../internal/errors.js';
import { E2BIG, EFAULT, EINVAL, EOPNOTSUPP } from '../maps/errno.js';
import { PerfEventArrayMap, BPF_F_CURRENT_CPU } from '../maps/perf-event-array.js';
import { BPF_RINGBUF_HDR_SZ, RingBufMap } from '../maps/ringbuf.js';
import { contextOf, type HelperContext } from './context.js';
import { arg, argHi, helper, retInt, retU32, retU64 } from './define.js';
import type { HelperDef, HelperEnv } from './registry.js';

function ringArg(env: HelperEnv, ctx: HelperContext): RingBufMap | undefined {
  const m = ctx.maps.byDesc(arg(env, 1));
  return m instanceof RingBufMap ? m : undefined;
}

export const ringbufOutput = helper('ringbuf_output', (env) => {
  const ctx = contextOf(env, 'ringbuf_output');
  const rb = ringArg(env, ctx);
  if (rb === undefined || argHi(env, 4) !== 0) return retInt(env, -EINVAL);
  const data = arg(env, 2);
  const size = arg(env, 3);
  if (!env.mem.checkRange(data, size, false)) return retInt(env, -EFAULT);
  retInt(env, rb.output(data, size, arg(env, 4)));
});

export const ringbufReserve = helper('ringbuf_reserve', (env) => {
  const ctx = contextOf(env, 'ringbuf_reserve');
  const rb = ringArg(env, ctx);
  if (rb === undefined || argHi(env, 2) !== 0 || argHi(env, 3) !== 0) return retU32(env, 0);
  retU32(env, rb.reserve(arg(env, 2), arg(env, 3)));
});

function commit(name: string, discard: boolean): HelperDef {
  return helper(name, (env) => {
    const ctx = contextOf(env, name);
    const sample = arg(env, 1);
    const hdr = sample - BPF_RINGBUF_HDR_SZ;
    const m = env.mem.checkRange(hdr, BPF_RINGBUF_HDR_SZ, false) ? ctx.maps.byId(env.mem.dv.getUint32(hdr + 4, true)) : undefined;
    if (!(m instanceof RingBufMap) || !m.isReserved(sample))
      throw new ProgramError(env.pc, `${name}: 0x${sample.toString(16)} is not a reserved ring buffer record`);
    m.commit(sample, discard, arg(env, 2));
    env.regs[0] = 0;
    env.regs[1] = 0;
  });
}

export const ringbufSubmit = commit('ringbuf_submit', false);
export const ringbufDiscard = commit('ringbuf_discard', true);

export const ringbufQuery = helper('ringbuf_query', (env) => {
  const ctx = contextOf(env, 'ringbuf_query');
  const rb = ringArg(env, ctx);
  if (rb === undefined) return retU32(env, 0);
  retU64(env, BigInt(rb.query(argHi(env, 2) !== 0 ? -1 : arg(env, 2))));
});

/**
 * perf_event_output(ctx, map, flags, data, size): flags' low 32 bits pick the
 * slot (BPF_F_CURRENT_CPU: this CPU's); bits 32..51 ask for ctx bytes to be
 * appended, which needs a program-type context (not yet: -EOPNOTSUPP).
 */
export const perfEventOutput = helper('perf_event_output', (env) => {
  const ctx = contextOf(env, 'perf_event_output');
  const m = ctx.maps.byDesc(arg(env, 2));
  if (!(m instanceof PerfEventArrayMap)) return retInt(env, -EINVAL);
  const hi = argHi(env, 3);
  if ((hi & ~0xfffff) !== 0) return retInt(env, -EINVAL);
  if (hi !== 0) return retInt(env, -EOPNOTSUPP);
  const lo = arg(env, 3);
  const index = lo === BPF_F_CURRENT_CPU ? ctx.cpu : lo;
  if (index >= m.maxEntries) return retInt(env, -E2BIG);
  const data = arg(env, 4);
  const size = arg(env, 5);
  if (!env.mem.checkRange(data, size, false)) return retInt(env, -EFAULT);
  retInt(env, m.output(index, ctx.cpu, data, size));
}, true);

export const RINGBUF_HELPERS: readonly HelperDef[] = [ringbufOutput, ringbufReserve, ringbufSubmit, ringbufDiscard, ringbufQuery, perfEventOutput];
