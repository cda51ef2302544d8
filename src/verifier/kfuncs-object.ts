// Kfunc calls of a program in a loaded object: the ELF loader turns a call
// to an extern function into a kfunc call (src_reg 2, imm 0) and records
// the extern by name with the instructions that call it. This maps each
// such instruction to the extern's name and its FUNC type in the object's
// BTF (linkage extern), which is what the verifier resolves kfuncs by.

import type { ObjectSpec, ProgramSpec } from '../elf/spec.js';
import { BtfFuncLinkage, BtfKind } from '../btf/types.js';
import type { KfuncExtern } from './env.js';

/** Kfunc calls of program p by instruction index (empty when it calls none). */
export function kfuncCalls(spec: ObjectSpec, p: ProgramSpec): Map<number, KfuncExtern> {
  const out = new Map<number, KfuncExtern>();
  for (const e of spec.externs) {
    if (e.kind !== 'kfunc') continue;
    const funcId = externFuncId(spec, e.name);
    for (const ref of e.refs) {
      if (ref.program !== p.name) continue;
      out.set(ref.insn, { name: e.name, ...(spec.btf && funcId !== undefined ? { btf: spec.btf, funcId } : {}) });
    }
  }
  return out;
}

/** BTF id of the FUNC named `name` with extern linkage, if the object's BTF has one. */
function externFuncId(spec: ObjectSpec, name: string): number | undefined {
  const btf = spec.btf;
  if (!btf) return undefined;
  for (const id of btf.idsByName(name)) {
    const t = btf.type(id);
    if (t.kind === BtfKind.FUNC && t.linkage === BtfFuncLinkage.EXTERN) return id;
  }
  return undefined;
}
