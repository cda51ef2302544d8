// The syntax tree of a filter expression. The parser has already applied
// tcpdump's implicit-qualifier rule (`host a or b` is `host a or host b`),
// so every primitive carries its full qualifier set.

import type { Cond } from './cond.js';

/** Protocol qualifiers (pcap-filter's "proto"): `default` when none was written. */
export type ProtoQual =
  | 'default' | 'link' | 'ip' | 'ip6' | 'arp' | 'rarp' | 'tcp' | 'udp' | 'sctp' | 'icmp' | 'icmp6'
  | 'igmp' | 'igrp' | 'pim' | 'vrrp' | 'carp' | 'ah' | 'esp' | 'radio' | 'atalk' | 'aarp' | 'decnet'
  | 'lat' | 'sca' | 'moprc' | 'mopdl' | 'iso' | 'esis' | 'isis' | 'clnp' | 'stp' | 'ipx' | 'netbeui'
  | 'l1' | 'l2' | 'iih' | 'lsp' | 'snp' | 'csnp' | 'psnp';

/** Direction qualifiers. */
export type DirQual = 'default' | 'src' | 'dst' | 'src-or-dst' | 'src-and-dst';

/** Type qualifiers: what the id names. */
export type TypeQual = 'default' | 'host' | 'net' | 'port' | 'portrange' | 'proto' | 'protochain' | 'gateway';

export interface Quals {
  readonly proto: ProtoQual;
  readonly dir: DirQual;
  readonly type: TypeQual;
}

/** What follows the qualifiers: a number, an address in some spelling, or a name. */
export type Id =
  | { readonly k: 'num'; readonly value: number; readonly text: string }
  | { readonly k: 'hid'; readonly text: string }
  | { readonly k: 'hid-len'; readonly text: string; readonly len: number }
  | { readonly k: 'hid-mask'; readonly text: string; readonly mask: string }
  | { readonly k: 'hid6'; readonly text: string }
  | { readonly k: 'hid6-len'; readonly text: string; readonly len: number }
  | { readonly k: 'eid'; readonly text: string }
  | { readonly k: 'name'; readonly text: string };

export type RelOp = '>' | '<' | '>=' | '<=' | '==' | '!=';
export type ArithOp = '+' | '-' | '*' | '/' | '%' | '&' | '|' | '^' | '<<' | '>>';

/** An arithmetic expression (unsigned 32-bit). */
export type Arith =
  | { readonly t: 'num'; readonly value: number }
  | { readonly t: 'len' }
  | { readonly t: 'load'; readonly proto: ProtoQual; readonly index: Arith; readonly size: 1 | 2 | 4; readonly pos: number }
  | { readonly t: 'bin'; readonly op: ArithOp; readonly l: Arith; readonly r: Arith; readonly pos: number }
  | { readonly t: 'neg'; readonly e: Arith };

/** A boolean filter expression. `pos` is the offset of the primitive in the text. */
export type Expr =
  | { readonly t: 'and' | 'or'; readonly l: Expr; readonly r: Expr }
  | { readonly t: 'not'; readonly e: Expr }
  | { readonly t: 'prim'; readonly q: Quals; readonly id: Id; readonly pos: number }
  | { readonly t: 'abbrev'; readonly proto: ProtoQual; readonly pos: number }
  | { readonly t: 'rel'; readonly op: RelOp; readonly l: Arith; readonly r: Arith; readonly pos: number }
  | { readonly t: 'cast'; readonly kind: 'broadcast' | 'multicast'; readonly proto: ProtoQual; readonly pos: number }
  | { readonly t: 'length'; readonly kind: 'less' | 'greater'; readonly value: number; readonly pos: number }
  | { readonly t: 'encap'; readonly kind: 'vlan' | 'mpls' | 'pppoed' | 'pppoes' | 'geneve'; readonly value?: number; readonly pos: number }
  | { readonly t: 'direction'; readonly outbound: boolean; readonly pos: number }
  | { readonly t: 'ifindex'; readonly index: number; readonly pos: number }
  | { readonly t: 'llc'; readonly subtype?: string; readonly pos: number }
  | { readonly t: 'unsupported'; readonly what: string; readonly pos: number }
  /** A primitive the compiler has already turned into code while parsing. */
  | { readonly t: 'done'; readonly cond: Cond };
