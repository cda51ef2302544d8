// struct bpf_sock / bpf_tcp_sock access rules (the kernel's
// bpf_sock_common_is_valid_access, bpf_sock_is_valid_access and
// bpf_tcp_sock_is_valid_access), and the new map types the socket and
// redirect helpers use (user-space semantics the kernel showed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BPF_SOCK, sockAccessOk } from '../../src/progtypes/sock.js';
import { RuntimeMemory } from '../../src/vm/memory.js';
import { MapTable } from '../../src/maps/table.js';
import { MapError } from '../../src/maps/errno.js';

test('bpf_sock: u32 fields with narrow loads, dst_port as a __be16, full-socket fields only through sock', () => {
  const ok = (o: number, s: number): boolean => sockAccessOk('sock', o, s);
  assert.ok(ok(BPF_SOCK.family, 4) && ok(BPF_SOCK.type, 1) && ok(BPF_SOCK.type, 2), 'narrow loads of type');
  assert.ok(ok(BPF_SOCK.src_ip6 + 12, 4) && ok(BPF_SOCK.src_ip6 + 13, 1));
  assert.ok(ok(BPF_SOCK.dst_port, 2) && ok(BPF_SOCK.dst_port, 4) && ok(BPF_SOCK.dst_port + 1, 1));
  assert.ok(!ok(BPF_SOCK.dst_port + 2, 2), 'the padding after dst_port (kernel: off=50 size=2 invalid)');
  assert.ok(!ok(BPF_SOCK.mark, 2) && ok(BPF_SOCK.mark, 4), 'mark: u32 loads only');
  assert.ok(!ok(BPF_SOCK.family, 8), 'no u64 loads');
  assert.ok(!ok(BPF_SOCK.family + 2, 4), 'misaligned');
  assert.ok(!ok(80, 4) && !ok(-4, 4), 'outside the struct');
  for (const f of [BPF_SOCK.type, BPF_SOCK.protocol, BPF_SOCK.mark, BPF_SOCK.priority]) assert.ok(!sockAccessOk('sock_common', f, 4), `sock_common has no field at ${f}`);
  assert.ok(sockAccessOk('sock_common', BPF_SOCK.family, 4) && sockAccessOk('sock_common', BPF_SOCK.state, 4));
});

test('bpf_tcp_sock: u32 fields, u64 byte counters, nothing narrower, nothing past icsk_retransmits', () => {
  const ok = (o: number, s: number): boolean => sockAccessOk('tcp_sock', o, s);
  assert.ok(ok(0, 4) && !ok(0, 2) && !ok(0, 8));
  assert.ok(ok(80, 8) && ok(88, 8) && !ok(80, 4));
  assert.ok(ok(108, 4) && !ok(112, 4));
  assert.ok(!ok(96, 8), 'kernel: invalid tcp_sock access off=96 size=8');
});

function maps(cpus = 2): MapTable {
  return new MapTable(new RuntimeMemory({ maxBytes: 4 * 1024 * 1024 }), { cpus });
}
const le = (v: number): Uint8Array => new Uint8Array(new Uint32Array([v]).buffer);
const errno = (f: () => unknown): number => {
  try {
    f();
  } catch (e) {
    if (e instanceof MapError) return e.errno;
    throw e;
  }
  return 0;
};

test('devmap / devmap_hash / cpumap / xskmap: the one device (ifindex 1), possible CPUs, no AF_XDP sockets', () => {
  const t = maps();
  const dev = t.create({ name: 'd', type: 'devmap', keySize: 4, valueSize: 4, maxEntries: 4 });
  dev.update(le(1), le(1));
  assert.deepEqual(dev.lookup(le(1)), le(1));
  assert.equal(errno(() => dev.update(le(2), le(99))), 22, 'no device 99');
  assert.equal(errno(() => dev.update(le(4), le(1))), 7, 'E2BIG past max_entries');
  assert.equal(errno(() => dev.update(le(1), le(1), 1)), 17, 'BPF_NOEXIST: EEXIST');
  dev.update(le(1), le(0));
  assert.equal(dev.lookup(le(1)), undefined, 'ifindex 0 clears the slot');
  const hash = t.create({ name: 'h', type: 'devmap_hash', keySize: 4, valueSize: 4, maxEntries: 1 });
  hash.update(le(77), le(1));
  assert.equal(errno(() => hash.update(le(78), le(1))), 7, 'full');
  assert.equal(errno(() => hash.delete(le(78))), 2);
  const cpu = t.create({ name: 'c', type: 'cpumap', keySize: 4, valueSize: 4, maxEntries: 4 });
  cpu.update(le(1), le(192));
  assert.equal(errno(() => cpu.update(le(2), le(192))), 19, 'CPU 2 is not possible (2 CPUs)');
  assert.equal(errno(() => cpu.update(le(0), le(16385))), 75, 'queue too large');
  const xsk = t.create({ name: 'x', type: 'xskmap', keySize: 4, valueSize: 4, maxEntries: 2 });
  assert.equal(errno(() => xsk.update(le(0), le(3))), 95);
  assert.equal(errno(() => t.create({ name: 'bad', type: 'devmap', keySize: 4, valueSize: 6, maxEntries: 1 })), 22);
});

test('cgroup storage and stack trace maps: created as the kernel checks them, empty to user space', () => {
  const t = maps();
  const cg = t.create({ name: 'cg', type: 'cgroup_storage', keySize: 16, valueSize: 8, maxEntries: 0 });
  assert.equal(cg.lookup(new Uint8Array(16)), undefined);
  assert.equal(errno(() => cg.update(new Uint8Array(16), new Uint8Array(8))), 2);
  assert.equal(errno(() => t.create({ name: 'cg2', type: 'cgroup_storage', keySize: 16, valueSize: 8, maxEntries: 1 })), 22, 'max_entries must be 0');
  assert.equal(errno(() => t.create({ name: 'cg3', type: 'percpu_cgroup_storage', keySize: 12, valueSize: 8, maxEntries: 0 })), 22, 'key size');
  const st = t.create({ name: 'st', type: 'stack_trace', keySize: 4, valueSize: 127 * 8, maxEntries: 16 });
  assert.equal(st.lookup(le(0)), undefined);
  assert.equal(st.nextKey(), undefined);
  assert.equal(errno(() => t.create({ name: 'st2', type: 'stack_trace', keySize: 4, valueSize: 128 * 8, maxEntries: 16 })), 22, 'deeper than perf_event_max_stack');
});
