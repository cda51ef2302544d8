// Captures of other link types become Ethernet frames for test runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toEthernet } from '../../src/progtypes/to-ethernet.js';
import { LINKTYPE } from '../../src/pcap/linktype.js';
import { UsageError } from '../../src/internal/errors.js';

const ip4 = Uint8Array.from([0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
const ip6 = Uint8Array.from([0x60, ...new Array(39).fill(0)]);
const eth = (type: number, payload: Uint8Array): number[] => [...new Array(12).fill(0), type >> 8, type & 255, ...payload];

test('raw IP, cooked (SLL, SLL2) and loopback captures get an Ethernet header with the right EtherType', () => {
  assert.deepEqual([...toEthernet(LINKTYPE.RAW, ip4, 'p')], eth(0x0800, ip4));
  assert.deepEqual([...toEthernet(LINKTYPE.IPV6, ip6, 'p')], eth(0x86dd, ip6));
  const sll = Uint8Array.from([0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x06, 1, 2, 3]);
  assert.deepEqual([...toEthernet(LINKTYPE.LINUX_SLL, sll, 'p')], eth(0x0806, Uint8Array.from([1, 2, 3])));
  const sll2 = Uint8Array.from([0x86, 0xdd, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, ...ip6]);
  assert.deepEqual([...toEthernet(LINKTYPE.LINUX_SLL2, sll2, 'p')], eth(0x86dd, ip6));
  assert.deepEqual([...toEthernet(LINKTYPE.NULL, Uint8Array.from([2, 0, 0, 0, ...ip4]), 'p')], eth(0x0800, ip4));
  const same = Uint8Array.from(eth(0x0800, ip4));
  assert.equal(toEthernet(LINKTYPE.ETHERNET, same, 'p'), same);
});

test('what cannot be converted is a UsageError naming the packet', () => {
  assert.throws(() => toEthernet(LINKTYPE.RAW, Uint8Array.from([0x20]), 'cap.pcap: packet 3'), (e) => e instanceof UsageError && /cap.pcap: packet 3: not an IPv4 or IPv6 packet \(version 2\)/.test(e.message));
  assert.throws(() => toEthernet(LINKTYPE.LINUX_SLL, new Uint8Array(10), 'x'), /shorter than its 16-byte cooked header/);
  assert.throws(() => toEthernet(LINKTYPE.IEEE802_11, new Uint8Array(30), 'x'), /link type IEEE802_11 cannot be turned into Ethernet/);
});
