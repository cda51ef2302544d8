// Where the network layer starts and where the protocol type lives for each
// supported link type (pcap LINKTYPE_* numbers), and how "this is IPv4" is
// tested on it. Offsets are those libpcap uses; `vlan` moves them later.

import { FilterError } from './errors.js';

export type LinkKind = 'ether' | 'sll' | 'sll2' | 'raw' | 'null' | 'loop' | 'ipv4' | 'ipv6';

export interface LinkLayer {
  readonly linkType: number;
  readonly kind: LinkKind;
  /** How tcpdump names it in "no VLAN support for ..." messages. */
  readonly label: string;
  /** Offset of the 16-bit protocol type (Ethernet type, SLL protocol); -1 when there is none. */
  readonly offLinkType: number;
  /** Offset of the network-layer header. */
  readonly offNet: number;
}

export const LINKTYPE = { NULL: 0, ETHERNET: 1, RAW: 101, LOOP: 108, LINUX_SLL: 113, IPV4: 228, IPV6: 229, LINUX_SLL2: 276 } as const;

const LAYERS: readonly LinkLayer[] = [
  { linkType: LINKTYPE.NULL, kind: 'null', label: 'BSD loopback', offLinkType: -1, offNet: 4 },
  { linkType: LINKTYPE.ETHERNET, kind: 'ether', label: 'Ethernet', offLinkType: 12, offNet: 14 },
  { linkType: LINKTYPE.RAW, kind: 'raw', label: 'Raw IP', offLinkType: -1, offNet: 0 },
  // DLT_RAW's two historical numbers (BSD/OpenBSD) mean the same.
  { linkType: 12, kind: 'raw', label: 'Raw IP', offLinkType: -1, offNet: 0 },
  { linkType: 14, kind: 'raw', label: 'Raw IP', offLinkType: -1, offNet: 0 },
  { linkType: LINKTYPE.LOOP, kind: 'loop', label: 'OpenBSD loopback', offLinkType: -1, offNet: 4 },
  { linkType: LINKTYPE.LINUX_SLL, kind: 'sll', label: 'Linux cooked v1', offLinkType: 14, offNet: 16 },
  { linkType: LINKTYPE.IPV4, kind: 'ipv4', label: 'Raw IPv4', offLinkType: -1, offNet: 0 },
  { linkType: LINKTYPE.IPV6, kind: 'ipv6', label: 'Raw IPv6', offLinkType: -1, offNet: 0 },
  { linkType: LINKTYPE.LINUX_SLL2, kind: 'sll2', label: 'Linux cooked v2', offLinkType: 0, offNet: 20 },
];

/** The layout of a link type, or a FilterError naming the unsupported type. */
export function linkLayer(linkType: number): LinkLayer {
  const l = LAYERS.find((x) => x.linkType === linkType);
  if (!l) throw new FilterError(`link-layer type ${linkType} is not supported by the filter compiler (supported: ${LAYERS.map((x) => x.linkType).join(', ')})`);
  return l;
}
