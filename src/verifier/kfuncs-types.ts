// The types PTR_TO_BTF_ID registers point to, as small numbers
// (RegState.btfType) stable for the process so states compare by number:
// kernel structs by name (laid out by the kernel's BTF when it is given),
// or a type of a program's own BTF (bpf_rdonly_cast). No verifier imports,
// so register printing (reg-state.ts) can name them.

import type { Btf } from '../btf/btf.js';

/** One type a PTR_TO_BTF_ID register can point to. */
export interface BtfTypeRef {
  readonly name: string;
  /** The BTF that describes it; undefined for kernel structs (looked up in the kernel BTF by name). */
  readonly btf: Btf | undefined;
  readonly id: number;
}

const refs: BtfTypeRef[] = [{ name: '', btf: undefined, id: 0 }];
const kernelIds = new Map<string, number>();
const localIds = new WeakMap<Btf, Map<number, number>>();

/** The btfType number of the kernel struct `name` (stable for the process, so states compare by number). */
export function kernelStructType(name: string): number {
  let k = kernelIds.get(name);
  if (k === undefined) {
    k = refs.length;
    refs.push({ name, btf: undefined, id: 0 });
    kernelIds.set(name, k);
  }
  return k;
}

/** The btfType number of type `id` of a program's BTF. */
export function localType(btf: Btf, id: number, name: string): number {
  let m = localIds.get(btf);
  if (m === undefined) localIds.set(btf, (m = new Map()));
  let k = m.get(id);
  if (k === undefined) {
    k = refs.length;
    refs.push({ name, btf, id });
    m.set(id, k);
  }
  return k;
}

export function btfTypeName(btfType: number): string {
  return refs[btfType]?.name ?? '?';
}

/** The type behind a btfType number (undefined for 0 or an unknown number). */
export function btfTypeRef(btfType: number): BtfTypeRef | undefined {
  return btfType > 0 ? refs[btfType] : undefined;
}
