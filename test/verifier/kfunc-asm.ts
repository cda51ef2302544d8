// Kfunc calls in assembled test programs: `call -N` stands for the N-th name
// of a list and becomes a kfunc call (src 2) with the name's BTF id in the
// running kernel, as libbpf would resolve it. Shared by the kfunc and
// critical-section tests.
import { assemble } from '../../src/asm/assemble.js';
import { loadKernelBtf } from '../../src/verifier/kfuncs-vmlinux.js';
import { BtfKind } from '../../src/btf/types.js';
import type { KfuncExtern } from '../../src/verifier/env.js';

/** The running kernel's BTF (undefined without /sys/kernel/btf/vmlinux). */
export const kernelBtf = loadKernelBtf();

/** BTF id of a kernel function in the running kernel's BTF (0 when there is none). */
export function vmlinuxFunc(name: string): number {
  if (!kernelBtf) return 0;
  return kernelBtf.idsByName(name).find((id) => kernelBtf.type(id).kind === BtfKind.FUNC) ?? 0;
}

export interface Built {
  bytes: Uint8Array;
  kfuncs: Map<number, KfuncExtern>;
}

/** Assemble; `call -N` becomes a kfunc call of names[N-1] (imm = its kernel BTF id). */
export function build(text: string, names: readonly string[]): Built {
  const bytes = assemble(text, { dialect: 'llvm' });
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kfuncs = new Map<number, KfuncExtern>();
  for (let i = 0; i < bytes.length / 8; i++) {
    const imm = dv.getInt32(i * 8 + 4, true);
    if (bytes[i * 8] !== 0x85 || imm >= 0) continue;
    const name = names[-imm - 1]!;
    bytes[i * 8 + 1] = (bytes[i * 8 + 1]! & 0x0f) | (2 << 4);
    dv.setInt32(i * 8 + 4, vmlinuxFunc(name), true);
    kfuncs.set(i, { name });
  }
  return { bytes, kfuncs };
}
