/* BTF-defined maps of several kinds, used by one XDP program. */
#include "common.h"

struct flow_key {
	__u32 saddr;
	__u32 daddr;
	__u16 sport;
	__u16 dport;
	__u8 proto;
};

struct flow_stats {
	__u64 packets;
	__u64 bytes;
	char tag[8];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct flow_key);
	__type(value, struct flow_stats);
	__uint(max_entries, 1024);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(key_size, 4);
	__uint(value_size, 8);
	__uint(max_entries, 1);
} percpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u64);
	__type(value, __u32);
	__uint(max_entries, 256);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 2);
};

struct inner inner_a SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 8);
	__type(key, __u32);
	__array(values, struct inner);
} outer SEC(".maps") = {
	.values = { [3] = &inner_a },
};

SEC("xdp")
int tail_target(struct xdp_md *ctx)
{
	return XDP_DROP;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, int (void *));
} jumps SEC(".maps") = {
	.values = { [2] = (void *)&tail_target },
};

SEC("xdp")
int count_packets(struct xdp_md *ctx)
{
	__u32 idx = 0;
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);
	if (c)
		__sync_fetch_and_add(c, 1);
	struct flow_key key = { .proto = 6 };
	struct flow_stats *st = bpf_map_lookup_elem(&flows, &key);
	if (st) {
		st->packets++;
		st->bytes += ctx->data_end - ctx->data;
	}
	__u64 *p = bpf_map_lookup_elem(&percpu, &idx);
	if (p)
		*p += 1;
	__u64 k = 7;
	__u32 v = 1;
	bpf_map_update_elem(&lru, &k, &v, BPF_ANY);
	void *inner = bpf_map_lookup_elem(&outer, &idx);
	if (inner)
		bpf_map_lookup_elem(inner, &idx);
	__u32 *ev = bpf_ringbuf_reserve(&events, sizeof(__u32), 0);
	if (ev) {
		*ev = idx;
		bpf_ringbuf_submit(ev, 0);
	}
	bpf_tail_call(ctx, &jumps, 2);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
