// Where a map value keeps its `struct bpf_spin_lock`, from the object's BTF:
// what BPF_F_LOCK updates and lookups lock, and what copies leave alone. As
// the kernel's btf_find_field for BPF_SPIN_LOCK: a member of the value's
// top-level struct whose type (through typedefs and modifiers) is the struct
// named bpf_spin_lock; two of them are an error.

import type { Btf } from '../btf/btf.js';
import { BtfKind } from '../btf/types.js';
import { LoadError } from './errors.js';

/** Byte offset of the value's bpf_spin_lock, or undefined when it has none (or there is no BTF). */
export function spinLockOffset(btf: Btf | undefined, valueTypeId: number | undefined, mapName: string): number | undefined {
  if (btf === undefined || valueTypeId === undefined || valueTypeId === 0) return undefined;
  const t = btf.skipModifiers(valueTypeId);
  if (t.kind !== BtfKind.STRUCT) return undefined;
  let found: number | undefined;
  for (const m of t.members) {
    const mt = btf.skipModifiers(m.type);
    if (mt.kind !== BtfKind.STRUCT || mt.name !== 'bpf_spin_lock') continue;
    if (found !== undefined) throw new LoadError('map', mapName, 'value has more than one bpf_spin_lock');
    if (m.bitOffset % 32 !== 0) throw new LoadError('map', mapName, `bpf_spin_lock at bit ${m.bitOffset} is not 4-byte aligned`);
    found = m.bitOffset / 8;
  }
  return found;
}
