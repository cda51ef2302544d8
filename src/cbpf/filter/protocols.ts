// Protocol tests relative to the current offsets: "the packet is IPv4",
// "IPv6 next header is TCP", "not a later IPv4 fragment". The offsets live
// here because `vlan` shifts them for everything parsed after it (libpcap's
// rule), so primitives must be generated in the order they were written.

import { UnsupportedError } from '../../internal/errors.js';
import type { ProtoQual } from './ast.js';
import { FALSE, TRUE, JEQ, JGT, JSET, and, andK, cmpField, loadAbs, not, or, test, type Cond } from './cond.js';
import { FilterError } from './errors.js';
import type { LinkLayer } from './link.js';
import type { VariableOffsets } from './geneve.js';

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

/** PPP protocol numbers for the Ethernet types that have one (inside PPPoE). */
const PPP_OF_ETHERTYPE: ReadonlyMap<number, number> = new Map([
  [ETH.IP, 0x0021], [ETH.IP6, 0x0057], [0x6003, 0x0027], [0x809b, 0x0029], [0x0600, 0x0025],
  [0xfe, 0x0023], [0x42, 0x0031], [0xe0, 0x002b],
]);

/** Linux cooked-capture protocol value meaning "802.2 LLC frame follows". */
const LINUX_SLL_P_802_2 = 4;

/** LLC service access points with special handling, and the types that go with them. */
const LLCSAP = { IP: 0x06, STP: 0x42, IPX: 0xe0, NETBEUI: 0xf0, ISONS: 0xfe } as const;
const ETHERTYPE_IPX = 0x8137;
const ETHERTYPE_ATALK = 0x809b;
const ETHERTYPE_AARP = 0x80f3;

/** LLC control-field values of the supervisory (low nibble) and unnumbered (mask 0xef) frame types. */
const LLC_S_TYPES: Readonly<Record<string, number>> = { rr: 0x01, rnr: 0x05, rej: 0x09 };
const LLC_U_TYPES: Readonly<Record<string, number>> = { ui: 0x03, ua: 0x63, disc: 0x43, sabme: 0x6f, test: 0xe3, xid: 0xaf, frmr: 0x87 };

/** OSI network layer protocol ids (the first byte after the LLC header). */
const NLPID = { clnp: 0x81, esis: 0x82, isis: 0x83 } as const;
/**
 * IS-IS PDU types of the IS-IS abbreviations (15/16 L1/L2 LAN hello, 17
 * point-to-point hello, 18/20 L1/L2 LSP, 24/25 L1/L2 CSNP, 26/27 L1/L2
 * PSNP), in the order libpcap's gen_proto_abbrev ends up testing them, so
 * `-d` prints what tcpdump -d prints.
 */
const ISIS_PDUS: Readonly<Record<'l1' | 'l2' | 'iih' | 'lsp' | 'snp' | 'csnp' | 'psnp', readonly number[]>> = {
  l1: [26, 24, 18, 15, 17],
  l2: [27, 25, 20, 16, 17],
  iih: [17, 15, 16],
  lsp: [18, 20],
  snp: [27, 26, 24, 25],
  csnp: [24, 25],
  psnp: [26, 27],
};

/** The protocol abbreviations that are LLC SAPs or SNAP types (the values libpcap's gen_linktype gets). */
const LLC_ABBREV = { iso: LLCSAP.ISONS, stp: LLCSAP.STP, netbeui: LLCSAP.NETBEUI, ipx: LLCSAP.IPX, atalk: ETHERTYPE_ATALK, aarp: ETHERTYPE_AARP } as const;

export class Layers {
  offLinkType: number;
  offNet: number;
  /**
   * What the "link type" means now: the link header's own field, an MPLS
   * stack (after `mpls`), or the PPP protocol inside PPPoE (after `pppoes`).
   */
  mode: 'link' | 'mpls' | 'ppp' = 'link';
  /** Where `link[...]`/`ether[...]` count from: the PPP header once inside PPPoE. */
  offLinkHdr = 0;
  /** Inside PPPoE the link layer is PPP for the rest of the expression, MPLS on top or not. */
  inPpp = false;

  /**
   * After `geneve` the offsets have a variable part kept in scratch memory
   * (geneve.ts): the offset fields then hold symbolic bases that
   * geneve.ts's resolveOffsets turns into loads through X.
   */
  variable?: VariableOffsets;

  constructor(public link: LinkLayer) {
    this.offLinkType = link.offLinkType;
    this.offNet = link.offNet;
  }

  /** The link layer as primitives see it: inside PPPoE it is PPP, whatever carried it. */
  get kind(): LinkLayer['kind'] | 'ppp' {
    return this.inPpp ? 'ppp' : this.link.kind;
  }

  /** The link layer's name in tcpdump's messages. */
  get label(): string {
    return this.inPpp ? 'PPP' : this.link.label;
  }

  /** The link layer carries protocol `etype` (an Ethernet type). */
  linkType(etype: number): Cond {
    if (this.mode === 'mpls') {
      // Bottom of stack set on the last label, then the IP version nibble.
      const bos = cmpField(1, this.offNet - 2, 1, JEQ, 1);
      if (etype === ETH.IP) return and(bos, test([loadAbs(1, this.offNet), andK(0xf0)], JEQ, 0x40));
      if (etype === ETH.IP6) return and(bos, test([loadAbs(1, this.offNet), andK(0xf0)], JEQ, 0x60));
      throw new FilterError('unsupported protocol over mpls');
    }
    if (this.mode === 'ppp') return cmpField(2, this.offLinkType, PPP_OF_ETHERTYPE.get(etype) ?? etype);
    switch (this.link.kind) {
      case 'ether':
      case 'sll':
        return this.llcAwareType(etype);
      case 'sll2':
        return cmpField(2, this.offLinkType, etype);
      case 'raw': {
        // No link header: the IP version nibble tells v4 from v6.
        if (etype === ETH.IP) return test([loadAbs(1, this.offNet), andK(0xf0)], JEQ, 0x40);
        if (etype === ETH.IP6) return test([loadAbs(1, this.offNet), andK(0xf0)], JEQ, 0x60);
        return FALSE;
      }
      case 'null':
      case 'loop': {
        // The address family: in the capturing host's byte order for BSD loopback
        // (little-endian here, read big-endian by the load), network order for
        // OpenBSD's. IPv6 has three BSD values.
        const fam = (f: number): number => (this.link.kind === 'null' ? ((f & 0xff) << 24) >>> 0 : f);
        if (etype === ETH.IP) return cmpField(4, 0, fam(2));
        if (etype === ETH.IP6) return or(cmpField(4, 0, fam(30)), cmpField(4, 0, fam(24)), cmpField(4, 0, fam(28)));
        return FALSE;
      }
      case 'ipv4':
        return etype === ETH.IP ? TRUE : FALSE;
      case 'ipv6':
        return etype === ETH.IP6 ? TRUE : FALSE;
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
      case 'iso':
      case 'stp':
      case 'netbeui':
      case 'atalk':
      case 'aarp':
      case 'ipx':
        return this.linkType(LLC_ABBREV[proto]);
      case 'clnp':
      case 'esis':
      case 'isis':
        return this.osi(NLPID[proto]);
      case 'l1':
      case 'l2':
      case 'iih':
      case 'lsp':
      case 'snp':
      case 'csnp':
      case 'psnp':
        // The PDU type is the fifth byte of the IS-IS header.
        return and(this.osi(NLPID.isis), or(...ISIS_PDUS[proto].map((t) => cmpField(1, this.offOsi + 4, t))));
      default:
        throw new UnsupportedError(`filter: protocol '${proto}' is not supported by tsbpf's filter compiler`);
    }
  }

  /**
   * Where the OSI protocol id is: after the 3-byte LLC header on Ethernet;
   * right at the network offset elsewhere, as in libpcap (off_nl_nosnap 0,
   * even for Linux cooked v1, whose 802.2 frames do carry an LLC header).
   */
  private get offOsi(): number {
    return this.mode === 'link' && this.link.kind === 'ether' ? this.offNet + 3 : this.offNet;
  }

  /** An OSI (ISO SAP) frame of network protocol `nlpid`. */
  private osi(nlpid: number): Cond {
    return and(this.linkType(LLCSAP.ISONS), cmpField(1, this.offOsi, nlpid));
  }

  /** An 802.2 LLC frame (on Ethernet: a length, not a type; on Linux cooked v1: protocol 802.2) whose header satisfies `f`. */
  private llc(f: (llcOff: number) => Cond): Cond {
    if (this.link.kind === 'ether') return and(not(cmpField(2, this.offLinkType, ETHERMTU, JGT)), f(this.offNet));
    return and(cmpField(2, this.offLinkType, LINUX_SLL_P_802_2), f(this.offNet));
  }

  /**
   * Ethernet or Linux cooked v1 carrying `etype`, as libpcap reads it: values
   * up to 1500 are LLC SAPs (the OSI, IP and NetBEUI SAPs check DSAP and SSAP;
   * the IPX SAP also covers the IPX type, SNAP and raw 802.3), and AppleTalk
   * and AARP are also recognised in SNAP frames.
   */
  private llcAwareType(etype: number): Cond {
    const type = (t: number): Cond => cmpField(2, this.offLinkType, t);
    const snap = (o: number, oui: number, t: number): Cond => and(cmpField(4, o + 4, ((oui << 16) | t) >>> 0), cmpField(4, o, (0xaaaa0300 | (oui >>> 16)) >>> 0));
    switch (etype) {
      case LLCSAP.ISONS:
      case LLCSAP.IP:
      case LLCSAP.NETBEUI:
        return this.llc((o) => cmpField(2, o, (etype << 8) | etype));
      case LLCSAP.IPX:
        if (this.link.kind === 'sll') {
          // Linux cooked captures mark raw 802.3 Novell frames with protocol 1.
          return or(type(ETHERTYPE_IPX), type(1), this.llc((o) => or(cmpField(1, o, LLCSAP.IPX), snap(o, 0, ETHERTYPE_IPX))));
        }
        return or(type(ETHERTYPE_IPX), this.llc((o) => or(snap(o, 0, ETHERTYPE_IPX), cmpField(1, o, LLCSAP.IPX), cmpField(2, o, 0xffff))));
      case ETHERTYPE_ATALK:
        return or(type(ETHERTYPE_ATALK), this.llc((o) => snap(o, 0x080007, ETHERTYPE_ATALK)));
      case ETHERTYPE_AARP:
        return or(type(ETHERTYPE_AARP), this.llc((o) => snap(o, 0, ETHERTYPE_AARP)));
      default:
        // Other small values are LLC SAPs: an 802.2 frame whose DSAP is etype.
        return etype <= ETHERMTU ? this.llc((o) => cmpField(1, o, etype)) : type(etype);
    }
  }

  /**
   * `llc [TYPE]`: an 802.2 frame that is not raw NetWare (DSAP/SSAP 0xffff),
   * optionally of one control-field type (Ethernet only, as in libpcap for
   * savefiles).
   */
  anyLlc(subtype?: string): Cond {
    if (this.kind !== 'ether') throw new FilterError(`'llc' not supported for ${this.label}`);
    const ctl = (mask: number, value: number) => (o: number): Cond => cmpField(1, o + 2, value, JEQ, mask);
    let f: ((o: number) => Cond) | undefined;
    if (subtype === undefined) f = () => and();
    else if (subtype === 'i') f = (o) => not(test([loadAbs(1, o + 2)], JSET, 1));
    else if (subtype === 's') f = ctl(0x03, 0x01);
    else if (subtype === 'u') f = ctl(0x03, 0x03);
    else if (LLC_S_TYPES[subtype] !== undefined) f = ctl(0x0f, LLC_S_TYPES[subtype]!);
    else if (LLC_U_TYPES[subtype] !== undefined) f = ctl(0xef, LLC_U_TYPES[subtype]!);
    if (f === undefined) throw new FilterError(`unknown LLC type name "${subtype}"`);
    const g = f;
    return this.llc((o) => and(not(cmpField(2, o, 0xffff)), g(o)));
  }

  /** The check that makes `proto[...]` meaningful, and where that header starts. */
  header(proto: ProtoQual): { check: Cond; base: number; viaIpHeaderLen: boolean } {
    const net = this.offNet;
    const et = ETHER_ABBREV[proto];
    if (proto === 'link') return { check: and(), base: this.offLinkHdr, viaIpHeaderLen: false };
    if (et !== undefined) return { check: this.linkType(et), base: net, viaIpHeaderLen: false };
    // AppleTalk counts from the network offset whether it came in a type or a SNAP frame, as in libpcap.
    if (proto === 'atalk') return { check: this.linkType(ETHERTYPE_ATALK), base: net, viaIpHeaderLen: false };
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
