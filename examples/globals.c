/* Global data: .data, .rodata, .bss and string literals (.rodata.str1.1). */
#include "common.h"

volatile const __u32 threshold = 42;    /* .rodata */
volatile __u64 hits = 5;                /* .data */
volatile __u64 misses;                  /* .bss */
static volatile __u32 local_counter;    /* .bss, static */
char greeting[16] = "hello, tsbpf";    /* .data */

struct config {
	__u32 mode;
	char name[12];
};
volatile const struct config cfg = { .mode = 3, .name = "edge" };

SEC("xdp")
int use_globals(struct xdp_md *ctx)
{
	const char *msg = "packet seen";  /* string literal: .rodata.str1.1 */
	__u32 len = ctx->data_end - ctx->data;
	local_counter++;
	if (len > threshold + cfg.mode) {
		hits++;
		bpf_probe_read_kernel(&greeting[0], 4, msg);
	} else {
		misses++;
	}
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
