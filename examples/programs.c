/* Several program types, chosen by section name the way libbpf does. */
#include "common.h"

SEC("kprobe/do_sys_openat2")
int on_open(void *ctx) { return 0; }

SEC("kretprobe/do_sys_openat2")
int on_open_ret(void *ctx) { return 0; }

SEC("tracepoint/syscalls/sys_enter_openat")
int on_enter_openat(void *ctx) { return 0; }

SEC("raw_tp/sched_switch")
int on_switch(void *ctx) { return 0; }

SEC("uprobe//usr/lib/libc.so.6:malloc")
int on_malloc(void *ctx) { return 0; }

SEC("socket")
int sock(struct __sk_buff *skb) { return skb->len; }

SEC("tc/ingress")
int tc_in(struct __sk_buff *skb) { return 0; }

SEC("classifier")
int cls(struct __sk_buff *skb) { return 0; }

SEC("cgroup_skb/egress")
int egress(struct __sk_buff *skb) { return 1; }

SEC("xdp.frags")
int frags(struct xdp_md *ctx) { return XDP_PASS; }

SEC("syscall")
int sys(void *ctx) { return 0; }

SEC("perf_event")
int perf(void *ctx) { return 0; }

char _license[] SEC("license") = "GPL";
