// Kernel side of bench/maps: the same map work as the assembled programs in
// maps.bench.ts, timed with `bpftool prog run` (BPF_PROG_TEST_RUN, JIT on).
// Each program does OPS map operations on keys 0..63; `nop` is the baseline.
// Build: clang-19 -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c lookups.bpf.c -o lookups.bpf.o
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define OPS 100

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} h SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} a SEC(".maps");

SEC("xdp") int nop(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp") int hash_update(struct xdp_md *ctx)
{
	for (__u32 i = 0; i < OPS; i++) {
		__u32 k = i & 63;
		__u64 v = i;
		bpf_map_update_elem(&h, &k, &v, BPF_ANY);
	}
	return XDP_PASS;
}

SEC("xdp") int hash_lookup(struct xdp_md *ctx)
{
	__u64 sum = 0;
	for (__u32 i = 0; i < OPS; i++) {
		__u32 k = i & 63;
		__u64 *v = bpf_map_lookup_elem(&h, &k);
		if (v)
			sum += *v;
	}
	return sum & 1 ? XDP_PASS : XDP_DROP;
}

SEC("xdp") int array_lookup(struct xdp_md *ctx)
{
	__u64 sum = 0;
	for (__u32 i = 0; i < OPS; i++) {
		__u32 k = i & 63;
		__u64 *v = bpf_map_lookup_elem(&a, &k);
		if (v)
			sum += *v;
	}
	return sum & 1 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
