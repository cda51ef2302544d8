// Random filter expressions for the differential test: a seeded generator
// over the primitives the captures exercise, combined with and/or/not,
// parentheses and bare ids (so the implicit-qualifier rule and error order
// get exercised as well). Deterministic for a given seed.

export function randomExpressions(seed: number, count: number): string[] {
  let s = seed >>> 0;
  const rnd = (n: number): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
  const pick = <T>(a: readonly T[]): T => a[rnd(a.length)]!;
  const prims: (() => string)[] = [
    () => pick(['ip', 'ip6', 'arp', 'rarp', 'tcp', 'udp', 'icmp', 'icmp6', 'sctp', 'igmp', 'pim', 'esp', 'vlan', 'mpls', 'pppoes', 'stp', 'llc', 'iso']),
    () => `${pick(['', 'src ', 'dst ', 'src or dst ', 'src and dst '])}${pick(['', 'ip ', 'arp ', 'ip6 '])}host ${pick(['10.77.0.1', '10.77.0.2', 'fd77::1', 'fd77::2', '10.77.100.2', '255.255.255.255'])}`,
    () => `${pick(['', 'tcp ', 'udp ', 'sctp '])}${pick(['', 'src ', 'dst '])}port ${pick(['80', '8080', '22', '53', '443', '5353', 'http', 'domain'])}`,
    () => `${pick(['', 'tcp ', 'udp '])}portrange ${pick(['1-1024', '4000-5000', '8000-9000'])}`,
    () => `${pick(['', 'src ', 'dst '])}net ${pick(['10.77.0.0/24', '10.77.0.0/16', '10', 'fd77::/16', 'fe80::/10', '10.77.100.0 mask 255.255.255.0'])}`,
    () => `ether ${pick(['src', 'dst', 'host'])} ${pick(['02:aa:bb:cc:dd:01', '02:aa:bb:cc:dd:02', 'ff:ff:ff:ff:ff:ff'])}`,
    () => pick(['broadcast', 'multicast', 'ip multicast', 'ip6 multicast', 'ip broadcast']),
    () => `${pick(['less', 'greater'])} ${pick(['60', '100', '1000'])}`,
    () => `${pick(['ip', 'tcp', 'udp', 'ip6', 'icmp', 'ether', 'arp', 'icmp6'])}[${rnd(48)}${pick(['', ':1', ':2', ':4'])}] ${pick(['>', '<', '=', '!=', '>=', '<=', '&'])} ${rnd(300)}${pick(['', ' != 0'])}`,
    () => `${pick(['len', 'ip[2:2]', 'tcp[13] & 0x3f'])} ${pick(['+', '-', '*', '/', '%', '&', '|', '^', '<<', '>>'])} ${1 + rnd(20)} ${pick(['>', '<', '=', '!='])} ${rnd(2000)}`,
    () => `vlan ${pick(['100', '200', '5'])} and ${pick(['ip', 'udp', 'arp', 'ip6', 'tcp port 8080', 'host 10.77.100.2'])}`,
    () => `mpls ${pick(['5', '6', '7'])} and ${pick(['ip', 'ip6', 'udp port 53', 'tcp'])}`,
    () => `pppoes ${pick(['0x27', '0x28'])} and ${pick(['ip', 'ip6', 'tcp', 'udp'])}`,
    // protochain turns libpcap's optimiser off for the whole expression, so this also compares unoptimised code.
    () => `${pick(['', 'ip ', 'ip6 '])}protochain ${pick(['6', '17', '58', '51', '59', 'tcp'])}`,
  ];
  const expr = (depth: number): string => {
    if (depth > 2 || rnd(3) === 0) return (rnd(5) === 0 ? 'not ' : '') + pick(prims)();
    const op = pick([' and ', ' or ', ' && ', ' || ']);
    const e = expr(depth + 1) + op + (rnd(4) === 0 ? pick(['10.77.0.1', '53', '443']) : expr(depth + 1));
    return rnd(3) === 0 ? `(${e})` : e;
  };
  return Array.from({ length: count }, () => expr(0));
}
