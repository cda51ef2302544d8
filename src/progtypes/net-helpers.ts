// Packet helpers shared by the skb program types: bpf_l3_csum_replace and
// bpf_l4_csum_replace (incremental checksum updates, RFC 1624), and
// bpf_redirect, whose result depends on the program type (XDP_REDIRECT or
// TC_ACT_REDIRECT; a test run records the verdict, nothing is sent), and
// bpf_perf_event_output's packet sampling (BPF_F_CTXLEN_MASK).
//
// Checksum arithmetic is one's-complement, which does not depend on byte
// order as long as every operand is in the same order: the field is read
// from memory as stored, and `from`/`to` are the values a program loaded
// from the packet, so all are in memory order.

import { arg, argHi, helper, retInt } from '../helpers/define.js';
import type { HelperEnv } from '../helpers/registry.js';
import { ProgramError } from '../internal/errors.js';
import { perfEventOutput as standardPerfEventOutput } from '../helpers/ringbuf-helpers.js';
import { BPF_F_CURRENT_CPU, PerfEventArrayMap } from '../maps/perf-event-array.js';
import { E2BIG } from '../maps/errno.js';
import { EFAULT, EINVAL } from './errno.js';
import { SkbRunContext } from './skb.js';
import { XdpRunContext, XDP_ACTION } from './xdp.js';

/** BPF_F_HDR_FIELD_MASK: the size of `from`/`to` (0: `to` is a checksum difference). */
const HDR_FIELD_MASK = 0xf;
const BPF_F_PSEUDO_HDR = 1 << 4;
const BPF_F_MARK_MANGLED_0 = 1 << 5;
const BPF_F_MARK_ENFORCE = 1 << 6;
const BPF_F_IPV6 = 1 << 7;
const BPF_F_INGRESS = 1;
const TC_ACT_SHOT = 2;
const TC_ACT_REDIRECT = 7;
/** CSUM_MANGLED_0: a UDP checksum that computes to 0 is sent as ffff. */
const CSUM_MANGLED_0 = 0xffff;

/** Fold a 32-bit one's-complement sum to 16 bits. */
const fold = (s: number): number => {
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return s;
};

/** 32-bit one's-complement addition (csum_add). */
const add32 = (a: number, b: number): number => {
  const s = (a >>> 0) + (b >>> 0);
  return (s + (s > 0xffffffff ? 1 : 0)) >>> 0;
};

/**
 * The new checksum for `sum16` (as stored) after a field changed from `from`
 * to `to` (`size` 2 or 4 bytes), or after adding the 32-bit difference `to`
 * (`size` 0): ~fold(~sum + ~from + to).
 */
export function csumReplace(sum16: number, from: number, to: number, size: 0 | 2 | 4): number {
  let s = ~sum16 & 0xffff;
  if (size === 2) {
    s = add32(s, ~from & 0xffff);
    s = add32(s, to & 0xffff);
  } else if (size === 4) {
    s = add32(s, ~from >>> 0);
    s = add32(s, to >>> 0);
  } else {
    s = add32(s, to >>> 0);
  }
  return ~fold(s) & 0xffff;
}

function skbOf(env: HelperEnv, name: string): SkbRunContext {
  const run = env.run;
  if (!(run instanceof SkbRunContext)) throw new ProgramError(env.pc, `helper ${name} is for __sk_buff programs run by the runtime (no skb context)`);
  if (arg(env, 1) !== run.ctxAddr) throw new ProgramError(env.pc, `helper ${name}: r1 is not the program's __sk_buff`);
  return run;
}

/** The 16-bit field at packet offset `off`, checked as the kernel does; its address or a negative errno. */
function csumField(skb: SkbRunContext, off: number, offHi: number): number {
  if (offHi !== 0 || off > 0xffff || (off & 1) !== 0) return -EFAULT;
  if (off + 2 > skb.len) return -EFAULT; // bpf_try_make_writable fails past the data
  return skb.data + off;
}

export const l3CsumReplace = helper('l3_csum_replace', (env) => {
  const skb = skbOf(env, 'l3_csum_replace');
  const flags = arg(env, 5);
  if (argHi(env, 5) !== 0 || (flags & ~HDR_FIELD_MASK) !== 0) return retInt(env, -EINVAL);
  const at = csumField(skb, arg(env, 2), argHi(env, 2));
  if (at < 0) return retInt(env, at);
  const size = flags & HDR_FIELD_MASK;
  if (size !== 0 && size !== 2 && size !== 4) return retInt(env, -EINVAL);
  if (size === 0 && (arg(env, 3) !== 0 || argHi(env, 3) !== 0)) return retInt(env, -EINVAL);
  const dv = env.mem.dv;
  dv.setUint16(at, csumReplace(dv.getUint16(at, true), arg(env, 3), arg(env, 4), size), true);
  retInt(env, 0);
});

export const l4CsumReplace = helper('l4_csum_replace', (env) => {
  const skb = skbOf(env, 'l4_csum_replace');
  const flags = arg(env, 5);
  const allowed = BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE | BPF_F_PSEUDO_HDR | HDR_FIELD_MASK | BPF_F_IPV6;
  if (argHi(env, 5) !== 0 || (flags & ~allowed) !== 0) return retInt(env, -EINVAL);
  const at = csumField(skb, arg(env, 2), argHi(env, 2));
  if (at < 0) return retInt(env, at);
  const size = flags & HDR_FIELD_MASK;
  if (size !== 0 && size !== 2 && size !== 4) return retInt(env, -EINVAL);
  if (size === 0 && (arg(env, 3) !== 0 || argHi(env, 3) !== 0)) return retInt(env, -EINVAL);
  const dv = env.mem.dv;
  const mmzero = (flags & BPF_F_MARK_MANGLED_0) !== 0;
  const old = dv.getUint16(at, true);
  // a UDP checksum of 0 means "none": leave it unless told to enforce one
  if (mmzero && (flags & BPF_F_MARK_ENFORCE) === 0 && old === 0) return retInt(env, 0);
  // the test run's skb is CHECKSUM_NONE, so the pseudo-header flag changes nothing else
  let sum = csumReplace(old, arg(env, 3), arg(env, 4), size);
  if (mmzero && sum === 0) sum = CSUM_MANGLED_0;
  dv.setUint16(at, sum, true);
  retInt(env, 0);
});

export const redirect = helper('redirect', (env) => {
  const run = env.run;
  const flagsLo = arg(env, 2);
  const flagsHi = argHi(env, 2);
  if (run instanceof XdpRunContext) return retInt(env, flagsLo !== 0 || flagsHi !== 0 ? XDP_ACTION.XDP_ABORTED : XDP_ACTION.XDP_REDIRECT);
  if (run instanceof SkbRunContext) return retInt(env, flagsHi !== 0 || (flagsLo & ~BPF_F_INGRESS) !== 0 ? TC_ACT_SHOT : TC_ACT_REDIRECT);
  throw new ProgramError(env.pc, 'helper redirect is for XDP and tc programs run by the runtime');
});

/**
 * bpf_perf_event_output with BPF_F_CTXLEN_MASK (flags bits 32..51): for XDP
 * and skb programs, that many packet bytes follow the program's data in the
 * record (how xdpdump-style tools sample packets). Without it, or for other
 * program types, the standard helper does the work.
 */
export const perfEventOutput = helper('perf_event_output', (env) => {
  const ctxLen = argHi(env, 3);
  const run = env.run;
  if (ctxLen === 0 || (ctxLen & ~0xfffff) !== 0 || !(run instanceof XdpRunContext || run instanceof SkbRunContext)) {
    standardPerfEventOutput.fn(env);
    return;
  }
  const map = run.maps.byDesc(arg(env, 2));
  if (!(map instanceof PerfEventArrayMap)) return retInt(env, -EINVAL);
  const pkt = run instanceof XdpRunContext ? { start: run.data, len: run.dataEnd - run.data } : { start: run.data, len: run.len };
  if (ctxLen > pkt.len) return retInt(env, -EFAULT);
  const lo = arg(env, 3);
  const index = lo === BPF_F_CURRENT_CPU ? run.cpu : lo;
  if (index >= map.maxEntries) return retInt(env, -E2BIG);
  const data = arg(env, 4);
  const size = arg(env, 5);
  if (!env.mem.checkRange(data, size, false)) return retInt(env, -EFAULT);
  // the record is the data, then the packet bytes: stage them together
  const both = new Uint8Array(size + ctxLen);
  both.set(env.mem.u8.subarray(data, data + size));
  both.set(env.mem.u8.subarray(pkt.start, pkt.start + ctxLen), size);
  const tmp = env.mem.alloc(both.length, { name: 'perf record', kind: 'scratch', writable: false, init: both });
  try {
    retInt(env, map.output(index, run.cpu, tmp.start, both.length));
  } finally {
    env.mem.free(tmp);
  }
}, true);

export const NET_HELPERS = [l3CsumReplace, l4CsumReplace, redirect, perfEventOutput];
