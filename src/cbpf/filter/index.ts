// tcpdump filter expressions (pcap-filter(7)) compiled to classic BPF by
// tsbpf's own compiler, with libpcap 1.10's meaning and error messages.
//
// Supported: host/net (IPv4 dotted, prefix and `mask` forms; IPv6 with a
// prefix length) with src/dst/src or dst/src and dst; ether host/src/dst
// and ether proto; port/portrange (numbers and common service names) for
// tcp/udp/sctp on IPv4 and IPv6; the ip/ip6/arp/rarp/tcp/udp/sctp/icmp/
// icmp6/igmp/igrp/pim/vrrp/carp/ah/esp/decnet/lat/sca/mopdl/moprc
// abbreviations; ip proto, ip6 proto, proto (numbers and /etc/protocols
// names); decnet host/src/dst AREA.NODE; iso, stp, netbeui, atalk, aarp,
// ipx and llc [TYPE] (802.2 LLC/SNAP); clnp, esis, isis and the IS-IS PDU
// classes l1, l2, iih, lsp, snp, csnp, psnp; broadcast, multicast, ip broadcast
// (with a netmask), ip/ip6 multicast; less, greater, len; proto[expr:size]
// for link/ether, ip, ip6, arp, rarp, tcp, udp, sctp, icmp, icmp6, igmp,
// igrp, pim, vrrp, carp, atalk with + - * / % & | ^ << >> and unary minus,
// all relations, the named fields and values (tcpflags, tcp-syn, icmptype,
// icmp-echo, icmp6type...); vlan [id], mpls [label], pppoes [id], pppoed;
// geneve [vni] with everything after it looking inside the tunnel
// (geneve.ts); ip/ip6 protochain (protochain.ts: a loop with a backward
// jump, libpcap's dialect of classic BPF, see ../check.ts);
// inbound/outbound on Linux cooked captures, ifindex on Linux cooked v2; and/or/not with parentheses
// and the implicit-qualifier rule.
// Link types: Ethernet, raw IP (101, 12, 14, 228, 229), Linux cooked v1/v2,
// BSD and OpenBSD loopback.
// Not supported (UnsupportedError): 802.11 and ATM primitives, pf log
// fields, gateway (it needs name resolution).
// Host names are never resolved: a name is an error, as tcpdump reports an
// unknown host.

export { compileFilter, DEFAULT_SNAPLEN, type FilterOptions } from './compile.js';
export { FilterError } from './errors.js';
export { parseFilter } from './parser.js';
export { tokenize, type Token, type TokenKind } from './lexer.js';
export { LINKTYPE, linkLayer, type LinkLayer } from './link.js';
export type { Expr, Arith, Quals, Id } from './ast.js';
