/* The pre-BTF way: struct bpf_map_def in a section called "maps". */
#include "common.h"

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") legacy_hash = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 64,
};

struct bpf_map_def SEC("maps") legacy_array = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = 16,
	.max_entries = 8,
	.map_flags = 0,
};

SEC("socket")
int legacy_filter(struct __sk_buff *skb)
{
	__u32 key = skb->protocol;
	__u64 init = 1, *v = bpf_map_lookup_elem(&legacy_hash, &key);
	if (v)
		*v += 1;
	else
		bpf_map_update_elem(&legacy_hash, &key, &init, BPF_ANY);
	__u32 zero = 0;
	bpf_map_lookup_elem(&legacy_array, &zero);
	return 0;
}

char _license[] SEC("license") = "Dual BSD/GPL";
__u32 _version SEC("version") = 0x060c00;
