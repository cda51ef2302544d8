// Legacy map definitions: struct bpf_map_def (and iproute2's longer
// struct bpf_elf_map) in a section called "maps", one per symbol.

import { ByteReader } from '../internal/byte-reader.js';
import { ElfError } from '../internal/errors.js';
import type { ElfFile, ElfSection } from './elf-file.js';
import { mapTypeName, objectSymbols } from './map-symbols.js';
import type { MapSpec } from './spec.js';

export function legacyMaps(elf: ElfFile, s: ElfSection): { offset: number; spec: MapSpec }[] {
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
