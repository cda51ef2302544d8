// sk_storage (net/core/bpf_sk_storage.c): a value per socket, created and
// read by programs with bpf_sk_storage_get, and reached by user space
// through a socket's fd. A runtime has no socket fds, so user space can
// reach no element (lookups, updates and deletes are EBADF, iteration
// ENOTSUPP as in the kernel); the only socket programs meet is a test run's
// (skb->sk), whose storage lives and dies with that test run
// (ProgRunContext.socketStorage in src/progtypes).

import { BpfMap, type MapHost } from './base.js';
import { EINVAL } from './errno.js';
import { BPF_F_NO_PREALLOC, type ResolvedSpec } from './spec.js';

const EBADF = 9;
/** The kernel's ENOTSUPP (not EOPNOTSUPP): get_next_key has no meaning here. */
const ENOTSUPP = 524;
/** BPF_LOCAL_STORAGE_MAX_VALUE_SIZE: U16_MAX less the element header (96 bytes on x86-64). */
const MAX_VALUE = 65535 - 96;

export class SkStorageMap extends BpfMap {
  constructor(host: MapHost, spec: ResolvedSpec, id: number) {
    super(host, spec, id);
    if ((spec.flags & BPF_F_NO_PREALLOC) === 0) throw this.error(EINVAL, 'create', 'sk_storage requires BPF_F_NO_PREALLOC');
    if (spec.maxEntries !== 0) throw this.error(EINVAL, 'create', 'max_entries must be 0 for sk_storage');
    if (spec.keySize !== 4) throw this.error(EINVAL, 'create', `key_size must be 4 (a socket fd), got ${spec.keySize}`);
    if (spec.valueSize === 0 || spec.valueSize > MAX_VALUE) throw this.error(EINVAL, 'create', `value_size ${spec.valueSize} is not 1..${MAX_VALUE}`);
  }

  override lookupAt(): number {
    return 0;
  }

  override lookup(): Uint8Array | undefined {
    throw this.error(EBADF, 'lookup', 'sk_storage is keyed by socket fds; a runtime has none');
  }

  override updateAt(): number {
    return -EBADF;
  }

  override deleteAt(): number {
    return -EBADF;
  }

  override nextKeyAt(): number {
    return -ENOTSUPP;
  }

  protected freeData(): void {}
}
