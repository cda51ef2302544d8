// Map definitions in an object, in libbpf's order: legacy `maps` section
// (struct bpf_map_def), BTF-defined `.maps`, then one array map per global
// data section (.data*, .rodata*, .bss*). The result also says, per ELF
// section, how an lddw relocation against it resolves to a map.

import type { Btf } from '../btf/btf.js';
import { BtfKind, BtfVarLinkage, type BtfComposite, type BtfDatasec } from '../btf/types.js';
import { ByteReader } from '../internal/byte-reader.js';
import { ElfError, TsbpfError } from '../internal/errors.js';
import { BPF_MAP_TYPE, nameOf } from '../internal/uapi.gen.js';
import { SHF, SHT, STT, type ElfFile, type ElfSection } from './elf-file.js';
import type { MapInitValue, MapSpec } from './spec.js';

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

function mapTypeName(typeId: number): string {
  return nameOf(BPF_MAP_TYPE, typeId) ?? `unknown(${typeId})`;
}

/** Symbols that name objects in a section, sorted by offset. */
function objectSymbols(elf: ElfFile, s: ElfSection): { name: string; value: number; size: number }[] {
  return (elf.symbolsBySection.get(s.index) ?? [])
    .filter((y) => y.type !== STT.SECTION && y.type !== STT.FILE && y.name !== '')
    .map((y) => ({ name: y.name, value: y.value, size: y.size }))
    .sort((a, b) => a.value - b.value);
}

function legacyMaps(elf: ElfFile, s: ElfSection): { offset: number; spec: MapSpec }[] {
  const syms = objectSymbols(elf, s);
  if (syms.length === 0) {
    if (s.size === 0) return [];
    throw new ElfError('legacy maps section has data but no map symbols', elf.file, s.name);
  }
  // libbpf: every definition has the same size, the section size over the map count.
  if (s.size % syms.length !== 0) throw new ElfError(`size ${s.size} is not a multiple of the ${syms.length} map definitions`, elf.file, s.name);
  const defSize = s.size / syms.length;
  if (defSize < 20) throw new ElfError(`map definitions of ${defSize} bytes are smaller than struct bpf_map_def (20 bytes)`, elf.file, s.name);
  const r = new ByteReader(s.data, elf.littleEndian, (reason, offset) => new ElfError(reason, elf.file, s.name, offset), s.offset);
  return syms.map((y) => {
    if (y.value % defSize !== 0) throw r.error(`map ${y.name} at offset ${y.value} is not on a ${defSize}-byte definition boundary`, y.value);
    const typeId = r.u32At(y.value, `map ${y.name} type`);
    // iproute2's struct bpf_elf_map adds id and pinning (28 bytes), later also
    // inner_id and inner_idx (36 bytes); any other bytes past the fields we
    // know must be zero, as libbpf required.
    const known = defSize >= 36 ? 36 : defSize >= 28 ? 28 : 20;
    for (let k = y.value + known; k < y.value + defSize; k++) {
      if (r.u8At(k) !== 0) throw r.error(`map ${y.name}: unrecognised non-zero byte ${k - y.value} in its ${defSize}-byte definition`, k);
    }
    const pinning = defSize >= 28 ? r.u32At(y.value + 24) : 0;
    return {
      offset: y.value,
      spec: {
        name: y.name,
        type: mapTypeName(typeId),
        typeId,
        keySize: r.u32At(y.value + 4),
        valueSize: r.u32At(y.value + 8),
        maxEntries: r.u32At(y.value + 12),
        flags: r.u32At(y.value + 16),
        pinning,
        section: s.name,
        origin: 'legacy',
      },
    };
  });
}

interface BtfMapDef {
  offset: number;
  size: number;
  spec: MapSpec;
  def: BtfComposite;
}

/**
 * Initial contents of map-in-map and prog-array maps: `.values = { [2] = &inner }`
 * is a zero slot in `.maps` plus an R_BPF_64_ABS64 relocation naming the
 * inner map or the program, as libbpf reads them.
 */
function addInitValues(elf: ElfFile, s: ElfSection, defs: BtfMapDef[]): void {
  const relocs = elf.relocations.get(s.index);
  if (!relocs) return;
  const fail = (reason: string, at: number): ElfError => new ElfError(reason, elf.file, '.maps', s.offset + at);
  for (const r of relocs) {
    const d = defs.find((x) => r.offset >= x.offset && r.offset < x.offset + x.size);
    if (!d) throw fail(`relocation at ${r.offset} is outside every map definition`, r.offset);
    const values = d.def.members.find((m) => m.name === 'values');
    if (!values) throw fail(`map ${d.spec.name}: relocation at ${r.offset} but the definition has no 'values' member`, r.offset);
    const rel = r.offset - d.offset - values.bitOffset / 8;
    if (rel < 0 || rel % 8 !== 0) throw fail(`map ${d.spec.name}: relocation at ${r.offset} is not on a 'values' slot`, r.offset);
    const index = rel / 8;
    if (index >= d.spec.maxEntries) throw fail(`map ${d.spec.name}: initial value index ${index} is beyond max_entries ${d.spec.maxEntries}`, r.offset);
    const sym = elf.symbols[r.symbol]!;
    const target = elf.sections[sym.shndx];
    let entry: MapInitValue;
    if (target && target.index === s.index) {
      const inner = defs.find((x) => x.offset === sym.value);
      if (!inner) throw fail(`map ${d.spec.name}: initial value ${index} names ${sym.name}, which is not a map`, r.offset);
      entry = { index, map: inner.spec.name };
    } else if (target && (target.flags & SHF.EXECINSTR) !== 0 && sym.type === STT.FUNC) {
      entry = { index, program: sym.name };
    } else {
      throw fail(`map ${d.spec.name}: initial value ${index} names ${sym.name || 'a symbol'}, which is neither a map nor a program`, r.offset);
    }
    d.spec = { ...d.spec, initValues: [...(d.spec.initValues ?? []), entry] };
  }
}

function findDatasec(btf: Btf, name: string): BtfDatasec | undefined {
  for (const id of btf.idsByName(name)) {
    const t = btf.type(id);
    if (t.kind === BtfKind.DATASEC) return t;
  }
  return undefined;
}

function btfMaps(elf: ElfFile, btf: Btf, s: ElfSection): { offset: number; spec: MapSpec }[] {
  const sec = findDatasec(btf, '.maps');
  if (!sec) throw new ElfError("no BTF DATASEC '.maps' describes the section", elf.file, '.maps');
  // In an object file the DATASEC offsets are still zero (libbpf fixes them up
  // from the symbol table), so the ELF symbol of the same name gives the offset.
  const symbols = new Map(objectSymbols(elf, s).map((y) => [y.name, y]));
  const out: BtfMapDef[] = [];
  for (const v of sec.vars) {
    const variable = btf.type(v.type);
    if (variable.kind !== BtfKind.VAR) throw new ElfError(`DATASEC entry type ${v.type} is not a VAR`, elf.file, '.maps');
    const def = btf.skipModifiers(variable.type);
    if (def.kind !== BtfKind.STRUCT) throw new ElfError(`map ${variable.name}: definition is not a struct`, elf.file, '.maps');
    if (variable.linkage !== BtfVarLinkage.GLOBAL_ALLOCATED) {
      throw new ElfError(`map ${variable.name}: static map definitions are not supported (libbpf: unsupported map linkage)`, elf.file, '.maps');
    }
    const sym = symbols.get(variable.name);
    if (sym === undefined) throw new ElfError(`map ${variable.name} has no symbol in the section`, elf.file, '.maps');
    const offset = sym.value;
    // A definition initialising `values` is longer than its struct (a flexible array); the symbol says how long.
    const size = Math.max(def.size, sym.size);
    if (offset + size > s.size) throw new ElfError(`map ${variable.name}: definition at ${offset} runs past the section`, elf.file, '.maps');
    // The definition only carries types; values in it would be silently lost.
    for (let k = offset; k < offset + size; k++) {
      if (s.data[k] !== 0) throw new ElfError(`map ${variable.name}: definition has non-zero data (initial values in .maps are only allowed as relocations)`, elf.file, '.maps', s.offset + k);
    }
    out.push({ offset, size, spec: parseBtfMapDef(btf, variable.name, def, elf.file, 0), def });
  }
  // Maps keep the DATASEC order (libbpf's); overlaps are checked in offset order.
  const sorted = [...out].sort((a, b) => a.offset - b.offset);
  addInitValues(elf, s, out);
  for (let k = 1; k < sorted.length; k++) {
    const a = sorted[k - 1]!;
    const b = sorted[k]!;
    if (a.offset + a.size > b.offset) {
      throw new ElfError(`map ${a.spec.name} [${a.offset}, ${a.offset + a.size}) overlaps map ${b.spec.name} at ${b.offset}`, elf.file, '.maps');
    }
  }
  return out;
}

/** Decode one BTF map definition struct; `depth` 1 is an inner map of a map-in-map. */
function parseBtfMapDef(btf: Btf, name: string, def: BtfComposite, file: string, depth: number): MapSpec {
  const fail = (reason: string): ElfError => new ElfError(`map ${name}: ${reason}`, file, '.maps');
  let typeId = 0;
  let keySize: number | undefined;
  let valueSize: number | undefined;
  let keyTypeId: number | undefined;
  let valueTypeId: number | undefined;
  let maxEntries = 0;
  let flags = 0;
  let pinning = 0;
  let numaNode: number | undefined;
  let mapExtra: number | undefined;
  let innerMap: MapSpec | undefined;
  // __uint(name, val) is `int (*name)[val]`: a pointer to an array of val elements;
  // __ulong(name, val) is an enum whose one value is val (for 64-bit map_extra).
  const intField = (member: string, type: number): number => {
    const p = btf.skipModifiers(type);
    if ((p.kind === BtfKind.ENUM || p.kind === BtfKind.ENUM64) && p.values.length === 1) return p.values[0]!.value;
    if (p.kind !== BtfKind.PTR) throw fail(`field ${member} is not declared with __uint()`);
    const arr = btf.skipModifiers(p.type);
    if (arr.kind !== BtfKind.ARRAY) throw fail(`field ${member} is not declared with __uint()`);
    return arr.nelems;
  };
  const typeField = (member: string, type: number): number => {
    const p = btf.skipModifiers(type);
    if (p.kind !== BtfKind.PTR) throw fail(`field ${member} is not declared with __type()`);
    return p.type;
  };
  const sized = (id: number, member: string): number => {
    try {
      return btf.sizeOf(id);
    } catch (e) {
      throw fail(`${member} type ${btf.describe(id)} has no size${e instanceof TsbpfError ? ` (${e.message})` : ''}`);
    }
  };
  for (const m of def.members) {
    switch (m.name) {
      case 'type':
        typeId = intField(m.name, m.type);
        break;
      case 'max_entries':
        maxEntries = intField(m.name, m.type);
        break;
      case 'map_flags':
        flags = intField(m.name, m.type);
        break;
      case 'numa_node':
        numaNode = intField(m.name, m.type);
        break;
      case 'map_extra':
        mapExtra = intField(m.name, m.type);
        break;
      case 'pinning':
        pinning = intField(m.name, m.type);
        if (pinning > 1) throw fail(`pinning ${pinning} is not supported (0 none, 1 by name)`);
        break;
      case 'key_size':
        if (keySize !== undefined && keySize !== intField(m.name, m.type)) throw fail('key_size disagrees with key type');
        keySize = intField(m.name, m.type);
        break;
      case 'value_size':
        if (valueSize !== undefined && valueSize !== intField(m.name, m.type)) throw fail('value_size disagrees with value type');
        valueSize = intField(m.name, m.type);
        break;
      case 'key': {
        keyTypeId = typeField(m.name, m.type);
        const size = sized(keyTypeId, 'key');
        if (keySize !== undefined && keySize !== size) throw fail(`key_size ${keySize} disagrees with key type size ${size}`);
        keySize = size;
        break;
      }
      case 'value': {
        valueTypeId = typeField(m.name, m.type);
        const size = sized(valueTypeId, 'value');
        if (valueSize !== undefined && valueSize !== size) throw fail(`value_size ${valueSize} disagrees with value type size ${size}`);
        valueSize = size;
        break;
      }
      case 'values': {
        // Map-in-map: `values` is an array of pointers to the inner map's definition
        // (or, for a prog array, to a function prototype).
        const arr = btf.skipModifiers(m.type);
        if (arr.kind !== BtfKind.ARRAY) throw fail('values is not an array');
        const ptr = btf.skipModifiers(arr.type);
        if (ptr.kind !== BtfKind.PTR) throw fail('values is not an array of pointers');
        const target = btf.skipModifiers(ptr.type);
        if (target.kind === BtfKind.STRUCT) {
          if (depth > 0) throw fail('inner map of an inner map is not allowed');
          innerMap = parseBtfMapDef(btf, `${name}.inner`, target, file, depth + 1);
        } else if (target.kind !== BtfKind.FUNC_PROTO) {
          throw fail('values must point to a map definition or a function');
        }
        // Inner map / program ids are 4-byte values.
        if (valueSize !== undefined && valueSize !== 4) throw fail(`value_size ${valueSize} must be 4 for a map of maps or programs`);
        valueSize = 4;
        break;
      }
      default:
        throw fail(`unknown field '${m.name}' in the map definition`);
    }
  }
  return {
    name,
    type: mapTypeName(typeId),
    typeId,
    keySize: keySize ?? 0,
    valueSize: valueSize ?? 0,
    maxEntries,
    flags,
    pinning,
    ...(numaNode !== undefined ? { numaNode } : {}),
    ...(mapExtra !== undefined ? { mapExtra } : {}),
    ...(innerMap ? { innerMap } : {}),
    ...(keyTypeId !== undefined ? { keyTypeId } : {}),
    ...(valueTypeId !== undefined ? { valueTypeId } : {}),
    section: '.maps',
    origin: 'btf',
  };
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
