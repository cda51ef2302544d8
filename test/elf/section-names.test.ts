// Section name -> program type by libbpf's rules, including the legacy prefix fallback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { programTypeForSection } from '../../src/elf/section-names.js';
import { BPF_PROG_TYPE } from '../../src/internal/uapi.gen.js';

test('libbpf section names', () => {
  const cases: [string, string, string | undefined, string | undefined][] = [
    ['xdp', 'xdp', 'xdp', undefined],
    ['xdp/devmap', 'xdp', 'xdp_devmap', undefined],
    ['socket', 'socket_filter', undefined, undefined],
    ['tc', 'sched_cls', undefined, undefined],
    ['classifier', 'sched_cls', undefined, undefined],
    ['kprobe/do_unlinkat', 'kprobe', undefined, 'do_unlinkat'],
    ['kretprobe/tcp_v4_connect', 'kprobe', undefined, 'tcp_v4_connect'],
    ['uprobe/./prog:main', 'kprobe', undefined, './prog:main'],
    ['tracepoint/sched/sched_switch', 'tracepoint', undefined, 'sched/sched_switch'],
    ['tp/syscalls/sys_enter_write', 'tracepoint', undefined, 'syscalls/sys_enter_write'],
    ['raw_tp/sys_enter', 'raw_tracepoint', undefined, 'sys_enter'],
    ['fentry/do_unlinkat', 'tracing', 'trace_fentry', 'do_unlinkat'],
    ['lsm/file_open', 'lsm', 'lsm_mac', 'file_open'],
    ['cgroup/connect4', 'cgroup_sock_addr', 'cgroup_inet4_connect', undefined],
    ['sk_skb/stream_verdict', 'sk_skb', 'sk_skb_stream_verdict', undefined],
    ['sockops', 'sock_ops', 'cgroup_sock_ops', undefined],
    ['syscall', 'syscall', undefined, undefined],
  ];
  for (const [name, type, attach, target] of cases) {
    const r = programTypeForSection(name);
    assert.deepEqual([r.type, r.expectedAttachType, r.attachTo, r.legacy], [type, attach, target, false], name);
    assert.equal(r.typeId, BPF_PROG_TYPE[type], name);
  }
  assert.equal(programTypeForSection('fentry.s/x').sleepable, true);
});

test("SEC('?name') programs keep their type but are not auto-loaded", () => {
  const r = programTypeForSection('?kprobe/do_exit');
  assert.deepEqual([r.type, r.attachTo, r.autoload], ['kprobe', 'do_exit', false]);
  assert.equal(programTypeForSection('xdp').autoload, true);
});

test('names libbpf 1.0 rejects: legacy prefix fallback, or unspec', () => {
  // 'kprobex' is not 'kprobe' + '/': strict matching fails, the old prefix rule applies.
  assert.deepEqual([programTypeForSection('xdp_prog').type, programTypeForSection('xdp_prog').legacy], ['xdp', true]);
  assert.deepEqual([programTypeForSection('socket1').type, programTypeForSection('socket1').attachTo], ['socket_filter', undefined]);
  assert.deepEqual([programTypeForSection('socket/2').type, programTypeForSection('socket/2').attachTo], ['socket_filter', undefined]);
  const u = programTypeForSection('my_section');
  assert.deepEqual([u.type, u.typeId, u.legacy], ['unspec', 0, false]);
});

test('GPL-compatible licenses, as the kernel decides', async () => {
  const { isGplCompatible } = await import('../../src/elf/license.js');
  for (const l of ['GPL', 'GPL v2', 'Dual BSD/GPL', 'Dual MIT/GPL', 'Dual MPL/GPL', 'GPL and additional rights']) assert.equal(isGplCompatible(l), true, l);
  for (const l of ['MIT', 'gpl', 'GPLv2', '', 'Proprietary']) assert.equal(isGplCompatible(l), false, l);
});
