// What libbpf does to an object's BTF before the kernel sees it: the kernel
// refuses FUNCs with extern linkage and DATASEC entries that are not VARs, so
// extern functions (kfuncs declared __ksym) become static, their .ksyms
// entries point at one dummy int variable, unnamed parameters of functions get
// names, and extern sections get disjoint
// offsets and a size. Types keep their ids, so func_info and map key/value
// type ids stay valid.

import { Btf } from './btf.js';
import { BtfFuncLinkage, BtfKind, BtfVarLinkage, type BtfType } from './types.js';

export function sanitizeForKernel(btf: Btf): Btf {
  const types: BtfType[] = [...btf.types];
  let dummy = 0;
  const dummyVar = (): number => {
    if (dummy === 0) {
      const int = types.length;
      types.push({ id: int, kind: BtfKind.INT, name: 'int', size: 4, encoding: 1, bitOffset: 0, bits: 32 });
      dummy = types.length;
      types.push({ id: dummy, kind: BtfKind.VAR, name: 'dummy_ksym', type: int, linkage: BtfVarLinkage.GLOBAL_ALLOCATED });
    }
    return dummy;
  };
  for (let id = 1; id < btf.types.length; id++) {
    const t = types[id]!;
    if (t.kind === BtfKind.FUNC) {
      if (t.linkage === BtfFuncLinkage.EXTERN) types[id] = { ...t, linkage: BtfFuncLinkage.STATIC };
      // The kernel wants every parameter of a FUNC's prototype named; declarations
      // (kfuncs, naked functions) often leave them unnamed.
      const proto = types[t.type];
      if (proto?.kind === BtfKind.FUNC_PROTO && proto.params.some((p) => p.name === '' && p.type !== 0)) {
        types[proto.id] = { ...proto, params: proto.params.map((p, i) => (p.name === '' && p.type !== 0 ? { ...p, name: `arg${i}` } : p)) };
      }
    } else if (t.kind === BtfKind.DATASEC && (t.size === 0 || t.vars.some((v) => btf.type(v.type).kind !== BtfKind.VAR))) {
      // Extern sections (.ksyms, .kconfig) have no ELF section to size them: lay
      // the entries out one after another, as the kernel wants them disjoint.
      let off = 0;
      const vars = t.vars.map((v) => {
        const isVar = btf.type(v.type).kind === BtfKind.VAR;
        const size = isVar ? v.size || 4 : 4;
        off = Math.ceil(off / 8) * 8;
        const out = { type: isVar ? v.type : dummyVar(), offset: off, size };
        off += size;
        return out;
      });
      types[id] = { ...t, vars, size: Math.max(t.size, off) };
    }
  }
  return new Btf(types, btf.strings, (off) => btf.string(off), btf.littleEndian);
}
