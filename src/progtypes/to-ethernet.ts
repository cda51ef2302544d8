// Test runs take Ethernet frames (the kernel builds the skb or xdp_buff of a
// test run on the loopback device's Ethernet framing). Captures from
// `tcpdump -i any` (LINUX_SLL, LINUX_SLL2), raw IP captures (RAW, IPV4,
// IPV6) and BSD loopback captures (NULL, LOOP) are turned into Ethernet
// frames with zero MAC addresses and the EtherType of the packet's network
// protocol, so every common capture can be run through a packet program.

import { LINKTYPE, linkTypeName } from '../pcap/linktype.js';
import { UsageError } from '../internal/errors.js';

const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;

/** An Ethernet frame for a captured packet of `linkType`; the same bytes for Ethernet captures. */
export function toEthernet(linkType: number, packet: Uint8Array, where: string): Uint8Array {
  switch (linkType) {
    case LINKTYPE.ETHERNET:
      return packet;
    case LINKTYPE.LINUX_SLL:
      return withType(sllProtocol(packet, 14, 16, where), packet.subarray(16));
    case LINKTYPE.LINUX_SLL2:
      return withType(sllProtocol(packet, 0, 20, where), packet.subarray(20));
    case LINKTYPE.RAW:
    case LINKTYPE.IPV4:
    case LINKTYPE.IPV6:
      return withType(ipEtherType(packet, where), packet);
    case LINKTYPE.NULL:
    case LINKTYPE.LOOP:
      if (packet.length < 4) throw new UsageError(`${where}: ${packet.length}-byte packet is shorter than its loopback header`);
      return withType(ipEtherType(packet.subarray(4), where), packet.subarray(4));
    default:
      throw new UsageError(`${where}: link type ${linkTypeName(linkType)} cannot be turned into Ethernet frames for a test run`);
  }
}

function sllProtocol(packet: Uint8Array, at: number, headerLen: number, where: string): number {
  if (packet.length < headerLen) throw new UsageError(`${where}: ${packet.length}-byte packet is shorter than its ${headerLen}-byte cooked header`);
  return (packet[at]! << 8) | packet[at + 1]!;
}

/** The EtherType for an IP packet, from its version nibble. */
function ipEtherType(net: Uint8Array, where: string): number {
  const v = net.length > 0 ? net[0]! >> 4 : -1;
  if (v === 4) return ETH_P_IP;
  if (v === 6) return ETH_P_IPV6;
  throw new UsageError(`${where}: not an IPv4 or IPv6 packet (version ${v < 0 ? 'missing' : v})`);
}

function withType(etherType: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  f[12] = etherType >> 8;
  f[13] = etherType & 0xff;
  f.set(payload, 14);
  return f;
}
