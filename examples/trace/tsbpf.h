/* Shared definitions for programs attached inside Node.js with tsbpf (src/attach).
 *
 * A program's first parameter points to a struct it declares itself; tsbpf
 * fills the members from the event by name (see src/attach/ctx-writer.ts):
 * numbers, booleans, strings (char[N], NUL-terminated), buffers, nested
 * objects (a__b reads a.b), and objects as identity numbers (__u64 request).
 */
#ifndef TSBPF_TRACE_H
#define TSBPF_TRACE_H
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* Function probes (SEC("uprobe/fn"), SEC("uretprobe/fn")): the default
 * context, also what a program without BTF gets. Numbers arrive as they are,
 * objects as identity numbers; declare a member char arg1[32] instead to
 * receive a string argument. */
struct js_args {
	__s64 arg1, arg2, arg3, arg4, arg5;
	__s64 ret;	/* the return value (uretprobe) */
	__u32 nargs;	/* arguments passed */
	__u32 threw;	/* 1 when the function threw (uretprobe) */
};

#endif
