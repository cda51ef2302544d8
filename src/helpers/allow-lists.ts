// Which helpers a program of each type may call: the kernel's *_func_proto
// switch statements (Linux 6.12, with the later moves the running 6.18
// kernel shows: kernel/bpf/helpers.c bpf_base_func_proto,
// kernel/trace/bpf_trace.c, net/core/filter.c, kernel/bpf/cgroup.c,
// kernel/bpf/bpf_lsm.c, kernel/bpf/syscall.c), written as name lists that
// fall through to each other the way those functions do, for a program
// loaded by root (CAP_BPF and CAP_PERFMON: the privileged tiers of the
// base are in). Some cases depend on the expected attach type (an
// iterator's seq_* helpers, trampoline-only helpers, cgroup hooks), so the
// lists are computed per (type, attach type) and cached.
//
// These are the kernel's facts, not what tsbpf's runtime can run: the
// runtime refuses at load a helper its registry lacks
// (src/helpers/check-calls.ts), and the verifier refuses an allowed helper
// it has no prototype for (src/helpers/protos.ts) with a message that says so.
// Two helpers that change what the traced kernel or process does are left
// out, as on a kernel without CONFIG_BPF_KPROBE_OVERRIDE (override_return)
// and with lockdown=integrity (probe_write_user): the running kernel the
// verifier report compares with refuses both, so tsbpf refuses them with the
// kernel's message.

import { BPF_ATTACH_TYPE, BPF_FUNC, BPF_PROG_TYPE, nameOf } from '../internal/uapi.gen.js';

type Names = readonly string[];

/** bpf_base_func_proto, the unprivileged part. */
const BASE_UNPRIV: Names = [
  'map_lookup_elem', 'map_update_elem', 'map_delete_elem', 'map_push_elem', 'map_pop_elem', 'map_peek_elem',
  'map_lookup_percpu_elem', 'get_prandom_u32', 'get_smp_processor_id', 'get_numa_node_id', 'tail_call',
  'ktime_get_ns', 'ktime_get_boot_ns', 'ktime_get_tai_ns',
  'ringbuf_output', 'ringbuf_reserve', 'ringbuf_submit', 'ringbuf_discard', 'ringbuf_query',
  'strncmp', 'strtol', 'strtoul', 'get_current_pid_tgid', 'get_ns_current_pid_tgid',
];
/** bpf_base_func_proto with CAP_BPF. */
const BASE_BPF: Names = [
  'spin_lock', 'spin_unlock', 'jiffies64', 'per_cpu_ptr', 'this_cpu_ptr',
  'timer_init', 'timer_set_callback', 'timer_start', 'timer_cancel', 'kptr_xchg', 'for_each_map_elem', 'loop',
  'user_ringbuf_drain', 'ringbuf_reserve_dynptr', 'ringbuf_submit_dynptr', 'ringbuf_discard_dynptr',
  'dynptr_from_mem', 'dynptr_read', 'dynptr_write', 'dynptr_data',
  'cgrp_storage_get', 'cgrp_storage_delete', 'get_current_cgroup_id', 'get_current_ancestor_cgroup_id',
];
/** bpf_base_func_proto with CAP_PERFMON. */
const BASE_PERFMON: Names = [
  'trace_printk', 'get_current_task', 'get_current_task_btf', 'probe_read_user', 'probe_read_kernel',
  'probe_read_user_str', 'probe_read_kernel_str', 'snprintf_btf', 'snprintf', 'task_pt_regs', 'trace_vprintk',
  // Since Linux 6.14 these are in the base too (6.12 gave them to tracing types only); the running kernel's lists
  // are checked pair by pair in test/verifier/helper-allow-kernel.test.ts.
  'get_current_uid_gid', 'get_current_comm', 'get_cgroup_classid', 'perf_event_read', 'current_task_under_cgroup',
  'send_signal', 'send_signal_thread', 'perf_event_read_value', 'get_task_stack', 'copy_from_user', 'copy_from_user_task',
  'task_storage_get', 'task_storage_delete', 'get_branch_snapshot', 'find_vma',
];
const BASE: Names = [...BASE_UNPRIV, ...BASE_BPF, ...BASE_PERFMON];

/** bpf_sk_base_func_proto: the socket casts and the coarse clock, then the base. */
const SK_BASE: Names = [
  ...BASE, 'ktime_get_coarse_ns', 'skc_to_tcp6_sock', 'skc_to_tcp_sock', 'skc_to_tcp_timewait_sock',
  'skc_to_tcp_request_sock', 'skc_to_udp6_sock', 'skc_to_unix_sock', 'skc_to_mptcp_sock',
];

/**
 * bpf_tracing_func_proto: what every tracing type shares. (The base's
 * coarse clock is not here: tracing programs may not read it; the base's
 * dynptr, timer and kptr helpers are, through its default case.)
 */
const TRACING_COMMON: Names = [...BASE, 'probe_read', 'probe_read_str', 'get_func_ip'];
/** The stack and perf output helpers each tracing type has its own version of. */
const TRACE_OUTPUT: Names = ['perf_event_output', 'get_stackid', 'get_stack'];

/** cgroup_common_func_proto: get_retval / set_retval only where the hook's return value is the program's. */
function cgroupCommon(attach: string): string[] {
  const noRetval = ['cgroup_inet_ingress', 'cgroup_inet_egress', 'cgroup_sock_ops', 'cgroup_udp4_recvmsg', 'cgroup_udp6_recvmsg',
    'cgroup_unix_recvmsg', 'cgroup_inet4_getpeername', 'cgroup_inet6_getpeername', 'cgroup_unix_getpeername',
    'cgroup_inet4_getsockname', 'cgroup_inet6_getsockname', 'cgroup_unix_getsockname'];
  return noRetval.includes(attach) ? ['get_local_storage'] : ['get_local_storage', 'get_retval', 'set_retval'];
}
/** cgroup_current_func_proto. */
const CGROUP_CURRENT: Names = ['get_current_uid_gid', 'get_current_comm', 'get_cgroup_classid', 'current_task_under_cgroup'];

// get_netns_cookie: socket filters, cgroup_skb and tc since Linux 6.13
const SK_FILTER: Names = [...SK_BASE, 'skb_load_bytes', 'skb_load_bytes_relative', 'get_socket_cookie', 'get_socket_uid', 'perf_event_output',
  'get_netns_cookie'];
const SYNCOOKIES: Names = ['tcp_check_syncookie', 'tcp_gen_syncookie', 'tcp_raw_gen_syncookie_ipv4', 'tcp_raw_gen_syncookie_ipv6',
  'tcp_raw_check_syncookie_ipv4', 'tcp_raw_check_syncookie_ipv6'];
const SK_LOOKUPS: Names = ['sk_lookup_tcp', 'sk_lookup_udp', 'sk_release', 'skc_lookup_tcp'];
const TUNNEL: Names = ['skb_get_tunnel_key', 'skb_set_tunnel_key', 'skb_get_tunnel_opt', 'skb_set_tunnel_opt'];
const LWT_OUT: Names = [...SK_BASE, 'skb_load_bytes', 'skb_pull_data', 'csum_diff', 'get_cgroup_classid', 'get_route_realm',
  'get_hash_recalc', 'perf_event_output', 'skb_under_cgroup'];

/** Connect / bind / sendmsg / recvmsg / getname hooks that may call setsockopt and getsockopt (sock_addr_func_proto). */
const SOCK_ADDR_SOCKOPT = ['cgroup_inet4_bind', 'cgroup_inet6_bind', 'cgroup_inet4_connect', 'cgroup_inet6_connect', 'cgroup_unix_connect',
  'cgroup_udp4_recvmsg', 'cgroup_udp6_recvmsg', 'cgroup_unix_recvmsg', 'cgroup_udp4_sendmsg', 'cgroup_udp6_sendmsg', 'cgroup_unix_sendmsg',
  'cgroup_inet4_getpeername', 'cgroup_inet6_getpeername', 'cgroup_inet4_getsockname', 'cgroup_inet6_getsockname',
  // (the unix socket name hooks too after 6.12)
  'cgroup_unix_getpeername', 'cgroup_unix_getsockname'];

/** bpf_prog_has_trampoline: fentry, fexit, fmod_ret tracing programs and LSM programs. */
function hasTrampoline(type: string, attach: string): boolean {
  return (type === 'tracing' && (attach === 'trace_fentry' || attach === 'trace_fexit' || attach === 'modify_return'))
    || (type === 'lsm' && attach === 'lsm_mac');
}

/** tracing_prog_func_proto (BPF_PROG_TYPE_TRACING, and the default of LSM and syscall programs). */
function tracingProg(type: string, attach: string): string[] {
  const out = [...TRACING_COMMON, ...TRACE_OUTPUT,
    'skb_output', 'xdp_output', 'skc_to_tcp6_sock', 'skc_to_tcp_sock', 'skc_to_tcp_timewait_sock', 'skc_to_tcp_request_sock',
    'skc_to_udp6_sock', 'skc_to_unix_sock', 'skc_to_mptcp_sock', 'sk_storage_get', 'sk_storage_delete', 'sock_from_file',
    'get_socket_cookie', 'xdp_get_buff_len', 'd_path'];
  if (attach === 'trace_iter') out.push('seq_printf', 'seq_write', 'seq_printf_btf');
  if (hasTrampoline(type, attach)) out.push('get_func_arg', 'get_func_ret', 'get_func_arg_cnt');
  if (hasTrampoline(type, attach) || (type === 'tracing' && attach === 'trace_raw_tp')) out.push('get_attach_cookie');
  return out;
}

/** The helper names a program of this type (kernel name) and expected attach type (kernel name, '' for none) may call. */
function allowedNames(type: string, attach: string): readonly string[] | undefined {
  switch (type) {
    case 'socket_filter':
      return SK_FILTER;
    case 'cgroup_skb':
      return [...cgroupCommon(attach), ...SK_FILTER, 'sk_fullsock', 'sk_storage_get', 'sk_storage_delete', 'skb_cgroup_id',
        'skb_ancestor_cgroup_id', 'sk_cgroup_id', 'sk_ancestor_cgroup_id', ...SK_LOOKUPS, 'tcp_sock', 'get_listener_sock', 'skb_ecn_set_ce'];
    case 'sched_cls':
    case 'sched_act':
      return [...SK_BASE, 'skb_store_bytes', 'skb_load_bytes', 'skb_load_bytes_relative', 'skb_pull_data', 'csum_diff', 'csum_update',
        'csum_level', 'l3_csum_replace', 'l4_csum_replace', 'clone_redirect', 'get_cgroup_classid', 'skb_vlan_push', 'skb_vlan_pop',
        'skb_change_proto', 'skb_change_type', 'skb_adjust_room', 'skb_change_tail', 'skb_change_head', ...TUNNEL, 'redirect',
        'redirect_neigh', 'redirect_peer', 'get_route_realm', 'get_hash_recalc', 'set_hash_invalid', 'set_hash', 'perf_event_output',
        'skb_under_cgroup', 'get_socket_cookie', 'get_socket_uid', 'fib_lookup', 'check_mtu', 'sk_fullsock', 'sk_storage_get',
        'sk_storage_delete', 'skb_get_xfrm_state', 'skb_cgroup_classid', 'skb_cgroup_id', 'skb_ancestor_cgroup_id', ...SK_LOOKUPS,
        'tcp_sock', 'get_listener_sock', 'skb_ecn_set_ce', 'sk_assign', 'skb_set_tstamp', ...SYNCOOKIES, 'get_netns_cookie'];
    case 'xdp':
      return [...SK_BASE, 'perf_event_output', 'csum_diff', 'xdp_adjust_head', 'xdp_adjust_meta', 'redirect', 'redirect_map',
        'xdp_adjust_tail', 'xdp_get_buff_len', 'xdp_load_bytes', 'xdp_store_bytes', 'fib_lookup', 'check_mtu', ...SK_LOOKUPS, ...SYNCOOKIES];
    case 'cgroup_sock':
      // sock_filter_func_proto
      return [...cgroupCommon(attach), ...CGROUP_CURRENT, ...BASE, 'get_socket_cookie', 'get_netns_cookie', 'perf_event_output',
        'sk_storage_get', 'ktime_get_coarse_ns'];
    case 'cgroup_sock_addr': {
      const out = [...cgroupCommon(attach), ...CGROUP_CURRENT, ...SK_BASE, 'get_socket_cookie', 'get_netns_cookie', 'perf_event_output',
        ...SK_LOOKUPS, 'sk_storage_get', 'sk_storage_delete'];
      if (attach === 'cgroup_inet4_connect' || attach === 'cgroup_inet6_connect') out.push('bind');
      if (SOCK_ADDR_SOCKOPT.includes(attach)) out.push('setsockopt', 'getsockopt');
      return out;
    }
    case 'sock_ops':
      return [...cgroupCommon(attach), ...SK_BASE, 'setsockopt', 'getsockopt', 'sock_ops_cb_flags_set', 'sock_map_update',
        'sock_hash_update', 'get_socket_cookie', 'perf_event_output', 'sk_storage_get', 'sk_storage_delete', 'get_netns_cookie',
        'load_hdr_opt', 'store_hdr_opt', 'reserve_hdr_opt', 'tcp_sock'];
    case 'sk_msg':
      return [...SK_BASE, 'msg_redirect_map', 'msg_redirect_hash', 'msg_apply_bytes', 'msg_cork_bytes', 'msg_pull_data', 'msg_push_data',
        'msg_pop_data', 'perf_event_output', 'get_current_uid_gid', 'sk_storage_get', 'sk_storage_delete', 'get_netns_cookie',
        'get_cgroup_classid'];
    case 'sk_skb':
      return [...SK_BASE, 'skb_store_bytes', 'skb_load_bytes', 'skb_pull_data', 'skb_change_tail', 'skb_change_head', 'skb_adjust_room',
        'get_socket_cookie', 'get_socket_uid', 'sk_redirect_map', 'sk_redirect_hash', 'perf_event_output', ...SK_LOOKUPS];
    case 'flow_dissector':
      return [...SK_BASE, 'skb_load_bytes'];
    case 'lwt_out':
      return LWT_OUT;
    case 'lwt_in':
      return [...LWT_OUT, 'lwt_push_encap'];
    case 'lwt_xmit':
      return [...LWT_OUT, ...TUNNEL, 'redirect', 'clone_redirect', 'skb_change_tail', 'skb_change_head', 'skb_store_bytes', 'csum_update',
        'csum_level', 'l3_csum_replace', 'l4_csum_replace', 'set_hash_invalid', 'lwt_push_encap'];
    case 'lwt_seg6local':
      return [...LWT_OUT, 'lwt_seg6_store_bytes', 'lwt_seg6_action', 'lwt_seg6_adjust_srh'];
    case 'sk_reuseport':
      return [...BASE, 'sk_select_reuseport', 'skb_load_bytes', 'skb_load_bytes_relative', 'get_socket_cookie', 'ktime_get_coarse_ns'];
    case 'sk_lookup':
      return [...SK_BASE, 'perf_event_output', 'sk_assign', 'sk_release'];
    case 'cgroup_device':
      return [...cgroupCommon(attach), ...CGROUP_CURRENT, ...BASE, 'perf_event_output'];
    case 'cgroup_sysctl':
      return [...cgroupCommon(attach), ...CGROUP_CURRENT, ...BASE, 'sysctl_get_name', 'sysctl_get_current_value',
        'sysctl_get_new_value', 'sysctl_set_new_value', 'ktime_get_coarse_ns', 'perf_event_output'];
    case 'cgroup_sockopt': {
      const out = [...cgroupCommon(attach), ...CGROUP_CURRENT, ...BASE, 'get_netns_cookie', 'sk_storage_get', 'sk_storage_delete',
        'tcp_sock', 'perf_event_output'];
      if (attach === 'cgroup_setsockopt') out.push('setsockopt', 'getsockopt');
      return out;
    }
    case 'kprobe':
      return [...TRACING_COMMON, ...TRACE_OUTPUT, 'get_func_ip', 'get_attach_cookie'];
    case 'tracepoint':
    case 'raw_tracepoint':
    case 'raw_tracepoint_writable':
      return [...TRACING_COMMON, ...TRACE_OUTPUT, 'get_attach_cookie'];
    case 'perf_event':
      return [...TRACING_COMMON, ...TRACE_OUTPUT, 'perf_prog_read_value', 'read_branch_records', 'get_attach_cookie'];
    case 'tracing':
      return tracingProg(type, attach);
    case 'lsm': {
      const out = [...tracingProg(type, attach), 'inode_storage_get', 'inode_storage_delete', 'sk_storage_get', 'sk_storage_delete',
        'spin_lock', 'spin_unlock', 'bprm_opts_set', 'ima_inode_hash', 'ima_file_hash'];
      if (attach === 'lsm_cgroup') out.push(...cgroupCommon(attach), 'setsockopt', 'getsockopt');
      return out;
    }
    case 'syscall':
      return [...tracingProg(type, attach), 'sys_bpf', 'btf_find_by_name_kind', 'sys_close', 'kallsyms_lookup_name'];
    case 'netfilter':
      return BASE;
    default:
      // struct_ops, ext (the target's list), lirc_mode2: not described here.
      return undefined;
  }
}

/** Helper ids by name; a name the generated table lacks is a mistake in the lists above. */
function ids(names: readonly string[]): ReadonlySet<number> {
  return new Set(names.map((n) => {
    const id = BPF_FUNC[n];
    if (id === undefined) throw new Error(`allow-lists: unknown helper ${n}`);
    return id;
  }));
}

const cache = new Map<number, ReadonlySet<number> | undefined>();

/**
 * The helper ids a program of this type (BPF_PROG_TYPE number) and expected
 * attach type (BPF_ATTACH_TYPE number; none = 0, as the kernel's zeroed
 * attribute) may call; undefined when the type has no list here.
 */
export function allowedHelpers(progType: number, expectedAttachType = 0): ReadonlySet<number> | undefined {
  // (a number, so a helper call during verification builds no string)
  const key = progType * 1024 + expectedAttachType;
  if (cache.has(key)) return cache.get(key);
  const type = nameOf(BPF_PROG_TYPE, progType) ?? '';
  const attach = nameOf(BPF_ATTACH_TYPE, expectedAttachType) ?? '';
  const names = allowedNames(type, attach);
  const set = names === undefined ? undefined : ids(names);
  cache.set(key, set);
  return set;
}

/** Program types with a list here (by number), for tests and tools. */
export function describedProgTypes(): number[] {
  return Object.values(BPF_PROG_TYPE).filter((t) => allowedNames(nameOf(BPF_PROG_TYPE, t) ?? '', '') !== undefined);
}
