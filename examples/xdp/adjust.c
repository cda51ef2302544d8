/* XDP head, tail and metadata adjustments, for the test-run checks: the
 * first byte of the packet picks what the program does, so one object covers
 * every case. The kernel's BPF_PROG_TEST_RUN is the reference for data_out.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __s64);
} results SEC(".maps");

static __always_inline void record(__u32 slot, long v)
{
	__s64 *p = bpf_map_lookup_elem(&results, &slot);

	if (p)
		*p = v;
}

SEC("xdp")
int adjust(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 op;
	long r;

	if (data + 1 > data_end)
		return XDP_ABORTED;
	op = *(__u8 *)data;
	switch (op) {
	case 1: /* push 4 bytes in front and fill them */
		r = bpf_xdp_adjust_head(ctx, -4);
		record(0, r);
		if (r)
			return XDP_DROP;
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		if (data + 4 > data_end)
			return XDP_ABORTED;
		*(__u32 *)data = 0xdeadbeef;
		return XDP_TX;
	case 2: /* pop 2 bytes */
		record(0, bpf_xdp_adjust_head(ctx, 2));
		return XDP_PASS;
	case 3: /* grow the tail by 6 (zero-filled) */
		record(0, bpf_xdp_adjust_tail(ctx, 6));
		return XDP_PASS;
	case 4: /* shrink the tail by 3 */
		record(0, bpf_xdp_adjust_tail(ctx, -3));
		return XDP_PASS;
	case 5: /* 8 bytes of metadata */
		r = bpf_xdp_adjust_meta(ctx, -8);
		record(0, r);
		if (r == 0) {
			void *meta = (void *)(long)ctx->data_meta;

			data = (void *)(long)ctx->data;
			if (meta + 8 > data)
				return XDP_ABORTED;
			*(__u64 *)meta = 0x0102030405060708ULL;
		}
		return XDP_PASS;
	case 6: /* impossible requests fail with -EINVAL */
		record(0, bpf_xdp_adjust_head(ctx, -4096));
		record(1, bpf_xdp_adjust_tail(ctx, 8192));
		record(2, bpf_xdp_adjust_meta(ctx, -3));
		record(3, bpf_xdp_adjust_tail(ctx, -8192));
		return XDP_PASS;
	default:
		return XDP_PASS;
	}
}

char LICENSE[] SEC("license") = "GPL";
