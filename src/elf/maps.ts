// Map definitions in an object, in libbpf's order: legacy `maps` section
// (struct bpf_map_def), BTF-defined `.maps`, then one array map per global
// data section (.data*, .rodata*, .bss*). The result also says, per ELF
// section, how an lddw relocation against it resolves to a map.

import type { Btf } from '../btf/btf.js';
import { BtfKind, BtfVarLinkage } from '../btf/types.js';
import { ElfError } from '../internal/errors.js';
import { BPF_MAP_TYPE } from '../internal/uapi.gen.js';
import { btfMaps, findDatasec } from './btf-maps.js';
import { SHF, SHT, type ElfFile, type ElfSection } from './elf-file.js';
import { legacyMaps } from './legacy-maps.js';
import type { MapSpec } from './spec.js';

/** BPF_F_RDONLY_PROG and BPF_F_MMAPABLE, as libbpf sets them on global data maps. */
export const BPF_F_RDONLY_PROG = 1 << 7;
export const BPF_F_MMAPABLE = 1 << 10;

/** How relocations against one ELF section resolve. */
export type SectionMaps =
  /** Map definitions: the symbol's value (offset in the section) picks the map. */
  | { readonly kind: 'defs'; readonly byOffset: ReadonlyMap<number, number> }
  /** Global data: the whole section is one map; the offset is into its value. */
  | { readonly kind: 'data'; readonly map: number };

export interface CollectedMaps {
  readonly maps: MapSpec[];
  readonly bySection: Map<number, SectionMaps>;
}

export function isLegacyMapsSection(name: string): boolean {
  return name === 'maps' || name.startsWith('maps/');
}

export function dataSectionKind(s: ElfSection): 'data' | 'rodata' | 'bss' | undefined {
  if ((s.flags & SHF.ALLOC) === 0 || (s.flags & SHF.EXECINSTR) !== 0) return undefined;
  const n = s.name;
  if (n === '.bss' || n.startsWith('.bss.')) return 'bss';
  if (n === '.data' || n.startsWith('.data.')) return 'data';
  if (n === '.rodata' || n.startsWith('.rodata.')) return 'rodata';
  return undefined;
}

export function collectMaps(elf: ElfFile, btf: Btf | undefined): CollectedMaps {
  const maps: MapSpec[] = [];
  const bySection = new Map<number, SectionMaps>();
  for (const s of elf.sections) {
    if (isLegacyMapsSection(s.name) && s.type === SHT.PROGBITS) {
      const byOffset = new Map<number, number>();
      for (const m of legacyMaps(elf, s)) {
        byOffset.set(m.offset, maps.length);
        maps.push(m.spec);
      }
      bySection.set(s.index, { kind: 'defs', byOffset });
    }
  }
  const dotMaps = elf.sections.find((s) => s.name === '.maps');
  if (dotMaps) {
    if (!btf) throw new ElfError('object has a .maps section but no .BTF to describe it', elf.file, '.maps');
    const byOffset = new Map<number, number>();
    for (const m of btfMaps(elf, btf, dotMaps)) {
      byOffset.set(m.offset, maps.length);
      maps.push(m.spec);
    }
    bySection.set(dotMaps.index, { kind: 'defs', byOffset });
  }
  for (const s of elf.sections) {
    const kind = dataSectionKind(s);
    if (kind === undefined || s.size === 0) continue;
    bySection.set(s.index, { kind: 'data', map: maps.length });
    maps.push(dataMap(elf, s, kind, btf));
  }
  return { maps, bySection };
}

/** Largest global data section accepted: a NOBITS size is only a number in a header, so cap it before allocating. */
export const MAX_DATA_SECTION = 64 << 20;

function dataMap(elf: ElfFile, s: ElfSection, kind: 'data' | 'rodata' | 'bss', btf: Btf | undefined): MapSpec {
  if (s.size > MAX_DATA_SECTION) throw new ElfError(`global data section of ${s.size} bytes exceeds the limit of ${MAX_DATA_SECTION}`, elf.file, s.name);
  const sec = btf ? findDatasec(btf, s.name) : undefined;
  // libbpf makes the map mmapable only when some variable in it is global.
  const mmapable = sec !== undefined && btf !== undefined && sec.vars.some((v) => {
    const t = btf.type(v.type);
    return t.kind === BtfKind.VAR && t.linkage !== BtfVarLinkage.STATIC;
  });
  const initial = kind === 'bss' || s.type === SHT.NOBITS ? new Uint8Array(s.size) : new Uint8Array(s.data);
  return {
    name: s.name,
    type: 'array',
    typeId: BPF_MAP_TYPE['array']!,
    keySize: 4,
    valueSize: s.size,
    maxEntries: 1,
    flags: (kind === 'rodata' ? BPF_F_RDONLY_PROG : 0) | (mmapable ? BPF_F_MMAPABLE : 0),
    pinning: 0,
    ...(sec ? { valueTypeId: sec.id } : {}),
    initial,
    ...(kind === 'rodata' ? { frozen: true } : {}),
    section: s.name,
    origin: 'data',
  };
}
