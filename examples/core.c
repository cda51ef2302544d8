/* CO-RE relocations and externs: the object needs a target BTF and kconfig values. */
#include "common.h"
#include <bpf/bpf_core_read.h>

struct task_struct {
	int pid;
	int tgid;
	struct task_struct *parent;
} __attribute__((preserve_access_index));

extern int LINUX_KERNEL_VERSION __kconfig;

SEC("kprobe/wake_up_new_task")
int parent_pid(struct task_struct *task)
{
	int ppid = BPF_CORE_READ(task, parent, tgid);
	if (bpf_core_field_exists(task->tgid))
		ppid += LINUX_KERNEL_VERSION & 1;
	return ppid;
}

char _license[] SEC("license") = "GPL";
