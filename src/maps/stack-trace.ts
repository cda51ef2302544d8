// stack_trace (kernel/bpf/stackmap.c): stack ids to arrays of instruction
// pointers, filled by bpf_get_stackid. A user-space runtime has no kernel
// or user stack to walk, so bpf_get_stackid fails with -EFAULT (see
// src/helpers/stack.ts) and the map stays empty; user space sees what the
// kernel answers for an empty one (lookups ENOENT, updates EINVAL, deletes
// ENOENT).

import { BpfMap, type MapHost } from './base.js';
import { EINVAL, ENOENT } from './errno.js';
import type { ResolvedSpec } from './spec.js';

/** sysctl kernel.perf_event_max_stack's default: the deepest stack a value may hold. */
const PERF_MAX_STACK = 127;
const IP_SIZE = 8;

export class StackTraceMap extends BpfMap {
  constructor(host: MapHost, spec: ResolvedSpec, id: number) {
    super(host, spec, id);
    if (spec.keySize !== 4) throw this.error(EINVAL, 'create', `key_size must be 4 for stack_trace, got ${spec.keySize}`);
    if (spec.maxEntries === 0) throw this.error(EINVAL, 'create', 'max_entries must not be 0');
    if (spec.valueSize < IP_SIZE || spec.valueSize % IP_SIZE !== 0) throw this.error(EINVAL, 'create', `value_size ${spec.valueSize} must be a non-zero multiple of 8 (u64 instruction pointers)`);
    if (spec.valueSize / IP_SIZE > PERF_MAX_STACK) throw this.error(EINVAL, 'create', `value_size ${spec.valueSize} holds more than ${PERF_MAX_STACK} frames`);
  }

  override lookupAt(): number {
    return 0;
  }

  override updateAt(): number {
    return -EINVAL;
  }

  override deleteAt(): number {
    return -ENOENT;
  }

  override nextKeyAt(): number {
    return -ENOENT;
  }

  protected freeData(): void {}
}
