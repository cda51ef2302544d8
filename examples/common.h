/* Shared includes for the examples: the kernel UAPI and libbpf's helper macros. */
#ifndef TSBPF_EXAMPLES_COMMON_H
#define TSBPF_EXAMPLES_COMMON_H
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#endif
