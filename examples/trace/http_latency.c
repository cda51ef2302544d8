/* http_latency: a latency histogram of a Node HTTP server, from Node's own
 * diagnostics_channel events. The request's start time is kept in a hash
 * map under the request object's identity; when the response finishes, the
 * program adds the elapsed time to a log2 histogram of microseconds, one
 * array slot per power of two, and counts server errors.
 *
 *   node examples/trace/http_latency.mjs
 */
#include "tsbpf.h"

#define SLOTS 32

struct request_start {
	__u64 request;		/* msg.request, as an identity number */
};

struct response_finish {
	__u64 request;
	__u32 status;		/* msg.response.statusCode */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} latency_us SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} errors SEC(".maps");

SEC("tracepoint/http.server.request.start")
int request_start(struct request_start *ctx)
{
	/* helpers take stack or map memory, never the context: copy the key out */
	__u64 req = ctx->request, now = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &req, &now, BPF_ANY);
	return 0;
}

static __always_inline __u32 log2_slot(__u64 v)
{
	__u32 slot = 0;
	for (int i = 0; i < SLOTS - 1; i++) {
		if (v <= 1)
			break;
		v >>= 1;
		slot++;
	}
	return slot;
}

SEC("tracepoint/http.server.response.finish")
int response_finish(struct response_finish *ctx)
{
	__u64 req = ctx->request;
	__u64 *t0 = bpf_map_lookup_elem(&start, &req);
	if (!t0)
		return 0;
	__u64 us = (bpf_ktime_get_ns() - *t0) / 1000;
	bpf_map_delete_elem(&start, &req);
	__u32 slot = log2_slot(us);
	__u64 *count = bpf_map_lookup_elem(&latency_us, &slot);
	if (count)
		__sync_fetch_and_add(count, 1);
	if (ctx->status >= 500) {
		__u32 zero = 0;
		__u64 *e = bpf_map_lookup_elem(&errors, &zero);
		if (e)
			__sync_fetch_and_add(e, 1);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
