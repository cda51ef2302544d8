// Where a map value keeps its `struct bpf_spin_lock`, from the object's BTF:
// what BPF_F_LOCK updates and lookups lock, and what copies leave alone. As
// the kernel's btf_find_field for BPF_SPIN_LOCK: a member of the value's
// top-level struct (or a variable of a global data section) whose type
// (through typedefs and modifiers) is the struct named bpf_spin_lock; two of
// them are an error.

import type { Btf } from '../btf/btf.js';
import { BtfKind } from '../btf/types.js';
import { LoadError } from './errors.js';

/** Byte offset of the value's bpf_spin_lock, or undefined when it has none (or there is no BTF). */
export function spinLockOffset(btf: Btf | undefined, valueTypeId: number | undefined, mapName: string): number | undefined {
  return lockOffset(btf, valueTypeId, mapName, 'bpf_spin_lock');
}

/** Byte offset of the value's lock of this struct type (bpf_spin_lock, bpf_res_spin_lock), or undefined. */
export function lockOffset(btf: Btf | undefined, valueTypeId: number | undefined, mapName: string, lockStruct: string): number | undefined {
  if (btf === undefined || valueTypeId === undefined || valueTypeId === 0) return undefined;
  const t = btf.skipModifiers(valueTypeId);
  // A global data section (.data, .bss, .data.NAME): its variables, as the kernel's btf_find_datasec_var.
  const fields = t.kind === BtfKind.STRUCT ? t.members.map((m) => ({ type: m.type, bit: m.bitOffset }))
    : t.kind === BtfKind.DATASEC ? t.vars.map((v) => ({ type: varType(btf, v.type), bit: v.offset * 8 }))
      : [];
  let found: number | undefined;
  for (const f of fields) {
    if (f.type === 0) continue;
    const ft = btf.skipModifiers(f.type);
    if (ft.kind !== BtfKind.STRUCT || ft.name !== lockStruct) continue;
    if (found !== undefined) throw new LoadError('map', mapName, `value has more than one ${lockStruct}`);
    if (f.bit % 32 !== 0) throw new LoadError('map', mapName, `${lockStruct} at bit ${f.bit} is not 4-byte aligned`);
    found = f.bit / 8;
  }
  return found;
}

/** The type of a datasec entry's VAR (0, void, when the entry is not a variable). */
function varType(btf: Btf, id: number): number {
  const v = btf.type(id);
  return v.kind === BtfKind.VAR ? v.type : 0;
}
