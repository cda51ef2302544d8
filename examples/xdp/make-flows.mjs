// Writes flows.pcap: a small Ethernet capture with a few TCP, UDP and ICMP
// flows plus frames flowcount.c does not count as IPv4 flows (ARP, IPv6, a
// truncated frame). Deterministic, so the committed file can be regenerated
// byte for byte:  node make-flows.mjs flows.pcap   (after npx tsc -p .)
import { fileSink, PcapWriter, LINKTYPE } from '../../dist/src/pcap/index.js';

const out = process.argv[2] ?? 'flows.pcap';
const mac = (n) => [0x02, 0, 0, 0, 0, n];
const ip4 = (s) => s.split('.').map(Number);

function csum(bytes) {
  let s = 0;
  for (let i = 0; i < bytes.length; i += 2) s += (bytes[i] << 8) | (bytes[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

function eth(dst, src, type, payload) {
  return [...dst, ...src, type >> 8, type & 0xff, ...payload];
}

/** TCP/UDP checksum over the IPv4 pseudo-header; the field is at `at` in the L4 header. */
function l4csum(src, dst, proto, l4, at) {
  const pseudo = [...ip4(src), ...ip4(dst), 0, proto, l4.length >> 8, l4.length & 0xff];
  const c = csum([...pseudo, ...l4]) || (proto === 17 ? 0xffff : 0);
  l4[at] = c >> 8;
  l4[at + 1] = c & 0xff;
  return l4;
}

function ipv4(src, dst, proto, payload, id) {
  if (proto === 6) payload = l4csum(src, dst, proto, payload, 16);
  if (proto === 17) payload = l4csum(src, dst, proto, payload, 6);
  if (proto === 1) {
    const c = csum(payload);
    payload[2] = c >> 8;
    payload[3] = c & 0xff;
  }
  const len = 20 + payload.length;
  const h = [0x45, 0, len >> 8, len & 0xff, id >> 8, id & 0xff, 0x40, 0, 64, proto, 0, 0, ...ip4(src), ...ip4(dst)];
  const c = csum(h);
  h[10] = c >> 8;
  h[11] = c & 0xff;
  return [...h, ...payload];
}

const port = (p) => [p >> 8, p & 0xff];
const tcp = (sp, dp, flags, data) => [...port(sp), ...port(dp), 0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xfa, 0xf0, 0, 0, 0, 0, ...data];
const udp = (sp, dp, data) => [...port(sp), ...port(dp), ...port(8 + data.length), 0, 0, ...data];
const icmpEcho = (seq) => [8, 0, 0, 0, 0, 1, 0, seq, ...Array(16).fill(0x61)];
const text = (s) => [...new TextEncoder().encode(s)];

const A = mac(1);
const B = mac(2);
const frames = [];
let id = 1;
const v4 = (src, dst, proto, payload, from = A, to = B) => frames.push(eth(to, from, 0x0800, ipv4(src, dst, proto, payload, id++)));

// a TCP connection: handshake, a request, a response, teardown
v4('10.0.0.1', '10.0.0.2', 6, tcp(40000, 80, 0x02, []));
v4('10.0.0.2', '10.0.0.1', 6, tcp(80, 40000, 0x12, []), B, A);
v4('10.0.0.1', '10.0.0.2', 6, tcp(40000, 80, 0x10, []));
v4('10.0.0.1', '10.0.0.2', 6, tcp(40000, 80, 0x18, text('GET / HTTP/1.1\r\nHost: b\r\n\r\n')));
v4('10.0.0.2', '10.0.0.1', 6, tcp(80, 40000, 0x18, text('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello')), B, A);
v4('10.0.0.1', '10.0.0.2', 6, tcp(40000, 80, 0x11, []));
v4('10.0.0.2', '10.0.0.1', 6, tcp(80, 40000, 0x11, []), B, A);
// DNS over UDP: two queries and answers
for (let q = 0; q < 2; q++) {
  v4('10.0.0.1', '10.0.0.53', 17, udp(53000 + q, 53, text(`query ${q}: example.org`)));
  v4('10.0.0.53', '10.0.0.1', 17, udp(53, 53000 + q, text(`answer ${q}: 93.184.215.14`)), B, A);
}
// mDNS announcements to the multicast group
for (let i = 0; i < 3; i++) v4('10.0.0.3', '224.0.0.251', 17, udp(5353, 5353, text(`announce ${i}`)), mac(3), [0x01, 0x00, 0x5e, 0, 0, 0xfb]);
// ping: counted as a flow without ports
v4('10.0.0.1', '10.0.0.2', 1, icmpEcho(1));
v4('10.0.0.1', '10.0.0.2', 1, icmpEcho(2));
// not IPv4: an ARP request and an IPv6 UDP packet
frames.push(eth([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], A, 0x0806, [0, 1, 8, 0, 6, 4, 0, 1, ...A, ...ip4('10.0.0.1'), 0, 0, 0, 0, 0, 0, ...ip4('10.0.0.2')]));
frames.push(eth(B, A, 0x86dd, [0x60, 0, 0, 0, 0, 12, 17, 64, ...Array(15).fill(0), 1, ...Array(15).fill(0), 2, ...udp(1000, 2000, text('six!'))]));
// truncated: an IPv4 header cut short
frames.push(eth(B, A, 0x0800, [0x45, 0, 0, 40, 0, 99]));

const w = new PcapWriter(fileSink(out), { linkType: LINKTYPE.ETHERNET });
frames.forEach((f, i) => w.write({ data: Uint8Array.from(f), tsSec: 1700000000 + Math.floor(i / 4), tsNsec: (i % 4) * 250_000_000 }));
w.close();
console.log(`${out}: ${frames.length} frames`);
