// cgroup_storage and percpu_cgroup_storage (kernel/bpf/local_storage.c):
// one value per (cgroup, attach type) a program is attached to, which
// bpf_get_local_storage returns. A runtime attaches programs to no cgroup,
// so user space sees an empty map (lookups and updates ENOENT, deletes
// EINVAL, as the kernel answers for a cgroup without the program). A test
// run gets fresh zeroed storage, as BPF_PROG_TEST_RUN allocates it for the
// run (kept over its repetitions): ProgRunContext.localStorage in
// src/progtypes.

import { BpfMap, type MapHost } from './base.js';
import { E2BIG, EINVAL, ENOENT } from './errno.js';
import { BPF_EXIST, BPF_F_LOCK, type ResolvedSpec } from './spec.js';

/** sizeof(struct bpf_cgroup_storage_key) (u64 cgroup inode id, u32 attach type, padding) or a bare u64 id. */
const KEY_SIZES = [16, 8];
/** PCPU_MIN_UNIT_SIZE, the per-CPU value limit. */
const PERCPU_MAX_VALUE = 32768;
/**
 * BPF_LOCAL_STORAGE_MAX_VALUE_SIZE: U16_MAX less the storage element's
 * header (taken as 96 bytes, its size on x86-64).
 */
const MAX_VALUE = 65535 - 96;

export class CgroupStorageMap extends BpfMap {
  readonly perCpu: boolean;

  constructor(host: MapHost, spec: ResolvedSpec, id: number) {
    const perCpu = spec.typeName === 'percpu_cgroup_storage';
    super(host, spec, id, perCpu);
    this.perCpu = perCpu;
    if (!KEY_SIZES.includes(spec.keySize)) throw this.error(EINVAL, 'create', `key_size must be 16 (struct bpf_cgroup_storage_key) or 8, got ${spec.keySize}`);
    if (spec.valueSize === 0) throw this.error(EINVAL, 'create', 'value_size must not be 0');
    if (spec.valueSize > (perCpu ? PERCPU_MAX_VALUE : MAX_VALUE)) throw this.error(E2BIG, 'create', `value_size ${spec.valueSize} is too large`);
    if (spec.maxEntries !== 0) throw this.error(EINVAL, 'create', 'max_entries must be 0 for cgroup storage (one value per attached cgroup)');
  }

  override lookupAt(): number {
    return 0;
  }

  override updateAt(_key: number, _value: number, flags: number): number {
    if ((flags & ~(BPF_F_LOCK | BPF_EXIST)) !== 0) return -EINVAL;
    return -ENOENT;
  }

  override deleteAt(): number {
    return -EINVAL;
  }

  override nextKeyAt(): number {
    return -ENOENT;
  }

  protected freeData(): void {}
}
