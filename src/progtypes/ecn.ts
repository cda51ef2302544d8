// bpf_skb_ecn_set_ce (tc, cgroup_skb): mark an ECN-capable IPv4 or IPv6
// packet Congestion Experienced, as the kernel's INET_ECN_set_ce: 1 when the
// packet now carries CE (it did already, or it was ECT(0)/ECT(1) and was
// marked; IPv4's header checksum is updated as IP_ECN_set_ce does), 0 for a
// packet that is not ECN-capable or not IP.

import { helper, retInt } from '../helpers/define.js';
import type { HelperDef } from '../helpers/registry.js';
import { skbOf, type SkbRunContext } from './skb.js';
import { ETH_HLEN } from './xdp.js';

const INET_ECN_MASK = 3;
const INET_ECN_CE = 3;

/** The network header's address and length in the packet. */
function networkHeader(skb: SkbRunContext): { at: number; len: number } {
  return skb.l2 ? { at: skb.data + ETH_HLEN, len: skb.len - ETH_HLEN } : { at: skb.data, len: skb.len };
}

/** IP_ECN_set_ce on the IPv4 header at `at` (u8 view of the memory). */
export function ipv4SetCe(u8: Uint8Array, at: number): number {
  const tos = u8[at + 1]!;
  const ecn = (tos + 1) & INET_ECN_MASK;
  // not ECT -> 0, already CE -> 1
  if ((ecn & 2) === 0) return ecn === 0 ? 1 : 0;
  // csum16_add(check, htons(0xFFFB) + htons(ecn)) on the stored (big-endian) check
  const add = (0xfffb + ecn) & 0xffff;
  const check = (u8[at + 10]! << 8) | u8[at + 11]!;
  let res = (check + add) & 0xffff;
  res = (res + (res < add ? 1 : 0)) & 0xffff;
  u8[at + 10] = res >>> 8;
  u8[at + 11] = res & 0xff;
  u8[at + 1] = tos | INET_ECN_CE;
  return 1;
}

/** IP6_ECN_set_ce on the IPv6 header at `at`: the traffic class's ECN bits are bits 4-5 of the second byte. */
export function ipv6SetCe(u8: Uint8Array, at: number): number {
  if (((u8[at + 1]! >>> 4) & INET_ECN_MASK) === 0) return 0;
  u8[at + 1] = u8[at + 1]! | (INET_ECN_CE << 4);
  return 1;
}

export const ECN_HELPERS: readonly HelperDef[] = [
  helper('skb_ecn_set_ce', (env) => {
    const skb = skbOf(env, 'skb_ecn_set_ce');
    const { at, len } = networkHeader(skb);
    const type = skb.ethType();
    if (type === 0x0800 && len >= 20) return retInt(env, ipv4SetCe(env.mem.u8, at));
    if (type === 0x86dd && len >= 40) return retInt(env, ipv6SetCe(env.mem.u8, at));
    retInt(env, 0);
  }),
];
