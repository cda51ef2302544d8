// What the loader reads from an object's BTF besides types: libbpf's DATASEC
// fix-up, and which undefined symbols are kconfig values, kernel variables
// or kernel functions.

import type { Btf } from '../btf/btf.js';
import { BtfKind } from '../btf/types.js';
import { ElfError } from '../internal/errors.js';
import { STT, type ElfFile, type ElfSection } from './elf-file.js';
import type { ExternSpec } from './spec.js';

/**
 * libbpf's btf_fixup_datasec: clang leaves DATASEC sizes and variable offsets
 * zero in object files; the section size and the symbols' values fill them in.
 */
export function fixDatasecs(elf: ElfFile, btf: Btf): void {
  const byName = new Map<string, ElfSection>();
  for (const s of elf.sections) if (!byName.has(s.name)) byName.set(s.name, s);
  for (const t of btf.types) {
    if (t.kind !== BtfKind.DATASEC) continue;
    const sec = byName.get(t.name);
    if (!sec) continue; // externs (.kconfig, .ksyms) have no section
    const offsets = new Map<string, number>();
    for (const y of elf.symbolsBySection.get(sec.index) ?? []) if (y.name !== '' && y.type !== STT.SECTION) offsets.set(y.name, y.value);
    const vars = t.vars.map((v) => {
      const name = btf.type(v.type).name;
      const offset = offsets.get(name);
      if (offset === undefined) return v; // static variables the compiler dropped keep their record
      if (offset + v.size > sec.size) throw new ElfError(`variable ${name} at ${offset} (+${v.size}) runs past the section (${sec.size} bytes)`, elf.file, sec.name);
      return { ...v, offset };
    });
    btf.replaceType({ ...t, size: sec.size, vars });
  }
}

/** Names of functions in the .ksyms DATASEC: calls to them are kfunc calls. */
export function ksymFuncs(btf: Btf | undefined): Set<string> {
  const out = new Set<string>();
  if (!btf) return out;
  for (const id of btf.idsByName('.ksyms')) {
    const t = btf.type(id);
    if (t.kind !== BtfKind.DATASEC) continue;
    for (const v of t.vars) {
      const f = btf.type(v.type);
      if (f.kind === BtfKind.FUNC) out.add(f.name);
    }
  }
  return out;
}

/** The extern names a program object declares, by the DATASEC (.kconfig, .ksyms) and kind (functions) that classify them. */
export interface ExternVars {
  readonly kconfig: Set<string>;
  readonly ksym: Set<string>;
  /** Functions in .ksyms: kfuncs, whether a program calls them or only takes their address (bpf_ksym_exists). */
  readonly kfunc: Set<string>;
}

/** Names of the variables in the .kconfig and .ksyms DATASECs: how externs are classified. */
export function externVars(btf: Btf | undefined): ExternVars {
  const out = { kconfig: new Set<string>(), ksym: new Set<string>(), kfunc: ksymFuncs(btf) };
  if (!btf) return out;
  for (const [sec, set] of [['.kconfig', out.kconfig], ['.ksyms', out.ksym]] as const) {
    for (const id of btf.idsByName(sec)) {
      const t = btf.type(id);
      if (t.kind === BtfKind.DATASEC) for (const v of t.vars) set.add(btf.type(v.type).name);
    }
  }
  return out;
}

/**
 * The kind of an extern, from its declaration as libbpf decides it, so the
 * order of its references does not matter: a kfunc whose address a program
 * tests (bpf_ksym_exists) before calling it is still a kfunc.
 */
export function externKind(vars: ExternVars, name: string, call: boolean): ExternSpec['kind'] {
  if (call || vars.kfunc.has(name)) return 'kfunc';
  if (vars.kconfig.has(name)) return 'kconfig';
  if (vars.ksym.has(name)) return 'ksym';
  return 'unknown';
}
