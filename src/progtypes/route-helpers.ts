// Device and route helpers of tc and XDP programs (and XDP's
// bpf_redirect_map over the maps of src/maps/redirect-maps.ts), for the one device a
// test run has: the loopback device (ifindex 1, MTU 65536, a 14-byte
// hardware header), in a namespace without forwarding:
// - bpf_check_mtu: the kernel's arithmetic against that device;
// - bpf_fib_lookup: no route is ever found; the result is the kernel's
//   for a namespace whose only device has forwarding disabled (the default
//   sysctl): BPF_FIB_LKUP_RET_FWD_DISABLED for ifindex 1, -ENODEV for any
//   other device, BPF_FIB_LKUP_RET_NOT_FWDED for IPv6 link-local, loopback
//   and multicast addresses, -EAFNOSUPPORT for other families;
// - bpf_get_hash_recalc: skb_get_hash. The kernel hashes the flow keys
//   with a random per-boot key, so its values cannot be reproduced; this
//   one keeps the kernel's properties: the hash of a flow, the same in
//   both directions (__flow_hash_consistentify), never 0, cached in
//   skb->hash until bpf_set_hash_invalid, and bpf_set_hash's value is
//   returned as is.

import { arg, argHi, helper, retInt, retU32 } from '../helpers/define.js';
import type { HelperDef, HelperEnv } from '../helpers/registry.js';
import { hash32 } from '../maps/hash-layout.js';
import { EFAULT, EINVAL } from './errno.js';
import { SKB } from './skb-layout.js';
import { skbOf } from './skb.js';
import { ETH_HLEN, LOOPBACK_IFINDEX, XDP_ACTION, XdpRunContext, xdpOf } from './xdp.js';
import { RedirectMap } from '../maps/redirect-maps.js';
import { LOCAL_STORAGE_HELPERS } from './local-storage.js';
import { ECN_HELPERS } from './ecn.js';
import { CSUM_HELPERS } from './csum-helpers.js';
import { TC_REDIRECT_HELPERS } from './tc-redirect.js';
import { ProgramError } from '../internal/errors.js';

const ENODEV = 19;
const EAFNOSUPPORT = 97;
/** The loopback device. */
export const LOOPBACK_MTU = 65536;
const LOOPBACK_HARD_HEADER_LEN = ETH_HLEN;

/** BPF_MTU_CHK_SEGS and the check's results (enum bpf_check_mtu_ret). */
const BPF_MTU_CHK_SEGS = 1;
export const BPF_MTU_CHK_RET = { SUCCESS: 0, FRAG_NEEDED: 1, SEGS_TOOBIG: 2 } as const;

/** enum bpf_fib_lookup results, BPF_FIB_LOOKUP_* flags and sizeof(struct bpf_fib_lookup). */
export const BPF_FIB_LKUP_RET = { SUCCESS: 0, BLACKHOLE: 1, UNREACHABLE: 2, PROHIBIT: 3, NOT_FWDED: 4, FWD_DISABLED: 5, UNSUPP_LWT: 6, NO_NEIGH: 7, FRAG_NEEDED: 8, NO_SRC_ADDR: 9 } as const;
const BPF_FIB_LOOKUP_MASK = 0x3f;
const FIB_PARAMS_SIZE = 64;
const FIB_FAMILY = 0;
const FIB_IFINDEX = 8;
const FIB_IPV6_SRC = 16;
const FIB_IPV6_DST = 32;
const AF_INET = 2;
const AF_INET6 = 10;

/** The device of ifindex (0: the packet's own, the loopback device): whether it exists. */
const deviceExists = (ifindex: number): boolean => ifindex === 0 || ifindex === LOOPBACK_IFINDEX;

/**
 * The check of bpf_skb_check_mtu / bpf_xdp_check_mtu: `len` is the packet's
 * length with its L2 header, `mtuLen` the caller's L3 length (0: use len).
 * Returns the result and the MTU written back.
 */
export function checkMtu(len: number, mtuLen: number, lenDiff: number): number {
  const devLen = LOOPBACK_MTU + LOOPBACK_HARD_HEADER_LEN;
  let l = mtuLen !== 0 ? (mtuLen + LOOPBACK_HARD_HEADER_LEN) | 0 : len;
  l = (l + lenDiff) | 0;
  return l <= devLen ? BPF_MTU_CHK_RET.SUCCESS : BPF_MTU_CHK_RET.FRAG_NEEDED;
}

function checkMtuHelper(env: HelperEnv): void {
  const run = env.run;
  const ifindex = arg(env, 2);
  const mtuPtr = arg(env, 3);
  const lenDiff = env.regs[8]! | 0; // s32 len_diff
  const flags = arg(env, 5);
  const flagsHi = argHi(env, 5);
  const mem = env.mem;
  if (!mem.checkRange(mtuPtr, 4, true)) return retInt(env, -EFAULT);
  const mtuLen = mem.dv.getUint32(mtuPtr, true);
  let ret: number;
  if (run instanceof XdpRunContext) {
    const xdp = xdpOf(env, 'check_mtu');
    // the XDP variant has no segment check
    if (flags !== 0 || flagsHi !== 0) return retInt(env, -EINVAL);
    if (!deviceExists(ifindex)) return retInt(env, -ENODEV);
    ret = checkMtu(xdp.dataEnd - xdp.data, mtuLen, lenDiff);
  } else {
    const skb = skbOf(env, 'check_mtu');
    if ((flags & ~BPF_MTU_CHK_SEGS) !== 0 || flagsHi !== 0) return retInt(env, -EINVAL);
    if ((flags & BPF_MTU_CHK_SEGS) !== 0 && (lenDiff !== 0 || mtuLen !== 0)) return retInt(env, -EINVAL);
    if (!deviceExists(ifindex)) return retInt(env, -ENODEV);
    ret = checkMtu(skb.len, mtuLen, lenDiff);
    // a GSO packet (gso_size from ctx_in) passes: it is segmented on transmit; the
    // segment check needs a transport header, which a test run's skb does not have
    if (ret !== BPF_MTU_CHK_RET.SUCCESS && mem.dv.getUint32(skb.ctxAddr + SKB.gso_size, true) !== 0) {
      if ((flags & BPF_MTU_CHK_SEGS) !== 0) return retInt(env, -EINVAL);
      ret = BPF_MTU_CHK_RET.SUCCESS;
    }
  }
  mem.dv.setUint32(mtuPtr, LOOPBACK_MTU, true);
  retInt(env, ret);
}

/** rt6_need_strict: multicast (ff00::/8), link-local (fe80::/10) or loopback (::1) addresses are never forwarded. */
function ipv6NeedStrict(a: Uint8Array): boolean {
  if (a[0] === 0xff) return true;
  if (a[0] === 0xfe && (a[1]! & 0xc0) === 0x80) return true;
  return a.subarray(0, 15).every((b) => b === 0) && a[15] === 1;
}

/** The result of bpf_fib_lookup on `params` (64 bytes) in a namespace without forwarding. */
export function fibLookup(params: Uint8Array, flags: number): number {
  if ((flags & ~BPF_FIB_LOOKUP_MASK) !== 0) return -EINVAL;
  const dv = new DataView(params.buffer, params.byteOffset, params.byteLength);
  const family = params[FIB_FAMILY]!;
  const ifindex = dv.getUint32(FIB_IFINDEX, true);
  if (family === AF_INET) {
    return ifindex === LOOPBACK_IFINDEX ? BPF_FIB_LKUP_RET.FWD_DISABLED : -ENODEV;
  }
  if (family === AF_INET6) {
    if (ipv6NeedStrict(params.subarray(FIB_IPV6_DST, FIB_IPV6_DST + 16)) || ipv6NeedStrict(params.subarray(FIB_IPV6_SRC, FIB_IPV6_SRC + 16))) return BPF_FIB_LKUP_RET.NOT_FWDED;
    return ifindex === LOOPBACK_IFINDEX ? BPF_FIB_LKUP_RET.FWD_DISABLED : -ENODEV;
  }
  return -EAFNOSUPPORT;
}

function fibLookupHelper(env: HelperEnv): void {
  if (env.run instanceof XdpRunContext) xdpOf(env, 'fib_lookup');
  else skbOf(env, 'fib_lookup');
  const params = arg(env, 2);
  const plen = env.regs[6]! | 0; // int plen
  if (plen < FIB_PARAMS_SIZE) return retInt(env, -EINVAL);
  if (!env.mem.checkRange(params, FIB_PARAMS_SIZE, true)) return retInt(env, -EFAULT);
  // flags is a u32 parameter: its high half is dropped
  retInt(env, fibLookup(env.mem.u8.subarray(params, params + FIB_PARAMS_SIZE), arg(env, 4)));
}

/** Seed of the flow hash (the kernel's is random per boot; this one is fixed so runs repeat). */
const FLOW_HASH_SEED = 0x5eed_f10e;
const IPPROTO_WITH_PORTS = new Set([6, 17, 33, 132, 136]); // TCP, UDP, DCCP, SCTP, UDP-Lite

/**
 * The flow hash of a frame's network header (`l3` at `off` in `u8`,
 * EtherType `ethType`): the kernel's flow keys (flow_keys_dissector: the
 * protocols, addresses, ports unless a fragment, the IPv6 flow label; not
 * ICMP ids), addresses and ports ordered so both directions hash the same;
 * never 0.
 */
export function flowHash(u8: Uint8Array, off: number, len: number, ethType: number): number {
  const key = new Uint8Array(44);
  const kv = new DataView(key.buffer);
  kv.setUint16(0, ethType);
  let addrLen = 0;
  let srcOff = 0;
  let l4 = -1;
  let proto = 0;
  if (ethType === 0x0800 && len >= 20) {
    addrLen = 4;
    srcOff = off + 12;
    proto = u8[off + 9]!;
    const frag = ((u8[off + 6]! << 8) | u8[off + 7]!) & 0x3fff;
    if (frag === 0) l4 = off + (u8[off]! & 0xf) * 4;
  } else if (ethType === 0x86dd && len >= 40) {
    addrLen = 16;
    srcOff = off + 8;
    proto = u8[off + 6]!;
    l4 = off + 40;
    // the flow label is a flow key too (not swapped by consistentify)
    kv.setUint32(40, ((u8[off + 1]! & 0xf) << 16) | (u8[off + 2]! << 8) | u8[off + 3]!);
  }
  key[2] = proto;
  const src = u8.subarray(srcOff, srcOff + addrLen);
  const dst = u8.subarray(srcOff + addrLen, srcOff + 2 * addrLen);
  let sport = 0;
  let dport = 0;
  if (l4 >= 0 && IPPROTO_WITH_PORTS.has(proto) && l4 + 4 <= off + len) {
    sport = (u8[l4]! << 8) | u8[l4 + 1]!;
    dport = (u8[l4 + 2]! << 8) | u8[l4 + 3]!;
  }
  // __flow_hash_consistentify: the smaller address (then port) first
  const cmp = compareBytes(src, dst);
  const swap = cmp > 0 || (cmp === 0 && sport > dport);
  key.set(swap ? dst : src, 4);
  key.set(swap ? src : dst, 4 + addrLen);
  kv.setUint16(36, swap ? dport : sport);
  kv.setUint16(38, swap ? sport : dport);
  const h = hash32(key, 0, key.length, FLOW_HASH_SEED) >>> 0;
  return h === 0 ? 1 : h;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

function getHashRecalc(env: HelperEnv): void {
  const skb = skbOf(env, 'get_hash_recalc');
  const dv = env.mem.dv;
  if (!skb.hashValid) {
    const l3 = skb.l2 ? skb.data + ETH_HLEN : skb.data;
    const l3len = skb.l2 ? skb.len - ETH_HLEN : skb.len;
    dv.setUint32(skb.ctxAddr + SKB.hash, flowHash(env.mem.u8, l3, Math.max(0, l3len), skb.ethType()), true);
    skb.hashValid = true;
  }
  retU32(env, dv.getUint32(skb.ctxAddr + SKB.hash, true));
}

const XDP_ACTION_MASK = 3;
const BPF_F_BROADCAST = 1 << 3;
const BPF_F_EXCLUDE_INGRESS = 1 << 4;

/**
 * bpf_redirect_map (XDP): XDP_REDIRECT when the map holds the key (or the
 * flags ask for a broadcast, devmaps only), else the fallback action in
 * the low two bits of flags; XDP_ABORTED for flags the map type does not
 * take. The target is recorded on the run context.
 */
function redirectMap(env: HelperEnv): void {
  const xdp = env.run instanceof XdpRunContext ? env.run : undefined;
  if (xdp === undefined) throw new ProgramError(env.pc, 'helper redirect_map is for XDP programs run by the runtime');
  const map = xdp.maps.byDesc(arg(env, 1));
  if (!(map instanceof RedirectMap)) throw new ProgramError(env.pc, 'helper redirect_map: r1 is not a devmap, devmap_hash, cpumap or xskmap');
  const flags = arg(env, 3);
  const devmap = map.kind === 'devmap' || map.kind === 'devmap_hash';
  const allowed = XDP_ACTION_MASK | (devmap ? BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS : 0);
  if ((flags & ~allowed) !== 0 || argHi(env, 3) !== 0) return retInt(env, XDP_ACTION.XDP_ABORTED);
  // the u64 index is looked up as a u32 key
  const key = arg(env, 2);
  const broadcast = (flags & BPF_F_BROADCAST) !== 0;
  if (map.target(key) === undefined && !broadcast) {
    xdp.redirect = undefined;
    return retInt(env, flags & XDP_ACTION_MASK);
  }
  xdp.redirect = { mapId: map.id, key, broadcast };
  retInt(env, XDP_ACTION.XDP_REDIRECT);
}

export const ROUTE_HELPERS: readonly HelperDef[] = [
  ...LOCAL_STORAGE_HELPERS,
  ...ECN_HELPERS,
  ...CSUM_HELPERS,
  ...TC_REDIRECT_HELPERS,
  helper('redirect_map', redirectMap),
  helper('check_mtu', checkMtuHelper),
  helper('fib_lookup', fibLookupHelper),
  helper('get_hash_recalc', getHashRecalc),
];

