// Helpers that reshape a tc program's packet: bpf_skb_change_tail,
// bpf_skb_change_head, bpf_skb_adjust_room and the VLAN tag helpers. Each
// follows net/core/filter.c: the same argument checks and errors, the same
// bytes moved, and the packet pointers in the __sk_buff updated afterwards
// (a program must re-read data/data_end, as the verifier makes it do).

import { arg, argHi, helper, retInt } from '../helpers/define.js';
import { ENOMEM } from '../maps/errno.js';
import type { RuntimeMemory } from '../vm/memory.js';
import { EFAULT, EINVAL, ENOTSUPP } from './errno.js';
import { SKB, SKB_MAX_LEN, skbOf, type SkbRunContext } from './skb.js';
import { ETH_HLEN } from './xdp.js';

const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const ETH_P_8021Q = 0x8100;
const ETH_P_8021AD = 0x88a8;
const VLAN_HLEN = 4;
const isVlan = (t: number): boolean => t === ETH_P_8021Q || t === ETH_P_8021AD;
/** A __be16 argument (as the program passes it, e.g. bpf_htons(ETH_P_8021Q)) as a host number. */
const swap16 = (v: number): number => ((v & 0xff) << 8) | ((v >>> 8) & 0xff);

/** bpf_skb_adjust_room modes and flags (include/uapi/linux/bpf.h). */
const BPF_ADJ_ROOM_NET = 0;
const BPF_ADJ_ROOM_MAC = 1;
const ADJ_ENCAP_MASK = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 6);
const ADJ_DECAP_L3_IPV4 = 1 << 7;
const ADJ_DECAP_L3_IPV6 = 1 << 8;
const ADJ_NO_CSUM_RESET = 1 << 5;
/** FIXED_GSO, ENCAP_*, NO_CSUM_RESET, DECAP_L3_*. */
const ADJ_ROOM_FLAGS = 1 | ADJ_ENCAP_MASK | ADJ_NO_CSUM_RESET | ADJ_DECAP_L3_IPV4 | ADJ_DECAP_L3_IPV6;

/** bpf_skb_change_tail: trim, or pad with zeros, to `newLen` bytes. */
export function changeTail(skb: SkbRunContext, mem: RuntimeMemory, newLen: number, flags: number): number {
  // __bpf_skb_min_len: the network header offset (14 for tc, which is where change_tail runs)
  const minLen = skb.l2 ? ETH_HLEN : 0;
  if (flags !== 0 || newLen > SKB_MAX_LEN || newLen < minLen) return -EINVAL;
  if (skb.data + newLen > skb.bufEnd) return -ENOMEM;
  if (newLen > skb.len) mem.u8.fill(0, skb.data + skb.len, skb.data + newLen);
  skb.len = newLen;
  skb.syncPointers();
  return 0;
}

/** bpf_skb_change_head: push `room` zeroed bytes in front (a new link-layer header). */
export function changeHead(skb: SkbRunContext, mem: RuntimeMemory, room: number, flags: number): number {
  const newLen = skb.len + room;
  if (flags !== 0 || newLen > SKB_MAX_LEN || newLen < skb.len) return -EINVAL;
  const u8 = mem.u8;
  if (skb.data - room < skb.bufStart) {
    // not enough headroom left: move the packet back, as the kernel reallocates
    const to = skb.bufStart + room;
    if (to + skb.len > skb.bufEnd) return -ENOMEM;
    u8.copyWithin(to, skb.data, skb.data + skb.len);
    skb.data = to;
  }
  skb.data -= room;
  u8.fill(0, skb.data, skb.data + room);
  skb.len = newLen;
  skb.syncPointers();
  return 0;
}

/**
 * bpf_skb_adjust_room: insert (len_diff > 0) or remove room after the
 * Ethernet header (BPF_ADJ_ROOM_MAC) or after the fixed IP header
 * (BPF_ADJ_ROOM_NET), moving the headers in front of it. The encap flags
 * only describe the new headers to the kernel's offloads; decap flags set
 * the minimum inner header.
 */
export function adjustRoom(skb: SkbRunContext, mem: RuntimeMemory, lenDiff: number, mode: number, flagsLo: number, flagsHi: number): number {
  const flags = flagsLo >>> 0;
  // BPF_F_ADJ_ROOM_MASK | BPF_F_ADJ_ROOM_NO_CSUM_RESET, and the L2 length in bits 56..63
  if ((flags & ~ADJ_ROOM_FLAGS) !== 0 || (flagsHi & 0x00ffffff) !== 0) return -EINVAL;
  const abs = Math.abs(lenDiff);
  if (abs > 0xfff) return -EFAULT;
  const proto = skb.ethType();
  if (proto !== ETH_P_IP && proto !== ETH_P_IPV6) return -ENOTSUPP;
  const base = proto === ETH_P_IP ? 20 : 40;
  let off = ETH_HLEN;
  if (mode === BPF_ADJ_ROOM_NET) off += base;
  else if (mode !== BPF_ADJ_ROOM_MAC) return -ENOTSUPP;
  const shrink = lenDiff < 0;
  let lenMin = base;
  const decap = flags & (ADJ_DECAP_L3_IPV4 | ADJ_DECAP_L3_IPV6);
  if (decap !== 0) {
    if (!shrink) return -EINVAL;
    if (decap === ADJ_DECAP_L3_IPV4) lenMin = 20;
    else if (decap === ADJ_DECAP_L3_IPV6) lenMin = 40;
    else return -EINVAL;
  }
  if ((flags & ADJ_ENCAP_MASK) !== 0 && shrink) return -EINVAL;
  const lenCur = skb.len - ETH_HLEN;
  if (shrink ? abs >= lenCur || lenCur - abs < lenMin : skb.len + abs > SKB_MAX_LEN) return -ENOTSUPP;
  if (!skb.l2 || skb.len < off) return -EINVAL;
  const u8 = mem.u8;
  if (shrink) {
    // bpf_skb_generic_pop: the headers move forward over the removed bytes
    u8.copyWithin(skb.data + abs, skb.data, skb.data + off);
    skb.data += abs;
    skb.len -= abs;
  } else {
    if (skb.data - abs < skb.bufStart) return -ENOMEM;
    // bpf_skb_generic_push: the headers move back; the room between is zeroed
    u8.copyWithin(skb.data - abs, skb.data, skb.data + off);
    skb.data -= abs;
    u8.fill(0, skb.data + off, skb.data + off + abs);
    skb.len += abs;
  }
  if ((flags & ADJ_NO_CSUM_RESET) === 0) skb.resetChecksumUnnecessary();
  skb.syncPointers();
  return 0;
}

/** The skb's accelerated VLAN tag (vlan_proto as an EtherType, vlan_tci), kept in the __sk_buff fields. */
function hwTag(skb: SkbRunContext, mem: RuntimeMemory): { proto: number; tci: number } {
  const dv = mem.dv;
  const p = dv.getUint32(skb.ctxAddr + SKB.vlan_proto, true);
  return { proto: swap16(p & 0xffff), tci: dv.getUint32(skb.ctxAddr + SKB.vlan_tci, true) & 0xffff };
}

function setHwTag(skb: SkbRunContext, mem: RuntimeMemory, proto: number, tci: number): void {
  const dv = mem.dv;
  dv.setUint32(skb.ctxAddr + SKB.vlan_proto, swap16(proto), true);
  dv.setUint32(skb.ctxAddr + SKB.vlan_tci, tci, true);
  // vlan_present reads as "vlan_all != 0"
  dv.setUint32(skb.ctxAddr + SKB.vlan_present, proto !== 0 || tci !== 0 ? 1 : 0, true);
}

/** bpf_skb_vlan_push: the new tag becomes the accelerated one; a tag already there moves into the packet. */
export function vlanPush(skb: SkbRunContext, mem: RuntimeMemory, proto: number, tci: number): number {
  if (proto !== ETH_P_8021Q && proto !== ETH_P_8021AD) proto = ETH_P_8021Q;
  const cur = hwTag(skb, mem);
  if (cur.proto !== 0 || cur.tci !== 0) {
    if (!skb.l2) return -EINVAL; // the kernel warns: the mac header must be at data
    if (skb.data - VLAN_HLEN < skb.bufStart) return -ENOMEM;
    mem.u8.copyWithin(skb.data - VLAN_HLEN, skb.data, skb.data + 12);
    skb.data -= VLAN_HLEN;
    skb.len += VLAN_HLEN;
    mem.dv.setUint16(skb.data + 12, cur.proto, false);
    mem.dv.setUint16(skb.data + 14, cur.tci, false);
    skb.setEthType(cur.proto);
    skb.syncPointers();
  }
  setHwTag(skb, mem, proto, tci);
  return 0;
}

/** bpf_skb_vlan_pop: drop the accelerated tag, or the packet's outer tag; a next tag becomes the accelerated one. */
export function vlanPop(skb: SkbRunContext, mem: RuntimeMemory): number {
  const cur = hwTag(skb, mem);
  if (cur.proto !== 0 || cur.tci !== 0) {
    setHwTag(skb, mem, 0, 0);
  } else {
    if (!isVlan(skb.ethType())) return 0;
    const r = popPacketTag(skb, mem);
    if (r < 0) return r;
  }
  const proto = skb.ethType();
  if (!isVlan(proto)) return 0;
  const r = popPacketTag(skb, mem);
  if (r < 0) return r;
  setHwTag(skb, mem, proto, r);
  return 0;
}

/** __skb_vlan_pop: remove the tag after the MAC addresses; returns its TCI or a negative errno. */
function popPacketTag(skb: SkbRunContext, mem: RuntimeMemory): number {
  if (!skb.l2) return -EINVAL;
  if (skb.len < ETH_HLEN + VLAN_HLEN) return -ENOMEM;
  const tci = mem.dv.getUint16(skb.data + 14, false);
  const inner = mem.dv.getUint16(skb.data + 16, false);
  mem.u8.copyWithin(skb.data + VLAN_HLEN, skb.data, skb.data + 12);
  skb.data += VLAN_HLEN;
  skb.len -= VLAN_HLEN;
  skb.setEthType(inner);
  skb.syncPointers();
  return tci;
}

export const SKB_RESIZE_HELPERS = [
  helper('skb_change_tail', (env) => retInt(env, argHi(env, 3) !== 0 ? -EINVAL : changeTail(skbOf(env, 'skb_change_tail'), env.mem, arg(env, 2), arg(env, 3)))),
  helper('skb_change_head', (env) => retInt(env, argHi(env, 3) !== 0 ? -EINVAL : changeHead(skbOf(env, 'skb_change_head'), env.mem, arg(env, 2), arg(env, 3)))),
  helper('skb_adjust_room', (env) => retInt(env, adjustRoom(skbOf(env, 'skb_adjust_room'), env.mem, env.regs[4]! | 0, arg(env, 3), arg(env, 4), argHi(env, 4)))),
  helper('skb_vlan_push', (env) => retInt(env, vlanPush(skbOf(env, 'skb_vlan_push'), env.mem, swap16(arg(env, 2) & 0xffff), arg(env, 3) & 0xffff))),
  helper('skb_vlan_pop', (env) => retInt(env, vlanPop(skbOf(env, 'skb_vlan_pop'), env.mem))),
];
