// Test helper: let libbpf open and load an object with its debug log on, so
// the test can read every CO-RE patch libbpf makes. Unlike `bpftool prog
// loadall` it first gives maps whose size the project sets at run time
// (max_entries 0) a small one, so loading reaches the relocation step.
// Built by test/elf/libbpf-oracle.ts with `cc ... -lbpf` when available.
#include <stdarg.h>
#include <stdio.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static int print_all(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	return vfprintf(stderr, fmt, ap);
}

static void size_map(struct bpf_map *m)
{
	if (bpf_map__max_entries(m) == 0)
		bpf_map__set_max_entries(m, bpf_map__type(m) == BPF_MAP_TYPE_RINGBUF ? 65536 : 1);
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_map *m;
	int err;

	if (argc != 2) {
		fprintf(stderr, "usage: %s OBJECT\n", argv[0]);
		return 2;
	}
	libbpf_set_print(print_all);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj)
		return 3;
	bpf_object__for_each_map(m, obj) {
		size_map(m);
		/* An inner map's size cannot be set through libbpf (1.1 crashes); give it a template map instead. */
		if (bpf_map__inner_map(m) && bpf_map__max_entries(bpf_map__inner_map(m)) == 0 &&
		    bpf_map__type(bpf_map__inner_map(m)) == BPF_MAP_TYPE_RINGBUF)
			bpf_map__set_inner_map_fd(m, bpf_map_create(BPF_MAP_TYPE_RINGBUF, NULL, 0, 0, 65536, NULL));
	}
	err = bpf_object__load(obj);
	printf("load: %d\n", err);
	bpf_object__close(obj);
	return 0;
}
