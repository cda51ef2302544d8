/* Static and global sub-functions, several programs in one section, and a callback. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 2);
} results SEC(".maps");

static __attribute__((noinline)) __u64 square(__u64 x)
{
	return x * x;
}

static __attribute__((noinline)) __u64 sum_squares(__u64 a, __u64 b)
{
	return square(a) + square(b);
}

__attribute__((noinline)) int store(__u32 idx, __u64 v)
{
	__u64 *slot = bpf_map_lookup_elem(&results, &idx);
	if (!slot)
		return 0;
	*slot = v;
	return 1;
}

static long add_step(__u64 i, void *data)
{
	__u64 *acc = data;
	*acc += square(i);
	return 0;
}

SEC("tc")
int first(struct __sk_buff *skb)
{
	store(0, sum_squares(skb->len, 3));
	return 0;
}

SEC("tc")
int second(struct __sk_buff *skb)
{
	__u64 acc = 0;
	bpf_loop(4, add_step, &acc, 0);
	store(1, acc + square(skb->mark));
	return 0;
}

char _license[] SEC("license") = "GPL";
