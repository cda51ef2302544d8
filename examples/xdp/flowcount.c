/* Per-flow packet and byte counters for XDP.
 *
 * Parses Ethernet + IPv4 + TCP/UDP, keys a hash map by the 5-tuple and adds
 * 1 packet and the frame length to that flow's counters with atomic adds (the
 * same flow can be counted on several CPUs at once). Every packet is passed
 * on; frames it cannot parse are counted in `stats` and passed too.
 *
 *   tsbpf run examples/xdp/flowcount.o --pcap examples/xdp/flows.pcap
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* Addresses as byte arrays so that BTF-formatted dumps show 10.0.0.1 as
 * [10, 0, 0, 1]; no implicit padding, so a zeroed key hashes the same. */
struct flow_key {
	__u8 saddr[4];
	__u8 daddr[4];
	__u16 sport;
	__u16 dport;
	__u32 proto;
};

struct flow_counters {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct flow_key);
	__type(value, struct flow_counters);
} flows SEC(".maps");

enum stat { STAT_PARSED, STAT_NOT_IPV4, STAT_TRUNCATED, STAT_OTHER_L4, STAT_MAX };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void count(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &which);

	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("xdp")
int flowcount(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct flow_key key = {};
	struct flow_counters *c;
	struct iphdr *ip;

	if ((void *)(eth + 1) > data_end) {
		count(STAT_TRUNCATED);
		return XDP_PASS;
	}
	if (eth->h_proto != bpf_htons(ETH_P_IP)) {
		count(STAT_NOT_IPV4);
		return XDP_PASS;
	}
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->ihl < 5) {
		count(STAT_TRUNCATED);
		return XDP_PASS;
	}
	__builtin_memcpy(key.saddr, &ip->saddr, 4);
	__builtin_memcpy(key.daddr, &ip->daddr, 4);
	key.proto = ip->protocol;
	if (ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP) {
		/* both headers start with the two ports */
		__u16 *ports = (void *)ip + ip->ihl * 4;

		if ((void *)(ports + 2) > data_end) {
			count(STAT_TRUNCATED);
			return XDP_PASS;
		}
		key.sport = bpf_ntohs(ports[0]);
		key.dport = bpf_ntohs(ports[1]);
	} else {
		count(STAT_OTHER_L4);
	}
	count(STAT_PARSED);

	c = bpf_map_lookup_elem(&flows, &key);
	if (!c) {
		struct flow_counters zero = {};

		/* BPF_NOEXIST: another CPU may have added it meanwhile; then use theirs */
		bpf_map_update_elem(&flows, &key, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&flows, &key);
		if (!c)
			return XDP_PASS;
	}
	__sync_fetch_and_add(&c->packets, 1);
	__sync_fetch_and_add(&c->bytes, (__u64)(data_end - data));
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
