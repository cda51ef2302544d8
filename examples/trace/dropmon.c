/* dropmon: counts dropped packets per drop location, in the kernel
 * drop_monitor's spirit. The application fires the static probe
 * 'skb:kfree_skb' wherever it drops a packet, naming the place; the program
 * adds one to that place's counter in a hash map with an atomic add, and
 * user space prints the table, sorted, while it runs.
 *
 *   node examples/trace/dropmon.mjs
 */
#include "tsbpf.h"

struct kfree_skb_args {
	char location[32];	/* msg.location: where the packet was dropped */
	__u32 len;		/* msg.len */
};

struct drop_key {
	char location[32];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct drop_key);
	__type(value, __u64);
} drops SEC(".maps");

SEC("usdt/skb:kfree_skb")
int dropmon(struct kfree_skb_args *ctx)
{
	struct drop_key key = {};
	__u64 one = 1, *count;

	__builtin_memcpy(key.location, ctx->location, sizeof(key.location));
	count = bpf_map_lookup_elem(&drops, &key);
	if (count) {
		__sync_fetch_and_add(count, 1);
		return 0;
	}
	/* first drop here; if another event created the entry meanwhile, add to it */
	if (bpf_map_update_elem(&drops, &key, &one, BPF_NOEXIST) != 0) {
		count = bpf_map_lookup_elem(&drops, &key);
		if (count)
			__sync_fetch_and_add(count, 1);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
