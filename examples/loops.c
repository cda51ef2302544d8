/* Bounded loops: a checksum over packet bytes and a counted loop. */
#include "common.h"

SEC("xdp")
int checksum(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 sum = 0;
	for (int i = 0; i < 64; i++) {
		__u8 *p = data + i;
		if ((void *)(p + 1) > end)
			break;
		sum += *p;
	}
	return sum & 1 ? XDP_PASS : XDP_DROP;
}

SEC("socket")
int collatz(struct __sk_buff *skb)
{
	__u32 n = skb->len | 1, steps = 0;
	for (int i = 0; i < 200 && n != 1; i++) {
		n = (n & 1) ? 3 * n + 1 : n / 2;
		steps++;
	}
	return steps;
}

char _license[] SEC("license") = "GPL";
