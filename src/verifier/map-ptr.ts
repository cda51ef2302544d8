// Loads through a map pointer (the kernel's check_ptr_to_map_access): a
// privileged program may read the kernel's own struct for the map (struct
// bpf_array for arrays, struct bpf_htab for hash maps, ...), as if through
// a PTR_TO_BTF_ID to that struct, so the layout comes from the kernel's BTF
// (VerifyOptions.kernelBtf): within the struct a load gives a scalar, or an
// untrusted pointer for a pointer member (kfuncs-btf.ts walks the struct).
// Without the kernel's BTF such a load is refused with a reason that says so.

import { BPF_MAP_TYPE } from '../internal/uapi.gen.js';
import { reject, type Env } from './env.js';
import { checkBtfAccess, kernelStructType } from './kfuncs-btf.js';
import { RegState, RegType, markPointer } from './reg-state.js';
import { tnumIsConst } from './tnum.js';

/** The kernel struct behind each map type (its ops' map_btf_id). */
const MAP_STRUCTS: ReadonlyMap<number, string> = new Map(([
  ['array', 'bpf_array'], ['percpu_array', 'bpf_array'], ['prog_array', 'bpf_array'], ['perf_event_array', 'bpf_array'],
  ['cgroup_array', 'bpf_array'], ['array_of_maps', 'bpf_array'],
  ['hash', 'bpf_htab'], ['percpu_hash', 'bpf_htab'], ['lru_hash', 'bpf_htab'], ['lru_percpu_hash', 'bpf_htab'], ['hash_of_maps', 'bpf_htab'],
  ['stack_trace', 'bpf_stack_map'], ['lpm_trie', 'lpm_trie'], ['devmap', 'bpf_dtab'], ['devmap_hash', 'bpf_dtab'],
  ['sockmap', 'bpf_stab'], ['sockhash', 'bpf_shtab'], ['cpumap', 'bpf_cpu_map'], ['xskmap', 'xsk_map'],
  ['cgroup_storage', 'bpf_cgroup_storage_map'], ['percpu_cgroup_storage', 'bpf_cgroup_storage_map'],
  ['reuseport_sockarray', 'reuseport_array'], ['queue', 'bpf_queue_stack'], ['stack', 'bpf_queue_stack'],
  ['sk_storage', 'bpf_local_storage_map'], ['inode_storage', 'bpf_local_storage_map'], ['task_storage', 'bpf_local_storage_map'],
  ['cgrp_storage', 'bpf_local_storage_map'], ['ringbuf', 'bpf_ringbuf_map'], ['user_ringbuf', 'bpf_ringbuf_map'],
  ['bloom_filter', 'bpf_bloom_filter'], ['arena', 'bpf_arena'],
] as const).flatMap(([t, s]) => (BPF_MAP_TYPE[t] !== undefined ? [[BPF_MAP_TYPE[t]!, s] as const] : [])));

/** A load or store of `size` bytes at insn offset `off` through map pointer `r` (register regno); sets `dst` on a load. */
export function checkMapPtrAccess(env: Env, regno: number, r: RegState, off: number, size: number, write: boolean, dst: RegState | undefined): void {
  const map = env.maps[r.mapIndex];
  const name = map ? MAP_STRUCTS.get(map.type) : undefined;
  if (name === undefined) reject(`map_ptr access not supported for map type ${map?.type ?? -1}`);
  if (!env.privileged) reject(`'${name}' access is allowed only to CAP_PERFMON and CAP_SYS_ADMIN`);
  if (!tnumIsConst(r.varOff)) reject(`R${regno} invalid mem access 'map_ptr'`);
  const at = r.off + off + Number(BigInt.asIntN(64, r.varOff.value));
  if (at < 0) reject(`R${regno} is ${name} invalid negative access: off=${at}`);
  if (write) reject(`only read from ${name} is supported`);
  // As the kernel does: the access is simulated through a pointer to the struct.
  const sim = new RegState();
  markPointer(sim, RegType.PTR_TO_BTF_ID);
  sim.btfType = kernelStructType(name);
  checkBtfAccess(env, regno, sim, at, size, false, dst);
}
