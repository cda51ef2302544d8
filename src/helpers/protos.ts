// Helper prototypes: what each helper (by its Linux id, BPF_FUNC_*) takes
// and returns, whether it is GPL-only, and which program types may call it.
// The verifier checks calls against these rows; the runtime's helper
// registry implements them. Facts follow the kernel's bpf_func_proto
// definitions (6.x).

import { BPF_FUNC, BPF_PROG_TYPE } from '../internal/uapi.gen.js';
import { allowedHelpers, describedProgTypes } from './allow-lists.js';

/** Argument kinds (the kernel's ARG_* with their flags folded in). */
export type ArgKind =
  | 'anything'
  | 'const_map_ptr'
  | 'map_key'
  | 'map_value'
  /** Readable memory; the size is the next argument. */
  | 'mem'
  | 'mem_or_null'
  /** Writable memory the helper fills; may be uninitialised; the size is the next argument. */
  | 'uninit_mem'
  | 'const_size'
  | 'const_size_or_zero'
  /** Constant size of a ring buffer reservation (the returned memory's size). */
  | 'const_alloc_size_or_zero'
  | 'ctx'
  /** Memory from bpf_ringbuf_reserve, released by the call. */
  | 'ringbuf_mem'
  | 'uninit_map_value'
  /** A function pointer (lddw of a subprogram): the callback. */
  | 'func'
  /** A stack pointer or NULL: the callback's context. */
  | 'stack_or_null'
  /** A NUL-terminated string in a read-only map value at a constant offset. */
  | 'const_str'
  /** A referenced socket, released by the call. */
  | 'sock_release'
  /** A socket pointer, not NULL (ARG_PTR_TO_SOCK_COMMON: sock_common, sock or tcp_sock). */
  | 'sock_common'
  /** ARG_PTR_TO_BTF_ID_SOCK_COMMON: a socket pointer or a BTF pointer to one. */
  | 'btf_sock_common'
  /** NULL, or memory of the map argument's value size (ARG_PTR_TO_MAP_VALUE_OR_NULL). */
  | 'map_value_or_null'
  /** The program's context or NULL (ARG_PTR_TO_CTX_OR_NULL). */
  | 'ctx_or_null'
  /** Writable, naturally aligned memory of 4 / 8 bytes the helper fills (ARG_PTR_TO_FIXED_SIZE_MEM | MEM_WRITE | MEM_ALIGNED). */
  | 'out_u32'
  | 'out_u64'
  /** The struct bpf_spin_lock in a map value, at its offset from BTF (ARG_PTR_TO_SPIN_LOCK). */
  | 'spin_lock'
  /** ARG_PTR_TO_BTF_ID: a kernel object pointer (not NULL, not untrusted) to the struct HelperProto.btfStruct names. */
  | 'btf_id';

/** 'cpu_id': an integer in [0, number of possible CPUs). */
export type RetKind = 'integer' | 'void' | 'map_value_or_null' | 'ringbuf_mem_or_null' | 'cpu_id'
  /** A referenced socket (or NULL) the program must release with bpf_sk_release. */
  | 'socket_or_null_acquire'
  | 'sock_common_or_null_acquire'
  /** A non-NULL value of the map argument (bpf_get_local_storage). */
  | 'map_value'
  /**
   * Casts of a socket argument (the kernel's is_ptr_cast_function): NULL or
   * the same socket as another type, holding the argument's reference if any.
   */
  | 'socket_or_null'
  | 'tcp_sock_or_null'
  | 'btf_sock_or_null'
  /** A socket (or NULL) found from another, holding no reference (bpf_get_listener_sock, bpf_skc_to_unix_sock). */
  | 'socket_or_null_noref'
  | 'btf_sock_or_null_noref';

export interface HelperProto {
  readonly id: number;
  /** Name without the bpf_ prefix, as in BPF_FUNC_ (map_lookup_elem). */
  readonly name: string;
  readonly args: readonly ArgKind[];
  readonly ret: RetKind;
  readonly gplOnly: boolean;
  /** The struct a 'btf_id' argument points to (the kernel's argN_btf_id). */
  readonly btfStruct?: string;
  /** The kernel's might_sleep: only sleepable programs may call it. */
  readonly mightSleep?: boolean;
}

const P: HelperProto[] = [];
function proto(name: string, args: ArgKind[], ret: RetKind = 'integer', gplOnly = false, more: { btfStruct?: string; mightSleep?: boolean } = {}): void {
  const id = BPF_FUNC[name];
  if (id === undefined) throw new Error(`protos: unknown helper ${name}`);
  P.push({ id, name, args, ret, gplOnly, ...more });
}

// Maps
proto('map_lookup_elem', ['const_map_ptr', 'map_key'], 'map_value_or_null');
proto('map_update_elem', ['const_map_ptr', 'map_key', 'map_value', 'anything']);
proto('map_delete_elem', ['const_map_ptr', 'map_key']);
proto('map_push_elem', ['const_map_ptr', 'map_value', 'anything']);
proto('map_pop_elem', ['const_map_ptr', 'uninit_map_value']);
proto('map_peek_elem', ['const_map_ptr', 'uninit_map_value']);
proto('tail_call', ['ctx', 'const_map_ptr', 'anything'], 'void');
// Time, ids, randomness
proto('ktime_get_ns', []);
proto('ktime_get_boot_ns', []);
proto('ktime_get_coarse_ns', []);
proto('jiffies64', []);
proto('get_prandom_u32', []);
proto('get_smp_processor_id', [], 'cpu_id');
proto('get_numa_node_id', []);
// Ring buffers and perf output
proto('ringbuf_output', ['const_map_ptr', 'mem', 'const_size_or_zero', 'anything']);
proto('ringbuf_reserve', ['const_map_ptr', 'const_alloc_size_or_zero', 'anything'], 'ringbuf_mem_or_null');
proto('ringbuf_submit', ['ringbuf_mem', 'anything'], 'void');
proto('ringbuf_discard', ['ringbuf_mem', 'anything'], 'void');
proto('ringbuf_query', ['const_map_ptr', 'anything']);
proto('perf_event_output', ['ctx', 'const_map_ptr', 'anything', 'mem', 'const_size_or_zero'], 'integer', true);
// Tracing
// r3..r5 are not in the kernel's prototype: the format decides how many are read.
proto('trace_printk', ['mem', 'const_size'], 'integer', true);
proto('probe_read', ['uninit_mem', 'const_size_or_zero', 'anything'], 'integer', true);
proto('probe_read_str', ['uninit_mem', 'const_size_or_zero', 'anything'], 'integer', true);
proto('probe_read_user', ['uninit_mem', 'const_size_or_zero', 'anything'], 'integer', true);
proto('probe_read_kernel', ['uninit_mem', 'const_size_or_zero', 'anything'], 'integer', true);
proto('probe_read_user_str', ['uninit_mem', 'const_size_or_zero', 'anything'], 'integer', true);
proto('probe_read_kernel_str', ['uninit_mem', 'const_size_or_zero', 'anything'], 'integer', true);
proto('get_current_pid_tgid', []);
proto('get_current_uid_gid', []);
proto('get_current_comm', ['uninit_mem', 'const_size']);
proto('get_current_task', [], 'integer', true);
proto('get_stackid', ['ctx', 'const_map_ptr', 'anything'], 'integer', true);
proto('get_stack', ['ctx', 'uninit_mem', 'const_size_or_zero', 'anything'], 'integer', true);
// Packets
proto('skb_load_bytes', ['ctx', 'anything', 'uninit_mem', 'const_size']);
proto('skb_load_bytes_relative', ['ctx', 'anything', 'uninit_mem', 'const_size', 'anything']);
proto('skb_store_bytes', ['ctx', 'anything', 'mem', 'const_size', 'anything']);
proto('l3_csum_replace', ['ctx', 'anything', 'anything', 'anything', 'anything']);
proto('l4_csum_replace', ['ctx', 'anything', 'anything', 'anything', 'anything']);
proto('csum_diff', ['mem_or_null', 'const_size_or_zero', 'mem_or_null', 'const_size_or_zero', 'anything']);
proto('redirect', ['anything', 'anything']);
proto('redirect_map', ['const_map_ptr', 'anything', 'anything']);
proto('xdp_adjust_head', ['ctx', 'anything']);
proto('xdp_adjust_meta', ['ctx', 'anything']);
proto('xdp_adjust_tail', ['ctx', 'anything']);
proto('xdp_get_buff_len', ['ctx']);
proto('xdp_load_bytes', ['ctx', 'anything', 'uninit_mem', 'const_size']);
proto('xdp_store_bytes', ['ctx', 'anything', 'mem', 'const_size']);
proto('skb_pull_data', ['ctx', 'anything']);
proto('skb_change_tail', ['ctx', 'anything', 'anything']);
proto('skb_change_head', ['ctx', 'anything', 'anything']);
proto('skb_adjust_room', ['ctx', 'anything', 'anything', 'anything']);
proto('skb_vlan_push', ['ctx', 'anything', 'anything']);
proto('skb_vlan_pop', ['ctx']);
proto('skb_change_type', ['ctx', 'anything']);
proto('set_hash', ['ctx', 'anything']);
proto('set_hash_invalid', ['ctx'], 'void');
// Callbacks, strings
proto('loop', ['anything', 'func', 'stack_or_null', 'anything']);
proto('for_each_map_elem', ['const_map_ptr', 'func', 'stack_or_null', 'anything']);
proto('snprintf', ['mem_or_null', 'const_size_or_zero', 'const_str', 'mem_or_null', 'const_size_or_zero'], 'integer', true);
proto('strncmp', ['mem', 'const_size', 'const_str']);
proto('map_lookup_percpu_elem', ['const_map_ptr', 'map_key', 'anything'], 'map_value_or_null');
proto('sk_release', ['sock_release']);
// Socket lookups (the tc/xdp/cgroup_skb versions): tuple memory, its size, netns, flags.
proto('sk_lookup_tcp', ['ctx', 'mem', 'const_size', 'anything', 'anything'], 'socket_or_null_acquire');
proto('sk_lookup_udp', ['ctx', 'mem', 'const_size', 'anything', 'anything'], 'socket_or_null_acquire');
proto('skc_lookup_tcp', ['ctx', 'mem', 'const_size', 'anything', 'anything'], 'sock_common_or_null_acquire');
proto('get_socket_cookie', ['ctx']);
proto('get_socket_uid', ['ctx']);
proto('get_hash_recalc', ['ctx']);
proto('get_netns_cookie', ['ctx_or_null']);
proto('sk_fullsock', ['sock_common'], 'socket_or_null');
proto('tcp_sock', ['sock_common'], 'tcp_sock_or_null');
for (const cast of ['skc_to_tcp_sock', 'skc_to_tcp6_sock', 'skc_to_tcp_timewait_sock', 'skc_to_tcp_request_sock', 'skc_to_udp6_sock']) {
  proto(cast, ['btf_sock_common'], 'btf_sock_or_null');
}
// not one of the kernel's pointer casts (is_ptr_cast_function)
proto('skc_to_unix_sock', ['btf_sock_common'], 'btf_sock_or_null_noref');
proto('get_listener_sock', ['sock_common'], 'socket_or_null_noref');
proto('skb_ecn_set_ce', ['ctx']);
proto('csum_update', ['ctx', 'anything']);
proto('csum_level', ['ctx', 'anything']);
proto('get_route_realm', ['ctx']);
proto('get_cgroup_classid', ['ctx']);
proto('redirect_peer', ['anything', 'anything']);
proto('redirect_neigh', ['anything', 'mem_or_null', 'const_size_or_zero', 'anything']);
proto('clone_redirect', ['ctx', 'anything', 'anything']);
proto('skc_to_mptcp_sock', ['sock_common'], 'btf_sock_or_null');
proto('sk_storage_get', ['const_map_ptr', 'btf_sock_common', 'map_value_or_null', 'anything'], 'map_value_or_null');
proto('sk_storage_delete', ['const_map_ptr', 'btf_sock_common']);
proto('check_mtu', ['ctx', 'anything', 'out_u32', 'anything', 'anything'], 'integer', true);
proto('fib_lookup', ['ctx', 'mem', 'const_size', 'anything']);
proto('get_local_storage', ['const_map_ptr', 'anything'], 'map_value');
// sk_reuseport programs (no test run here: the verifier accepts them, the runtime cannot run the helper)
proto('sk_select_reuseport', ['ctx', 'const_map_ptr', 'map_key', 'anything']);
proto('strtol', ['mem', 'const_size', 'anything', 'out_u64']);
proto('strtoul', ['mem', 'const_size', 'anything', 'out_u64']);
// Tracing helpers tsbpf's runtime does not run (programs attached in the kernel call them).
// bpf_get_func_ip: the kprobe and fentry versions are GPL-only, the kprobe_multi one is not; the stricter rule here.
proto('get_func_ip', ['ctx'], 'integer', true);
proto('get_attach_cookie', ['ctx']);
proto('get_func_ret', ['ctx', 'out_u64']);
proto('get_func_arg', ['ctx', 'anything', 'out_u64']);
proto('get_func_arg_cnt', ['ctx']);
proto('get_current_cgroup_id', []);
proto('get_current_ancestor_cgroup_id', ['anything']);
proto('send_signal', ['anything']);
proto('send_signal_thread', ['anything']);
proto('current_task_under_cgroup', ['const_map_ptr', 'anything']);
proto('skb_under_cgroup', ['ctx', 'const_map_ptr', 'anything']);
proto('perf_event_read', ['const_map_ptr', 'anything'], 'integer', true);
proto('perf_event_read_value', ['const_map_ptr', 'anything', 'uninit_mem', 'const_size'], 'integer', true);
proto('copy_from_user', ['uninit_mem', 'const_size_or_zero', 'anything'], 'integer', false, { mightSleep: true });
proto('copy_from_user_task', ['uninit_mem', 'const_size_or_zero', 'anything', 'btf_id', 'anything'], 'integer', true,
  { btfStruct: 'task_struct', mightSleep: true });
proto('snprintf_btf', ['mem', 'const_size', 'mem', 'const_size', 'anything']);
// Iterator programs' output, and bpf_d_path (allowed only where helpers-check.ts says)
proto('seq_write', ['btf_id', 'mem', 'const_size_or_zero'], 'integer', true, { btfStruct: 'seq_file' });
proto('seq_printf', ['btf_id', 'mem', 'const_size', 'mem_or_null', 'const_size_or_zero'], 'integer', true, { btfStruct: 'seq_file' });
proto('d_path', ['btf_id', 'mem', 'const_size_or_zero'], 'integer', false, { btfStruct: 'path' });
// LSM programs (the IMA hashes only on sleepable hooks, helpers-check.ts)
proto('ima_inode_hash', ['btf_id', 'uninit_mem', 'const_size'], 'integer', false, { btfStruct: 'inode', mightSleep: true });
proto('ima_file_hash', ['btf_id', 'uninit_mem', 'const_size'], 'integer', false, { btfStruct: 'file', mightSleep: true });
proto('bprm_opts_set', ['btf_id', 'anything'], 'integer', false, { btfStruct: 'linux_binprm' });
// Locks (the verifier's critical.ts: one held at a time, no calls while held)
proto('spin_lock', ['spin_lock'], 'void');
proto('spin_unlock', ['spin_lock'], 'void');

export const HELPER_PROTOS: readonly HelperProto[] = P;

/** Helpers after which every packet pointer is stale (the kernel's bpf_helper_changes_pkt_data). */
export const CHANGES_PACKET_DATA: ReadonlySet<number> = new Set(
  ['skb_store_bytes', 'l3_csum_replace', 'l4_csum_replace', 'xdp_adjust_head', 'xdp_adjust_meta', 'xdp_adjust_tail',
    'skb_change_proto', 'skb_change_tail', 'skb_change_head', 'skb_pull_data', 'skb_vlan_push', 'skb_vlan_pop', 'skb_adjust_room',
    'clone_redirect', 'msg_pull_data', 'msg_push_data', 'msg_pop_data', 'lwt_push_encap', 'lwt_seg6_store_bytes',
    'lwt_seg6_adjust_srh', 'lwt_seg6_action'].map((n) => BPF_FUNC[n]).filter((x): x is number => x !== undefined),
);
const BY_ID = new Map<number, HelperProto>(P.map((p) => [p.id, p]));

export function helperProto(id: number): HelperProto | undefined {
  return BY_ID.get(id);
}

/**
 * Helpers whose kernel prototype depends on the program type (the
 * *_func_proto functions return another bpf_func_proto): bpf_get_cgroup_classid
 * reads the skb in tc and lwt programs and the current task elsewhere
 * (bpf_get_cgroup_classid_curr_proto, no argument); bpf_get_socket_cookie
 * takes a socket pointer in tracing, LSM and syscall programs
 * (bpf_get_socket_ptr_cookie_proto).
 */
const SKB_CLASSID_TYPES = new Set(['sched_cls', 'sched_act', 'lwt_in', 'lwt_out', 'lwt_xmit', 'lwt_seg6local'].map((t) => BPF_PROG_TYPE[t]!));
const SOCKET_PTR_COOKIE_TYPES = new Set(['tracing', 'lsm', 'syscall'].map((t) => BPF_PROG_TYPE[t]!));
const VARIANTS = new Map<number, (progType: number) => HelperProto | undefined>([
  [BPF_FUNC['get_cgroup_classid']!, (t) => (SKB_CLASSID_TYPES.has(t) ? undefined : { ...BY_ID.get(BPF_FUNC['get_cgroup_classid']!)!, args: [] })],
  [BPF_FUNC['get_socket_cookie']!, (t) => (SOCKET_PTR_COOKIE_TYPES.has(t) ? { ...BY_ID.get(BPF_FUNC['get_socket_cookie']!)!, args: ['btf_sock_common'] } : undefined)],
]);
const VARIANT_CACHE = new Map<number, HelperProto | undefined>();

/** The prototype a program of this type gets for the helper (helperProto, or its per-type variant). */
export function helperProtoFor(id: number, progType: number): HelperProto | undefined {
  const variant = VARIANTS.get(id);
  if (variant === undefined) return BY_ID.get(id);
  const key = id * 1024 + progType;
  if (!VARIANT_CACHE.has(key)) VARIANT_CACHE.set(key, variant(progType) ?? BY_ID.get(id));
  return VARIANT_CACHE.get(key);
}

// ---- Which program types may call which helpers (allow-lists.ts) --------------

/**
 * May a program of this type (and expected attach type) call the helper, as
 * the kernel's *_func_proto allow it? (undefined: the type has no list)
 */
export function helperAllowed(progType: number, id: number, expectedAttachType = 0): boolean | undefined {
  const s = allowedHelpers(progType, expectedAttachType);
  return s === undefined ? undefined : s.has(id);
}

/** Program types with an allow list, and the helper ids each may call with no expected attach type (for tests and tools). */
export function helperAllowLists(): ReadonlyMap<number, ReadonlySet<number>> {
  return new Map(describedProgTypes().map((t) => [t, allowedHelpers(t)!]));
}
