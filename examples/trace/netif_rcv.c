/* netif_rcv: the seed's first tracing filter. Every received frame is an
 * event on the diagnostics_channel 'net:netif_receive_skb'; the filter keeps
 * only the frames of one device (the name user space put in dev_filter[0])
 * and prints them through trace_printk. Everything else is rejected where
 * the event happens: nothing reaches user space.
 *
 *   node examples/trace/netif_rcv.mjs [DEVICE]
 */
#include "tsbpf.h"

#define IFNAMSIZ 16

struct netif_rcv_args {
	char dev[IFNAMSIZ];	/* msg.dev */
	__u32 len;		/* msg.len */
	__u16 protocol;		/* msg.protocol (ethertype) */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, char[IFNAMSIZ]);
} dev_filter SEC(".maps");

SEC("tracepoint/net:netif_receive_skb")
int netif_rcv(struct netif_rcv_args *ctx)
{
	__u32 zero = 0;
	char *want = bpf_map_lookup_elem(&dev_filter, &zero);
	if (!want)
		return 0;
	for (int i = 0; i < IFNAMSIZ; i++) {
		if (ctx->dev[i] != want[i])
			return 0;
		if (want[i] == 0)
			break;
	}
	bpf_printk("netif_rcv: dev %s len %u proto 0x%04x", ctx->dev, ctx->len, ctx->protocol);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
