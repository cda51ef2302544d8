// The helper allow lists (src/helpers/allow-lists.ts) against the running
// kernel: for each program type (with an expected attach type where the
// kernel's list depends on it) and every helper id, a program that zeroes
// r1..r5 and calls the helper is loaded. The kernel refuses a helper its
// *_func_proto does not give with "program of this type cannot use helper"
// (or "invalid func" for ids it does not know); any other verdict (accepted,
// or refused later for its arguments, for sleeping, for the attach point)
// means the type may call it. Types whose list depends on an attach target
// in the kernel's BTF (tracing, lsm) are covered by the real-object corpus
// (scripts/verifier-report.mjs --objects) instead. Skipped without root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelErrorLine, kernelVerdicts, type KernelRequest } from './kernel.js';
import { helperAllowed } from '../../src/helpers/protos.js';
import { BPF_ATTACH_TYPE, BPF_FUNC, BPF_PROG_TYPE, nameOf } from '../../src/internal/uapi.gen.js';

const BPF_F_SLEEPABLE = 1 << 4;

/** [program type, expected attach type, prog flags]: one row per distinct kernel list. */
const TYPES: readonly (readonly [string, string | undefined, number?])[] = [
  ['socket_filter', undefined], ['kprobe', undefined], ['sched_cls', undefined], ['sched_act', undefined],
  ['tracepoint', undefined], ['xdp', undefined], ['perf_event', undefined], ['raw_tracepoint', undefined],
  ['cgroup_skb', 'cgroup_inet_egress'], ['cgroup_sock', 'cgroup_inet_sock_create'],
  ['cgroup_sock_addr', 'cgroup_inet4_connect'], ['cgroup_sock_addr', 'cgroup_udp4_recvmsg'],
  ['cgroup_sock_addr', 'cgroup_unix_getsockname'],
  ['lwt_in', undefined], ['lwt_out', undefined], ['lwt_xmit', undefined], ['lwt_seg6local', undefined],
  ['sock_ops', undefined], ['sk_skb', 'sk_skb_stream_verdict'], ['sk_msg', 'sk_msg_verdict'],
  ['flow_dissector', undefined], ['cgroup_device', 'cgroup_device'], ['cgroup_sysctl', 'cgroup_sysctl'],
  ['cgroup_sockopt', 'cgroup_getsockopt'], ['cgroup_sockopt', 'cgroup_setsockopt'],
  ['sk_reuseport', 'sk_reuseport_select'], ['sk_lookup', 'sk_lookup'], ['netfilter', 'netfilter'],
  ['syscall', undefined, BPF_F_SLEEPABLE],
];

/** r1..r5 = 0; call id (none: no call); r0 = 1 (a verdict every hook takes: recvmsg and getsockname hooks refuse 0); exit. */
function program(id: number | undefined): Uint8Array {
  const insns: number[][] = [];
  for (let r = 1; r <= 5; r++) insns.push([0xb7, r, 0, 0, 0, 0, 0, 0]);
  if (id !== undefined) insns.push([0x85, 0, 0, 0, id & 0xff, (id >> 8) & 0xff, 0, 0]);
  insns.push([0xb7, 0, 0, 0, 1, 0, 0, 0], [0x95, 0, 0, 0, 0, 0, 0, 0]);
  return new Uint8Array(insns.flat());
}

const refused = (log: string): boolean => /program of this type cannot use helper|invalid func unknown/.test(log);

test('the helper allow lists agree with the running kernel for every helper and program type', (t) => {
  const helperIds = Object.values(BPF_FUNC).filter((id) => id > 0).sort((a, b) => a - b);
  const rows = TYPES.map(([type, attach, flags]) => ({
    type, attach, progType: BPF_PROG_TYPE[type]!, attachType: attach === undefined ? 0 : BPF_ATTACH_TYPE[attach]!, flags: flags ?? 0,
  }));
  const req = (r: (typeof rows)[number], id: number | undefined): KernelRequest => ({
    bytes: program(id), progType: r.progType, maps: [], expectedAttachType: r.attachType, progFlags: r.flags, logLevel: 1,
  });
  // Each type's plain program first: a type the kernel will not load at all says nothing about helpers.
  const base = kernelVerdicts(rows.map((r) => req(r, undefined)));
  if (base[0]?.status === 'unavailable') {
    t.skip(`kernel oracle unavailable: ${base[0].log}`);
    return;
  }
  const usable = rows.filter((_, i) => base[i]!.status === 'accept');
  const skipped = rows.filter((_, i) => base[i]!.status !== 'accept').map((r) => `${r.type}/${r.attach ?? ''}: ${kernelErrorLine(base[rows.indexOf(r)]!.log)}`);
  if (skipped.length) t.diagnostic(`types the kernel does not load here (not compared): ${skipped.join('; ')}`);
  assert.ok(usable.length >= 25, `only ${usable.length} program types load in this kernel`);
  const reqs = usable.flatMap((r) => helperIds.map((id) => req(r, id)));
  const verdicts = kernelVerdicts(reqs);
  const diffs: string[] = [];
  let pairs = 0;
  let allowedPairs = 0;
  usable.forEach((r, ti) => {
    helperIds.forEach((id, hi) => {
      const v = verdicts[ti * helperIds.length + hi]!;
      if (v.status === 'unavailable' || v.status === 'error') return;
      pairs++;
      const kernel = !refused(v.log);
      if (kernel) allowedPairs++;
      const ours = helperAllowed(r.progType, id, r.attachType) === true;
      if (kernel !== ours) diffs.push(`${r.type}/${r.attach ?? '-'} ${nameOf(BPF_FUNC, id)}: kernel ${kernel ? 'allows' : 'refuses'}`);
    });
  });
  t.diagnostic(`${pairs} (type, helper) pairs compared, the kernel allows ${allowedPairs}`);
  assert.ok(pairs > 1000 && allowedPairs > 500, 'too few pairs compared to mean anything');
  assert.deepEqual(diffs, []);
});
