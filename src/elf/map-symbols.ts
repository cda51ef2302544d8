// Helpers shared by the map readers: kernel map type names and the symbols
// that name objects in a section.

import { BPF_MAP_TYPE, nameOf } from '../internal/uapi.gen.js';
import { STT, type ElfFile, type ElfSection } from './elf-file.js';

export function mapTypeName(typeId: number): string {
  return nameOf(BPF_MAP_TYPE, typeId) ?? `unknown(${typeId})`;
}

/** Symbols that name objects in a section, sorted by offset. */
export function objectSymbols(elf: ElfFile, s: ElfSection): { name: string; value: number; size: number }[] {
  return (elf.symbolsBySection.get(s.index) ?? [])
    .filter((y) => y.type !== STT.SECTION && y.type !== STT.FILE && y.name !== '')
    .map((y) => ({ name: y.name, value: y.value, size: y.size }))
    .sort((a, b) => a.value - b.value);
}
