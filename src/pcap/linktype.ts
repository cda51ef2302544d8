// Link-layer header types of pcap and pcapng (the LINKTYPE_* registry), with
// what a classic filter needs to know about each: the ARPHRD type the kernel
// would report (SKF_AD_HATYPE) and where the network header starts when the
// link header has a fixed length (SKF_NET_OFF loads).

export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  IEEE802_11: 105,
  LOOP: 108,
  LINUX_SLL: 113,
  IEEE802_11_RADIOTAP: 127,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

export interface LinkTypeInfo {
  readonly name: string;
  /** ARPHRD_* of the device type (what SKF_AD_HATYPE returns on Linux). */
  readonly hatype: number;
  /** Length of the link-layer header when it is fixed, else undefined. */
  readonly netOffset?: number;
}

const INFO: ReadonlyMap<number, LinkTypeInfo> = new Map<number, LinkTypeInfo>([
  [LINKTYPE.NULL, { name: 'NULL', hatype: 0xffff, netOffset: 4 }],
  [LINKTYPE.ETHERNET, { name: 'EN10MB', hatype: 1, netOffset: 14 }],
  [LINKTYPE.RAW, { name: 'RAW', hatype: 0xfffe, netOffset: 0 }],
  [LINKTYPE.IEEE802_11, { name: 'IEEE802_11', hatype: 801 }],
  [LINKTYPE.LOOP, { name: 'LOOP', hatype: 772, netOffset: 4 }],
  [LINKTYPE.LINUX_SLL, { name: 'LINUX_SLL', hatype: 1, netOffset: 16 }],
  [LINKTYPE.IEEE802_11_RADIOTAP, { name: 'IEEE802_11_RADIO', hatype: 803 }],
  [LINKTYPE.IPV4, { name: 'IPV4', hatype: 0xfffe, netOffset: 0 }],
  [LINKTYPE.IPV6, { name: 'IPV6', hatype: 0xfffe, netOffset: 0 }],
  [LINKTYPE.LINUX_SLL2, { name: 'LINUX_SLL2', hatype: 1, netOffset: 20 }],
]);

/** What is known about a link type, or undefined for one this table does not describe. */
export function linkTypeInfo(linkType: number): LinkTypeInfo | undefined {
  return INFO.get(linkType);
}

/** A printable name: the tcpdump -y name when known, else the number. */
export function linkTypeName(linkType: number): string {
  return INFO.get(linkType)?.name ?? `LINKTYPE_${linkType}`;
}

/** The link type for a tcpdump -y name (EN10MB, RAW, LINUX_SLL...), case-insensitive. */
export function linkTypeByName(name: string): number | undefined {
  const up = name.toUpperCase();
  for (const [lt, info] of INFO) if (info.name === up) return lt;
  return undefined;
}
