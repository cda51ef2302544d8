// Address primitives: IPv4/IPv6 host and net (with direction), Ethernet
// addresses, broadcast and multicast, with libpcap's offsets and errors.

import type { DirQual, ProtoQual, Quals } from './ast.js';
import { JEQ, JGE, JSET, TRUE, and, cmpField, loadAbs, or, test, type Cond } from './cond.js';
import { byDir, type GenContext, type Side } from './context.js';
import { ETH } from './protocols.js';
import { innerLinkHeaderCheck } from './geneve.js';

const V4_ALLOWED: ReadonlySet<ProtoQual> = new Set(['default', 'ip', 'arp', 'rarp']);

/** Parse a dotted IPv4 prefix (1 to 4 parts) as libpcap's __pcap_atoin does: value and bit length. */
export function atoin(text: string, fail: (m: string) => never): { v: number; bits: number } {
  const parts = text.split('.');
  let v = 0;
  for (const p of parts) {
    const n = Number(p);
    if (!/^[0-9]+$/.test(p) || n > 255) fail(`invalid IPv4 address '${text}'`);
    v = ((v << 8) | n) >>> 0;
  }
  return { v, bits: 8 * parts.length };
}

export const prefixMask = (len: number): number => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);

export function hostV4(ctx: GenContext, q: Quals, addr: number, mask: number): Cond {
  const word = q.type === 'net' ? 'net' : 'host';
  if (!V4_ALLOWED.has(q.proto)) ctx.fail(q.proto === 'ip6' ? "'ip6' modifier applied to ip host" : `'${q.proto}' modifier applied to ${word}`);
  const L = ctx.layers;
  const net = L.offNet;
  // libpcap's shape (gen_host/gen_hostop): each protocol on its own, each
  // side with its own link-type test; the optimiser shares what repeats.
  const at = (type: number, srcOff: number, dstOff: number): Cond =>
    byDir(q.dir, (s) => and(L.linkType(type), mask === 0 ? TRUE : cmpField(4, net + (s === 'src' ? srcOff : dstOff), addr & mask, JEQ, mask)));
  switch (q.proto) {
    case 'ip': return at(ETH.IP, 12, 16);
    case 'arp': return at(ETH.ARP, 14, 24);
    case 'rarp': return at(ETH.RARP, 14, 24);
    // Inside MPLS only IP can be recognised, so libpcap leaves ARP out there.
    default: return ctx.layers.mode === 'mpls' ? at(ETH.IP, 12, 16) : or(at(ETH.IP, 12, 16), at(ETH.ARP, 14, 24), at(ETH.RARP, 14, 24));
  }
}

export function hostV6(ctx: GenContext, q: Quals, addr: Uint8Array, mask: Uint8Array): Cond {
  if (q.proto === 'ip') ctx.fail("'ip' modifier applied to ip6 host");
  if (q.proto !== 'default' && q.proto !== 'ip6') ctx.fail(`'${q.proto}' modifier applied to ip6 ${q.type === 'net' ? 'net' : 'host'}`);
  const L = ctx.layers;
  const net = L.offNet;
  const word = (b: Uint8Array, i: number): number => ((b[4 * i]! << 24) | (b[4 * i + 1]! << 16) | (b[4 * i + 2]! << 8) | b[4 * i + 3]!) >>> 0;
  const match = (base: number): Cond => {
    const parts: Cond[] = [];
    for (let i = 0; i < 4; i++) {
      const m = word(mask, i);
      if (m !== 0) parts.push(cmpField(4, base + 4 * i, word(addr, i) & m, JEQ, m));
    }
    return and(...parts);
  };
  return byDir(q.dir, (s) => and(L.linkType(ETH.IP6), match(net + (s === 'src' ? 8 : 24))));
}

export function requireEther(ctx: GenContext): void {
  if (ctx.layers.kind !== 'ether') {
    ctx.fail('ethernet addresses supported only on ethernet/FDDI/token ring/802.11/ATM LANE/Fibre Channel');
  }
}

export function etherHost(ctx: GenContext, dir: DirQual, mac: Uint8Array): Cond {
  requireEther(ctx);
  const lo = ((mac[2]! << 24) | (mac[3]! << 16) | (mac[4]! << 8) | mac[5]!) >>> 0;
  const hi = (mac[0]! << 8) | mac[1]!;
  const c = byDir(dir, (s) => {
    const off = ctx.layers.offLinkHdr + (s === 'src' ? 6 : 0);
    return and(cmpField(4, off + 2, lo), cmpField(2, off, hi));
  });
  return and(innerLinkHeaderCheck(ctx.layers), c);
}

export function broadcast(ctx: GenContext, proto: ProtoQual): Cond {
  if (proto === 'default' || proto === 'link') {
    if (ctx.layers.kind !== 'ether') ctx.fail('not a broadcast link');
    const lh = ctx.layers.offLinkHdr;
    return and(innerLinkHeaderCheck(ctx.layers), cmpField(4, lh + 2, 0xffffffff), cmpField(2, lh, 0xffff));
  }
  if (proto !== 'ip') ctx.fail('only link-layer/IP broadcast filters supported');
  if (ctx.netmask === undefined) ctx.fail("netmask not known, so 'ip broadcast' not supported");
  const hostmask = ~ctx.netmask >>> 0;
  const dst = ctx.layers.offNet + 16;
  return and(ctx.layers.linkType(ETH.IP), or(cmpField(4, dst, 0, JEQ, hostmask), cmpField(4, dst, hostmask, JEQ, hostmask)));
}

export function multicast(ctx: GenContext, proto: ProtoQual): Cond {
  const L = ctx.layers;
  if (proto === 'ip') return and(L.linkType(ETH.IP), cmpField(1, L.offNet + 16, 224, JGE));
  if (proto === 'ip6') return and(L.linkType(ETH.IP6), cmpField(1, L.offNet + 24, 255));
  if (L.kind !== 'ether') {
    ctx.fail('link-layer multicast filters supported only on ethernet/FDDI/token ring/ARCNET/802.11/ATM LANE/Fibre Channel');
  }
  if (proto !== 'default' && proto !== 'link') {
    ctx.fail('link-layer multicast filters supported only on ethernet/FDDI/token ring/ARCNET/802.11/ATM LANE/Fibre Channel');
  }
  return and(innerLinkHeaderCheck(L), test([loadAbs(1, L.offLinkHdr)], JSET, 1));
}

/**
 * `decnet host|src|dst AREA.NODE`: the 16-bit DECnet address (area in the top
 * 6 bits), stored little-endian, in each of the four routing-header layouts
 * libpcap knows (short or long, with or without a pad byte).
 */
export function decnetHost(ctx: GenContext, dir: DirQual, text: string): Cond {
  const m = /^([0-9]+)\.([0-9]+)/.exec(text);
  if (m === null) return ctx.fail(`malformed decnet address '${text}'`);
  const addr = ((Number(m[1]) & 0x3f) << 10) | (Number(m[2]) & 0x3ff);
  const swapped = ((addr & 0xff) << 8) | (addr >> 8);
  const L = ctx.layers;
  const flags = L.offNet + 2;
  const side = (s: Side): Cond => {
    // Offsets of the address after the flags byte: [short, padded short, long, padded long].
    const at = s === 'dst' ? [1, 2, 7, 8] : [3, 4, 15, 16];
    return or(
      and(cmpField(1, flags, 0x02, JEQ, 0x07), cmpField(2, flags + at[0]!, swapped)),
      and(cmpField(2, flags, 0x8102, JEQ, 0xff07), cmpField(2, flags + at[1]!, swapped)),
      and(cmpField(1, flags, 0x06, JEQ, 0x07), cmpField(2, flags + at[2]!, swapped)),
      and(cmpField(2, flags, 0x8106, JEQ, 0xff07), cmpField(2, flags + at[3]!, swapped)),
    );
  };
  return and(L.linkType(0x6003), byDir(dir, side));
}
