// Object file bytes -> ObjectSpec: parse the ELF, the BTF and BTF.ext,
// collect maps, find programs (one per global function in each executable
// section other than .text) and link each one into a self-contained stream.

import type { Btf } from '../btf/btf.js';
import { applyCoreRelos } from './core-apply.js';
import { kconfigMap } from './kconfig.js';
import { PseudoLd } from '../isa/fields.js';
import { LineTable } from '../btf/line-info.js';
import { parseBtf } from '../btf/parse-btf.js';
import { parseBtfExt, type BtfExt, type FuncInfo, type LineInfo } from '../btf/parse-ext.js';
import { ElfError } from '../internal/errors.js';
import { externKind, externVars, fixDatasecs, ksymFuncs, type ExternVars } from './btf-fixup.js';
import { SHF, SHT, STB, type ElfFile, type ElfSection, parseElf } from './elf-file.js';
import { codeSection, linkProgram, ARENA_SECTION, type ArenaGlobals, type CodeSection, type ElfFunction, type LinkedProgram } from './link.js';
import { arenaBytes, arenaGlobalsOffset } from '../maps/arena-layout.js';
import { BPF_MAP_TYPE } from '../internal/uapi.gen.js';
import { isGplCompatible } from './license.js';
import { collectMaps } from './maps.js';
import { programTypeForSection } from './section-names.js';
import type { CoreReloSpec, ExternSpec, MapSpec, ObjectSpec, ProgramSpec } from './spec.js';

/** Cap on the instructions of all linked programs together, so a hostile object cannot make the copies explode. */
export const MAX_TOTAL_INSNS = 4_000_000;

export interface LoadOptions {
  /** Name used in error messages and ObjectSpec.file. */
  file?: string;
  /**
   * Target BTF (usually the kernel's, /sys/kernel/btf/vmlinux) to apply CO-RE
   * relocations against. Without it relocations are only listed, and programs
   * that need them are reported as not runnable.
   */
  coreTarget?: Btf;
  /**
   * Values for `.kconfig` externs, as a kernel .config spells them
   * (CONFIG_HZ -> "250", CONFIG_X -> "y"/"m"/"n", strings quoted), plus
   * LINUX_* names (LINUX_KERNEL_VERSION as a number). With it the object
   * gets libbpf's read-only .kconfig map and its extern loads point there;
   * without it kconfig externs are only listed.
   */
  kconfig?: ReadonlyMap<string, string>;
}

/** Load an object file. Throws ElfError/BtfError (both TsbpfError) with a precise reason. */
export function loadObject(bytes: Uint8Array, options: LoadOptions = {}): ObjectSpec {
  const file = options.file ?? '<object>';
  const elf = parseElf(bytes, file);
  const btf = readBtf(elf);
  if (btf) fixDatasecs(elf, btf);
  const btfExt = readBtfExt(elf, btf);
  const license = readLicense(elf);
  const version = readVersion(elf);
  const { maps, bySection } = collectMaps(elf, btf);
  const arena = arenaGlobals(elf, maps);

  const code = new Map<number, CodeSection>();
  for (const s of elf.sections) {
    if (s.type === SHT.PROGBITS && (s.flags & SHF.EXECINSTR) !== 0 && s.size > 0) code.set(s.index, codeSection(elf, s));
  }
  const ctx = { elf, code, maps, mapSections: bySection, ksymFuncs: ksymFuncs(btf), ...(arena !== undefined ? { arena } : {}) };

  let programs: ProgramSpec[] = [];
  const coreRelos: CoreReloSpec[] = [];
  const externs: ExternTable = new Map();
  const subprograms: string[] = [];
  const vars = externVars(btf);
  let total = 0;
  for (const c of code.values()) {
    if (c.section.name === '.text') {
      for (const f of c.functions) subprograms.push(f.name);
      continue;
    }
    let entries = c.functions.filter((f) => f.global);
    for (const f of c.functions) if (!f.global) subprograms.push(f.name);
    // Objects without function symbols (old compilers, hand-written asm): the section is the program.
    if (c.functions.length === 0) {
      const whole: ElfFunction = { name: c.section.name, section: c.section, start: 0, length: c.section.size / 8, global: true };
      c.functions.push(whole);
      entries = [whole];
    }
    for (const entry of entries) {
      const linked = linkProgram(ctx, entry);
      total += linked.insns.length / 8;
      if (total > MAX_TOTAL_INSNS) {
        throw new ElfError(`the linked programs exceed ${MAX_TOTAL_INSNS} instructions in all (sub-functions are copied into every program that calls them)`, elf.file, c.section.name);
      }
      const spec = programSpec(entry, linked, btf, btfExt, license, elf, externs, vars);
      programs.push(spec);
    }
  }
  if (options.coreTarget && btf && btfExt) programs = applyCoreRelos(file, btf, btfExt, programs, options.coreTarget);
  if (options.kconfig && btf) programs = resolveKconfig(elf, btf, options.kconfig, externs, maps, programs);
  for (const p of programs) for (const r of p.coreRelos) coreRelos.push(r); // no spread: counts come from the file
  return {
    file,
    endianness: elf.littleEndian ? 'little' : 'big',
    license,
    gplCompatible: isGplCompatible(license),
    ...(version !== undefined ? { version } : {}),
    programs,
    maps,
    ...(btf ? { btf } : {}),
    ...(btfExt ? { btfExt } : {}),
    coreRelos,
    ...(options.coreTarget && btf && btfExt ? { coreTarget: options.coreTarget } : {}),
    externs: [...externs].map(([name, e]) => ({ name, kind: e.kind, refs: e.refs, ...(e.resolved ? { resolved: true } : {}) })),
    subprograms,
    notes: unhandledSections(elf),
  };
}

/** Externs met while linking, by name. */
type ExternTable = Map<string, { kind: ExternSpec['kind']; refs: { program: string; insn: number }[]; resolved?: boolean }>;

/**
 * Give kconfig externs their values: append libbpf's .kconfig map and turn
 * each extern lddw into a map-value load (src=2, imm = map index, second
 * imm = the extern's offset), as libbpf's bpf_program__relocate does.
 */
function resolveKconfig(elf: ElfFile, btf: Btf, values: ReadonlyMap<string, string>, externs: ExternTable, maps: MapSpec[], programs: ProgramSpec[]): ProgramSpec[] {
  const used = new Set([...externs].filter(([, e]) => e.kind === 'kconfig').map(([n]) => n));
  if (used.size === 0) return programs;
  const weak = new Set(elf.symbols.filter((y) => y.shndx === 0 && y.bind === STB.WEAK && used.has(y.name)).map((y) => y.name));
  const km = kconfigMap(btf, values, used, weak, elf.file);
  if (!km) return programs;
  const index = maps.length;
  maps.push(km.spec);
  for (const name of used) externs.get(name)!.resolved = true;
  return programs.map((p) => {
    const mine = p.externs.filter((n) => used.has(n));
    if (mine.length === 0) return p;
    const insns = p.insns.slice();
    const view = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
    const mapRefs = [...p.mapRefs];
    for (const name of mine) {
      const offset = km.offsets.get(name)!;
      for (const ref of externs.get(name)!.refs) {
        if (ref.program !== p.name) continue;
        const at = ref.insn * 8;
        insns[at + 1] = (insns[at + 1]! & 0x0f) | (PseudoLd.MAP_VALUE << 4);
        view.setInt32(at + 4, index, true);
        view.setInt32(at + 12, offset, true);
        mapRefs.push({ insn: ref.insn, map: index, kind: 'value', offset });
      }
    }
    mapRefs.sort((a, b) => a.insn - b.insn);
    return { ...p, insns, mapRefs, externs: p.externs.filter((n) => !used.has(n)) };
  });
}

/** Sections libbpf gives meaning to that this loader does not handle yet, with what is lost. */
function unhandledSections(elf: ElfFile): string[] {
  const notes: string[] = [];
  for (const s of elf.sections) {
    if (s.name.startsWith('.struct_ops')) notes.push(`section ${s.name}: struct_ops maps are not supported; their programs load, but no struct_ops map is created`);
  }
  return notes;
}

const BPF_MAP_TYPE_ARENA = BPF_MAP_TYPE['arena']!;

/**
 * `.addr_space.1` globals, as libbpf handles them: they need the object's
 * one arena map, become its initial contents (the map puts them at the end
 * of the arena, src/maps/arena.ts), and relocations to them become lddw of
 * the arena map "value" at the globals' offset plus the symbol's.
 */
function arenaGlobals(elf: ElfFile, maps: MapSpec[]): ArenaGlobals | undefined {
  const sec = elf.sections.find((s) => s.name === ARENA_SECTION && s.size > 0);
  const arenas = maps.flatMap((m, i) => (m.typeId === BPF_MAP_TYPE_ARENA ? [i] : []));
  if (arenas.length > 1) throw new ElfError(`map '${maps[arenas[1]!]!.name}': only a single ARENA map is supported (map '${maps[arenas[0]!]!.name}' is also ARENA)`, elf.file, '.maps');
  if (sec === undefined) return undefined;
  const map = arenas[0];
  if (map === undefined) throw new ElfError(`to use global __arena variables the ARENA map should be explicitly declared in SEC(".maps")`, elf.file, ARENA_SECTION);
  const m = maps[map]!;
  const base = arenaGlobalsOffset(m.maxEntries, sec.size);
  if (base < 0) throw new ElfError(`declared ARENA map size (${arenaBytes(m.maxEntries)}) is too small to hold global __arena variables of size ${sec.size}`, elf.file, ARENA_SECTION);
  // zero-initialised globals (NOBITS) have no bytes in the file
  const initial = sec.type === SHT.NOBITS ? new Uint8Array(sec.size) : sec.data.slice(0, sec.size);
  maps[map] = { ...m, initial };
  return { shndx: sec.index, map, base };
}

function section(elf: ElfFile, name: string): ElfSection | undefined {
  return elf.sections.find((s) => s.name === name && s.type !== SHT.NOBITS);
}

function readBtf(elf: ElfFile): Btf | undefined {
  const s = section(elf, '.BTF');
  if (!s) return undefined;
  return parseBtf(s.data, { base: s.offset });
}

function readBtfExt(elf: ElfFile, btf: Btf | undefined): BtfExt | undefined {
  const s = section(elf, '.BTF.ext');
  if (!s) return undefined;
  if (!btf) throw new ElfError('.BTF.ext without .BTF', elf.file, '.BTF.ext');
  return parseBtfExt(s.data, btf, s.offset);
}

function readLicense(elf: ElfFile): string {
  const s = section(elf, 'license');
  if (!s) return '';
  const nul = s.data.indexOf(0);
  return new TextDecoder().decode(s.data.subarray(0, nul < 0 ? s.data.length : nul));
}

function readVersion(elf: ElfFile): number | undefined {
  const s = section(elf, 'version');
  if (!s) return undefined;
  if (s.size !== 4) throw new ElfError(`version section is ${s.size} bytes, expected 4`, elf.file, 'version');
  return new DataView(s.data.buffer, s.data.byteOffset, 4).getUint32(0, elf.littleEndian);
}

/** Records of one ELF section that fall inside [start, start+length), moved to `at`. Records are sorted by insn. */
function rebase<T extends { insn: number }>(records: readonly T[] | undefined, start: number, length: number, at: number): T[] {
  const out: T[] = [];
  if (!records) return out;
  let lo = 0;
  let hi = records.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (records[mid]!.insn < start) lo = mid + 1;
    else hi = mid;
  }
  for (let k = lo; k < records.length && records[k]!.insn < start + length; k++) out.push({ ...records[k]!, insn: records[k]!.insn - start + at });
  return out;
}

function programSpec(
  entry: ElfFunction,
  linked: LinkedProgram,
  btf: Btf | undefined,
  btfExt: BtfExt | undefined,
  license: string,
  elf: ElfFile,
  externs: ExternTable,
  vars: ExternVars,
): ProgramSpec {
  const sec = entry.section.name;
  const pt = programTypeForSection(sec);
  const funcInfo: FuncInfo[] = [];
  const lineInfo: LineInfo[] = [];
  const relos: CoreReloSpec[] = [];
  for (const { fn, at } of linked.placements) {
    const s = fn.section.name;
    // Loops, not push(...x): record counts come from the file and could overflow the call stack.
    for (const r of rebase(btfExt?.funcInfo.get(s), fn.start, fn.length, at)) funcInfo.push(r);
    for (const r of rebase(btfExt?.lineInfo.get(s), fn.start, fn.length, at)) lineInfo.push(r);
    for (const r of rebase(btfExt?.coreRelos.get(s), fn.start, fn.length, at)) {
      relos.push({ ...r, program: entry.name, section: s, typeName: btf ? btf.describe(r.typeId) : String(r.typeId), sectionInsn: r.insn - at + fn.start });
    }
  }
  const names = new Set<string>();
  for (const ref of linked.externRefs) {
    const name = ref.symbol.name;
    names.add(name);
    let e = externs.get(name);
    if (!e) externs.set(name, (e = { kind: externKind(vars, name, ref.call), refs: [] }));
    e.refs.push({ program: entry.name, insn: ref.insn });
    if (ref.symbol.bind !== STB.GLOBAL && ref.symbol.bind !== STB.WEAK) {
      throw new ElfError(`${entry.name}: undefined symbol ${name} is not global`, elf.file, sec);
    }
  }
  return {
    name: entry.name,
    section: sec,
    type: pt.type,
    typeId: pt.typeId,
    ...(pt.expectedAttachType !== undefined ? { expectedAttachType: pt.expectedAttachType } : {}),
    ...(pt.expectedAttachTypeId !== undefined ? { expectedAttachTypeId: pt.expectedAttachTypeId } : {}),
    ...(pt.attachTo !== undefined ? { attachTo: pt.attachTo } : {}),
    sleepable: pt.sleepable,
    progFlags: pt.progFlags,
    legacySectionName: pt.legacy,
    autoload: pt.autoload,
    insns: linked.insns,
    mapRefs: linked.mapRefs,
    functions: linked.placements.map(({ fn, at }) => ({ name: fn.name, insn: at, length: fn.length, section: fn.section.name, sectionInsn: fn.start })),
    funcInfo,
    lineInfo,
    coreRelos: relos,
    externs: [...names],
    license,
  };
}

/** A line table for a loaded program (instruction index -> file, line, column, text). */
export function lineTable(program: ProgramSpec): LineTable {
  return new LineTable(program.lineInfo);
}
