// ELF section name -> program type, expected attach type and attach target,
// following libbpf's conventions (the SEC_DEF table in libbpf.c, 1.x):
//   'xdp'         the name must match exactly ('tc/ingress' too)
//   'kprobe+'     exactly 'kprobe', or 'kprobe/' followed by the attach target
// libbpf 1.0 dropped the old sloppy prefix matching ('xdp_foo', 'socket1');
// objects built for older loaders still use it, so when no rule matches
// strictly we fall back to the longest rule that is a plain prefix and say so.

import { BPF_ATTACH_TYPE, BPF_PROG_TYPE } from '../internal/uapi.gen.js';

/** [pattern, program type, expected attach type (kernel names, lower case, no prefix), sleepable, xdp frags] */
type SecDef = readonly [pattern: string, progType: string, attachType: string | undefined, sleepable?: boolean, frags?: boolean];

const SEC_DEFS: readonly SecDef[] = [
  ['socket', 'socket_filter', undefined],
  ['sk_reuseport/migrate', 'sk_reuseport', 'sk_reuseport_select_or_migrate'],
  ['sk_reuseport', 'sk_reuseport', 'sk_reuseport_select'],
  ['kprobe+', 'kprobe', undefined],
  ['uprobe+', 'kprobe', undefined],
  ['uprobe.s+', 'kprobe', undefined, true],
  ['kretprobe+', 'kprobe', undefined],
  ['uretprobe+', 'kprobe', undefined],
  ['uretprobe.s+', 'kprobe', undefined, true],
  ['kprobe.multi+', 'kprobe', 'trace_kprobe_multi'],
  ['kretprobe.multi+', 'kprobe', 'trace_kprobe_multi'],
  ['kprobe.session+', 'kprobe', 'trace_kprobe_session'],
  ['uprobe.multi+', 'kprobe', 'trace_uprobe_multi'],
  ['uretprobe.multi+', 'kprobe', 'trace_uprobe_multi'],
  ['uprobe.multi.s+', 'kprobe', 'trace_uprobe_multi', true],
  ['uretprobe.multi.s+', 'kprobe', 'trace_uprobe_multi', true],
  ['ksyscall+', 'kprobe', undefined],
  ['kretsyscall+', 'kprobe', undefined],
  ['usdt+', 'kprobe', undefined],
  ['usdt.s+', 'kprobe', undefined, true],
  ['tc/ingress', 'sched_cls', 'tcx_ingress'],
  ['tc/egress', 'sched_cls', 'tcx_egress'],
  ['tcx/ingress', 'sched_cls', 'tcx_ingress'],
  ['tcx/egress', 'sched_cls', 'tcx_egress'],
  ['netkit/primary', 'sched_cls', 'netkit_primary'],
  ['netkit/peer', 'sched_cls', 'netkit_peer'],
  ['tc', 'sched_cls', undefined],
  ['classifier', 'sched_cls', undefined],
  ['action', 'sched_act', undefined],
  ['tracepoint+', 'tracepoint', undefined],
  ['tp+', 'tracepoint', undefined],
  ['raw_tracepoint+', 'raw_tracepoint', undefined],
  ['raw_tp+', 'raw_tracepoint', undefined],
  ['raw_tracepoint.w+', 'raw_tracepoint_writable', undefined],
  ['raw_tp.w+', 'raw_tracepoint_writable', undefined],
  ['tp_btf+', 'tracing', 'trace_raw_tp'],
  ['fentry+', 'tracing', 'trace_fentry'],
  ['fmod_ret+', 'tracing', 'modify_return'],
  ['fexit+', 'tracing', 'trace_fexit'],
  ['fentry.s+', 'tracing', 'trace_fentry', true],
  ['fmod_ret.s+', 'tracing', 'modify_return', true],
  ['fexit.s+', 'tracing', 'trace_fexit', true],
  ['freplace+', 'ext', undefined],
  ['lsm+', 'lsm', 'lsm_mac'],
  ['lsm.s+', 'lsm', 'lsm_mac', true],
  ['lsm_cgroup+', 'lsm', 'lsm_cgroup'],
  ['iter+', 'tracing', 'trace_iter'],
  ['iter.s+', 'tracing', 'trace_iter', true],
  ['syscall', 'syscall', undefined, true],
  ['xdp.frags/devmap', 'xdp', 'xdp_devmap', false, true],
  ['xdp/devmap', 'xdp', 'xdp_devmap'],
  ['xdp.frags/cpumap', 'xdp', 'xdp_cpumap', false, true],
  ['xdp/cpumap', 'xdp', 'xdp_cpumap'],
  ['xdp.frags', 'xdp', 'xdp', false, true],
  ['xdp', 'xdp', 'xdp'],
  ['perf_event', 'perf_event', undefined],
  ['lwt_in', 'lwt_in', undefined],
  ['lwt_out', 'lwt_out', undefined],
  ['lwt_xmit', 'lwt_xmit', undefined],
  ['lwt_seg6local', 'lwt_seg6local', undefined],
  ['sockops', 'sock_ops', 'cgroup_sock_ops'],
  ['sk_skb/stream_parser', 'sk_skb', 'sk_skb_stream_parser'],
  ['sk_skb/stream_verdict', 'sk_skb', 'sk_skb_stream_verdict'],
  ['sk_skb/verdict', 'sk_skb', 'sk_skb_verdict'],
  ['sk_skb', 'sk_skb', undefined],
  ['sk_msg', 'sk_msg', 'sk_msg_verdict'],
  ['lirc_mode2', 'lirc_mode2', 'lirc_mode2'],
  ['flow_dissector', 'flow_dissector', 'flow_dissector'],
  ['cgroup_skb/ingress', 'cgroup_skb', 'cgroup_inet_ingress'],
  ['cgroup_skb/egress', 'cgroup_skb', 'cgroup_inet_egress'],
  ['cgroup/skb', 'cgroup_skb', undefined],
  ['cgroup/sock_create', 'cgroup_sock', 'cgroup_inet_sock_create'],
  ['cgroup/sock_release', 'cgroup_sock', 'cgroup_inet_sock_release'],
  ['cgroup/sock', 'cgroup_sock', 'cgroup_inet_sock_create'],
  ['cgroup/post_bind4', 'cgroup_sock', 'cgroup_inet4_post_bind'],
  ['cgroup/post_bind6', 'cgroup_sock', 'cgroup_inet6_post_bind'],
  ['cgroup/bind4', 'cgroup_sock_addr', 'cgroup_inet4_bind'],
  ['cgroup/bind6', 'cgroup_sock_addr', 'cgroup_inet6_bind'],
  ['cgroup/connect4', 'cgroup_sock_addr', 'cgroup_inet4_connect'],
  ['cgroup/connect6', 'cgroup_sock_addr', 'cgroup_inet6_connect'],
  ['cgroup/connect_unix', 'cgroup_sock_addr', 'cgroup_unix_connect'],
  ['cgroup/sendmsg4', 'cgroup_sock_addr', 'cgroup_udp4_sendmsg'],
  ['cgroup/sendmsg6', 'cgroup_sock_addr', 'cgroup_udp6_sendmsg'],
  ['cgroup/sendmsg_unix', 'cgroup_sock_addr', 'cgroup_unix_sendmsg'],
  ['cgroup/recvmsg4', 'cgroup_sock_addr', 'cgroup_udp4_recvmsg'],
  ['cgroup/recvmsg6', 'cgroup_sock_addr', 'cgroup_udp6_recvmsg'],
  ['cgroup/recvmsg_unix', 'cgroup_sock_addr', 'cgroup_unix_recvmsg'],
  ['cgroup/getpeername4', 'cgroup_sock_addr', 'cgroup_inet4_getpeername'],
  ['cgroup/getpeername6', 'cgroup_sock_addr', 'cgroup_inet6_getpeername'],
  ['cgroup/getpeername_unix', 'cgroup_sock_addr', 'cgroup_unix_getpeername'],
  ['cgroup/getsockname4', 'cgroup_sock_addr', 'cgroup_inet4_getsockname'],
  ['cgroup/getsockname6', 'cgroup_sock_addr', 'cgroup_inet6_getsockname'],
  ['cgroup/getsockname_unix', 'cgroup_sock_addr', 'cgroup_unix_getsockname'],
  ['cgroup/sysctl', 'cgroup_sysctl', 'cgroup_sysctl'],
  ['cgroup/getsockopt', 'cgroup_sockopt', 'cgroup_getsockopt'],
  ['cgroup/setsockopt', 'cgroup_sockopt', 'cgroup_setsockopt'],
  ['cgroup/dev', 'cgroup_device', 'cgroup_device'],
  ['struct_ops+', 'struct_ops', undefined],
  ['struct_ops.s+', 'struct_ops', undefined, true],
  ['sk_lookup', 'sk_lookup', 'sk_lookup'],
  ['netfilter', 'netfilter', 'netfilter'],
];

export interface SectionProgramType {
  /** Kernel name of the program type ('xdp', 'sched_cls', ...), 'unspec' when unknown. */
  readonly type: string;
  /** BPF_PROG_TYPE_* number; -1 when this kernel header predates the type. */
  readonly typeId: number;
  readonly expectedAttachType?: string;
  /** BPF_* attach type number, when the header knows it. */
  readonly expectedAttachTypeId?: number;
  /** What follows 'type/' in the name: kernel function, 'category/name', 'path:symbol'... */
  readonly attachTo?: string;
  readonly sleepable: boolean;
  /** BPF_PROG_LOAD prog_flags libbpf would pass: BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS. */
  readonly progFlags: number;
  /** The rule that matched ('kprobe+'), or undefined when none did. */
  readonly rule?: string;
  /** True when only the pre-libbpf-1.0 prefix rule matched (e.g. 'xdp_prog'). */
  readonly legacy: boolean;
  /** False for SEC("?...") programs, which libbpf does not load unless asked to. */
  readonly autoload: boolean;
}

function matches(pattern: string, name: string): { ok: boolean; extra?: string } {
  if (pattern.endsWith('+')) {
    const base = pattern.slice(0, -1);
    if (name === base) return { ok: true };
    if (name.startsWith(base + '/')) return { ok: true, extra: name.slice(base.length + 1) };
    return { ok: false };
  }
  return { ok: name === pattern };
}

/** prog_flags bits (linux/bpf.h). */
export const BPF_F_SLEEPABLE = 1 << 4;
export const BPF_F_XDP_HAS_FRAGS = 1 << 5;

function result(def: SecDef, extra: string | undefined, legacy: boolean): SectionProgramType {
  const [rule, type, attach, sleepable, frags] = def;
  const typeId = BPF_PROG_TYPE[type] ?? -1;
  const attachId = attach === undefined ? undefined : BPF_ATTACH_TYPE[attach];
  return {
    type,
    typeId,
    ...(attach !== undefined ? { expectedAttachType: attach } : {}),
    ...(attachId !== undefined ? { expectedAttachTypeId: attachId } : {}),
    ...(extra !== undefined && extra !== '' ? { attachTo: extra } : {}),
    sleepable: sleepable === true,
    progFlags: (sleepable ? BPF_F_SLEEPABLE : 0) | (frags ? BPF_F_XDP_HAS_FRAGS : 0),
    rule,
    legacy,
    autoload: true,
  };
}

/**
 * Program type for an executable section, by libbpf's rules. A leading '?'
 * (SEC("?xdp")) only turns off auto-loading; the rest of the name decides.
 */
export function programTypeForSection(section: string): SectionProgramType {
  if (section.startsWith('?')) return { ...programTypeForSection(section.slice(1)), autoload: false };
  for (const def of SEC_DEFS) {
    const m = matches(def[0], section);
    if (m.ok) return result(def, m.extra, false);
  }
  // Legacy: the longest rule whose base is a plain prefix ('socket1', 'xdp_prog', 'kprobe__x').
  let best: SecDef | undefined;
  for (const def of SEC_DEFS) {
    const base = def[0].endsWith('+') ? def[0].slice(0, -1) : def[0];
    if (section.startsWith(base) && (!best || base.length > best[0].replace(/\+$/, '').length)) best = def;
  }
  if (best) {
    const base = best[0].replace(/\+$/, '');
    const rest = section.slice(base.length);
    // Only 'type+' rules take an attach target; 'socket/2' is just a name.
    return result(best, best[0].endsWith('+') && rest.startsWith('/') ? rest.slice(1) : undefined, true);
  }
  return { type: 'unspec', typeId: 0, sleepable: false, progFlags: 0, legacy: false, autoload: true };
}
