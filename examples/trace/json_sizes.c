/* json_sizes: a function probe on JSON.parse. Each call adds the byte length
 * of its input to a log2 histogram, and the calls that throw are counted from
 * the return probe. No line of the application changes.
 *
 *   node examples/trace/json_sizes.mjs
 */
#include "tsbpf.h"

#define SLOTS 24

struct parse_args {
	__u32 arg1_len;		/* the byte length of the first argument (a string) */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} sizes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} failures SEC(".maps");

SEC("uprobe/JSON.parse")
int json_parse(struct parse_args *ctx)
{
	__u32 v = ctx->arg1_len, slot = 0;
	for (int i = 0; i < SLOTS - 1 && v > 1; i++) {
		v >>= 1;
		slot++;
	}
	__u64 *count = bpf_map_lookup_elem(&sizes, &slot);
	if (count)
		__sync_fetch_and_add(count, 1);
	return 0;
}

SEC("uretprobe/JSON.parse")
int json_parse_ret(struct js_args *ctx)
{
	__u32 zero = 0;
	if (ctx->threw) {
		__u64 *n = bpf_map_lookup_elem(&failures, &zero);
		if (n)
			__sync_fetch_and_add(n, 1);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
