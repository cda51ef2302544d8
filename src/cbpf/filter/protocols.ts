// Protocol tests relative to the current offsets: "the packet is IPv4",
// "IPv6 next header is TCP", "not a later IPv4 fragment". The offsets live
// here because `vlan` shifts them for everything parsed after it (libpcap's
// rule), so primitives must be generated in the order they were written.

import { UnsupportedError } from '../../internal/errors.js';
import type { ProtoQual } from './ast.js';
import { FALSE, JEQ, JGT, JSET, and, andK, cmpField, loadAbs, not, or, test, type Cond } from './cond.js';
import { FilterError } from './errors.js';
import type { LinkLayer } from './link.js';

export const ETH = { IP: 0x0800, ARP: 0x0806, RARP: 0x8035, IP6: 0x86dd, VLAN: 0x8100, QINQ: 0x88a8, QINQ_OLD: 0x9100 } as const;
export const IPPROTO = { ICMP: 1, IGMP: 2, TCP: 6, IGRP: 9, UDP: 17, ESP: 50, AH: 51, FRAGMENT: 44, ICMPV6: 58, PIM: 103, VRRP: 112, SCTP: 132 } as const;

/** Largest value of an 802.3 length field: smaller "types" are LLC SAPs. */
const ETHERMTU = 1500;

/** Transport protocols reached through the IPv4 header (`tcp[...]` and friends) and their numbers. */
export const IPV4_TRANSPORT: Partial<Record<ProtoQual, number>> = {
  tcp: IPPROTO.TCP, udp: IPPROTO.UDP, sctp: IPPROTO.SCTP, icmp: IPPROTO.ICMP, igmp: IPPROTO.IGMP,
  igrp: IPPROTO.IGRP, pim: IPPROTO.PIM, vrrp: IPPROTO.VRRP, carp: IPPROTO.VRRP,
};

/** Ethernet-type protocols that are a plain type compare. */
const ETHER_ABBREV: Partial<Record<ProtoQual, number>> = {
  ip: ETH.IP, ip6: ETH.IP6, arp: ETH.ARP, rarp: ETH.RARP, decnet: 0x6003, lat: 0x6004, sca: 0x6007, moprc: 0x6002, mopdl: 0x6001,
};

export class Layers {
  offLinkType: number;
  offNet: number;

  constructor(readonly link: LinkLayer) {
    this.offLinkType = link.offLinkType;
    this.offNet = link.offNet;
  }

  /** The link layer carries protocol `etype` (an Ethernet type). */
  linkType(etype: number): Cond {
    switch (this.link.kind) {
      case 'ether':
        if (etype <= ETHERMTU) {
          // An 802.3 frame (length, not type) whose LLC DSAP is etype.
          return and(not(cmpField(2, this.offLinkType, ETHERMTU, JGT)), cmpField(1, this.offNet, etype));
        }
        return cmpField(2, this.offLinkType, etype);
      case 'sll':
      case 'sll2':
        return cmpField(2, this.offLinkType, etype);
      case 'raw': {
        // No link header: the IP version nibble tells v4 from v6.
        if (etype === ETH.IP) return test([loadAbs(1, this.offNet), andK(0xf0)], JEQ, 0x40);
        if (etype === ETH.IP6) return test([loadAbs(1, this.offNet), andK(0xf0)], JEQ, 0x60);
        return FALSE;
      }
      case 'null': {
        // The address family, in the byte order of the capturing host: little-endian here,
        // read big-endian by the load. IPv6 has three BSD values.
        if (etype === ETH.IP) return cmpField(4, 0, 0x02000000);
        if (etype === ETH.IP6) return or(cmpField(4, 0, 0x18000000), cmpField(4, 0, 0x1c000000), cmpField(4, 0, 0x1e000000));
        return FALSE;
      }
    }
  }

  /** IPv4 with protocol field p. */
  ipProto(p: number): Cond {
    return and(this.linkType(ETH.IP), cmpField(1, this.offNet + 9, p));
  }

  /** IPv6 with next header p, or a fragment header followed by p (no further chasing, like libpcap). */
  ip6Proto(p: number): Cond {
    const nxt = this.offNet + 6;
    return and(this.linkType(ETH.IP6), or(cmpField(1, nxt, p), and(cmpField(1, nxt, IPPROTO.FRAGMENT), cmpField(1, this.offNet + 40, p))));
  }

  /** Not a non-first IPv4 fragment (fragment offset zero). */
  notFragment(): Cond {
    return not(test([loadAbs(2, this.offNet + 6)], JSET, 0x1fff));
  }

  /** A protocol name on its own: `tcp`, `ip6`, `arp`, `icmp`... */
  abbrev(proto: ProtoQual): Cond {
    const et = ETHER_ABBREV[proto];
    if (et !== undefined) return this.linkType(et);
    switch (proto) {
      case 'tcp':
      case 'udp':
      case 'sctp':
      case 'pim':
      case 'ah':
      case 'esp': {
        const p = proto === 'ah' ? IPPROTO.AH : proto === 'esp' ? IPPROTO.ESP : IPV4_TRANSPORT[proto]!;
        return or(this.ipProto(p), this.ip6Proto(p));
      }
      case 'icmp':
      case 'igmp':
      case 'igrp':
      case 'vrrp':
      case 'carp':
        return this.ipProto(IPV4_TRANSPORT[proto]!);
      case 'icmp6':
        return this.ip6Proto(IPPROTO.ICMPV6);
      case 'link':
        throw new FilterError('link layer applied in wrong context');
      default:
        throw new UnsupportedError(`filter: protocol '${proto}' is not supported by tsbpf's filter compiler`);
    }
  }

  /** The check that makes `proto[...]` meaningful, and where that header starts. */
  header(proto: ProtoQual): { check: Cond; base: number; viaIpHeaderLen: boolean } {
    const net = this.offNet;
    const et = ETHER_ABBREV[proto];
    if (proto === 'link') return { check: and(), base: 0, viaIpHeaderLen: false };
    if (et !== undefined) return { check: this.linkType(et), base: net, viaIpHeaderLen: false };
    if (proto === 'icmp6') {
      return { check: and(this.linkType(ETH.IP6), cmpField(1, net + 6, IPPROTO.ICMPV6)), base: net + 40, viaIpHeaderLen: false };
    }
    const p = IPV4_TRANSPORT[proto];
    if (p !== undefined) {
      // Transport headers are IPv4-only, first fragment only (pcap-filter(7)).
      return { check: and(this.ipProto(p), this.notFragment()), base: net, viaIpHeaderLen: true };
    }
    throw new UnsupportedError(`filter: '${proto}[...]' is not supported by tsbpf's filter compiler`);
  }
}
