// Subpath export `tsbpf/elf`: loading BPF object files into an ObjectSpec.
export { loadObject, lineTable } from './load.js';
export type { LoadOptions } from './load.js';
export { parseElf, R_BPF, SHT, SHF, STB, STT } from './elf-file.js';
export type { ElfFile, ElfSection, ElfSymbol, ElfReloc } from './elf-file.js';
export { programTypeForSection } from './section-names.js';
export type { SectionProgramType } from './section-names.js';
export type { ObjectSpec, ProgramSpec, MapSpec, MapRef, ExternSpec, CoreReloSpec } from './spec.js';
