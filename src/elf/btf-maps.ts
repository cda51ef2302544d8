// BTF-defined maps: the `.maps` section, described by its BTF DATASEC. Each
// variable is a struct whose members encode the definition (__uint, __type,
// __array), as libbpf reads them.

import type { Btf } from '../btf/btf.js';
import { BtfKind, BtfVarLinkage, type BtfComposite, type BtfDatasec } from '../btf/types.js';
import { ElfError, TsbpfError } from '../internal/errors.js';
import { SHF, STT, type ElfFile, type ElfSection } from './elf-file.js';
import { mapTypeName, objectSymbols } from './map-symbols.js';
import type { MapInitValue, MapSpec } from './spec.js';

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

export function findDatasec(btf: Btf, name: string): BtfDatasec | undefined {
  for (const id of btf.idsByName(name)) {
    const t = btf.type(id);
    if (t.kind === BtfKind.DATASEC) return t;
  }
  return undefined;
}

export function btfMaps(elf: ElfFile, btf: Btf, s: ElfSection): { offset: number; spec: MapSpec }[] {
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
    // Attributes first (libbpf's order): an old-style `struct { __u32 type; } m SEC(".maps") = {...}`
    // is refused for its `type` field, which names the real mistake, before its non-zero bytes.
    const spec = parseBtfMapDef(btf, variable.name, def, elf.file, 0);
    // The definition only carries types; values in it would be silently lost.
    for (let k = offset; k < offset + size; k++) {
      if (s.data[k] !== 0) throw new ElfError(`map ${variable.name}: definition has non-zero data (initial values in .maps are only allowed as relocations)`, elf.file, '.maps', s.offset + k);
    }
    out.push({ offset, size, spec, def });
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
    if (p.kind !== BtfKind.PTR) throw fail(`field ${member} is ${btf.describe(type)}, not declared with __uint() (libbpf: expected PTR)`);
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
