// BPF iterator targets (SEC("iter/<target>")): which members of the
// context struct bpf_iter__<target> the kernel types specially. The layout
// itself comes from the kernel's BTF (the target's function bpf_iter_<target>
// and its struct; src/verifier/tracing-ctx.ts); this table holds what BTF
// does not say, each target's bpf_iter_reg.ctx_arg_info (Linux 6.12:
// kernel/bpf/task_iter.c, map_iter.c, prog_iter.c, link_iter.c,
// cgroup_iter.c, kernel/kallsyms.c, net/core/sock_map.c,
// net/core/bpf_sk_storage.c, net/ipv4/tcp_ipv4.c, net/ipv4/udp.c,
// net/unix/af_unix.c, net/ipv6/route.c, net/netlink/af_netlink.c).
// Members not listed (the meta pointer) are trusted kernel pointers, as for
// every iterator program (the kernel's prog_args_trusted).

/**
 * How the kernel types a member:
 *   'btf_or_null'          PTR_TO_BTF_ID_OR_NULL: the object, NULL on the last call
 *   'trusted_btf_or_null'  the same, also PTR_TRUSTED (may go to kfuncs that want trusted arguments)
 *   'rdonly_buf_or_null'   PTR_TO_BUF | MEM_RDONLY | PTR_MAYBE_NULL (a map key, sized when the iterator is attached)
 *   'buf_or_null'          PTR_TO_BUF | PTR_MAYBE_NULL (a map value)
 */
export type IterMemberKind = 'btf_or_null' | 'trusted_btf_or_null' | 'rdonly_buf_or_null' | 'buf_or_null';

const TARGETS: Readonly<Record<string, Readonly<Record<string, IterMemberKind>>>> = {
  task: { task: 'trusted_btf_or_null' },
  task_file: { task: 'btf_or_null', file: 'btf_or_null' },
  task_vma: { task: 'btf_or_null', vma: 'btf_or_null' },
  bpf_map: { map: 'trusted_btf_or_null' },
  bpf_map_elem: { key: 'rdonly_buf_or_null', value: 'buf_or_null' },
  bpf_prog: { prog: 'btf_or_null' },
  bpf_link: { link: 'btf_or_null' },
  cgroup: { cgroup: 'trusted_btf_or_null' },
  ksym: { ksym: 'btf_or_null' },
  sockmap: { key: 'rdonly_buf_or_null', sk: 'btf_or_null' },
  bpf_sk_storage_map: { sk: 'btf_or_null', value: 'buf_or_null' },
  tcp: { sk_common: 'trusted_btf_or_null' },
  udp: { udp_sk: 'trusted_btf_or_null' },
  unix: { unix_sk: 'btf_or_null' },
  ipv6_route: { rt: 'btf_or_null' },
  netlink: { sk: 'btf_or_null' },
};

/** The specially typed members of bpf_iter__<target> by name, or undefined for a target tsbpf does not describe. */
export function iterTargetMembers(target: string): Readonly<Record<string, IterMemberKind>> | undefined {
  return Object.hasOwn(TARGETS, target) ? TARGETS[target] : undefined;
}
