// Fixed vocabularies of the filter language: keywords, the named constants
// the lexer turns into numbers (tcp-syn, icmp-echo, tcpflags...), and the
// protocol and service names tcpdump resolves through /etc/protocols and
// /etc/services. tsbpf keeps its own small copies so that compiling a filter
// never depends on the machine it runs on (and never resolves host names).

/** Reserved words: they never lex as identifiers (escape with `\` to use one as a name). */
export const KEYWORDS: ReadonlySet<string> = new Set(
  (
    'dst src host gateway net mask port portrange proto protochain less greater byte broadcast multicast ' +
    'and or not len link ether ppp slip fddi tr wlan ip arp rarp sctp tcp udp icmp igmp igrp pim vrrp carp ' +
    'radio ip6 icmp6 ah esp atalk aarp decnet lat sca moprc mopdl iso esis es-is isis is-is l1 l2 iih lsp ' +
    'snp csnp psnp clnp stp ipx netbeui vlan mpls pppoed pppoes geneve lane llc metac bcc oam oamf4 ' +
    'oamf4ec oamf4sc sc ilmic vpi vci connectmsg metaconnect on ifname rnr rulenum reason rset ruleset ' +
    'srnr subrulenum action inbound outbound ifindex type subtype direction dir address1 addr1 address2 ' +
    'addr2 address3 addr3 address4 addr4 ra ta fisu lssu lsu sio opc dpc sls hfisu hlssu hlsu hsio hopc ' +
    'hdpc hsls'
  ).split(' '),
);

/** Names the lexer reads as numbers (libpcap's scanner does the same). */
export const NAMED_NUMBERS: ReadonlyMap<string, number> = new Map<string, number>([
  ['icmptype', 0],
  ['icmpcode', 1],
  ['icmp-echoreply', 0],
  ['icmp-unreach', 3],
  ['icmp-sourcequench', 4],
  ['icmp-redirect', 5],
  ['icmp-echo', 8],
  ['icmp-routeradvert', 9],
  ['icmp-routersolicit', 10],
  ['icmp-timxceed', 11],
  ['icmp-paramprob', 12],
  ['icmp-tstamp', 13],
  ['icmp-tstampreply', 14],
  ['icmp-ireq', 15],
  ['icmp-ireqreply', 16],
  ['icmp-maskreq', 17],
  ['icmp-maskreply', 18],
  ['icmp6type', 0],
  ['icmp6code', 1],
  ['icmp6-destinationunreach', 1],
  ['icmp6-packettoobig', 2],
  ['icmp6-timeexceeded', 3],
  ['icmp6-parameterproblem', 4],
  ['icmp6-echo', 128],
  ['icmp6-echoreply', 129],
  ['icmp6-multicastlistenerquery', 130],
  ['icmp6-multicastlistenerreportv1', 131],
  ['icmp6-multicastlistenerdone', 132],
  ['icmp6-routersolicit', 133],
  ['icmp6-routeradvert', 134],
  ['icmp6-neighborsolicit', 135],
  ['icmp6-neighboradvert', 136],
  ['icmp6-redirect', 137],
  ['icmp6-routerrenum', 138],
  ['icmp6-nodeinformationquery', 139],
  ['icmp6-nodeinformationresponse', 140],
  ['icmp6-ineighbordiscoverysolicit', 141],
  ['icmp6-ineighbordiscoveryadvert', 142],
  ['icmp6-multicastlistenerreportv2', 143],
  ['icmp6-homeagentdiscoveryrequest', 144],
  ['icmp6-homeagentdiscoveryreply', 145],
  ['icmp6-mobileprefixsolicit', 146],
  ['icmp6-mobileprefixadvert', 147],
  ['icmp6-certpathsolicit', 148],
  ['icmp6-certpathadvert', 149],
  ['icmp6-multicastrouteradvert', 151],
  ['icmp6-multicastroutersolicit', 152],
  ['icmp6-multicastrouterterm', 153],
  ['tcpflags', 13],
  ['tcp-fin', 0x01],
  ['tcp-syn', 0x02],
  ['tcp-rst', 0x04],
  ['tcp-push', 0x08],
  ['tcp-ack', 0x10],
  ['tcp-urg', 0x20],
  ['tcp-ece', 0x40],
  ['tcp-cwr', 0x80],
]);

/** IP protocol numbers by name (a subset of /etc/protocols). */
export const IP_PROTOCOLS: ReadonlyMap<string, number> = new Map<string, number>([
  ['ip', 0], ['hopopt', 0], ['icmp', 1], ['igmp', 2], ['ggp', 3], ['ipencap', 4], ['st', 5], ['tcp', 6],
  ['egp', 8], ['igp', 9], ['pup', 12], ['udp', 17], ['hmp', 20], ['xns-idp', 22], ['rdp', 27],
  ['iso-tp4', 29], ['dccp', 33], ['xtp', 36], ['ddp', 37], ['idpr-cmtp', 38], ['ipv6', 41],
  ['ipv6-route', 43], ['ipv6-frag', 44], ['idrp', 45], ['rsvp', 46], ['gre', 47], ['esp', 50], ['ah', 51],
  ['skip', 57], ['ipv6-icmp', 58], ['ipv6-nonxt', 59], ['ipv6-opts', 60], ['rspf', 73], ['vmtp', 81],
  ['eigrp', 88], ['ospf', 89], ['ax.25', 93], ['ipip', 94], ['etherip', 97], ['encap', 98], ['pim', 103],
  ['ipcomp', 108], ['vrrp', 112], ['l2tp', 115], ['isis', 124], ['sctp', 132], ['fc', 133],
  ['mobility-header', 135], ['udplite', 136], ['mpls-in-ip', 137], ['manet', 138], ['hip', 139],
  ['shim6', 140], ['wesp', 141], ['rohc', 142], ['ethernet', 143],
]);

/** Ethernet types by name, for `ether proto \NAME`. */
export const ETHER_TYPES: ReadonlyMap<string, number> = new Map<string, number>([
  ['ip', 0x0800], ['ip6', 0x86dd], ['arp', 0x0806], ['rarp', 0x8035], ['decnet', 0x6003], ['lat', 0x6004],
  ['sca', 0x6007], ['moprc', 0x6002], ['mopdl', 0x6001], ['loopback', 0x9000],
  // These name LLC SAPs or SNAP types; the link-type test knows their frames.
  ['iso', 0xfe], ['stp', 0x42], ['netbeui', 0xf0], ['ipx', 0xe0], ['atalk', 0x809b], ['aarp', 0x80f3],
]);

/** Which transport a service name belongs to. */
export type ServiceProto = 'tcp' | 'udp' | 'any';

/** Well-known ports by name (a subset of Debian's /etc/services). */
export const SERVICES: ReadonlyMap<string, readonly [number, ServiceProto]> = new Map<string, readonly [number, ServiceProto]>([
  ['ftp-data', [20, 'tcp']], ['ftp', [21, 'tcp']], ['ssh', [22, 'tcp']], ['telnet', [23, 'tcp']],
  ['smtp', [25, 'tcp']], ['mail', [25, 'tcp']], ['domain', [53, 'any']], ['bootps', [67, 'udp']],
  ['bootpc', [68, 'udp']], ['tftp', [69, 'udp']], ['http', [80, 'tcp']], ['www', [80, 'tcp']],
  ['kerberos', [88, 'any']], ['pop3', [110, 'tcp']], ['sunrpc', [111, 'any']], ['ntp', [123, 'udp']],
  ['netbios-ns', [137, 'udp']], ['imap2', [143, 'tcp']], ['imap', [143, 'tcp']], ['snmp', [161, 'any']],
  ['bgp', [179, 'tcp']], ['ldap', [389, 'any']], ['https', [443, 'any']], ['microsoft-ds', [445, 'tcp']],
  ['isakmp', [500, 'udp']], ['syslog', [514, 'udp']], ['submission', [587, 'tcp']], ['rsync', [873, 'tcp']],
  ['imaps', [993, 'tcp']], ['pop3s', [995, 'tcp']], ['openvpn', [1194, 'any']], ['radius', [1812, 'any']],
  ['nfs', [2049, 'any']], ['mysql', [3306, 'tcp']], ['sip', [5060, 'any']], ['mdns', [5353, 'udp']],
  ['postgresql', [5432, 'tcp']], ['x11', [6000, 'tcp']],
]);
