// Subpath export `tsbpf/elf`: loading BPF object files into an ObjectSpec.
export { loadObject, lineTable } from './load.js';
export type { LoadOptions } from './load.js';
export { parseElf, R_BPF, SHT, SHF, STB, STT } from './elf-file.js';
export type { ElfFile, ElfSection, ElfSymbol, ElfReloc } from './elf-file.js';
export { programTypeForSection, BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS } from './section-names.js';
export { assertRunnable, unsupportedReasons } from './runnable.js';
export { isGplCompatible } from './license.js';
export type { SectionProgramType } from './section-names.js';
export type { ObjectSpec, ProgramSpec, MapSpec, MapRef, MapInitValue, ExternSpec, CoreReloSpec, CoreReloOutcome } from './spec.js';
export { applyCoreRelos, CORE_POISON_IMM } from './core-apply.js';
export { parseKconfig, kernelVersionCode, kconfigMap } from './kconfig.js';
// Node-only helpers (node:fs) are not re-exported here: target-btf.ts (kernelBtf, readTargetBtf) and kernel-config.ts (kernelKconfig).
